"""Batch jobs: many threads in (JSONL), one record per line out; bounded, durable, resumable.

**Input.** One thread per line (or, for the HTTP API, a JSON array whose elements are the lines).
A line is a wrapper ``{"id"?, "thread": <JSON thread>, "format"?}``, ``{"id"?, "text": "<pasted
page>"}`` or ``{"id"?, "url": "https://news.ycombinator.com/item?id=N"}``, or a bare thread in
any JSON input format. Its key is the wrapper's ``id``, else the thread's own top-level ``id``,
else ``line-<n>``; keys are always strings and need not be unique (records are identified by
line). Blank lines are skipped but still counted.

**Output.** One JSON record per non-blank line, in input order::

    {"key": "…", "line": 3, "status": "ok", "summary": {…ThreadSummary…}}
    {"key": "…", "line": 4, "status": "error",
     "error": {"type": "FormatError", "status": 422, "detail": "…one line…"}}

A bad line never sinks the batch; an unexpected exception becomes an ``InternalError`` (500)
record and is logged.

**State** lives in one SQLite file (WAL): ``jobs`` and ``items`` (:class:`JobStore`). A job is
created from its lines in one transaction; each item's result is committed on its own as soon
as it is known, and only while the item is still ``pending``, so nothing is written twice and a
killed process loses at most the items it had in flight. Those re-run on resume.

**Concurrency.** :func:`run_job` runs a fixed pool of worker tasks over the pending items; all
of them share one answer cache and one model client. One process at a time runs a job: it holds
the job's *lease* (``host:pid:nonce`` and an expiry, renewed by a heartbeat). Another process
takes the job over only when the holder is dead (its pid is gone on this host) or the lease
expired; every item write is fenced on holding the lease, so a stalled holder that lost its
lease cannot write either. An item started :data:`MAX_ATTEMPTS` times without finishing (the
process died each time) is recorded as an error instead of being tried forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, TextIO
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict

from ..errors import (
    FormatError,
    InputError,
    JobBusyError,
    JobNotFoundError,
    LimitError,
    OutputError,
    ThreadsumError,
    TooLargeError,
    UsageError,
)
from ..files import write_atomic
from ..ingest import load_thread_async, read_thread
from ..ingest.detect import decode, detect_json, load_json
from ..models import Thread, ThreadSummary
from ..retrying import RetryPolicy
from ..runtime import Runtime
from ..settings import CacheMode, InvalidPolicy, OutputModeName, Settings
from ..summarizer import ResolvedEngine, resolve_engine, summarize

__all__ = [
    "MAX_ATTEMPTS",
    "BatchItem",
    "JobBusyError",
    "JobNotFoundError",
    "JobOptions",
    "JobStatus",
    "JobStore",
    "batch_job_id",
    "error_record",
    "ok_record",
    "parse_body",
    "parse_json_array",
    "parse_jsonl",
    "progress_printer",
    "run_batch_file",
    "run_job",
    "state_path",
    "summarize_item",
    "write_results",
]

log = logging.getLogger(__name__)

JobState = Literal["queued", "running", "done", "cancelled", "failed"]
ItemState = Literal["pending", "ok", "error"]

MAX_ATTEMPTS: Final = 3
"""Starts of one item (each ended by the process dying) before it is recorded as an error."""
LEASE_TTL: Final = 60.0
"""Seconds a job lease lasts without a heartbeat."""
HEARTBEAT_S: Final = 10.0
_DETAIL_CHARS: Final = 500
_HOST: Final = socket.gethostname()


# --- input lines ---------------------------------------------------------------------------------

_SOURCE_KEYS: Final = ("thread", "text", "url")
_WRAPPER_KEYS: Final = frozenset({"id", "format", *_SOURCE_KEYS})


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One input line: its 1-based number, its key, and its text (bytes when not UTF-8)."""

    line: int
    key: str
    input: str | bytes


@dataclass(frozen=True, slots=True)
class _Source:
    kind: Literal["thread", "text", "url"]
    content: str
    fmt: str
    key: str | None


def _id_key(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value) or None


