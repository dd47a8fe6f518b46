"""The job store's SQLite file: opening it, its schema version and migrations, transactions.

:class:`Database` is one connection (WAL) guarded by a lock, each use one short transaction.

The schema's version is ``PRAGMA user_version``. Step ``n`` of :data:`MIGRATIONS` takes a state
file from version ``n - 1`` to ``n``; a new file is version 0 and gets every step. Files written
before the schema had a version are version 0 too, and hold step 1's tables already.
:func:`migrate` applies the missing steps and the new version in one transaction, so a file is
always at a version some threadsum wrote, and two processes opening one file at once migrate it
once. A file from a newer threadsum (a version past the last step) is refused, never guessed at:
its tables may mean something this code does not know.

A schema change is a new step appended here (never an edit of a shipped one), with a test that
a file of the previous version opens, keeps its jobs and reaches the new version.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ..errors import OutputError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Database", "Migration", "migrate", "schema_version"]

BUSY_TIMEOUT_S: Final = 30.0
"""Seconds a connection waits for another process's lock on the file before giving up."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: what it does, and its SQL statements (run in order, in one transaction)."""

    summary: str
    statements: tuple[str, ...]


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        # IF NOT EXISTS: files written before the schema had a version hold these tables already.
        "jobs and their items",
        (
            """CREATE TABLE IF NOT EXISTS jobs (
                id TEXT PRIMARY KEY,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                status TEXT NOT NULL
                    CHECK (status IN ('queued', 'running', 'done', 'cancelled', 'failed')),
                options TEXT NOT NULL,
                total INTEGER NOT NULL,
                done INTEGER NOT NULL DEFAULT 0,
                failed INTEGER NOT NULL DEFAULT 0,
                error TEXT,
                lease_owner TEXT,
                lease_expires REAL
            )""",
            """CREATE TABLE IF NOT EXISTS items (
                job_id TEXT NOT NULL,
                line INTEGER NOT NULL,
                key TEXT NOT NULL,
                input TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'ok', 'error')),
                result TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (job_id, line)
            ) WITHOUT ROWID""",
        ),
    ),
    Migration(
        "what a job's summaries spent: model calls, tokens, cache hits, cost",
        (
            "ALTER TABLE jobs ADD COLUMN llm_calls INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE jobs ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE jobs ADD COLUMN completion_tokens INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE jobs ADD COLUMN cache_hits INTEGER NOT NULL DEFAULT 0",
            # NULL while no finished summary had a known price
            "ALTER TABLE jobs ADD COLUMN cost_usd REAL",
        ),
    ),
)

SCHEMA_VERSION: Final = len(MIGRATIONS)
"""The version this code writes and reads."""


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version of the open database (0 for a new or unversioned file)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(
    conn: sqlite3.Connection, name: str, migrations: Sequence[Migration] = MIGRATIONS
) -> int:
    """Bring the database (called ``name`` in errors) to the last version; that version.

    ``conn`` is in autocommit mode (``isolation_level=None``). Raises :class:`OutputError` for a
    file of a newer version than ``migrations`` reach; ``sqlite3.Error`` when a step fails, with
    nothing changed.
    """
    latest = len(migrations)
    if schema_version(conn) == latest:
        return latest
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(conn)  # again, now that no other process can migrate it
        if current > latest:
            raise OutputError(
                f"the batch state file {name} has schema version {current}, newer than this "
                f"threadsum reads (up to {latest}): upgrade threadsum, or delete the file"
            )
        if current < 0:
            raise OutputError(f"the batch state file {name} has no valid schema version")
        for step in migrations[current:]:
            for statement in step.statements:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {latest:d}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return latest


def _use_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode, waiting out other processes that open it at the same moment.

    Switching a new file's journal mode needs it alone, and SQLite answers "database is locked"
    at once, without its busy timeout, while another connection is doing the same: the workers
    of ``serve --workers N`` start together and open one state file. So the switch is retried,
    as the busy timeout would, for up to :data:`BUSY_TIMEOUT_S`.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            busy = "locked" in str(e) or "busy" in str(e)
            if not busy or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


class Database:
    """The state file at ``path``, migrated to :data:`SCHEMA_VERSION` when opened.

    Safe for threads of one process (one connection behind a lock) and for processes (SQLite's
    own locking). Raises :class:`OutputError` for a file that cannot be opened or migrated.
    """

    def __init__(self, path: Path, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as e:
            raise OutputError(f"the batch state file {path} is unusable: {e}") from None
        try:
            _use_wal(self._conn)
            self._conn.execute("PRAGMA synchronous=NORMAL")
            migrate(self._conn, str(path), migrations)
        except sqlite3.Error as e:
            self._conn.close()
            raise OutputError(f"the batch state file {path} is unusable: {e}") from None
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextlib.contextmanager
    def tx(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction (``BEGIN IMMEDIATE`` when it writes); SQLite errors as OutputError."""
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
