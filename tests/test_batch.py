"""Running batch jobs (service.jobs.runner) and the CLI's batch file (service.cli.batchfile):
records per line, the concurrency bound, cancel, leases, resume, and the state file rules.

The crash tests are real: one marks items done under a lease whose holder process is dead and
resumes; the other ``kill -9``s a batch subprocess talking to mock-llm and resumes it in another,
counting the model requests the resume makes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
import respx
import tenacity

from service.cli.batchfile import batch_job_id, run_batch_file, state_path
from service.devtools.fake import FakeCompletion, FakeModel
from service.devtools.mockllm import MockConfig, running
from service.devtools.synthetic import synthetic_thread
from service.errors import UsageError
from service.jobs.lines import parse_jsonl
from service.jobs.options import JobOptions
from service.jobs.records import Usage
from service.jobs.runner import JobBusyError, run_job, spare_workers
from service.jobs.store import MAX_ATTEMPTS, Claim, ItemState, JobStatus, JobStore
from service.models import ThreadSummary
from service.runtime import Runtime
from service.settings import Settings

from .conftest import EXAMPLE_PAGE, FIXTURES, ROOT

FORMATS = FIXTURES / "formats"


def _fixture(name: str) -> Any:
    return json.loads((FORMATS / name).read_text(encoding="utf-8"))


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _small(n: int, seed: int | None = None) -> dict[str, Any]:
    return synthetic_thread(5, seed if seed is not None else n, thread_id=f"t{n}")


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def _extractive() -> Settings:
    return Settings(engine="extractive")


def _llm() -> Settings:
    return Settings(engine="llm", model="fake-model", cache="off")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    s = JobStore(tmp_path / "state" / "jobs.sqlite")
    yield s
    s.close()


@dataclass
class CrowdModel(FakeModel):
    """A FakeModel that holds every call until ``crowd`` calls are in flight together, then lets
    them all through; it records the most calls that were ever in flight at once."""

    crowd: int = 1
    in_flight: int = 0
    max_in_flight: int = 0
    full: asyncio.Event = field(default_factory=asyncio.Event)

    async def complete(self, messages: list[dict[str, str]], **kwargs: Any) -> FakeCompletion:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self.in_flight >= self.crowd:
            self.full.set()
        try:
            await self.full.wait()
            return await super().complete(messages, **kwargs)
        finally:
            self.in_flight -= 1


class CountingStore(JobStore):
    """A JobStore that records the most items ever started and not yet finished at once."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._count = threading.Lock()
        self.started = 0
        self.most_started = 0

    def claim(self, job_id: str, line: int, owner: str) -> Claim | Literal["stop", "skip"]:
        claim = super().claim(job_id, line, owner)
        if isinstance(claim, Claim):
            with self._count:
                self.started += 1
                self.most_started = max(self.most_started, self.started)
        return claim

    def finish(
        self,
        job_id: str,
        line: int,
        owner: str,
        state: ItemState,
        result: str,
        usage: Usage | None = None,
    ) -> bool:
        with self._count:
            self.started -= 1
        return super().finish(job_id, line, owner, state, result, usage)


@dataclass
class FailingModel(FakeModel):
    """A FakeModel whose call number ``fail_at`` (from 0) raises ``error``."""

    fail_at: int = 0
    error: Exception = field(default_factory=lambda: RuntimeError("boom"))

    async def complete(self, messages: list[dict[str, str]], **kwargs: Any) -> FakeCompletion:
        if len(self.calls) == self.fail_at:
            self.calls.append(messages)
            raise self.error
        return await super().complete(messages, **kwargs)


# --- running batches -----------------------------------------------------------------------------


def _run_file(
    tmp_path: Path, lines: list[str], settings: Settings, **kwargs: Any
) -> tuple[int, list[dict[str, Any]]]:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    kwargs.setdefault("concurrency", 3)
    kwargs.setdefault("resume", False)
    code = asyncio.run(run_batch_file(src, out, settings, **kwargs))
    return code, _records(out)