def _json_type(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _wrapper(data: dict[str, Any]) -> _Source:
    present = [k for k in _SOURCE_KEYS if k in data]
    if len(present) != 1:
        raise FormatError(
            f"a wrapper line takes exactly one of thread, text, url (got {', '.join(present)})"
        )
    kind = present[0]
    raw_id = data.get("id")
    if raw_id is not None and _id_key(raw_id) is None and raw_id != "":
        raise FormatError(f"the line's id must be a string or an integer, not {_json_type(raw_id)}")
    fmt = data.get("format", "text" if kind == "text" else "auto")
    if not isinstance(fmt, str):
        raise FormatError(f"the line's format must be a string, not {_json_type(fmt)}")
    value = data[kind]
    key = _id_key(raw_id)
    if kind == "thread":
        if isinstance(value, str):
            content = value
        elif isinstance(value, dict | list):
            # ASCII escapes keep lone surrogates encodable; ingest reads them back the same.
            content = json.dumps(value)
            if key is None and isinstance(value, dict):
                key = _id_key(value.get("id"))
        else:
            raise FormatError(f"thread must be a JSON thread, not {_json_type(value)}")
        return _Source("thread", content, fmt, key)
    if not isinstance(value, str):
        raise FormatError(f"{kind} must be a string, not {_json_type(value)}")
    return _Source(kind, value, fmt, key)


def _source(data: Any, raw: str | None) -> _Source:
    """What one line (parsed as ``data``; ``raw`` its text when it came as text) asks for."""
    if isinstance(data, dict):
        keys = data.keys()
        if keys <= _WRAPPER_KEYS and any(k in data for k in _SOURCE_KEYS):
            return _wrapper(data)
        if "thread" in data:
            extra = ", ".join(sorted(str(k) for k in keys - _WRAPPER_KEYS))
            raise FormatError(f"a wrapper line takes id, format and thread; unknown key(s) {extra}")
    if isinstance(data, dict | list):
        content = raw if raw is not None else json.dumps(data)
        key = _id_key(data.get("id")) if isinstance(data, dict) else None
        return _Source("thread", content, "auto", key)
    raise FormatError(f"a batch line must be a JSON object or array, not {_json_type(data)}")


def _read_line(content: str | bytes) -> _Source:
    text = decode(content)
    return _source(load_json(text, "batch line"), text)


def _key_of(line: int, source: Callable[..., _Source], *args: Any) -> str:
    try:
        key = source(*args).key
    except (ThreadsumError, ValueError):
        key = None
    return key or f"line-{line}"


def _storable(text: str) -> str | bytes:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: keep the bytes, the item reports it
        return text.encode("utf-8", "surrogatepass")
    return text


def _check_count(n: int, max_items: int | None) -> None:
    if max_items is not None and n > max_items:
        raise LimitError(f"the batch holds over {max_items} threads, the limit")


def _line_text(raw: str | bytes) -> str | bytes:
    if isinstance(raw, str):
        return raw.removesuffix("\r")
    raw = raw.removesuffix(b"\r")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw  # stored as is; the item reports it


def parse_jsonl(
    content: bytes | str, *, max_items: int | None = None, max_line_bytes: int | None = None
) -> list[BatchItem]:
    """Split JSONL input into items. Keys are read here; lines are checked when they run.

    A line that is not UTF-8, not JSON or not a thread still becomes an item (its record will
    be an error). Raises :class:`LimitError` for more than ``max_items`` non-blank lines.
    """
    lines: Sequence[str | bytes] = (
        content.split(b"\n") if isinstance(content, bytes) else content.split("\n")
    )
    items: list[BatchItem] = []
    for n, raw in enumerate(lines, start=1):
        line = _line_text(raw)
        if n == 1 and isinstance(line, str):
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        _check_count(len(items) + 1, max_items)
        if max_line_bytes is not None and len(line) > max_line_bytes:
            key = f"line-{n}"  # not parsed here; the item reports the limit
        else:
            key = _key_of(n, _read_line, line)
        items.append(BatchItem(n, key, _storable(line) if isinstance(line, str) else line))
    return items


def parse_json_array(values: Sequence[Any], *, max_items: int | None = None) -> list[BatchItem]:
    """Items from a JSON array body: element ``i`` is line ``i + 1``."""
    _check_count(len(values), max_items)
    items = []
    for n, value in enumerate(values, start=1):
        key = _key_of(n, _source, value, None)
        items.append(BatchItem(n, key, json.dumps(value)))
    return items


def parse_body(content: bytes | str, *, max_items: int | None = None) -> list[BatchItem]:
    """Items from an HTTP body: a JSON array of lines, or JSONL.

    A body that is one JSON array is an array of lines, unless the array is itself a thread
    (a Reddit or HN Firebase document), which is then a one-line JSONL body.
    """
    head = content.lstrip()[:1]
    if head in ("[", b"["):
        try:
            data = json.loads(content)
        except ValueError:
            data = None
        if isinstance(data, list):
            try:
                detect_json(data)
            except ThreadsumError:
                return parse_json_array(data, max_items=max_items)
    return parse_jsonl(content, max_items=max_items)


# --- one item ------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _DETAIL_CHARS else flat[: _DETAIL_CHARS - 1] + "…"


def _dumps(record: dict[str, Any]) -> str:
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(record, separators=(",", ":"), allow_nan=False)
    return text


def ok_record(key: str, line: int, summary: ThreadSummary) -> str:
    """The output record of a summarised line."""
    doc = {"key": key, "line": line, "status": "ok", "summary": summary.model_dump(mode="json")}
    return _dumps(doc)


def error_record(key: str, line: int, error: BaseException) -> str:
    """The output record of a line that failed with ``error``."""
    if isinstance(error, ThreadsumError):
        kind, status, detail = type(error).__name__, error.status, str(error)
    else:
        kind, status = "InternalError", 500
        detail = f"internal error: {type(error).__name__}: {error}"
    err = {"type": kind, "status": status, "detail": _one_line(detail) or kind}
    return _dumps({"key": key, "line": line, "status": "error", "error": err})


async def _load(source: _Source, settings: Settings, retry: RetryPolicy | None) -> Thread:
    if source.kind != "url":
        return await asyncio.to_thread(read_thread, source.content, source.fmt, settings)
    from ..ingest.fetch import parse_target

    target = parse_target(source.content)
    if target is None:  # never a file path: lines come from untrusted bodies too
        raise UsageError(f"not a thread URL: {_one_line(source.content)[:200]}")
    return await load_thread_async(target.url, source.fmt, settings, retry=retry)


async def summarize_item(
    content: str | bytes,
    settings: Settings,
    *,
    engine: ResolvedEngine,
    runtime: Runtime | None = None,
) -> ThreadSummary:
    """Read one input line and summarise its thread through the one core."""
    if settings.max_bytes and len(content) > settings.max_bytes:
        raise TooLargeError(
            f"the line is {len(content)} bytes, over the limit of {settings.max_bytes}"
        )
    retry = runtime.fetch_retry if runtime is not None else None
    thread = await _load(_read_line(content), settings, retry)
    return await summarize(thread, settings, engine=engine, runtime=runtime)


# --- job options ---------------------------------------------------------------------------------


def _public_url(url: str | None) -> str | None:
    """``url`` without user info, query or fragment: nothing secret goes into the state file."""
    if url is None:
        return None
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment=""))


