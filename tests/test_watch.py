"""``threadsum watch`` on recorded HN responses that grow between polls (respx; no network).

No test sleeps: the watch loop takes an injected ``sleep`` and ``clock``.
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import tenacity

from service.cli import main
from service.cli.watch import WatchPlan, parse_duration, parse_until, watch
from service.errors import UsageError
from service.models import ThreadSummary
from service.runtime import Runtime
from service.settings import Settings
from service.summarizer import EngineChoice

from .conftest import FIXTURES

ALGOLIA_URL = "https://hn.algolia.com/api/v1/items/8863"
FIREBASE_STORY = "https://hacker-news.firebaseio.com/v0/item/8863.json"
EXTRACTIVE = EngineChoice("extractive", "test")


def _full() -> dict[str, Any]:
    return dict(json.loads((FIXTURES / "http" / "hn-algolia-8863.json").read_text()))


def _count(node: dict[str, Any]) -> int:
    return sum(1 + _count(c) for c in node.get("children", []))


def _earlier() -> dict[str, Any]:
    """The fixture thread as it was before its last top-level comment and one reply came."""
    doc = copy.deepcopy(_full())
    doc["children"] = [c for c in doc["children"] if c["id"] != 8901]
    first = doc["children"][0]
    first["children"] = first["children"][:1]
    return doc


class Polls:
    """Serves one recorded version of the thread per poll, then the last one again."""

    def __init__(self, versions: list[dict[str, Any]]) -> None:
        self.versions = versions
        self.n = 0

    def current(self) -> dict[str, Any]:
        return self.versions[min(self.n, len(self.versions) - 1)]

    def algolia(self, request: httpx.Request) -> httpx.Response:
        doc = self.current()
        self.n += 1
        return httpx.Response(200, json=doc)

    def story(self, request: httpx.Request) -> httpx.Response:
        # No more descendants than Algolia holds, so Algolia's copy is taken as complete.
        kids = [c["id"] for c in self.current()["children"]]
        return httpx.Response(
            200, json={"id": 8863, "type": "story", "descendants": 0, "kids": kids}
        )


@pytest.fixture
def polls() -> Iterator[Polls]:
    p = Polls([_earlier(), _full()])
    with respx.mock(assert_all_called=False) as router:
        router.get(ALGOLIA_URL).mock(side_effect=p.algolia)
        router.get(FIREBASE_STORY).mock(side_effect=p.story)
        yield p


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _run(plan: WatchPlan, clock: Clock, **kw: Any) -> tuple[ThreadSummary | None, str, str]:
    out, err = io.StringIO(), io.StringIO()

    async def go() -> ThreadSummary | None:
        async with Runtime(Settings(), wait=tenacity.wait_none()) as runtime:
            return await watch(
                plan,
                runtime.settings,
                runtime,
                EXTRACTIVE,
                stream=out,
                errors=err,
                sleep=clock.sleep,
                clock=clock,
                **kw,
            )

    last = asyncio.run(go())
    return last, out.getvalue(), err.getvalue()


def test_watch_reports_growth_and_stops_when_the_thread_settles(
    polls: Polls, tmp_path: Path
) -> None:
    clock = Clock()
    out = tmp_path / "latest.json"
    plan = WatchPlan(target="8863", every=600, settle=2, out=out, jsonl=True)

    last, stdout, stderr = _run(plan, clock)

    records = [json.loads(line) for line in stdout.splitlines()]
    assert [r["comments"] for r in records] == [_count(_earlier()), 9, 9, 9]
    assert records[0]["changes"] is None  # nothing to compare the first poll with
    assert records[1]["changes"]["new_comments"] == 9 - _count(_earlier())
    assert records[2]["changes"]["new_comments"] == 0
    assert clock.sleeps == [600, 600, 600]  # four polls, then two quiet ones in a row: stop
    assert "no change in 2 polls" in stderr
    assert last is not None
    written = ThreadSummary.model_validate_json(out.read_text())
    assert written == last


def test_claim_ids_survive_the_growth(polls: Polls) -> None:
    clock = Clock()
    plan = WatchPlan(target="8863", every=60, settle=1, jsonl=True)
    last, stdout, _ = _run(plan, clock)
    assert last is not None and last.changes is not None
    first = json.loads(stdout.splitlines()[0])
    grown = json.loads(stdout.splitlines()[1])
    # What the grown thread still holds of the first poll's map keeps its name.
    assert not grown["changes"]["renamed"]
    assert first["claims"] <= grown["claims"]


def test_watch_stops_at_until(polls: Polls) -> None:
    clock = Clock()
    plan = WatchPlan(target="8863", every=600, until=clock.now + 1000, settle=10)
    _, stdout, stderr = _run(plan, clock)
    assert len(stdout.strip().splitlines()[0].split()) >= 3
    assert clock.sleeps == [600]  # a third poll would start after --until
    assert "--until reached" in stderr


def test_an_interrupt_leaves_the_last_complete_summary(polls: Polls, tmp_path: Path) -> None:
    clock = Clock()
    out = tmp_path / "latest.md"

    async def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    clock.sleep = interrupted  # type: ignore[method-assign]
    plan = WatchPlan(target="8863", every=600, out=out, output="markdown")
    with pytest.raises(KeyboardInterrupt):
        _run(plan, clock)
    text = out.read_text()
    assert text.startswith("# ") and text.endswith("\n")
    assert not list(tmp_path.glob("*.tmp*"))


def test_a_failed_fetch_is_retried_at_the_next_poll(tmp_path: Path) -> None:
    p = Polls([_full()])
    failures = iter([httpx.Response(503)] * 3)

    def algolia(request: httpx.Request) -> httpx.Response:
        failure = next(failures, None)
        return failure if failure is not None else p.algolia(request)

    with respx.mock(assert_all_called=False) as router:
        router.get(ALGOLIA_URL).mock(side_effect=algolia)
        router.get(FIREBASE_STORY).mock(side_effect=p.story)
        router.get(url__regex=r"https://hacker-news\.firebaseio\.com/.*").respond(503)
        clock = Clock()
        plan = WatchPlan(target="8863", every=60, settle=1)
        last, _, stderr = _run(plan, clock)
    assert "fetch failed, will retry" in stderr
    assert last is not None and last.thread.comments == 9


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("10m", 600), ("1h30m", 5400), ("2d", 172800), ("1.5h", 5400)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "10x", "m10", "10m5"])
def test_bad_durations_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="not a duration"):
        parse_duration(text)


def test_until_takes_a_duration_or_a_time() -> None:
    assert parse_until("2h", 1000.0) == 1000.0 + 7200
    assert parse_until("2026-12-02T18:00", 0) == 1796234400.0
    assert parse_until("2026-12-02T18:00+01:00", 0) == 1796230800.0
    with pytest.raises(UsageError, match="--until"):
        parse_until("tomorrow", 0)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--every", "5s"], "--every must be at least 10s"),
        (["--every", "soon"], "not a duration"),
        (["--settle", "0"], "--settle must be at least 1"),
    ],
)
def test_watch_flags_are_checked_before_any_fetch(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.route().respond(500)
        code = main(["watch", "8863", "--engine", "extractive", *flags])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not route.called
