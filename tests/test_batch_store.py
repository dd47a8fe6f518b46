"""The job store (service.jobs.store), its SQLite file and migrations (service.jobs.database),
and the options a job stores (service.jobs.options)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.devtools.synthetic import synthetic_thread
from service.errors import (
    JobBusyError,
    JobNotFoundError,
    JobStateError,
    OutputError,
    UsageError,
)
from service.jobs.database import MIGRATIONS, SCHEMA_VERSION, Database, Migration, migrate
from service.jobs.lines import BatchItem
from service.jobs.options import STORED_SETTINGS, JobOptions
from service.jobs.records import Usage, usage_of
from service.jobs.store import MAX_ATTEMPTS, Claim, JobStore
from service.leases import new_owner_token
from service.settings import Settings


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _small(n: int) -> dict[str, Any]:
    return synthetic_thread(5, n, thread_id=f"t{n}")


def _extractive() -> JobOptions:
    return JobOptions.from_settings(Settings(engine="extractive"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    s = JobStore(tmp_path / "state" / "jobs.sqlite")
    yield s
    s.close()


def _version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


# --- the store -----------------------------------------------------------------------------------


def test_store_basics(store: JobStore) -> None:
    options = _extractive()
    job = store.create_job(["", _line(_small(1)), "x"], options)
    status = store.get(job)
    assert (status.status, status.total, status.done, status.progress) == ("queued", 2, 0, 0.0)
    assert store.unfinished_jobs() == [job]
    assert list(store.results(job)) == []
    assert store.options(job) == options
    with pytest.raises(UsageError):
        store.create_job([], options, job_id=job)
    with pytest.raises(JobNotFoundError):
        store.get("nope")
    assert store.delete(job) and not store.delete(job)


def test_a_result_is_written_once(store: JobStore) -> None:
    job = store.create_job([BatchItem(1, "k", "{}")], _extractive())
    owner = new_owner_token()
    store.acquire(job, owner)
    assert store.finish(job, 1, owner, "ok", '{"first": true}')
    assert not store.finish(job, 1, owner, "error", '{"second": true}')
    assert list(store.results(job)) == ['{"first": true}']
    assert (store.get(job).done, store.get(job).failed) == (1, 0)
    # A process that lost the lease cannot write either.
    job2 = store.create_job([BatchItem(1, "k", "{}")], _extractive())
    store.acquire(job2, owner)
    assert not store.finish(job2, 1, "somebody:else:x", "ok", "{}")


def test_the_status_adds_up_what_the_summaries_spent(store: JobStore) -> None:
    job = store.create_job(_items(3), _extractive())
    owner = new_owner_token()
    store.acquire(job, owner)
    assert store.get(job).cost_usd is None  # nothing priced yet
    free = Usage(llm_calls=2, prompt_tokens=900, completion_tokens=80, cache_hits=1)
    priced = Usage(llm_calls=3, prompt_tokens=1000, completion_tokens=100, cost_usd=0.0025)
    assert store.finish(job, 1, owner, "ok", "{}", free)
    assert store.get(job).cost_usd is None  # an unknown price is not a price of 0
    assert store.finish(job, 2, owner, "ok", "{}", priced)
    assert store.finish(job, 3, owner, "error", "{}")
    assert not store.finish(job, 3, owner, "ok", "{}", priced)  # written once, counted once
    status = store.get(job)
    assert (status.llm_calls, status.prompt_tokens, status.completion_tokens) == (5, 1900, 180)
    assert status.cache_hits == 1 and status.cost_usd == 0.0025


def test_usage_is_read_from_an_ok_record() -> None:
    record = json.dumps(
        {
            "key": "k",
            "line": 1,
            "status": "ok",
            "summary": {
                "stats": {
                    "llm_calls": 4,
                    "prompt_tokens": 10,
                    "completion_tokens": 3,
                    "cache_hits": 2,
                    "cost_usd": 0.5,
                }
            },
        }
    )
    assert usage_of(record) == Usage(4, 10, 3, 2, 0.5)
    assert usage_of('{"status": "error"}') == Usage()
    assert usage_of("not json") == Usage()
    assert usage_of('{"summary": {"stats": {"llm_calls": -3, "cost_usd": "x"}}}') == Usage()


def _items(n: int) -> list[BatchItem]:
    return [BatchItem(i, f"k{i}", "{}") for i in range(1, n + 1)]


def test_retry_failed_puts_the_error_records_back(store: JobStore) -> None:
    job = store.create_job(_items(4), _extractive())
    owner = new_owner_token()
    store.acquire(job, owner)
    for line, state in ((1, "ok"), (2, "error"), (3, "ok"), (4, "error")):
        assert isinstance(store.claim(job, line, owner), Claim)
        store.finish(job, line, owner, state, f'{{"line": {line}}}')
    done = store.complete(job, owner)
    assert (done.status, done.done, done.failed) == ("done", 4, 2)

    assert store.retry_failed(job) == 2
    again = store.get(job)
    assert (again.status, again.done, again.failed) == ("queued", 2, 0)
    assert store.pending_lines(job) == [2, 4]
    assert list(store.results(job)) == ['{"line": 1}', '{"line": 3}']
    assert store.unfinished_jobs() == [job]
    # Their starts count from zero again: a retried item has all its attempts.
    second = new_owner_token()
    store.acquire(job, second)
    for _ in range(MAX_ATTEMPTS):
        assert isinstance(store.claim(job, 2, second), Claim)
    assert store.claim(job, 2, second) == "skip"  # the next start gives up, as before


def test_retry_failed_of_a_job_with_no_errors_changes_nothing(store: JobStore) -> None:
    job = store.create_job(_items(1), _extractive())
    owner = new_owner_token()
    store.acquire(job, owner)
    store.claim(job, 1, owner)
    store.finish(job, 1, owner, "ok", "{}")
    store.complete(job, owner)
    assert store.retry_failed(job) == 0
    assert (store.get(job).status, store.get(job).done) == ("done", 1)


def test_retry_failed_is_refused_while_running_when_cancelled_or_unknown(
    store: JobStore,
) -> None:
    job = store.create_job(_items(2), _extractive())
    store.acquire(job, new_owner_token())  # this process: alive
    with pytest.raises(JobBusyError, match="retry its failed threads once it has ended"):
        store.retry_failed(job)
    store.cancel(job)
    job2 = store.create_job(_items(1), _extractive())
    store.cancel(job2)
    with pytest.raises(JobStateError, match="cancelled"):
        store.retry_failed(job2)
    with pytest.raises(JobNotFoundError):
        store.retry_failed("nope")


def test_a_job_can_start_with_lines_already_finished(store: JobStore) -> None:
    job = store.create_job(_items(3), _extractive(), finished={2: '{"kept": true}', 9: "{}"})
    status = store.get(job)
    assert (status.total, status.done, status.failed) == (3, 1, 0)
    assert store.pending_lines(job) == [1, 3]
    assert list(store.results(job)) == ['{"kept": true}']


def test_a_start_handed_back_does_not_count(store: JobStore) -> None:
    job = store.create_job(_items(1), _extractive())
    owner = new_owner_token()
    store.acquire(job, owner)
    for _ in range(MAX_ATTEMPTS + 2):  # stopped cleanly each time: never given up
        assert isinstance(store.claim(job, 1, owner), Claim)
        store.unclaim(job, 1, owner)
    assert isinstance(store.claim(job, 1, owner), Claim)
    store.unclaim(job, 1, "somebody:else:x")  # only the lease holder can hand it back
    store.unclaim(job, 1, owner)
    store.unclaim(job, 1, owner)  # never below zero
    assert store.pending_lines(job) == [1]


def test_a_give_up_names_its_cause_and_the_way_to_retry(tmp_path: Path) -> None:
    for hint, expected in (
        (None, "retry it with POST /v1/batches/{job}/retry"),
        ("rerun with --retry-failed", "rerun with --retry-failed"),
    ):
        path = tmp_path / f"{hint is None}.sqlite"
        store = JobStore(path) if hint is None else JobStore(path, retry_hint=hint)
        try:
            job = store.create_job(_items(1), _extractive())
            owner = new_owner_token()
            store.acquire(job, owner)
            for _ in range(MAX_ATTEMPTS):
                store.claim(job, 1, owner)
            assert store.claim(job, 1, owner) == "skip"
            (record,) = [json.loads(r) for r in store.results(job)]
        finally:
            store.close()
        assert record["status"] == "error"
        assert record["error"]["type"] == "GaveUpError" and record["error"]["status"] == 500
        detail = record["error"]["detail"]
        assert f"stopped while summarizing it {MAX_ATTEMPTS} times" in detail
        assert detail.endswith(expected.format(job=job))


# --- job options ---------------------------------------------------------------------------------


def test_job_options_never_hold_secrets(store: JobStore) -> None:
    settings = Settings(
        engine="llm",
        model="m",
        api_key="sk-very-secret",
        base_url="https://user:pw@llm.example/v1?api-key=k",
    )
    options = JobOptions.from_settings(settings)
    job = store.create_job([], options)
    raw = store.path.read_bytes() + Path(str(store.path) + "-wal").read_bytes()
    assert b"sk-very-secret" not in raw and b"pw@" not in raw and b"api-key" not in raw
    assert store.options(job).values["base_url"] == "https://llm.example/v1"
    # Applied to the same server's settings, the credentials come back from the settings.
    applied = options.apply(settings)
    assert applied.base_url == settings.base_url and applied.api_key == settings.api_key


def test_job_options_are_settings_fields_applied_back() -> None:
    assert set(STORED_SETTINGS) <= set(Settings.model_fields)
    created = Settings(engine="auto", model="m", chunk_tokens=2000, temperature=0.5, seed=7)
    options = JobOptions.from_settings(created)
    assert set(options.values) == set(STORED_SETTINGS)
    assert options.values["engine"] == "llm"  # stored resolved, never "auto"
    # Another process's settings: the job's options win; what a job does not store stays.
    here = Settings(engine="extractive", chunk_tokens=8000, concurrency=9, max_comments=10)
    applied = options.apply(here, also={"concurrency": 12})
    stored = {name: getattr(applied, name) for name in STORED_SETTINGS}
    assert stored == {name: getattr(created, name) for name in STORED_SETTINGS} | {"engine": "llm"}
    assert (applied.concurrency, applied.max_comments) == (12, 10)


def test_stored_options_read_back_and_are_validated_when_applied() -> None:
    options = _extractive()
    assert JobOptions.from_json(options.to_json()) == options
    # A name a later version no longer stores is ignored.
    older = json.loads(options.to_json()) | {"retired_setting": 1}
    assert JobOptions.from_json(json.dumps(older)) == options
    with pytest.raises(OutputError):
        JobOptions.from_json("[1, 2]")
    bad = JobOptions({**options.values, "chunk_tokens": 10})
    with pytest.raises(UsageError, match="the job's chunk_tokens"):
        bad.apply(Settings())


def test_the_options_digest_is_stable() -> None:
    # Part of a CLI batch's job id: a changed digest would refuse to resume older state files.
    assert _extractive().digest() == "209376afe81f"


# --- the file: schema version and migrations -----------------------------------------------------

_UNVERSIONED = """
CREATE TABLE jobs (
    id TEXT PRIMARY KEY, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'cancelled', 'failed')),
    options TEXT NOT NULL, total INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0, error TEXT, lease_owner TEXT, lease_expires REAL
);
CREATE TABLE items (
    job_id TEXT NOT NULL, line INTEGER NOT NULL, key TEXT NOT NULL, input TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'error')),
    result TEXT, attempts INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (job_id, line)
) WITHOUT ROWID;
"""


def test_a_new_file_gets_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    JobStore(path).close()
    assert _version(path) == SCHEMA_VERSION == len(MIGRATIONS)


def test_processes_opening_a_new_file_at_once_all_open_it(tmp_path: Path) -> None:
    # serve --workers N starts its workers together, and each opens the one state file: SQLite
    # refuses all but one switch of a new file to WAL at once ("database is locked", no busy
    # wait), so without waiting that out a worker failed to start now and then.
    for n in range(40):
        path = tmp_path / f"jobs-{n}.sqlite"
        start = threading.Barrier(6)
        errors: list[BaseException] = []

        def open_it(
            path: Path = path,
            start: threading.Barrier = start,
            errors: list[BaseException] = errors,
        ) -> None:
            start.wait()
            try:
                JobStore(path).close()
            except BaseException as e:  # noqa: BLE001 - collected for the assertion below
                errors.append(e)

        openers = [threading.Thread(target=open_it) for _ in range(6)]
        for t in openers:
            t.start()
        for t in openers:
            t.join()
        assert errors == [], errors[0]


class _LockedAtFirst:
    """A connection whose first ``times`` switches to WAL meet another opener's lock."""

    def __init__(self, conn: sqlite3.Connection, times: int) -> None:
        self.conn = conn
        self.times = times

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "PRAGMA journal_mode=WAL" and self.times > 0:
            self.times -= 1
            raise sqlite3.OperationalError("database is locked")
        return self.conn.execute(sql, *args)

    def close(self) -> None:
        self.conn.close()


