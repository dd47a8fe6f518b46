"""``POST /v1/summaries`` since an earlier summary the server kept: ``Summary-Id``,
``GET /v1/summaries/{id}`` and ``?since=ID`` with every body the endpoint reads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from service.devtools.fake import FakeModel
from service.devtools.synthetic import synthetic_thread
from service.http import create_app
from service.models import ThreadSummary
from service.settings import Settings

from .conftest import EXAMPLE_PAGE
from .test_api import assert_problem

JSON = {"Content-Type": "application/json"}
TEXT = {"Content-Type": "text/plain"}
Scenario = Callable[[httpx.AsyncClient], Awaitable[list[httpx.Response]]]


def _thread(n: int, *, thread_id: str = "synthetic") -> bytes:
    doc = synthetic_thread(n, seed=3, thread_id=thread_id)
    doc["title"] = "A growing thread"  # a thread keeps its title as it grows
    return json.dumps(doc).encode()


def _call(settings: Settings, scenario: Scenario, model: FakeModel | None = None) -> Any:
    async def go() -> list[httpx.Response]:
        app = create_app(settings, model=model)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                return await scenario(c)

    return asyncio.run(go())


def _extractive(tmp_path: Path, **kwargs: Any) -> Settings:
    return Settings(engine="extractive", cache_dir=tmp_path / "cache", **kwargs)


def test_a_kept_summary_has_an_id_that_gives_it_back(tmp_path: Path) -> None:
    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        first = await c.post("/v1/summaries", content=EXAMPLE_PAGE.read_bytes(), headers=TEXT)
        ident = first.headers["Summary-Id"]
        return [
            first,
            await c.post("/v1/summaries", content=EXAMPLE_PAGE.read_bytes(), headers=TEXT),
            await c.get(f"/v1/summaries/{ident}"),
            await c.get(f"/v1/summaries/{ident}?output=markdown"),
        ]

    first, again, got, markdown = _call(_extractive(tmp_path), scenario)
    assert first.status_code == again.status_code == got.status_code == 200, got.text
    assert again.headers["Summary-Id"] == got.headers["Summary-Id"] == first.headers["Summary-Id"]
    made = ThreadSummary.model_validate_json(first.content)
    kept = ThreadSummary.model_validate_json(got.content)
    assert kept.claims == made.claims and kept.thread == made.thread
    assert got.content == again.content  # the stored text, as a cache hit sends it
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith(
        "text/markdown"
    )
    assert made.claims[0].statement in markdown.text


def test_a_grown_thread_since_a_kept_id_says_what_changed(tmp_path: Path) -> None:
    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        first = await c.post("/v1/summaries", content=_thread(60), headers=JSON)
        ident = first.headers["Summary-Id"]
        since = f"/v1/summaries?since={ident}"
        return [
            first,
            await c.post(since, content=_thread(66), headers=JSON),
            await c.post(since, content=_thread(66), headers=JSON),
            await c.post(since + "&output=markdown", content=_thread(66), headers=JSON),
            await c.post(
                since, content=_thread(66), headers={**JSON, "Accept": "text/event-stream"}
            ),
            await c.post("/v1/summaries", content=_thread(66), headers=JSON),
        ]

    first, grown, again, markdown, events, plain = _call(_extractive(tmp_path), scenario)
    assert grown.status_code == 200, grown.text
    changes = ThreadSummary.model_validate_json(grown.content).changes
    assert changes is not None and changes.since_comments == 60 and changes.new_comments == 6
    # the same body since the same summary is a hit on the same kept summary
    assert json.loads(again.content)["changes"] == json.loads(grown.content)["changes"]
    assert again.headers["Summary-Id"] == grown.headers["Summary-Id"] != first.headers["Summary-Id"]
    assert "What changed" in markdown.text
    assert events.status_code == 200
    last = events.text.strip().split("\n\n")[-1]
    assert last.startswith("event: summary\ndata: ")
    streamed = ThreadSummary.model_validate_json(last.split("data: ", 1)[1])
    assert streamed.changes is not None and streamed.changes.new_comments == 6
    assert json.loads(plain.content)["changes"] is None
    assert plain.headers["Summary-Id"] != grown.headers["Summary-Id"]


def test_an_unknown_or_foreign_id_is_refused(tmp_path: Path) -> None:
    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        other = await c.post("/v1/summaries", content=_thread(30, thread_id="other"), headers=JSON)
        foreign = other.headers["Summary-Id"]
        unknown = "0" * 64
        return [
            await c.get(f"/v1/summaries/{unknown}"),
            await c.get("/v1/summaries/not-an-id"),
            await c.post(f"/v1/summaries?since={unknown}", content=_thread(30), headers=JSON),
            await c.post(f"/v1/summaries?since={foreign}", content=_thread(30), headers=JSON),
            await c.post(
                f"/v1/summaries?since={foreign}",
                content=EXAMPLE_PAGE.read_bytes(),
                headers=TEXT,
            ),
        ]

    missing, malformed, since_missing, since_other, since_text = _call(
        _extractive(tmp_path), scenario
    )
    assert_problem(missing, 404, "no summary of id", "is kept here")
    assert_problem(malformed, 404, "'not-an-id'")
    assert_problem(since_missing, 404, "no summary of id")
    assert_problem(since_other, 400, "native thread 'other'", "not of native thread 'synthetic'")
    assert_problem(since_text, 400, "not of text thread")


def test_a_server_that_keeps_no_summaries_says_so(tmp_path: Path) -> None:
    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        first = await c.post("/v1/summaries", content=_thread(30), headers=JSON)
        return [first, await c.post(f"/v1/summaries?since={'a' * 64}", content=_thread(30))]

    first, since = _call(_extractive(tmp_path, cache="off"), scenario)
    assert first.status_code == 200 and "Summary-Id" not in first.headers
    assert_problem(since, 404, "keeps no summaries")


def test_the_llm_engine_since_a_kept_id_asks_only_about_new_comments(tmp_path: Path) -> None:
    settings = Settings(
        engine="llm",
        model="fake",
        base_url="http://127.0.0.1:9/v1",
        rate_limit=0,
        cache_dir=tmp_path / "cache",
        chunk_tokens=2000,
    )

    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        first = await c.post("/v1/summaries", content=_thread(80), headers=JSON)
        ident = first.headers["Summary-Id"]
        return [
            first,
            await c.post(f"/v1/summaries?since={ident}", content=_thread(84), headers=JSON),
        ]

    model = FakeModel()
    first, grown = _call(settings, scenario, model)
    assert grown.status_code == 200, grown.text
    a = ThreadSummary.model_validate_json(first.content)
    b = ThreadSummary.model_validate_json(grown.content)
    assert b.changes is not None and b.changes.new_comments == 4
    assert 1 <= b.stats.llm_calls < a.stats.llm_calls
    assert {c.id for c in a.claims} <= {c.id for c in b.claims} | {
        gone.id for gone in b.changes.gone
    }