class JobOptions(BaseModel):
    """The settings that shape a job's answers, stored with it (never an API key)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    engine: ResolvedEngine
    model: str | None = None
    base_url: str | None = None
    output_mode: OutputModeName = "auto"
    cache: CacheMode = "use"
    chunk_tokens: int = 6000
    max_reasks: int = 2
    on_invalid: InvalidPolicy = "keep"
    max_tokens: int = 4096
    temperature: float = 0.0
    seed: int | None = 0
    strict: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> JobOptions:
        """The options of a new job; raises :class:`UsageError` for an engine that cannot run."""
        engine = resolve_engine(settings).kind
        fields = settings.model_dump(include=set(cls.model_fields) - {"engine", "base_url"})
        return cls(engine=engine, base_url=_public_url(settings.base_url), **fields)

    def apply(self, settings: Settings) -> Settings:
        """``settings`` with these options in force (secrets and local paths kept)."""
        values = self.model_dump()
        if settings.base_url and _public_url(settings.base_url) == self.base_url:
            values["base_url"] = settings.base_url  # the same server, with its credentials
        return Settings.model_validate({**settings.model_dump(), **values})

    def digest(self) -> str:
        """A short digest of the options."""
        raw = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


class JobStatus(BaseModel):
    """Where a job stands. ``done`` counts finished items, ok or not; ``failed`` the errors."""

    id: str
    status: JobState
    total: int
    done: int
    failed: int
    progress: float
    created_at: datetime
    updated_at: datetime
    error: str | None = None


# --- the store -----------------------------------------------------------------------------------

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'cancelled', 'failed')),
    options TEXT NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    lease_owner TEXT,
    lease_expires REAL
);
CREATE TABLE IF NOT EXISTS items (
    job_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    key TEXT NOT NULL,
    input TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'error')),
    result TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, line)
) WITHOUT ROWID;
"""
_JOB_COLUMNS: Final = "id, status, total, done, failed, created_at, updated_at, error"
_PAGE: Final = 200