def test_mixed_good_and_bad_lines(tmp_path: Path) -> None:
    lines = [
        _line(_fixture("native.json")),
        "not json {",
        "",
        _line({"id": "empty", "thread": {"id": "e", "comments": []}}),
        _line({"foo": 1}),
        _line({"id": "u", "url": "https://example.com/some/page"}),
        _line({"id": "f", "url": "/etc/passwd"}),
        _line({"text": EXAMPLE_PAGE.read_text(encoding="utf-8")}),
        _line({"id": "nf", "thread": _fixture("native.json"), "format": "nope"}),
        _line(_fixture("reddit.json")),
        _line(_fixture("hn-firebase.json")),
        "42",
    ]
    code, records = _run_file(tmp_path, lines, _extractive())
    assert code == 3
    assert [r["line"] for r in records] == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    summary = {r["line"]: (r["key"], r["status"], r.get("error", {}).get("type")) for r in records}
    assert summary == {
        1: ("38001000", "ok", None),
        2: ("line-2", "error", "FormatError"),
        4: ("empty", "error", "EmptyThreadError"),
        5: ("line-5", "error", "FormatError"),
        6: ("u", "error", "UsageError"),
        7: ("f", "error", "UsageError"),
        8: ("line-8", "ok", None),
        9: ("nf", "error", "UsageError"),
        10: ("line-10", "ok", None),
        11: ("line-11", "ok", None),
        12: ("line-12", "error", "FormatError"),
    }
    for r in records:
        if r["status"] == "ok":
            ThreadSummary.model_validate(r["summary"])
        else:
            err = r["error"]
            assert err["status"] in (400, 422) and "\n" not in err["detail"] and err["detail"]
    assert "unsupported URL" in records[4]["error"]["detail"]
    assert not state_path(tmp_path / "out.jsonl").exists()


def test_all_good_is_exit_0_in_input_order(tmp_path: Path) -> None:
    lines = [_line(_small(n)) for n in range(12)]
    progress: list[tuple[int, int, int]] = []
    code, records = _run_file(
        tmp_path, lines, _extractive(), progress=lambda *a: progress.append(a)
    )
    assert code == 0
    assert [r["key"] for r in records] == [f"t{n}" for n in range(12)]
    assert {r["status"] for r in records} == {"ok"}
    assert progress[-1] == (12, 12, 0)
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)


