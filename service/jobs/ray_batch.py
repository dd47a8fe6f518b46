"""Batches on Ray Data: the local runner's per-line step on an actor pool, one Runtime per actor.

:func:`run` reads the input (JSONL or Parquet; a local file or folder is read by the driver,
whose path it is, and a URI — ``s3://…``, ``gs://…``, ``file://…``, anything Ray Data reads —
through Ray Data), numbers its lines on the driver exactly as the local runner does
(:func:`~service.jobs.lines.parse_jsonl`), and maps the pending lines over a fixed pool of
actors. Each actor opens one :class:`~service.runtime.Runtime` and runs
:func:`~service.jobs.runner.summarize_record` — the local runner's own step: read the line,
summarise it through the one core, make its ok or error record — for up to its share of the
threads at once, on Ray Data's event loop in that actor. So a record from Ray is the record the
local runner writes for the same line, and a failed line is one error record, never a failed job.

Bounds, across the whole cluster: at most ``batch_concurrency`` threads are summarised at once
and at most ``max(concurrency, batch_concurrency)`` model calls are in flight (the local
runner's figures), split evenly over the actors (each actor's Runtime gets its share as its
client's concurrency), and there are never more actors than threads.

Records stream back to the driver, which appends each to a journal beside the output
(:mod:`.journal`) and reports progress; when every line has its record, the output is written
(JSONL in input order, or Parquet), atomically, and the journal removed. A run stopped midway
leaves the journal; ``resume`` skips every line it holds, so no finished thread is summarised
(or asks the model) again and no record is written twice.

This module is the only importer of Ray (and of pyarrow); both come with the ``ray`` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final, Literal

from ..errors import InputError, LimitError, OutputError, UsageError
from ..files import file_mode, write_atomic
from ..runtime import Runtime
from ..settings import Settings
from ..summarizer import EngineChoice, resolve_engine
from .journal import Journal, JournalState, journal_path, read_journal
from .lines import BatchItem, parse_jsonl
from .options import JobOptions
from .runner import summarize_record

__all__ = [
    "PARQUET_COLUMNS",
    "PoolPlan",
    "RayBatchResult",
    "parquet_line",
    "plan_pool",
    "run",
]

log = logging.getLogger(__name__)

InputFormat = Literal["auto", "jsonl", "parquet"]

PARQUET_COLUMNS: Final = ("id", "thread", "text", "url", "format")
"""The columns a Parquet input may have: the fields of a line's wrapper (see :mod:`.lines`)."""

_PARQUET_SUFFIXES: Final = (".parquet", ".pq")
_EXTRA_HINT: Final = 'the Ray runner needs the ray extra: pip install "threadsum[ray]"'


@dataclass(frozen=True, slots=True)
class RayBatchResult:
    """How a Ray batch ended: lines in all, records with errors, and lines skipped because an
    earlier run had finished them (``summarized`` ran in this one)."""

    total: int
    failed: int
    skipped: int
    summarized: int

    @property
    def exit_code(self) -> int:
        """0 when every record is ok, 3 when some failed (the CLI's codes)."""
        return 0 if self.failed == 0 else 3


@dataclass(frozen=True, slots=True)
class PoolPlan:
    """The actor pool of a run: actors, threads each runs at once, model calls each may have in
    flight, and the CPUs each asks Ray for."""

    actors: int
    threads_per_actor: int
    calls_per_actor: int
    cpus_per_actor: float


