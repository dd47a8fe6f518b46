"""The job store: batch jobs and their items in one SQLite file (WAL), durable across processes.

A job is created from its lines in one transaction; each item's result is committed on its own as
soon as it is known, and only while the item is still ``pending``, so nothing is written twice
and a killed process loses at most the items it had in flight. Those run again on resume.

One process at a time runs a job: it holds the job's *lease* (an owner token from
:mod:`service.leases` and an expiry, renewed by the runner's heartbeat). Another process takes
the job over only when the holder is dead (its pid is gone on this host) or the lease expired;
every item write is fenced on holding the lease, so a stalled holder that lost its lease cannot
write either.

An item started :data:`MAX_ATTEMPTS` times without finishing (its process died each time, so it
may be what kills it) is recorded as a :class:`~service.errors.GaveUpError` instead of being
tried forever; a run that stops cleanly (cancelled, interrupted) hands its items in flight back
(:meth:`JobStore.unclaim`), so only deaths count. :meth:`JobStore.retry_failed` puts a job's
error records back to pending, with their count from zero, when the user asks for them again.
The tables, their version and migrations are :mod:`service.jobs.database`.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from ..errors import GaveUpError, JobBusyError, JobNotFoundError, JobStateError, UsageError
from ..leases import holder_died
from .database import Database
from .lines import BatchItem, parse_jsonl
from .options import JobOptions
from .records import Usage, error_record
from .status import Claim, ItemState, JobState, JobStatus, Stop, seeded, stamp, status_of

__all__ = ["LEASE_TTL", "MAX_ATTEMPTS", "Claim", "ItemState", "JobState", "JobStatus", "JobStore"]

MAX_ATTEMPTS: Final = 3
"""Starts of one item (each ended by the process dying) before it is recorded as an error."""
RETRY_HINT: Final = "retry it with POST /v1/batches/{job_id}/retry"
"""What a give-up record tells the user to do, unless the store is told otherwise."""
LEASE_TTL: Final = 60.0
"""Seconds a job lease lasts without a heartbeat."""
_JOB_COLUMNS: Final = (
    "id, status, total, done, failed, created_at, updated_at, error,"
    " llm_calls, prompt_tokens, completion_tokens, cache_hits, cost_usd"
)
_PAGE: Final = 200


def _lease_live(holder: str | None, expires: float | None, owner: str | None = None) -> bool:
    """True when someone other than ``owner`` holds a lease that has not expired or died."""
    return (
        holder is not None
        and holder != owner
        and expires is not None
        and expires > time.time()
        and not holder_died(holder)
    )


class JobStore:
    """Batch jobs in one SQLite file, safe for threads of one process and for processes.

    Every method is one short transaction. Methods block: async code calls them through
    :func:`asyncio.to_thread`. Raises :class:`OutputError` when the file is unusable.
    """

    def __init__(self, path: Path, *, retry_hint: str = RETRY_HINT) -> None:
        """Open the state file at ``path``.

        ``retry_hint`` ends the detail of a give-up record: how the user asks for the thread
        again (``{job_id}`` is filled in); the CLI's names ``--retry-failed``.
        """
        self.path = path
        self.retry_hint = retry_hint
        self._db = Database(path)

    def close(self) -> None:
        """Close the state file."""
        self._db.close()

    # -- the public API --

    def create_job(
        self,
        lines: Sequence[str] | Sequence[BatchItem],
        options: JobOptions,
        *,
        job_id: str | None = None,
        finished: Mapping[int, str] | None = None,
    ) -> str:
        """Store a new queued job of ``lines`` (raw JSONL lines, or parsed items); its id.

        ``finished`` maps line numbers to the ok records they already have (a retry of the
        failed lines of an earlier run): those items are stored as done and never run.
        """
        items = [x for x in lines if isinstance(x, BatchItem)]
        if len(items) != len(lines):
            items = parse_jsonl("\n".join(str(x) for x in lines))
        finished = finished or {}
        kept = {it.line: finished[it.line] for it in items if it.line in finished}
        job_id = job_id or uuid.uuid4().hex
        now = stamp()
        with self._db.tx() as db:
            if db.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone():
                raise UsageError(f"batch job {job_id} already exists")
            db.execute(
                "INSERT INTO jobs (id, created_at, updated_at, status, options, total, done)"
                " VALUES (?, ?, ?, 'queued', ?, ?, ?)",
                (job_id, now, now, options.to_json(), len(items), len(kept)),
            )
            db.executemany(
                "INSERT INTO items (job_id, line, key, input, status, result)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                ((job_id, it.line, it.key, it.input, *seeded(kept.get(it.line))) for it in items),
            )
        return job_id

    def get(self, job_id: str) -> JobStatus:
        """The status of a job; :class:`JobNotFoundError` when there is none."""
        with self._db.tx(write=False) as db:
            row = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(f"no batch job {job_id}")
        return status_of(row)

    def list_jobs(self) -> list[JobStatus]:
        """Every job, oldest first."""
        with self._db.tx(write=False) as db:
            rows = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY created_at, id")
            return [status_of(r) for r in rows.fetchall()]

    def options(self, job_id: str) -> JobOptions:
        """The options a job was created with."""
        with self._db.tx(write=False) as db:
            row = db.execute("SELECT options FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(f"no batch job {job_id}")
        return JobOptions.from_json(row[0])

    def results(self, job_id: str) -> Iterator[str]:
        """The records of the finished items, in input order (all of them once it is done)."""
        self.get(job_id)
        after = 0
        while True:
            with self._db.tx(write=False) as db:
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
        with self._db.tx() as db:
            n = db.execute(
                "UPDATE jobs SET status = 'cancelled', updated_at = ?"
                " WHERE id = ? AND status IN ('queued', 'running')",
                (stamp(), job_id),
            ).rowcount
            if not n and not db.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone():
                raise JobNotFoundError(f"no batch job {job_id}")
        return bool(n)

    def unfinished_jobs(self) -> list[str]:
        """Ids of queued and running jobs, oldest first (to resume after a restart).

        A job still leased by a live process is listed too; :func:`run_job` refuses it with
        :class:`JobBusyError`.
        """
        with self._db.tx(write=False) as db:
            rows = db.execute(
                "SELECT id FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at, id"
            ).fetchall()
        return [r[0] for r in rows]

    def retry_failed(self, job_id: str) -> int:
        """Put the job's error records back to pending, to run again; how many were.

        Their start counts go back to zero, so a give-up is retried too. A job that had ended
        (done or failed) is queued again; a job nobody runs keeps its status. Raises
        :class:`JobNotFoundError`, :class:`JobBusyError` while a live process runs the job
        (retry once it has finished) and :class:`JobStateError` for a cancelled job.
        """
        with self._db.tx() as db:
            row = db.execute(
                "SELECT status, lease_owner, lease_expires FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
            if row is None:
                raise JobNotFoundError(f"no batch job {job_id}")
            state, holder, expires = row
            if _lease_live(holder, expires):
                raise JobBusyError(
                    f"batch job {job_id} is running; retry its failed threads once it has ended"
                )
            if state == "cancelled":
                raise JobStateError(
                    f"batch job {job_id} was cancelled; its failed threads are not retried"
                )
            n = db.execute(
                "UPDATE items SET status = 'pending', result = NULL, attempts = 0"
                " WHERE job_id = ? AND status = 'error'",
                (job_id,),
            ).rowcount
            requeue = state == "failed" or (state == "done" and n > 0)
            db.execute(
                "UPDATE jobs SET done = done - ?, failed = failed - ?, updated_at = ?,"
                " status = CASE WHEN ? THEN 'queued' ELSE status END,"
                " error = CASE WHEN ? THEN NULL ELSE error END WHERE id = ?",
                (n, n, stamp(), requeue, requeue, job_id),
            )
        return n

    def delete(self, job_id: str) -> bool:
        """Forget a job and its results; False if there was none. A runner of it stops."""
        with self._db.tx() as db:
            db.execute("DELETE FROM items WHERE job_id = ?", (job_id,))
            return bool(db.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount)

    # -- what a runner does --

    def acquire(self, job_id: str, owner: str, ttl: float = LEASE_TTL) -> JobStatus:
        """Take the job's lease for ``owner`` and mark it running (unless it has ended)."""
        with self._db.tx() as db:
            row = db.execute(
                "SELECT status, lease_owner, lease_expires FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
            if row is None:
                raise JobNotFoundError(f"no batch job {job_id}")
            state, holder, expires = row
            if state not in ("done", "cancelled"):
                if _lease_live(holder, expires, owner):
                    pid = holder.split(":")[-2]
                    raise JobBusyError(f"batch job {job_id} is being run by process {pid}")
                db.execute(
                    "UPDATE jobs SET status = 'running', error = NULL, lease_owner = ?,"
                    " lease_expires = ?, updated_at = ? WHERE id = ?",
                    (owner, time.time() + ttl, stamp(), job_id),
                )
        return self.get(job_id)

    def renew(self, job_id: str, owner: str, ttl: float = LEASE_TTL) -> bool:
        """Extend ``owner``'s lease; False when it no longer holds it."""
        with self._db.tx() as db:
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
        with self._db.tx() as db:
            db.execute(
                "UPDATE jobs SET lease_owner = NULL, lease_expires = NULL,"
                " status = COALESCE(?, status), error = COALESCE(?, error), updated_at = ?"
                " WHERE id = ? AND lease_owner = ?",
                (state, error, stamp(), job_id, owner),
            )

    def pending_lines(self, job_id: str) -> list[int]:
        """Line numbers of the items not yet finished, in order."""
        with self._db.tx(write=False) as db:
            rows = db.execute(
                "SELECT line FROM items WHERE job_id = ? AND status = 'pending' ORDER BY line",
                (job_id,),
            ).fetchall()
        return [r[0] for r in rows]

    def claim(self, job_id: str, line: int, owner: str) -> Claim | Stop:
        """Start an item: its input, ``"skip"`` if it needs no run, ``"stop"`` to stop the run."""
        with self._db.tx() as db:
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
                gave_up = GaveUpError(
                    f"gave up on this thread: the process stopped while summarizing it "
                    f"{attempts} times, so the thread may be what stops it; "
                    + self.retry_hint.format(job_id=job_id)
                )
                self._finish(db, job_id, line, owner, "error", error_record(key, line, gave_up))
                return "skip"
            db.execute(
                "UPDATE items SET attempts = attempts + 1 WHERE job_id = ? AND line = ?",
                (job_id, line),
            )
        return Claim(key, content)

    def unclaim(self, job_id: str, line: int, owner: str) -> None:
        """Hand back an item ``owner`` started and did not finish because its run stopped cleanly.

        Its start is not counted: only a process that dies with an item in flight counts
        towards :data:`MAX_ATTEMPTS`.
        """
        with self._db.tx() as db:
            db.execute(
                "UPDATE items SET attempts = MAX(attempts - 1, 0) WHERE job_id = ? AND line = ?"
                " AND status = 'pending'"
                " AND EXISTS (SELECT 1 FROM jobs WHERE id = ? AND lease_owner = ?)",
                (job_id, line, job_id, owner),
            )

    def finish(
        self,
        job_id: str,
        line: int,
        owner: str,
        state: ItemState,
        result: str,
        usage: Usage | None = None,
    ) -> bool:
        """Record an item's result, only if it is still pending and ``owner`` holds the lease;
        ``usage`` (what its summary spent) is added to the job's totals."""
        with self._db.tx() as db:
            return self._finish(db, job_id, line, owner, state, result, usage)

    @staticmethod
    def _finish(
        db: sqlite3.Connection,
        job_id: str,
        line: int,
        owner: str,
        state: ItemState,
        result: str,
        usage: Usage | None = None,
    ) -> bool:
        n = db.execute(
            "UPDATE items SET status = ?, result = ? WHERE job_id = ? AND line = ?"
            " AND status = 'pending'"
            " AND EXISTS (SELECT 1 FROM jobs WHERE id = ? AND lease_owner = ?)",
            (state, result, job_id, line, job_id, owner),
        ).rowcount
        if n:
            u = usage or Usage()
            db.execute(
                "UPDATE jobs SET done = done + 1, failed = failed + ?, updated_at = ?,"
                " llm_calls = llm_calls + ?, prompt_tokens = prompt_tokens + ?,"
                " completion_tokens = completion_tokens + ?, cache_hits = cache_hits + ?,"
                " cost_usd = CASE WHEN ? IS NULL THEN cost_usd ELSE COALESCE(cost_usd, 0) + ? END"
                " WHERE id = ?",
                (
                    int(state == "error"),
                    stamp(),
                    u.llm_calls,
                    u.prompt_tokens,
                    u.completion_tokens,
                    u.cache_hits,
                    u.cost_usd,
                    u.cost_usd,
                    job_id,
                ),
            )
        return bool(n)

    def complete(self, job_id: str, owner: str) -> JobStatus:
        """End ``owner``'s run: done when no item is pending (cancelled stays cancelled)."""
        with self._db.tx() as db:
            db.execute(
                "UPDATE jobs SET status = CASE WHEN status = 'running' AND NOT EXISTS"
                " (SELECT 1 FROM items WHERE job_id = ? AND status = 'pending')"
                " THEN 'done' ELSE status END,"
                " lease_owner = NULL, lease_expires = NULL, updated_at = ?"
                " WHERE id = ? AND lease_owner = ?",
                (job_id, stamp(), job_id, owner),
            )
        return self.get(job_id)