def test_a_line_that_is_not_utf8_is_one_error(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(b'{"text": "caf\xe9"}\n' + _line(_small(1)).encode() + b"\n")
    code = asyncio.run(run_batch_file(src, out, _extractive(), concurrency=2, resume=False))
    records = _records(out)
    assert code == 3 and [r["status"] for r in records] == ["error", "ok"]
    assert records[0]["error"]["type"] == "FormatError" and "UTF-8" in records[0]["error"]["detail"]


def test_unreadable_input_is_an_input_error(tmp_path: Path) -> None:
    from service.errors import InputError

    with pytest.raises(InputError):
        asyncio.run(
            run_batch_file(
                tmp_path / "missing.jsonl",
                tmp_path / "out.jsonl",
                _extractive(),
                concurrency=1,
                resume=False,
            )
        )


def test_an_unexpected_exception_is_one_internal_error_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = FailingModel(fail_at=1, error=RuntimeError("boom"))  # the second thread's call
    code, records = _run_file(
        tmp_path,
        [_line(_small(n)) for n in range(3)],
        _llm(),
        concurrency=1,
        runtime=Runtime(model=model),
    )
    assert code == 3
    assert [r["status"] for r in records] == ["ok", "error", "ok"]
    assert records[1]["error"] == {
        "type": "InternalError",
        "status": 500,
        "detail": "internal error: RuntimeError: boom",
    }
    assert "line 2 failed unexpectedly" in caplog.text
    assert len(model.calls) == 3


def test_url_lines_are_fetched(tmp_path: Path) -> None:
    http = FIXTURES / "http"
    items = json.loads((http / "hn-firebase-8863.json").read_text(encoding="utf-8"))
    with respx.mock(assert_all_called=False) as mock:
        mock.get("https://hn.algolia.com/api/v1/items/8863").respond(
            json=json.loads((http / "hn-algolia-8863.json").read_text(encoding="utf-8"))
        )
        mock.get(url__regex=r"https://hacker-news\.firebaseio\.com/v0/item/(?P<i>\d+)\.json").mock(
            side_effect=lambda request, i: httpx.Response(200, json=items.get(i))
        )
        code, records = _run_file(
            tmp_path,
            [_line({"url": "https://news.ycombinator.com/item?id=8863"})],
            _extractive(),
            runtime=Runtime(wait=tenacity.wait_none()),
        )
    assert code == 0
    assert records[0]["summary"]["thread"]["id"] == "8863"


def test_concurrency_bound_is_respected_and_one_client_is_shared(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "jobs.sqlite")
    job = store.create_job([_line(_small(n)) for n in range(16)], JobOptions.from_settings(_llm()))
    model = CrowdModel(crowd=3)  # holds the calls until three are in flight at once
    try:
        status = asyncio.run(
            run_job(store, job, _llm(), concurrency=3, runtime=Runtime(model=model))
        )
    finally:
        store.close()
    assert status.status == "done" and status.done == 16 and status.failed == 0
    # A model of its own has no client to cap its calls: no spare lines, three at once.
    assert model.max_in_flight == 3  # three threads summarised at once: one call each
    assert store.most_started == 3  # and never a fourth item started before one finished
    assert len(model.calls) == 16
    # The status adds up what the summaries spent.
    assert status.llm_calls == 16 and status.cache_hits == 0
    assert status.completion_tokens > 0  # (the fake model reports no prompt tokens)


def _against_mock(
    tmp_path: Path, lines: int, client: int, batch: int
) -> tuple[JobStatus, dict[str, Any], CountingStore]:
    """A batch of one-call threads through a real model client (``client``: its
    THREADSUM_CONCURRENCY) against mock-llm: its status, what the mock served, the store."""
    store = CountingStore(tmp_path / "jobs.sqlite")
    with running(MockConfig(latency_ms=40)) as url:
        s = Settings(engine="llm", base_url=url, model="threadsum-mock", cache="off")
        s = s.model_copy(update={"concurrency": client, "output_mode": "json_schema"})
        items = [_line(_small(n)) for n in range(lines)]
        job = store.create_job(items, JobOptions.from_settings(s))
        try:
            status = asyncio.run(run_job(store, job, s, concurrency=batch))
        finally:
            store.close()
        served = httpx.get(url.removesuffix("/v1") + "/mock/stats").json()
    return status, served, store


def test_spare_lines_never_give_the_model_server_more_calls_at_once(tmp_path: Path) -> None:
    # Against a real model client, the spare lines wait for the client's slots: the server sees
    # at most max(THREADSUM_CONCURRENCY, --concurrency) calls at once.
    status, served, store = _against_mock(tmp_path, lines=24, client=2, batch=4)
    assert status.status == "done" and status.done == 24 and status.failed == 0
    assert served["max_in_flight"] == 4  # the batch's concurrency, reached and never passed
    assert store.most_started == 4 + spare_workers(4)  # lines read or recorded meanwhile


def test_no_spare_lines_where_the_client_allows_more_calls_than_the_batch(tmp_path: Path) -> None:
    # THREADSUM_CONCURRENCY above --concurrency: spare lines would reach the model too, so the
    # batch keeps to its concurrency in threads.
    status, served, store = _against_mock(tmp_path, lines=12, client=8, batch=2)
    assert status.status == "done" and status.done == 12
    assert served["max_in_flight"] == 2 and store.most_started == 2


# --- cancel, leases, resume ----------------------------------------------------------------------


def test_cancel_stops_picking_items(store: JobStore) -> None:
    job = store.create_job([_line(_small(n)) for n in range(20)], JobOptions.from_settings(_llm()))

    def cancel_after_three(status: Any) -> None:
        if status.done >= 3:
            store.cancel(job)

    first = FakeModel()
    status = asyncio.run(
        run_job(
            store,
            job,
            _llm(),
            concurrency=2,
            runtime=Runtime(model=first),
            on_progress=cancel_after_three,
        )
    )
    assert status.status == "cancelled"
    # Cancelled at the third result; only the item the other worker had started may finish.
    assert 3 <= status.done <= 4
    assert len(first.calls) == status.done  # every finished item ran, none more was started
    records = [json.loads(r) for r in store.results(job)]
    assert len(records) == status.done and {r["status"] for r in records} == {"ok"}
    assert store.unfinished_jobs() == []
    assert not store.cancel(job)
    # Running a cancelled job does nothing.
    model = FakeModel()
    again = asyncio.run(run_job(store, job, _llm(), concurrency=2, runtime=Runtime(model=model)))
    assert again.done == status.done
    assert model.calls == []


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_resume_after_a_crash_redoes_nothing_finished(store: JobStore) -> None:
    lines = [_line(_small(n)) for n in range(10)]
    job = store.create_job(lines, JobOptions.from_settings(_llm()))
    crashed = f"{socket.gethostname()}:{_dead_pid()}:abc"
    store.acquire(job, crashed)
    for line in (1, 2, 5, 9):
        store.finish(job, line, crashed, "ok", f'{{"line": {line}, "before": true}}')
    store.claim(job, 3, crashed)  # in flight when it "died": runs again
    assert store.get(job).status == "running" and store.unfinished_jobs() == [job]

    model = FakeModel()  # one call per small thread
    status = asyncio.run(run_job(store, job, _llm(), concurrency=2, runtime=Runtime(model=model)))
    assert status.status == "done" and status.done == 10 and status.failed == 0
    assert len(model.calls) == 6
    records = [json.loads(r) for r in store.results(job)]
    assert [r["line"] for r in records] == list(range(1, 11))
    assert [r.get("before", False) for r in records] == [n in (1, 2, 5, 9) for n in range(1, 11)]
    rerun = {r["line"]: r["summary"]["thread"]["id"] for r in records if "summary" in r}
    assert rerun == {n: f"t{n - 1}" for n in (3, 4, 6, 7, 8, 10)}


def test_a_live_lease_is_respected_and_an_expired_one_taken_over(store: JobStore) -> None:
    job = store.create_job([_line(_small(1))], JobOptions.from_settings(_extractive()))
    store.acquire(job, f"{socket.gethostname()}:{os.getpid()}:other")
    with pytest.raises(JobBusyError):
        asyncio.run(run_job(store, job, _extractive(), concurrency=1))
    # Another host's holder that stopped renewing: taken over once its lease expires.
    job2 = store.create_job([_line(_small(1))], JobOptions.from_settings(_extractive()))
    store.acquire(job2, "elsewhere:1:x", ttl=-1)
    assert asyncio.run(run_job(store, job2, _extractive(), concurrency=1)).status == "done"


def test_an_item_that_keeps_killing_the_process_is_given_up(store: JobStore) -> None:
    options = JobOptions.from_settings(_extractive())
    job = store.create_job([_line(_small(1)), _line(_small(2))], options)
    for attempt in range(MAX_ATTEMPTS):
        dead = f"{socket.gethostname()}:{_dead_pid()}:{attempt}"
        store.acquire(job, dead)
        assert not isinstance(store.claim(job, 1, dead), str)
    status = asyncio.run(run_job(store, job, _extractive(), concurrency=1))
    records = [json.loads(r) for r in store.results(job)]
    assert status.failed == 1 and records[0]["status"] == "error"
    assert "3 times" in records[0]["error"]["detail"] and records[1]["status"] == "ok"


# --- the CLI face: state file rules --------------------------------------------------------------


def test_state_file_needs_resume_and_the_same_options(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(_line(_small(n)) for n in range(3)) + "\n", encoding="utf-8")
    content = src.read_bytes()
    options = JobOptions.from_settings(_extractive())
    pending = JobStore(state_path(out))
    pending.create_job(parse_jsonl(content), options, job_id=batch_job_id(content, options))
    pending.close()

    def go(settings: Settings, resume: bool) -> int:
        return asyncio.run(run_batch_file(src, out, settings, concurrency=2, resume=resume))

    with pytest.raises(UsageError, match="--resume"):
        go(_extractive(), resume=False)
    with pytest.raises(UsageError, match="other options"):
        go(Settings(engine="extractive", chunk_tokens=2000), resume=True)
    assert go(_extractive(), resume=True) == 0
    assert len(_records(out)) == 3 and not state_path(out).exists()
    assert go(_extractive(), resume=True) == 0  # no state: a fresh run


# --- a real kill -9 ------------------------------------------------------------------------------

_CHILD = """
import asyncio, sys
from pathlib import Path
from service.cli.batchfile import run_batch_file
from service.settings import Settings
src, out, url, resume = sys.argv[1:5]
# A fixed output mode: a fresh process in auto mode may add a one-token probe of the mode.
settings = Settings(
    engine="llm", base_url=url, model="threadsum-mock", cache="off", output_mode="json_schema"
)
def progress(done, total, failed):
    print(done, flush=True)  # after the item's result is committed
sys.exit(asyncio.run(run_batch_file(
    Path(src), Path(out), settings, concurrency=2, resume=resume == "1", progress=progress)))
"""


def _mock(url: str, path: str, method: str = "GET") -> Any:
    return httpx.request(method, url.removesuffix("/v1") + path).json()


def test_kill_9_then_resume_repeats_no_finished_thread(tmp_path: Path) -> None:
    n = 30
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(_line(_small(i, seed=i)) for i in range(n)) + "\n", encoding="utf-8")
    state = state_path(out)
    errors = tmp_path / "first.err"

    def child(url: str, resume: bool, stderr: Any) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-c", _CHILD, str(src), str(out), url, "1" if resume else "0"]
        return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr)

    with running(MockConfig(latency_ms=150)) as url:
        with errors.open("wb") as err:
            first = child(url, resume=False, stderr=err)
        assert first.stdout is not None
        for reported in first.stdout:  # blocks until the child reports a finished item
            if int(reported) >= 5:
                break
        else:
            pytest.fail(f"the batch ended before 5 threads were done: {errors.read_text()}")
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        first.stdout.close()
        assert not out.exists()  # a killed run leaves no half-written output

        db = sqlite3.connect(state)
        (pending,) = db.execute("SELECT count(*) FROM items WHERE status = 'pending'").fetchone()
        (in_flight,) = db.execute(
            "SELECT count(*) FROM items WHERE status = 'pending' AND attempts > 0"
        ).fetchone()
        db.close()
        assert 0 < pending <= n - 5 and in_flight <= 2

        _mock(url, "/mock/reset", "POST")
        second = child(url, resume=True, stderr=subprocess.PIPE)
        _, err_text = second.communicate()
        assert second.returncode == 0, err_text.decode()
        requests = _mock(url, "/mock/stats")["requests"]

    records = _records(out)
    assert [r["line"] for r in records] == list(range(1, n + 1))
    assert [r["key"] for r in records] == [f"t{i}" for i in range(n)]
    assert {r["status"] for r in records} == {"ok"}
    # One model call per small thread: the resume asked only for the threads not yet done.
    assert requests == pending
    assert not state.exists()