@dataclass(frozen=True, slots=True)
class _Claim:
    key: str
    input: str | bytes


_Stop = Literal["stop", "skip"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _holder_died(owner: str) -> bool:
    """True when a lease holder (``host:pid:nonce``) was a process on this host that is gone."""
    host_pid, _, _nonce = owner.rpartition(":")
    host, _, pid = host_pid.rpartition(":")
    if host != _HOST:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, OverflowError):
        return False
    return False


def _status(row: tuple[Any, ...]) -> JobStatus:
    job_id, state, total, done, failed, created, updated, error = row
    return JobStatus(
        id=job_id,
        status=state,
        total=total,
        done=done,
        failed=failed,
        progress=round(done / total, 4) if total else 1.0,
        created_at=datetime.fromisoformat(created),
        updated_at=datetime.fromisoformat(updated),
        error=error,
    )


class JobStore:
    """Batch jobs in one SQLite file (WAL), safe for threads of one process and for processes.

    One connection, guarded by a lock; every method is one short transaction. Methods block:
    async code calls them through :func:`asyncio.to_thread`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(path), timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise OutputError(f"the batch state file {path} is unusable: {e}") from None

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextlib.contextmanager
    def _tx(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as e:
                raise OutputError(f"batch state {self.path}: {e}") from None

    # -- the public API --

    def create_job(
        self,
        lines: Sequence[str] | Sequence[BatchItem],
        options: JobOptions,
        *,
        job_id: str | None = None,
    ) -> str:
        """Store a new queued job of ``lines`` (raw JSONL lines, or parsed items); its id."""
        items = [x for x in lines if isinstance(x, BatchItem)]
        if len(items) != len(lines):
            items = parse_jsonl("\n".join(str(x) for x in lines))
        job_id = job_id or uuid.uuid4().hex
        now = _now()
        with self._tx() as db:
            if db.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone():
                raise UsageError(f"batch job {job_id} already exists")
            db.execute(
                "INSERT INTO jobs (id, created_at, updated_at, status, options, total)"
                " VALUES (?, ?, ?, 'queued', ?, ?)",
                (job_id, now, now, options.model_dump_json(), len(items)),
            )
            db.executemany(
                "INSERT INTO items (job_id, line, key, input) VALUES (?, ?, ?, ?)",
                ((job_id, it.line, it.key, it.input) for it in items),
            )
        return job_id

    def get(self, job_id: str) -> JobStatus:
        """The status of a job; :class:`JobNotFoundError` when there is none."""
        with self._tx(write=False) as db:
            row = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(f"no batch job {job_id}")
        return _status(row)

    def list_jobs(self) -> list[JobStatus]:
        """Every job, oldest first."""
        with self._tx(write=False) as db:
            rows = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY created_at, id")
            return [_status(r) for r in rows.fetchall()]

    def options(self, job_id: str) -> JobOptions:
        """The options a job was created with."""
        with self._tx(write=False) as db:
            row = db.execute("SELECT options FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(f"no batch job {job_id}")
        return JobOptions.model_validate_json(row[0])

    def results(self, job_id: str) -> Iterator[str]:
        """The records of the finished items, in input order (all of them once it is done)."""
        self.get(job_id)
        after = 0
        while True:
            with self._tx(write=False) as db:
                rows = db.execute(
                    "SELECT line, result FROM items WHERE job_id = ? AND line > ?"
                    " AND status != 'pending' ORDER BY line LIMIT ?",
                    (job_id, after, _PAGE),
                ).fetchall()
            for line, result in rows:
                yield result
                after = line
            if len(rows) < _PAGE:
                return

    def cancel(self, job_id: str) -> bool:
        """Stop a queued or running job from starting more items; False if it had ended."""
        with self._tx() as db:
            n = db.execute(
                "UPDATE jobs SET status = 'cancelled', updated_at = ?"
                " WHERE id = ? AND status IN ('queued', 'running')",
                (_now(), job_id),
            ).rowcount
            if not n and not db.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone():
                raise JobNotFoundError(f"no batch job {job_id}")
        return bool(n)

    def unfinished_jobs(self) -> list[str]:
        """Ids of queued and running jobs, oldest first (to resume after a restart).

        A job still leased by a live process is listed too; :func:`run_job` refuses it with
        :class:`JobBusyError`.
        """
        with self._tx(write=False) as db:
            rows = db.execute(
                "SELECT id FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at, id"
            ).fetchall()
        return [r[0] for r in rows]

    def delete(self, job_id: str) -> bool:
        """Forget a job and its results; False if there was none. A runner of it stops."""
        with self._tx() as db:
            db.execute("DELETE FROM items WHERE job_id = ?", (job_id,))
            return bool(db.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount)

    # -- what a runner does --

    def acquire(self, job_id: str, owner: str, ttl: float = LEASE_TTL) -> JobStatus:
        """Take the job's lease for ``owner`` and mark it running (unless it has ended)."""
        with self._tx() as db:
            row = db.execute(
                "SELECT status, lease_owner, lease_expires FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
            if row is None:
                raise JobNotFoundError(f"no batch job {job_id}")
            state, holder, expires = row
            if state not in ("done", "cancelled"):
                if (
                    holder not in (None, owner)
                    and expires > time.time()
                    and not _holder_died(holder)
                ):
                    pid = holder.split(":")[-2]
                    raise JobBusyError(f"batch job {job_id} is being run by process {pid}")
                db.execute(
                    "UPDATE jobs SET status = 'running', error = NULL, lease_owner = ?,"
                    " lease_expires = ?, updated_at = ? WHERE id = ?",
                    (owner, time.time() + ttl, _now(), job_id),
                )
        return self.get(job_id)

    def renew(self, job_id: str, owner: str, ttl: float = LEASE_TTL) -> bool:
        """Extend ``owner``'s lease; False when it no longer holds it."""
        with self._tx() as db:
            return bool(
                db.execute(
                    "UPDATE jobs SET lease_expires = ? WHERE id = ? AND lease_owner = ?",
                    (time.time() + ttl, job_id, owner),
                ).rowcount
            )

    def release(
        self, job_id: str, owner: str, *, state: JobState | None = None, error: str | None = None
    ) -> None:
        """Give up ``owner``'s lease, optionally setting the job's status."""
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET lease_owner = NULL, lease_expires = NULL,"
                " status = COALESCE(?, status), error = COALESCE(?, error), updated_at = ?"
                " WHERE id = ? AND lease_owner = ?",
                (state, error, _now(), job_id, owner),
            )

    def pending_lines(self, job_id: str) -> list[int]:
        """Line numbers of the items not yet finished, in order."""
        with self._tx(write=False) as db:
            rows = db.execute(
                "SELECT line FROM items WHERE job_id = ? AND status = 'pending' ORDER BY line",
                (job_id,),
            ).fetchall()
        return [r[0] for r in rows]

    def claim(self, job_id: str, line: int, owner: str) -> _Claim | _Stop:
        """Start an item: its input, ``"skip"`` if it needs no run, ``"stop"`` to stop the run."""
        with self._tx() as db:
            job = db.execute(
                "SELECT status, lease_owner FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
            if job is None or job[1] != owner or job[0] != "running":
                return "stop"
            item = db.execute(
                "SELECT key, input, status, attempts FROM items WHERE job_id = ? AND line = ?",
                (job_id, line),
            ).fetchone()
            if item is None or item[2] != "pending":
                return "skip"
            key, content, _, attempts = item
            if attempts >= MAX_ATTEMPTS:
                gave_up = ThreadsumError(
                    f"gave up on this thread: the process stopped while summarizing it "
                    f"{attempts} times"
                )
                self._finish(db, job_id, line, owner, "error", error_record(key, line, gave_up))
                return "skip"
            db.execute(
                "UPDATE items SET attempts = attempts + 1 WHERE job_id = ? AND line = ?",
                (job_id, line),
            )
        return _Claim(key, content)

    def finish(self, job_id: str, line: int, owner: str, state: ItemState, result: str) -> bool:
        """Record an item's result, only if it is still pending and ``owner`` holds the lease."""
        with self._tx() as db:
            return self._finish(db, job_id, line, owner, state, result)

    @staticmethod
    def _finish(
        db: sqlite3.Connection, job_id: str, line: int, owner: str, state: ItemState, result: str
    ) -> bool:
        n = db.execute(
            "UPDATE items SET status = ?, result = ? WHERE job_id = ? AND line = ?"
            " AND status = 'pending'"
            " AND EXISTS (SELECT 1 FROM jobs WHERE id = ? AND lease_owner = ?)",
            (state, result, job_id, line, job_id, owner),
        ).rowcount
        if n:
            db.execute(
                "UPDATE jobs SET done = done + 1, failed = failed + ?, updated_at = ? WHERE id = ?",
                (int(state == "error"), _now(), job_id),
            )
        return bool(n)

    def complete(self, job_id: str, owner: str) -> JobStatus:
        """End ``owner``'s run: done when no item is pending (cancelled stays cancelled)."""
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET status = CASE WHEN status = 'running' AND NOT EXISTS"
                " (SELECT 1 FROM items WHERE job_id = ? AND status = 'pending')"
                " THEN 'done' ELSE status END,"
                " lease_owner = NULL, lease_expires = NULL, updated_at = ?"
                " WHERE id = ? AND lease_owner = ?",
                (job_id, _now(), job_id, owner),
            )
        return self.get(job_id)