def test_the_switch_to_wal_waits_out_a_lock_and_gives_up_after_the_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = sqlite3.connect
    times = 3

    def connect(*args: Any, **kwargs: Any) -> Any:
        return _LockedAtFirst(real(*args, **kwargs), times)

    monkeypatch.setattr("service.jobs.database.sqlite3.connect", connect)
    Database(tmp_path / "a.sqlite").close()  # three refusals, then it opens
    times = 10**9
    monkeypatch.setattr("service.jobs.database.BUSY_TIMEOUT_S", 0.05)
    with pytest.raises(OutputError, match="is unusable: database is locked"):
        Database(tmp_path / "b.sqlite")


def test_a_file_from_before_versions_is_migrated_and_keeps_its_jobs(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(_UNVERSIONED)
        db.execute(
            "INSERT INTO jobs (id, created_at, updated_at, status, options, total)"
            " VALUES ('old', '2025-01-01T00:00:00+00:00', '2025-01-01T00:00:00+00:00',"
            " 'queued', ?, 1)",
            (_extractive().to_json(),),
        )
        db.execute("INSERT INTO items (job_id, line, key, input) VALUES ('old', 1, 'k', '{}')")
    db.close()
    assert _version(path) == 0
    store = JobStore(path)
    try:
        assert store.get("old").total == 1 and store.pending_lines("old") == [1]
        assert store.options("old") == _extractive()
    finally:
        store.close()
    assert _version(path) == SCHEMA_VERSION


def test_a_file_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    JobStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    newer = rf"schema version {SCHEMA_VERSION + 1}, newer .* upgrade threadsum"
    with pytest.raises(OutputError, match=newer):
        JobStore(path)
    assert _version(path) == SCHEMA_VERSION + 1


def test_migrations_run_once_each_and_a_failing_one_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    JobStore(path).close()
    added = (*MIGRATIONS, Migration("a note per job", ("ALTER TABLE jobs ADD COLUMN note TEXT",)))
    Database(path, added).close()
    Database(path, added).close()  # the ALTER again would fail: the step is not re-run
    assert _version(path) == len(added)
    broken = (*added, Migration("half done", ("ALTER TABLE jobs ADD COLUMN x TEXT", "NOT SQL")))
    with pytest.raises(OutputError, match="unusable"):
        Database(path, broken)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        columns = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
        assert "note" in columns and "x" not in columns
        assert migrate(db, "test", added) == len(added)
    finally:
        db.close()
    assert _version(path) == len(added)