# --- interruptions and --retry-failed ------------------------------------------------------------


@dataclass
class HoldingModel(FakeModel):
    """A FakeModel that holds every call once ``holding`` is set, until it is cancelled;
    ``held`` is set when ``crowd`` calls are held at once."""

    crowd: int = 1
    holding: bool = True
    in_hold: int = 0
    held: asyncio.Event = field(default_factory=asyncio.Event)

    async def complete(self, messages: list[dict[str, str]], **kwargs: Any) -> FakeCompletion:
        if not self.holding:
            return await super().complete(messages, **kwargs)
        self.calls.append(messages)
        self.in_hold += 1
        if self.in_hold >= self.crowd:
            self.held.set()
        try:
            await asyncio.Event().wait()  # only a cancel ends it
        finally:
            self.in_hold -= 1
        raise AssertionError("a held call ended without being cancelled")


def test_a_run_stopped_cleanly_does_not_count_towards_giving_up(store: JobStore) -> None:
    job = store.create_job([_line(_small(n)) for n in range(4)], JobOptions.from_settings(_llm()))

    async def interrupted_run() -> None:
        model = HoldingModel(crowd=2)  # the same two threads are in flight each time
        task = asyncio.create_task(
            run_job(store, job, _llm(), concurrency=2, runtime=Runtime(model=model))
        )
        await model.held.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    for _ in range(MAX_ATTEMPTS + 1):  # Ctrl-C, a server's shutdown: more often than the limit
        asyncio.run(interrupted_run())
    assert store.get(job).status == "running" and store.get(job).done == 0
    model = FakeModel()
    status = asyncio.run(run_job(store, job, _llm(), concurrency=2, runtime=Runtime(model=model)))
    records = [json.loads(r) for r in store.results(job)]
    assert (status.done, status.failed) == (4, 0)
    assert {r["status"] for r in records} == {"ok"}