# --- running a job -------------------------------------------------------------------------------


def _new_owner() -> str:
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


@dataclass
class _Run:
    store: JobStore
    job_id: str
    owner: str
    settings: Settings
    engine: ResolvedEngine
    runtime: Runtime
    on_progress: Callable[[JobStatus], None] | None
    stopped: bool = False

    async def worker(self, lines: Iterator[int]) -> None:
        for line in lines:  # shared by the workers: each line goes to one of them
            if self.stopped:
                return
            claim = await asyncio.to_thread(self.store.claim, self.job_id, line, self.owner)
            if claim == "stop":
                self.stopped = True
                return
            if not isinstance(claim, _Claim):
                continue
            state, record = await self.process(line, claim)
            await asyncio.to_thread(self.store.finish, self.job_id, line, self.owner, state, record)
            await self.report()

    async def process(self, line: int, claim: _Claim) -> tuple[ItemState, str]:
        try:
            summary = await summarize_item(
                claim.input, self.settings, engine=self.engine, runtime=self.runtime
            )
        except ThreadsumError as e:
            return "error", error_record(claim.key, line, e)
        except Exception as e:
            # One thread must never sink the batch: record it, log it, go on.
            log.exception("batch %s line %d failed unexpectedly", self.job_id, line)
            return "error", error_record(claim.key, line, e)
        return "ok", ok_record(claim.key, line, summary)

    async def heartbeat(self) -> None:
        while not self.stopped:
            await asyncio.sleep(HEARTBEAT_S)
            if not await asyncio.to_thread(self.store.renew, self.job_id, self.owner):
                self.stopped = True

    async def report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(await asyncio.to_thread(self.store.get, self.job_id))

    async def run(self, concurrency: int) -> None:
        lines = iter(await asyncio.to_thread(self.store.pending_lines, self.job_id))
        await self.report()
        tasks = [asyncio.create_task(self.worker(lines)) for _ in range(concurrency)]
        beat = asyncio.create_task(self.heartbeat())
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in (*tasks, beat):
                task.cancel()
            await asyncio.gather(*tasks, beat, return_exceptions=True)


