"""Batch jobs (service.batch): line parsing, records, the SQLite store, runs, cancel, resume.

The crash tests are real: one marks items done under a lease whose holder process is dead and
resumes; the other ``kill -9``s a batch subprocess talking to mock-llm and resumes it in another,
counting the model requests the resume makes.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import tenacity

from service.devtools.fake import FakeCompletion, FakeModel
from service.devtools.mockllm import MockConfig, running
from service.devtools.synthetic import synthetic_thread
from service.errors import LimitError, UsageError
from service.jobs import runner as batch
from service.jobs.runner import (
    BatchItem,
    JobBusyError,
    JobNotFoundError,
    JobOptions,
    JobStore,
    batch_job_id,
    parse_body,
    parse_json_array,
    parse_jsonl,
    progress_printer,
    run_batch_file,
    run_job,
    state_path,
)
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


class SlowModel(FakeModel):
    """A FakeModel that takes a little time per call and records how many calls overlap."""

    in_flight: int = 0
    max_in_flight: int = 0

    async def complete(self, messages: list[dict[str, str]], **kwargs: Any) -> FakeCompletion:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            return await super().complete(messages, **kwargs)
        finally:
            self.in_flight -= 1


# --- parsing lines -------------------------------------------------------------------------------


def test_each_line_kind_and_its_key() -> None:
    native = _fixture("native.json")
    lines = [
        _line(native),  # bare native: the thread's id
        _line(_fixture("hn-algolia.json")),  # bare hn-algolia: its id
        _line(_fixture("reddit.json")),  # bare reddit: no top-level id
        "",  # blank: skipped, still counted
        _line(_fixture("hn-firebase.json")),
        _line({"id": 7, "thread": native}),  # the wrapper's id wins
        _line({"thread": native, "format": "native"}),  # else the thread's id
        _line({"id": "page", "text": "a pasted page"}),
        _line({"url": "https://news.ycombinator.com/item?id=1"}),
        "not json {",
        "   ",
    ]
    items = parse_jsonl("\r\n".join(lines))
    got = [(it.line, it.key) for it in items]
    assert got == [
        (1, "38001000"),
        (2, "38001000"),
        (3, "line-3"),
        (5, "line-5"),
        (6, "7"),
        (7, "38001000"),
        (8, "page"),
        (9, "line-9"),
        (10, "line-10"),
    ]
    assert all(isinstance(it.input, str) and not it.input.endswith("\r") for it in items)


def test_bytes_input_bom_and_a_line_that_is_not_utf8() -> None:
    body = b'\xef\xbb\xbf{"id": "a", "text": "x"}\n{"id": "b", "text": "\xff"}\n'
    items = parse_jsonl(body)
    assert [(it.key, type(it.input)) for it in items] == [("a", str), ("line-2", bytes)]


def test_too_many_lines_is_a_limit_error() -> None:
    with pytest.raises(LimitError):
        parse_jsonl("{}\n{}\n{}\n", max_items=2)
    with pytest.raises(LimitError):
        parse_json_array([{}, {}, {}], max_items=2)


def test_json_array_body_and_a_thread_that_is_an_array() -> None:
    body = json.dumps([{"id": "x", "text": "t"}, _fixture("native.json")])
    assert [(it.line, it.key) for it in parse_body(body)] == [(1, "x"), (2, "38001000")]
    # A reddit document is itself a JSON array: a one-line body, not two lines.
    reddit = json.dumps(_fixture("reddit.json"))
    assert [it.line for it in parse_body(reddit)] == [1]
    # JSONL whose first line is an array stays JSONL.
    two = reddit + "\n" + reddit
    assert [it.line for it in parse_body(two.encode())] == [1, 2]


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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = batch.summarize

    async def flaky(thread: Any, *args: Any, **kwargs: Any) -> ThreadSummary:
        if thread.id == "t1":
            raise RuntimeError("boom")
        return await real(thread, *args, **kwargs)

    monkeypatch.setattr(batch, "summarize", flaky)
    code, records = _run_file(tmp_path, [_line(_small(n)) for n in range(3)], _extractive())
    assert code == 3
    assert [r["status"] for r in records] == ["ok", "error", "ok"]
    assert records[1]["error"] == {
        "type": "InternalError",
        "status": 500,
        "detail": "internal error: RuntimeError: boom",
    }
    assert "line 2 failed unexpectedly" in caplog.text


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


def test_concurrency_bound_is_respected_and_one_client_is_shared(store: JobStore) -> None:
    job = store.create_job([_line(_small(n)) for n in range(16)], JobOptions.from_settings(_llm()))
    model = SlowModel()
    status = asyncio.run(run_job(store, job, _llm(), concurrency=3, runtime=Runtime(model=model)))
    assert status.status == "done" and status.done == 16 and status.failed == 0
    assert model.max_in_flight == 3  # one chunk, one call per small thread
    assert len(model.calls) == 16


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
    assert store.options(job).base_url == "https://llm.example/v1"
    # Applied to the same server's settings, the credentials come back from the settings.
    assert options.apply(settings).base_url == settings.base_url


# --- the store -----------------------------------------------------------------------------------


def test_store_basics(store: JobStore) -> None:
    options = JobOptions.from_settings(_extractive())
    job = store.create_job(["", _line(_small(1)), "x"], options)
    status = store.get(job)
    assert (status.status, status.total, status.done, status.progress) == ("queued", 2, 0, 0.0)
    assert store.unfinished_jobs() == [job]
    assert list(store.results(job)) == []
    with pytest.raises(UsageError):
        store.create_job([], options, job_id=job)
    with pytest.raises(JobNotFoundError):
        store.get("nope")
    assert store.delete(job) and not store.delete(job)


def test_a_result_is_written_once(store: JobStore) -> None:
    job = store.create_job([BatchItem(1, "k", "{}")], JobOptions(engine="extractive"))
    owner = batch._new_owner()
    store.acquire(job, owner)
    assert store.finish(job, 1, owner, "ok", '{"first": true}')
    assert not store.finish(job, 1, owner, "error", '{"second": true}')
    assert list(store.results(job)) == ['{"first": true}']
    assert (store.get(job).done, store.get(job).failed) == (1, 0)
    # A process that lost the lease cannot write either.
    job2 = store.create_job([BatchItem(1, "k", "{}")], JobOptions(engine="extractive"))
    store.acquire(job2, owner)
    assert not store.finish(job2, 1, "somebody:else:x", "ok", "{}")


def test_cancel_stops_picking_items(store: JobStore) -> None:
    job = store.create_job([_line(_small(n)) for n in range(20)], JobOptions.from_settings(_llm()))

    def cancel_after_three(status: Any) -> None:
        if status.done >= 3:
            store.cancel(job)

    status = asyncio.run(
        run_job(
            store,
            job,
            _llm(),
            concurrency=2,
            runtime=Runtime(model=SlowModel()),
            on_progress=cancel_after_three,
        )
    )
    assert status.status == "cancelled"
    assert 3 <= status.done <= 5  # in-flight items may finish
    assert len(list(store.results(job))) == status.done
    assert store.unfinished_jobs() == []
    assert not store.cancel(job)
    # Running a cancelled job does nothing.
    model = SlowModel()
    assert (
        asyncio.run(run_job(store, job, _llm(), concurrency=2, runtime=Runtime(model=model))).done
        == status.done
    )
    assert model.calls == []


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_resume_after_a_crash_redoes_nothing_finished(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [_line(_small(n)) for n in range(10)]
    job = store.create_job(lines, JobOptions.from_settings(_extractive()))
    crashed = f"{socket.gethostname()}:{_dead_pid()}:abc"
    store.acquire(job, crashed)
    for line in (1, 2, 5, 9):
        store.finish(job, line, crashed, "ok", f'{{"line": {line}, "before": true}}')
    store.claim(job, 3, crashed)  # in flight when it "died": runs again
    assert store.get(job).status == "running" and store.unfinished_jobs() == [job]

    calls: list[str] = []
    real = batch.summarize

    async def counting(thread: Any, *args: Any, **kwargs: Any) -> ThreadSummary:
        calls.append(thread.id)
        return await real(thread, *args, **kwargs)

    monkeypatch.setattr(batch, "summarize", counting)
    status = asyncio.run(run_job(store, job, _extractive(), concurrency=2))
    assert status.status == "done" and status.done == 10 and status.failed == 0
    assert sorted(calls) == sorted(f"t{n - 1}" for n in (3, 4, 6, 7, 8, 10))
    records = [json.loads(r) for r in store.results(job)]
    assert [r["line"] for r in records] == list(range(1, 11))
    assert [r.get("before", False) for r in records] == [n in (1, 2, 5, 9) for n in range(1, 11)]


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
    job = store.create_job([_line(_small(1)), _line(_small(2))], JobOptions(engine="extractive"))
    for attempt in range(batch.MAX_ATTEMPTS):
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


# --- progress ------------------------------------------------------------------------------------


def test_progress_bar_on_a_tty() -> None:
    out = io.StringIO()
    show = progress_printer(out, True)
    show(40, 100, 1)
    show(100, 100, 1)
    assert out.getvalue() == (
        "\r[########............] 40/100 ok 39 failed 1"
        "\r[####################] 100/100 ok 99 failed 1\n"
    )


def test_progress_lines_are_throttled() -> None:
    out = io.StringIO()
    now = [0.0]
    show = progress_printer(out, False, clock=lambda: now[0])
    for done in range(1, 101):
        now[0] += 0.01
        show(done, 100, 0)
    lines = out.getvalue().splitlines()
    assert (
        lines[0] == "batch: 1/100 done, 0 failed" and lines[-1] == "batch: 100/100 done, 0 failed"
    )
    assert [line.split()[1] for line in lines] == ["1/100"] + [f"{k}0/100" for k in range(1, 11)]
    now[0] += 5
    show(100, 100, 0)  # nothing new: nothing printed
    assert len(out.getvalue().splitlines()) == 11
    show2 = progress_printer(out, False, clock=lambda: now[0])
    show2(1, 1000, 0)
    now[0] += 2.5
    show2(2, 1000, 0)  # 2 s passed: printed although under 10% more
    assert out.getvalue().splitlines()[-2:] == [
        "batch: 1/1000 done, 0 failed",
        "batch: 2/1000 done, 0 failed",
    ]


# --- a real kill -9 ------------------------------------------------------------------------------

_CHILD = """
import asyncio, sys
from pathlib import Path
from service.jobs.runner import run_batch_file
from service.settings import Settings
src, out, url, resume = sys.argv[1:5]
settings = Settings(engine="llm", base_url=url, model="threadsum-mock", cache="off")
sys.exit(asyncio.run(run_batch_file(
    Path(src), Path(out), settings, concurrency=2, resume=resume == "1", progress=None)))