def _die_with_in_flight(state: Path, job: str, lines: list[int]) -> None:
    """Leave ``lines`` as started by MAX_ATTEMPTS processes that each died with them in flight."""
    store = JobStore(state)
    try:
        for attempt in range(MAX_ATTEMPTS):
            dead = f"{socket.gethostname()}:{_dead_pid()}:{attempt}"
            store.acquire(job, dead)
            for line in lines:
                assert isinstance(store.claim(job, line, dead), Claim)
    finally:
        store.close()


def _pending_state(src: Path, out: Path, settings: Settings) -> str:
    """A state file for ``src`` → ``out`` as a run with ``settings`` would create it; its job."""
    content = src.read_bytes()
    options = JobOptions.from_settings(settings)
    job = batch_job_id(content, options)
    store = JobStore(state_path(out))
    try:
        store.create_job(parse_jsonl(content), options, job_id=job)
    finally:
        store.close()
    return job


def test_retry_failed_after_give_ups_reruns_only_the_failed_lines(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(_line(_small(n)) for n in range(6)) + "\n", encoding="utf-8")
    job = _pending_state(src, out, _llm())
    _die_with_in_flight(state_path(out), job, [2, 5])  # killed three times with 2 and 5 in flight

    def go(**kwargs: Any) -> tuple[int, FakeModel]:
        model = FakeModel()
        code = asyncio.run(
            run_batch_file(src, out, _llm(), concurrency=2, runtime=Runtime(model=model), **kwargs)
        )
        return code, model

    code, model = go(resume=True)
    records = _records(out)
    assert code == 3 and len(model.calls) == 4 and not state_path(out).exists()
    given_up = [r for r in records if r["status"] == "error"]
    assert [r["line"] for r in given_up] == [2, 5]
    for r in given_up:
        assert r["error"]["type"] == "GaveUpError"
        assert r["error"]["detail"].startswith(
            "gave up on this thread: the process stopped while summarizing it 3 times"
        )
        assert r["error"]["detail"].endswith("rerun the batch with --retry-failed to try it again")
    finished = {r["line"]: r for r in records if r["status"] == "ok"}

    code, model = go(resume=True, retry_failed=True)
    assert code == 0 and len(model.calls) == 2  # only the two failed threads ran again
    again = _records(out)
    assert [(r["line"], r["status"]) for r in again] == [(n, "ok") for n in range(1, 7)]
    assert [r["summary"]["thread"]["id"] for r in again] == [f"t{n}" for n in range(6)]
    assert {r["line"]: r for r in again if r["line"] in finished} == finished  # kept as they were
    assert not state_path(out).exists()


