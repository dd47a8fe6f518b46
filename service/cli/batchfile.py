"""``threadsum batch``: a JSONL file in, a JSONL file out, resumable from a state file beside it.

The run's state lives beside the output in ``OUT.state.sqlite`` (a :class:`JobStore` of one job)
until ``OUT`` is written, atomically and in input order; then it is removed. So a state file
means an unfinished run. The job id is the input's digest and the options' digest, so a resume
is refused, with the reason, when either changed.

``--retry-failed`` runs the error records again: those in the state file of an unfinished run,
or, once a run has finished and only ``OUT`` is left, those in ``OUT`` (its ok records are kept
as they are, and must be the records of this input's lines: the same line numbers and keys).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ..errors import InputError, OutputError, UsageError
from ..files import write_atomic
from ..jobs.lines import BatchItem, parse_jsonl
from ..jobs.options import JobOptions
from ..jobs.runner import run_job
from ..jobs.store import JobStatus, JobStore
from ..runtime import Runtime
from ..settings import Settings
from ..summarizer import EngineChoice

__all__ = [
    "RETRY_HINT",
    "batch_job_id",
    "kept_records",
    "run_batch_file",
    "state_path",
    "write_results",
]

RETRY_HINT = "rerun the batch with --retry-failed to try it again"
"""How a give-up record of a CLI batch tells the user to ask for the thread again."""


def state_path(out_path: Path) -> Path:
    """Where the state of a CLI batch writing ``out_path`` lives."""
    return out_path.with_name(out_path.name + ".state.sqlite")


def batch_job_id(content: bytes, options: JobOptions) -> str:
    """The job id of a CLI batch: the input's digest and the options' digest."""
    return f"{hashlib.sha256(content).hexdigest()[:24]}-{options.digest()}"


def _read_input(path: Path) -> bytes:
    try:
        if path.is_dir():
            raise InputError(f"is a directory, not a JSONL file: {path}")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from None


def write_results(store: JobStore, job_id: str, out_path: Path) -> list[int]:
    """Write the job's records to ``out_path`` atomically (a temporary file, then a rename);
    the input lines of its error records."""
    failed: list[int] = []

    def lines() -> Iterator[str]:
        for record in store.results(job_id):
            if '"status":"error"' in record:  # records are compact JSON (jobs.records)
                doc = json.loads(record)
                if doc.get("status") == "error":
                    failed.append(int(doc["line"]))
            yield record + "\n"

    write_atomic(out_path, lines())
    return failed


def kept_records(out_path: Path, items: Sequence[BatchItem]) -> dict[int, str]:
    """The ok records of a finished run's ``out_path``, by line, to keep when retrying the rest.

    Raises :class:`UsageError` when the file is not the records of ``items``: a record per
    item, with its line number and key.
    """
    try:
        text = out_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {out_path} to retry its failed records: {e}") from None
    keys = {item.line: item.key for item in items}
    kept: dict[int, str] = {}
    seen: set[int] = set()
    for n, record in enumerate(text.splitlines(), start=1):
        try:
            doc = json.loads(record)
        except ValueError:
            doc = None
        line = doc.get("line") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or not isinstance(line, int) or line in seen:
            raise UsageError(f"{out_path} line {n} is not a batch record; cannot retry from it")
        if keys.get(line) != doc.get("key") or doc.get("status") not in ("ok", "error"):
            raise UsageError(
                f"{out_path} does not hold the records of this input (its line {n} is a record "
                "of another line or key); rerun without --retry-failed to start over"
            )
        seen.add(line)
        if doc["status"] == "ok":
            kept[line] = record
    if seen != set(keys):
        raise UsageError(
            f"{out_path} holds {len(seen)} records for the {len(keys)} lines of this input; "
            "rerun without --retry-failed to start over"
        )
    return kept


def _mismatch(store: JobStore, job_id: str, state: Path) -> UsageError:
    input_digest = job_id.partition("-")[0]
    wanted = job_id.partition("-")[2]
    for job in store.list_jobs():
        if job.id.partition("-")[0] == input_digest and job.id.partition("-")[2] != wanted:
            return UsageError(
                f"{state} holds a batch of this input started with other options "
                "(engine, model, base URL, output mode, cache, chunk tokens, re-asks, …); "
                "rerun with the same options, or delete it to start over"
            )
    return UsageError(f"{state} holds a batch of a different input file; delete it to start over")


async def run_batch_file(
    in_path: Path,
    out_path: Path,
    settings: Settings,
    *,
    concurrency: int,
    resume: bool,
    retry_failed: bool = False,
    progress: Callable[[int, int, int], None] | None = None,
    runtime: Runtime | None = None,
    engine: EngineChoice | None = None,
    on_finish: Callable[[int, list[int]], None] | None = None,
) -> int:
    """Summarise every line of ``in_path`` into ``out_path``; the exit code (0, or 3 if any failed).

    * without ``resume``, an existing state file is a :class:`UsageError` asking for
      ``--resume`` or for the file to be deleted: nothing is thrown away silently;
    * with ``resume``, the run continues where it stopped, as long as the input file and the
      options are the same (else a :class:`UsageError` says which differs); with no state file,
      ``resume`` simply starts a fresh run, so scripts can always pass it;
    * ``retry_failed`` (which implies ``resume``) first puts the error records back to run: in
      the state file when there is one, else in ``out_path`` when it exists (see
      :func:`kept_records`); with neither, it is a fresh run.

    ``progress(done, total, failed)`` is called as items finish; ``on_finish(total,
    failed_lines)`` once ``out_path`` is written, with the input lines of its error records.
    ``runtime`` is shared by the run (one is opened for it when none is given); ``engine`` is
    the caller's resolved choice (else it is resolved from ``settings``). Raises
    :class:`InputError` for an unreadable input file, :class:`LimitError` over
    ``settings.max_batch_items`` lines.
    """
    content = await asyncio.to_thread(_read_input, in_path)
    if out_path.is_dir() or not out_path.parent.is_dir():
        raise OutputError(f"cannot write {out_path}: not a file in an existing folder")
    items = parse_jsonl(
        content, max_items=settings.max_batch_items, max_line_bytes=settings.max_bytes
    )
    options = JobOptions.from_settings(settings, engine)
    job_id = batch_job_id(content, options)
    state = state_path(out_path)
    kept = None  # the ok records of a finished run, when its failed ones are retried
    if retry_failed and not state.exists() and out_path.is_file():
        kept = await asyncio.to_thread(kept_records, out_path, items)
    store = JobStore(state, retry_hint=RETRY_HINT)
    try:
        known = [job.id for job in store.list_jobs()]
        if known and not (resume or retry_failed):
            raise UsageError(
                f"{state} holds an unfinished batch for {out_path}; pass --resume to continue "
                "it, or delete it to start over"
            )
        if known and job_id not in known:
            raise _mismatch(store, job_id, state)
        if known and retry_failed:
            await asyncio.to_thread(store.retry_failed, job_id)
        if not known:
            store.create_job(items, options, job_id=job_id, finished=kept)

        def report(status: JobStatus) -> None:
            if progress is not None:
                progress(status.done, status.total, status.failed)

        status = await run_job(
            store,
            job_id,
            settings,
            concurrency=concurrency,
            on_progress=report,
            runtime=runtime,
        )
        if status.status != "done":
            raise UsageError(f"the batch in {state} was {status.status}; delete it to start over")
        failed_lines = await asyncio.to_thread(write_results, store, job_id, out_path)
    finally:
        store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(state) + suffix).unlink(missing_ok=True)
    if on_finish is not None:
        on_finish(status.total, failed_lines)
    return 0 if status.failed == 0 else 3