async def run_job(
    store: JobStore,
    job_id: str,
    settings: Settings,
    *,
    concurrency: int,
    on_progress: Callable[[JobStatus], None] | None = None,
    runtime: Runtime | None = None,
) -> JobStatus:
    """Run a job's pending items, ``concurrency`` threads at a time; its final status.

    The job's stored options override ``settings`` (which supply secrets, paths and limits).
    ``runtime`` holds the model clients and caches the run shares (one is opened for the run
    when none is given).
    Returns at once for a job that has ended. Raises :class:`JobBusyError` when another live
    process runs it. A failure of the run itself (not of one item) marks the job ``failed``
    and is raised; a cancelled run (task cancelled, Ctrl-C) leaves it resumable. A job deleted
    while it runs stops, and its run ends in :class:`JobNotFoundError`.
    """
    if concurrency < 1:
        raise UsageError("the batch concurrency must be at least 1")
    owner = _new_owner()
    status = await asyncio.to_thread(store.acquire, job_id, owner)
    if status.status != "running":
        return status
    try:
        options = await asyncio.to_thread(store.options, job_id)
        run_settings = options.apply(settings)
        # At least one model call per thread in flight, or the batch concurrency is moot.
        run_settings = run_settings.override(
            {"concurrency": max(run_settings.concurrency, concurrency)}
        )
        async with contextlib.AsyncExitStack() as stack:
            if runtime is None:
                runtime = await stack.enter_async_context(Runtime(run_settings))
            run = _Run(store, job_id, owner, run_settings, options.engine, runtime, on_progress)
            await run.run(concurrency)
    except Exception as e:
        if not isinstance(e, ThreadsumError):
            log.exception("batch %s failed", job_id)
        with contextlib.suppress(OutputError):  # the state may be what failed
            store.release(job_id, owner, state="failed", error=_one_line(str(e)))
        raise
    except BaseException:
        with contextlib.suppress(OutputError):  # cancelled or interrupted: resumable
            store.release(job_id, owner)
        raise
    return await asyncio.to_thread(store.complete, job_id, owner)