def plan_pool(
    settings: Settings, *, actors: int | None, cluster_cpus: float, pending: int
) -> PoolPlan:
    """The pool that keeps the run within the settings' bounds across the cluster.

    ``actors`` defaults to the cluster's CPUs; there are never more actors than threads (nor
    than pending lines). Each actor asks for one CPU, or its share when there are more actors
    than CPUs (summaries mostly wait on the model).
    """
    if actors is not None and actors < 1:
        raise UsageError("--ray-actors must be at least 1")
    threads = settings.batch_concurrency
    wanted = actors if actors is not None else max(1, int(cluster_cpus))
    n = max(1, min(wanted, threads, max(pending, 1)))
    calls = max(settings.concurrency, threads)
    cpus = min(1.0, cluster_cpus / n) if cluster_cpus > 0 else 1.0
    return PoolPlan(n, threads // n, max(1, calls // n), round(cpus, 3))


def parquet_line(row: Mapping[str, Any], number: int) -> str:
    """One Parquet row as the JSONL line it stands for: its non-null wrapper fields.

    A ``thread`` column holds a thread as JSON text or as a nested struct; values JSON cannot
    hold (timestamps, bytes) are written as their text, so such a row becomes an error record
    of its own. Raises :class:`InputError` for a column that is not a wrapper field.
    """
    unknown = sorted(str(k) for k in row if k not in PARQUET_COLUMNS)
    if unknown:
        raise InputError(
            f"Parquet row {number} has column(s) {', '.join(unknown)}; a Parquet batch takes "
            f"the columns {', '.join(PARQUET_COLUMNS)}"
        )
    wrapper = {k: v for k, v in row.items() if v is not None}
    return json.dumps(wrapper, ensure_ascii=False, default=str)


def _ray() -> ModuleType:
    """Ray, imported on first use; a :class:`UsageError` naming the extra when it is missing."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # never report usage over the network
    try:
        ray = importlib.import_module("ray")
        importlib.import_module("ray.data")
    except ImportError:
        raise UsageError(_EXTRA_HINT) from None
    return ray


@contextlib.contextmanager
def _session(ray: ModuleType, address: str | None) -> Iterator[None]:
    """Ray for the run: the session already open in this process, the cluster at ``address``,
    or a local Ray started for the run (and stopped after it) on loopback."""
    if ray.is_initialized():
        yield
        return
    common: dict[str, Any] = {"logging_level": logging.WARNING, "include_dashboard": False}
    try:
        if address:
            ray.init(address=address, **common)
        else:
            ray.init(num_cpus=os.cpu_count() or 2, _node_ip_address="127.0.0.1", **common)
    except (ConnectionError, ValueError, RuntimeError) as e:
        where = address or "a local Ray"
        raise UsageError(f"cannot start Ray ({where}): {str(e).splitlines()[0]}") from None
    try:
        yield
    finally:
        ray.shutdown()


def _is_uri(source: str) -> bool:
    return "://" in source


def _input_format(source: str, given: InputFormat) -> Literal["jsonl", "parquet"]:
    if given != "auto":
        return given
    return "parquet" if source.rstrip("/").lower().endswith(_PARQUET_SUFFIXES) else "jsonl"


def _read_error(source: str, e: Exception) -> InputError:
    if isinstance(e, FileNotFoundError):
        return InputError(f"no such file: {source}")
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return InputError(f"cannot read {source}: {first}")


def _local_files(source: str) -> list[Path]:
    """The files of a local input: the file, or a folder's files (not hidden) in path order."""
    path = Path(source)
    if path.is_dir():
        return sorted(
            p for p in path.iterdir() if p.is_file() and not p.name.startswith((".", "_"))
        )
    if not path.exists():
        raise InputError(f"no such file: {source}")
    return [path]


def _jsonl_contents(ray: ModuleType, source: str) -> list[bytes]:
    """The bytes of each JSONL file of ``source``, in path order: read here when it is a local
    path (the driver's), through Ray Data when it is a URI (``s3://…``, ``gs://…``, …)."""
    try:
        if not _is_uri(source):
            return [f.read_bytes() for f in _local_files(source)]
        files = ray.data.read_binary_files(source, include_paths=True).iter_rows()
        return [
            content for _, content in sorted((str(r["path"]), bytes(r["bytes"])) for r in files)
        ]
    except (OSError, ValueError) as e:
        raise _read_error(source, e) from None


def _read_jsonl(ray: ModuleType, source: str, settings: Settings) -> list[BatchItem]:
    """Items of every JSONL file at ``source``, in path order, lines numbered on across them."""
    items: list[BatchItem] = []
    offset = 0
    for content in _jsonl_contents(ray, source):
        left = settings.max_batch_items - len(items)
        try:
            found = parse_jsonl(content, max_items=left, max_line_bytes=settings.max_bytes)
        except LimitError:
            raise LimitError(
                f"the batch holds over {settings.max_batch_items} threads, the limit"
            ) from None
        items += [_renumbered(item, offset) for item in found]
        # Numbered as if the files were one: a last line without its newline still ends there.
        offset += content.count(b"\n") + (0 if content.endswith(b"\n") or not content else 1)
    return items


def _renumbered(item: BatchItem, offset: int) -> BatchItem:
    if offset == 0:
        return item
    key = f"line-{item.line + offset}" if item.key == f"line-{item.line}" else item.key
    return BatchItem(item.line + offset, key, item.input, item.url)


def _parquet_rows(ray: ModuleType, source: str) -> list[dict[str, Any]]:
    """The rows of a Parquet input in file and row order: a local file or folder read here,
    a URI through Ray Data."""
    try:
        if not _is_uri(source):
            import pyarrow.parquet as pq

            if not Path(source).exists():
                raise InputError(f"no such file: {source}")
            rows: list[dict[str, Any]] = pq.read_table(source).to_pylist()
            return rows
        context = ray.data.DataContext.get_current()
        ordered = context.execution_options.preserve_order
        context.execution_options.preserve_order = True
        try:
            return [dict(row) for row in ray.data.read_parquet(source).iter_rows()]
        finally:
            context.execution_options.preserve_order = ordered
    except (OSError, ValueError) as e:
        raise _read_error(source, e) from None


def _read_parquet(ray: ModuleType, source: str, settings: Settings) -> list[BatchItem]:
    """Items of a Parquet input: row ``n`` (in file and row order) is line ``n``."""
    rows = _parquet_rows(ray, source)
    lines = [parquet_line(row, n) for n, row in enumerate(rows, start=1)]
    return parse_jsonl(
        "\n".join(lines), max_items=settings.max_batch_items, max_line_bytes=settings.max_bytes
    )


def _job_id(items: Sequence[BatchItem], options: JobOptions) -> str:
    """The job's id: a digest of its lines (numbers, keys, inputs) and of its options."""
    h = hashlib.sha256()
    for item in items:
        raw = (
            item.input.encode("utf-8", "surrogatepass")
            if isinstance(item.input, str)
            else item.input
        )
        h.update(f"{item.line}\0{item.key}\0{len(raw)}\0".encode("utf-8", "surrogatepass"))
        h.update(raw)
    return f"{h.hexdigest()[:24]}-{options.digest()}"


def _mismatch(journal: Path, found: str, wanted: str) -> UsageError:
    if found.partition("-")[0] == wanted.partition("-")[0]:
        return UsageError(
            f"{journal} holds a batch of this input started with other options (engine, model, "
            "base URL, output mode, cache, chunk tokens, re-asks, …); rerun with the same "
            "options, or delete it to start over"
        )
    return UsageError(f"{journal} holds a batch of a different input; delete it to start over")


class _Summarizer:
    """The actor's callable: one Runtime, opened on Ray Data's event loop at the first line."""

    def __init__(self, settings: Settings, engine: EngineChoice, threads: int) -> None:
        self._settings = settings
        self._engine = engine
        self._threads = threads
        self._runtime: Runtime | None = None
        self._gate: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        if self._runtime is None or self._gate is None:
            self._loop = asyncio.get_running_loop()
            self._runtime = Runtime(self._settings)
            self._gate = asyncio.Semaphore(self._threads)
        raw = bytes(row["input"])
        content: str | bytes = raw.decode("utf-8", "surrogatepass") if row["text"] else raw
        line = int(row["line"])
        async with self._gate:
            state, record = await summarize_record(
                str(row["key"]),
                line,
                content,
                self._settings,
                engine=self._engine,
                runtime=self._runtime,
                job="ray",
            )
        return {"line": line, "state": state, "record": record}

    def __del__(self) -> None:
        runtime, loop = self._runtime, self._loop
        if runtime is not None and loop is not None and loop.is_running():
            with contextlib.suppress(Exception):  # the actor is going away: best effort
                asyncio.run_coroutine_threadsafe(runtime.aclose(), loop).result(timeout=5)


def _row(item: BatchItem) -> dict[str, Any]:
    text = isinstance(item.input, str)
    raw = item.input.encode("utf-8", "surrogatepass") if isinstance(item.input, str) else item.input
    return {"line": item.line, "key": item.key, "input": raw, "text": text}


def _summaries(
    ray: ModuleType,
    pending: Sequence[BatchItem],
    settings: Settings,
    engine: EngineChoice,
    plan: PoolPlan,
) -> Iterator[dict[str, Any]]:
    """The records of ``pending``, as the actors finish them (one line per block, so each record
    reaches the driver as soon as it is made)."""
    rows = [_row(item) for item in pending]
    ds = ray.data.from_items(rows, override_num_blocks=len(rows))
    strategy = ray.data.ActorPoolStrategy(
        size=plan.actors,
        max_concurrent_calls_per_actor=plan.threads_per_actor,
        max_tasks_in_flight_per_actor=2 * plan.threads_per_actor,
    )
    threads = plan.threads_per_actor

    class Summarizer(_Summarizer):
        # The run's settings travel inside the class, not as constructor arguments in the
        # object store, so an actor Ray restarts can always be built again.
        def __init__(self) -> None:
            super().__init__(settings, engine, threads)

    mapped = ds.map(
        Summarizer,
        compute=strategy,
        num_cpus=plan.cpus_per_actor,
    )
    yield from mapped.iter_rows()


def _write_parquet(out_path: Path, records: Iterator[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    error_type = pa.struct([("type", pa.string()), ("status", pa.int32()), ("detail", pa.string())])
    schema = pa.schema(
        [
            ("key", pa.string()),
            ("line", pa.int64()),
            ("status", pa.string()),
            ("summary", pa.string()),
            ("error", error_type),
        ]
    )
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for record in records:
        doc = json.loads(record)
        summary = doc.get("summary")
        columns["key"].append(doc["key"])
        columns["line"].append(doc["line"])
        columns["status"].append(doc["status"])
        columns["summary"].append(
            None
            if summary is None
            else json.dumps(summary, ensure_ascii=False, separators=(",", ":"))
        )
        columns["error"].append(doc.get("error"))
    table = pa.table(columns, schema=schema)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=out_path.parent)
        os.close(fd)
    except OSError as e:
        raise OutputError(f"cannot write {out_path}: {e.strerror or e}") from None
    try:
        pq.write_table(table, tmp)
        os.chmod(tmp, file_mode(out_path))
        os.replace(tmp, out_path)
    except OSError as e:
        raise OutputError(f"cannot write {out_path}: {e.strerror or e}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def _write_output(out_path: Path, items: Sequence[BatchItem], records: Mapping[int, str]) -> None:
    ordered = (records[item.line] for item in items)
    if out_path.suffix.lower() in _PARQUET_SUFFIXES:
        _write_parquet(out_path, ordered)
    else:
        write_atomic(out_path, (record + "\n" for record in ordered))


def run(
    source: str | Path,
    out: str | Path,
    settings: Settings,
    *,
    address: str | None = None,
    actors: int | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    input_format: InputFormat = "auto",
    progress: Callable[[int, int, int], None] | None = None,
    engine: EngineChoice | None = None,
) -> RayBatchResult:
    """Summarise every line of ``source`` on Ray into ``out``; how the run ended.

    ``source`` is a JSONL or Parquet input (by its suffix, or ``input_format``): a local file or
    folder, or a URI Ray Data reads (a folder or glob of files is read in path order). ``out`` is
    a local file: Parquet when it ends in ``.parquet``, else JSONL. ``address`` names a running
    cluster (``ray.init``'s address: ``auto``, ``HOST:PORT``, ``ray://HOST:PORT``); without it
    the Ray session already open in this process is used, else a local Ray is started for the
    run on loopback. ``actors`` defaults to the cluster's CPUs (see :func:`plan_pool`).

    The run's journal (``OUT.ray-state.jsonl``) holds the records finished so far: without
    ``resume`` an existing one is a :class:`UsageError`; with it, its lines are skipped (the
    input and options must be the same); ``retry_failed`` (which implies ``resume``) runs its
    error records again. ``progress(done, total, failed)`` is called as records arrive.
    """
    out_path = Path(out)
    if out_path.is_dir() or not out_path.parent.is_dir():
        raise OutputError(f"cannot write {out_path}: not a file in an existing folder")
    resume = resume or retry_failed
    choice = engine or resolve_engine(settings)
    options = JobOptions.from_settings(settings, choice)
    journal_file = journal_path(out_path)
    state = read_journal(journal_file)
    if state is not None and not resume:
        raise UsageError(
            f"{journal_file} holds an unfinished batch for {out_path}; pass --resume to "
            "continue it, or delete it to start over"
        )
    if retry_failed and state is None and out_path.exists():
        raise UsageError(
            f"with --ray, --retry-failed retries the error records of an unfinished run; "
            f"{out_path} is a finished one: rerun it without --ray to retry its errors"
        )
    src = str(source)
    ray = _ray()
    with _session(ray, address):
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # progress is ours: ``progress`` below
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        kind = _input_format(src, input_format)
        read = _read_parquet if kind == "parquet" else _read_jsonl
        items = read(ray, src, settings)
        job_id = _job_id(items, options)
        if state is not None and state.job_id != job_id:
            raise _mismatch(journal_file, state.job_id, job_id)
        return _run_items(
            ray, items, job_id, state, out_path, settings, choice, actors, retry_failed, progress
        )


def _run_items(
    ray: ModuleType,
    items: Sequence[BatchItem],
    job_id: str,
    state: JournalState | None,
    out_path: Path,
    settings: Settings,
    engine: EngineChoice,
    actors: int | None,
    retry_failed: bool,
    progress: Callable[[int, int, int], None] | None,
) -> RayBatchResult:
    lines = {item.line for item in items}
    records: dict[int, str] = {}
    failed = 0
    if state is not None:
        for line, record in state.records.items():
            if line in lines and not (retry_failed and state.states[line] != "ok"):
                records[line] = record
                failed += state.states[line] != "ok"
    skipped = len(records)
    pending = [item for item in items if item.line not in records]
    total = len(items)
    journal = Journal.open(journal_path(out_path), job_id, state)
    try:
        if progress is not None:
            progress(len(records), total, failed)
        if pending:
            cpus = float(ray.cluster_resources().get("CPU", 1.0))
            plan = plan_pool(settings, actors=actors, cluster_cpus=cpus, pending=len(pending))
            run_settings = JobOptions.from_settings(settings, engine).apply(
                settings, also={"concurrency": plan.calls_per_actor}
            )
            log.info("ray batch %s: %d lines on %s", job_id, len(pending), plan)
            for row in _summaries(ray, pending, run_settings, engine, plan):
                line = int(row["line"])
                journal.append(str(row["record"]))
                records[line] = str(row["record"])
                failed += row["state"] != "ok"
                if progress is not None:
                    progress(len(records), total, failed)
        _write_output(out_path, items, records)
    except BaseException:
        journal.close()
        raise
    journal.remove()
    return RayBatchResult(total, failed, skipped, total - skipped)