"""


def _mock(url: str, path: str, method: str = "GET") -> Any:
    return httpx.request(method, url.removesuffix("/v1") + path).json()


def _done(state: Path) -> int:
    if not state.exists():
        return 0
    db = sqlite3.connect(state, timeout=5)
    try:
        row = db.execute("SELECT done FROM jobs").fetchone()
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()
    return int(row[0]) if row else 0


def test_kill_9_then_resume_repeats_no_finished_thread(tmp_path: Path) -> None:
    n = 30
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(_line(_small(i, seed=i)) for i in range(n)) + "\n", encoding="utf-8")
    state = state_path(out)

    def child(url: str, resume: bool) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-c", _CHILD, str(src), str(out), url, "1" if resume else "0"]
        return subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.PIPE)

    with running(MockConfig(latency_ms=150)) as url:
        first = child(url, resume=False)
        deadline = time.monotonic() + 15
        while _done(state) < 5:
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            assert time.monotonic() < deadline, "the batch made no progress"
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        assert first.stderr is not None
        first.stderr.close()
        assert not out.exists()  # a killed run leaves no half-written output

        db = sqlite3.connect(state)
        (pending,) = db.execute("SELECT count(*) FROM items WHERE status = 'pending'").fetchone()
        (in_flight,) = db.execute(
            "SELECT count(*) FROM items WHERE status = 'pending' AND attempts > 0"
        ).fetchone()
        db.close()
        assert 0 < pending <= n - 5 and in_flight <= 2

        _mock(url, "/mock/reset", "POST")
        second = child(url, resume=True)
        _, err = second.communicate(timeout=30)
        assert second.returncode == 0, err.decode()
        requests = _mock(url, "/mock/stats")["requests"]

    records = _records(out)
    assert [r["line"] for r in records] == list(range(1, n + 1))
    assert [r["key"] for r in records] == [f"t{i}" for i in range(n)]
    assert {r["status"] for r in records} == {"ok"}
    # One model call per small thread: the resume asked only for the threads not yet done.
    assert requests == pending
    assert not state.exists()