# --- the CLI face --------------------------------------------------------------------------------


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


def write_results(store: JobStore, job_id: str, out_path: Path) -> None:
    """Write the job's records to ``out_path`` atomically (a temporary file, then a rename)."""
    write_atomic(out_path, (record + "\n" for record in store.results(job_id)))


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
    progress: Callable[[int, int, int], None] | None = None,
    runtime: Runtime | None = None,
) -> int:
    """Summarise every line of ``in_path`` into ``out_path``; the exit code (0, or 3 if any failed).

    The run's state lives beside the output in ``OUT.state.sqlite`` until ``OUT`` is written
    (atomically, in input order); then it is removed. So a state file means an unfinished run:

    * without ``resume``, an existing state file is a :class:`UsageError` asking for
      ``--resume`` or for the file to be deleted: nothing is thrown away silently;
    * with ``resume``, the run continues where it stopped, as long as the input file and the
      options are the same (else a :class:`UsageError` says which differs); with no state file,
      ``resume`` simply starts a fresh run, so scripts can always pass it.

    ``progress(done, total, failed)`` is called as items finish. Raises :class:`InputError` for
    an unreadable input file, :class:`LimitError` over ``settings.max_batch_items`` lines.
    """
    content = await asyncio.to_thread(_read_input, in_path)
    if out_path.is_dir() or not out_path.parent.is_dir():
        raise OutputError(f"cannot write {out_path}: not a file in an existing folder")
    items = parse_jsonl(
        content, max_items=settings.max_batch_items, max_line_bytes=settings.max_bytes
    )
    options = JobOptions.from_settings(settings)
    job_id = batch_job_id(content, options)
    state = state_path(out_path)
    store = JobStore(state)
    try:
        known = [job.id for job in store.list_jobs()]
        if known and not resume:
            raise UsageError(
                f"{state} holds an unfinished batch for {out_path}; pass --resume to continue "
                "it, or delete it to start over"
            )
        if known and job_id not in known:
            raise _mismatch(store, job_id, state)
        if not known:
            store.create_job(items, options, job_id=job_id)

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
        await asyncio.to_thread(write_results, store, job_id, out_path)
    finally:
        store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(state) + suffix).unlink(missing_ok=True)
    return 0 if status.failed == 0 else 3


def progress_printer(
    stream: TextIO, is_tty: bool, *, clock: Callable[[], float] = time.monotonic
) -> Callable[[int, int, int], None]:
    """A ``progress(done, total, failed)`` callback.

    On a TTY: a bar redrawn in place (``[#####.....] 40/100 ok 39 failed 1``), ended by a
    newline when done. Otherwise plain lines (``batch: 40/100 done, 1 failed``), at most every
    2 seconds or every 10% of the total, and always the last one.
    """
    width = 20
    last: dict[str, float] = {}

    def tty(done: int, total: int, failed: int) -> None:
        filled = width * done // total if total else width
        bar = "#" * filled + "." * (width - filled)
        end = "\n" if done >= total else ""
        stream.write(f"\r[{bar}] {done}/{total} ok {done - failed} failed {failed}{end}")
        stream.flush()

    def plain(done: int, total: int, failed: int) -> None:
        now = clock()
        tenth = 10 * done // total if total else 10
        if last and last["done"] == done:
            return
        if last and done < total and now - last["t"] < 2.0 and tenth <= last["tenth"]:
            return
        last.update(t=now, tenth=tenth, done=done)
        stream.write(f"batch: {done}/{total} done, {failed} failed\n")
        stream.flush()

    return tty if is_tty else plain