def test_retry_failed_of_an_unfinished_run_retries_its_errors_and_finishes_it(
    tmp_path: Path,
) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(_line(_small(n)) for n in range(4)) + "\n", encoding="utf-8")
    job = _pending_state(src, out, _llm())
    store = JobStore(state_path(out))
    try:  # a run that died after line 1 failed (the server was down) and line 2 was done
        dead = f"{socket.gethostname()}:{_dead_pid()}:x"
        store.acquire(job, dead)
        for line, state in ((1, "error"), (2, "ok")):
            store.claim(job, line, dead)
            store.finish(job, line, dead, state, json.dumps({"line": line, "before": True}))
    finally:
        store.close()
    model = FakeModel()
    code = asyncio.run(
        run_batch_file(
            src,
            out,
            _llm(),
            concurrency=2,
            resume=False,
            retry_failed=True,  # implies --resume
            runtime=Runtime(model=model),
        )
    )
    records = _records(out)
    assert code == 0 and len(model.calls) == 3  # line 1 again, and the two never started
    assert [(r["line"], r["status"]) for r in records if "status" in r] == [
        (1, "ok"),
        (3, "ok"),
        (4, "ok"),
    ]
    assert records[1] == {"line": 2, "before": True}  # the finished line is not run again


def test_retry_failed_needs_the_records_of_this_input(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(_line(_small(n)) for n in range(3)) + "\n", encoding="utf-8")

    def retry() -> int:
        return asyncio.run(
            run_batch_file(src, out, _extractive(), concurrency=1, resume=False, retry_failed=True)
        )

    assert retry() == 0 and len(_records(out)) == 3  # no state, no OUT: a fresh run
    first = out.read_text(encoding="utf-8")
    assert retry() == 0 and out.read_text(encoding="utf-8") == first  # nothing failed: the same
    other = [dict(r, key="other") if r["line"] == 2 else r for r in _records(out)]
    for content, message in (
        ("\n".join(json.dumps(r) for r in other), "does not hold the records of this input"),
        (first.splitlines()[0], "holds 1 records for the 3 lines"),
        ("not a record", "line 1 is not a batch record"),
    ):
        out.write_text(content + "\n", encoding="utf-8")
        with pytest.raises(UsageError, match=message):
            retry()
        assert not state_path(out).exists()
