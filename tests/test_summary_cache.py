"""The whole-summary cache: a repeated request is one lookup; what shapes it is in the key."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.cache import AnswerCache
from service.devtools.fake import FakeModel
from service.devtools.synthetic import synthetic_thread
from service.http import create_app
from service.jobs.runner import summarize_item
from service.models import ThreadSummary
from service.render import render_json
from service.runtime import SUMMARIES_DIR, Runtime
from service.settings import Settings
from service.summary_cache import LLM_ONLY, NOT_SHAPING, SummaryCache, summary_key

from .conftest import EXAMPLE_PAGE

PAGE = EXAMPLE_PAGE.read_bytes()
TEXT = {"Content-Type": "text/plain"}


def _llm(tmp_path: Path, **kwargs: Any) -> Settings:
    kwargs.setdefault("cache_dir", tmp_path / "cache")
    return Settings(
        engine="llm", model="fake", base_url="http://127.0.0.1:9/v1", rate_limit=0, **kwargs
    )


def _post_all(
    settings: Settings, model: FakeModel, requests: list[tuple[str, bytes, dict[str, str]]]
) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        app = create_app(settings, model=model)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                return [await c.post(path, content=b, headers=h) for path, b, h in requests]

    return asyncio.run(go())


def test_a_repeated_request_asks_no_model_and_reads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = FakeModel()
    first, second = _post_all(
        _llm(tmp_path), model, [("/v1/summaries", PAGE, TEXT), ("/v1/summaries", PAGE, TEXT)]
    )
    assert first.status_code == second.status_code == 200, second.text
    a = ThreadSummary.model_validate_json(first.content)
    b = ThreadSummary.model_validate_json(second.content)
    assert a.stats.llm_calls >= 1 and len(model.calls) == a.stats.llm_calls
    # The second is the first summary, reported as a run served by the cache.
    assert b.model_dump(exclude={"stats"}) == a.model_dump(exclude={"stats"})
    assert (b.stats.llm_calls, b.stats.prompt_tokens, b.stats.completion_tokens) == (0, 0, 0)
    assert b.stats.cache_hits == a.stats.cache_hits + a.stats.llm_calls
    assert b.stats.chunks == a.stats.chunks and b.stats.elapsed_s == 0.0
    assert (tmp_path / "cache" / SUMMARIES_DIR).is_dir()
    assert second.content.decode() == render_json(b)  # exactly the contract rendering


def test_a_hit_renders_in_every_output_format(tmp_path: Path) -> None:
    requests = [
        ("/v1/summaries?output=markdown", PAGE, TEXT),
        ("/v1/summaries?output=html", PAGE, TEXT),
        ("/v1/summaries", PAGE, TEXT),
        ("/v1/summaries?output=markdown", PAGE, TEXT),
        ("/v1/summaries?output=html", PAGE, TEXT),
    ]
    model = FakeModel()
    cold_md, cold_html, hit_json, hit_md, hit_html = _post_all(_llm(tmp_path), model, requests)
    hit = ThreadSummary.model_validate_json(hit_json.content)
    assert hit.stats.llm_calls == 0 and len(model.calls) == hit.stats.cache_hits
    assert hit_md.headers["content-type"].startswith("text/markdown")
    assert hit_html.headers["content-type"].startswith("text/html")
    assert hit.claims[0].statement in hit_md.text and hit_md.text != cold_md.text  # its stats
    assert hit_html.text.count("<") > 10 and cold_html.status_code == 200


def test_a_hit_is_not_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import service.http.routes.summaries as route

    parsed: list[int] = []
    real = route.read_thread

    def counting(*args: Any, **kwargs: Any) -> Any:
        parsed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(route, "read_thread", counting)
    replies = _post_all(_llm(tmp_path), FakeModel(), [("/v1/summaries", PAGE, TEXT)] * 3)
    assert [r.status_code for r in replies] == [200, 200, 200]
    assert len(parsed) == 1


def test_settings_that_shape_the_summary_are_not_shared(tmp_path: Path) -> None:
    model = FakeModel()
    thread = json.dumps(synthetic_thread(30, seed=4)).encode()
    as_json = {"Content-Type": "application/json"}
    replies = _post_all(
        _llm(tmp_path),
        model,
        [
            ("/v1/summaries", thread, as_json),
            ("/v1/summaries?chunk_tokens=1000", thread, as_json),  # another budget: a miss
            ("/v1/summaries?format=native", thread, as_json),  # read another way: a miss
            ("/v1/summaries?engine=extractive", thread, as_json),  # another engine
            ("/v1/summaries?chunk_tokens=1000", thread, as_json),  # a hit
        ],
    )
    stats = [ThreadSummary.model_validate_json(r.content).stats for r in replies]
    kinds = [ThreadSummary.model_validate_json(r.content).engine.kind for r in replies]
    assert kinds == ["llm", "llm", "llm", "extractive", "llm"]
    assert stats[4].llm_calls == 0 and stats[4].chunks == stats[1].chunks
    # Answers are shared through the answer cache, summaries only for the same settings.
    assert stats[1].chunks > stats[0].chunks


@pytest.mark.parametrize("mode", ["off", "replay"])
def test_modes_that_keep_no_summary(tmp_path: Path, mode: str) -> None:
    (tmp_path / "cache").mkdir()
    settings = _llm(tmp_path, cache=mode)
    runtime = Runtime(settings, model=FakeModel())
    summaries = runtime.summaries()
    assert not summaries.enabled
    assert not (tmp_path / "cache" / SUMMARIES_DIR).exists()


def test_refresh_makes_the_summary_again_and_keeps_it(tmp_path: Path) -> None:
    line = json.dumps(synthetic_thread(8, seed=2))

    async def go(mode: str, model: FakeModel) -> ThreadSummary:
        settings = _llm(tmp_path, cache=mode)
        async with Runtime(settings, model=model) as runtime:
            return await summarize_item(line, settings, runtime=runtime)

    first, refreshed, used = FakeModel(), FakeModel(), FakeModel()
    a = asyncio.run(go("use", first))
    b = asyncio.run(go("refresh", refreshed))
    c = asyncio.run(go("use", used))
    assert len(first.calls) == a.stats.llm_calls >= 1
    assert len(refreshed.calls) == b.stats.llm_calls == a.stats.llm_calls  # asked again
    assert used.calls == [] and c.stats.llm_calls == 0  # the refreshed summary, kept


def test_batch_lines_are_served_from_the_cache(tmp_path: Path) -> None:
    line = json.dumps(synthetic_thread(12, seed=9))
    model = FakeModel()

    async def go() -> list[ThreadSummary]:
        settings = _llm(tmp_path)
        async with Runtime(settings, model=model) as runtime:
            return [await summarize_item(line, settings, runtime=runtime) for _ in range(2)]

    first, second = asyncio.run(go())
    assert len(model.calls) == first.stats.llm_calls and second.stats.llm_calls == 0
    assert second.claims == first.claims


def test_an_injected_answer_cache_keeps_no_summaries(tmp_path: Path) -> None:
    cache = AnswerCache(tmp_path / "given", "use")
    runtime = Runtime(_llm(tmp_path), model=FakeModel(), cache=cache)
    assert not runtime.summaries().enabled
    cache.close()


class _Memory:
    """A store holding values in memory (what another backend provides: get and set)."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}

    async def get(self, key: str) -> dict[str, Any] | None:
        return self.values.get(key)

    async def set(self, key: str, value: dict[str, Any]) -> None:
        self.values[key] = value


def test_any_store_with_get_and_set_holds_summaries(tmp_path: Path) -> None:
    store = _Memory()
    line = json.dumps(synthetic_thread(6, seed=1))
    model = FakeModel()

    async def go() -> list[ThreadSummary]:
        settings = _llm(tmp_path)
        async with Runtime(settings, model=model, summaries=store) as runtime:
            return [await summarize_item(line, settings, runtime=runtime) for _ in range(2)]

    first, second = asyncio.run(go())
    assert len(store.values) == 1 and first.stats.llm_calls >= 1 and second.stats.llm_calls == 0
    value = next(iter(store.values.values()))
    assert value["format"] == 2 and isinstance(value["json"], str)  # JSON text, no pickle
    assert ThreadSummary.model_validate_json(value["json"]) == second


@pytest.mark.parametrize(
    "stored",
    [
        {"format": 99, "json": "{}"},
        {"format": 2, "json": '{"not": "a summary"}'},
        {"format": 2, "json": {"a": "dict"}},
        {"format": 2},
    ],
    ids=["other-format", "not-a-summary", "not-text", "missing"],
)
def test_a_value_that_is_not_a_summary_is_a_miss_and_overwritten(
    tmp_path: Path, stored: dict[str, Any]
) -> None:
    store = _Memory()
    settings = _llm(tmp_path)
    line = json.dumps(synthetic_thread(6, seed=1))
    model = FakeModel()

    async def go() -> ThreadSummary:
        async with Runtime(settings, model=model, summaries=store) as runtime:
            key = await runtime.summaries().key(line, "batch line", "llm")
            store.values[key] = stored
            summary = await summarize_item(line, settings, runtime=runtime)
            assert store.values[key]["format"] == 2
            return summary

    summary = asyncio.run(go())
    assert summary.stats.llm_calls == len(model.calls) >= 1


_SHAPING: list[dict[str, Any]] = [
    {"model": "other"},
    {"base_url": "http://elsewhere:8000/v1"},
    {"cache_namespace": "shared"},
    {"output_mode": "tools"},
    {"chunk_tokens": 2000},
    {"max_tokens": 1000},
    {"temperature": 0.5},
    {"seed": 7},
    {"max_reasks": 0},
    {"on_invalid": "fail"},
    {"max_failed_share": 0.1},
    {"strict": True},
    {"max_comments": 10},
    {"max_depth": 3},
    {"max_bytes": 1000},
]


@pytest.mark.parametrize("change", _SHAPING, ids=lambda c: next(iter(c)))
def test_every_shaping_setting_is_in_the_key(tmp_path: Path, change: dict[str, Any]) -> None:
    base = _llm(tmp_path)
    other = base.override(change)
    assert summary_key("d", "auto", base, "llm", "p") != summary_key("d", "auto", other, "llm", "p")


def test_what_does_not_shape_the_summary_is_not_in_the_key(tmp_path: Path) -> None:
    base = _llm(tmp_path)
    same = base.override(
        {"api_key": "sk-secret-1234", "concurrency": 16, "llm_timeout": 5, "rate_limit": 3}
    )
    key = summary_key("d", "auto", base, "llm", "p")
    assert summary_key("d", "auto", same, "llm", "p") == key
    assert "sk-secret" not in key
    assert summary_key("e", "auto", base, "llm", "p") != key  # the input
    assert summary_key("d", "text", base, "llm", "p") != key  # how it is read
    assert summary_key("d", "auto", base, "llm", "q") != key  # the prompts
    # The extractive engine's summary does not depend on model settings.
    assert summary_key("d", "auto", base, "extractive") == summary_key(
        "d", "auto", base.override({"model": "x", "chunk_tokens": 2000}), "extractive"
    )


def test_the_key_is_of_the_bytes_given(tmp_path: Path) -> None:
    cache = SummaryCache(_Memory(), _llm(tmp_path), lambda: "p")

    async def keys() -> list[str]:
        return [
            await cache.key(PAGE, "text", "llm"),
            await cache.key(PAGE.decode(), "text", "llm"),
            await cache.key(PAGE + b" ", "text", "llm"),
            await cache.key(PAGE * 200, "text", "llm"),  # hashed on a thread, same digest rule
        ]

    k = asyncio.run(keys())
    assert k[0] == k[1] and len({k[0], k[2], k[3]}) == 3


def test_an_unusable_summary_folder_costs_speed_not_the_summary(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    settings = Settings(engine="extractive", cache_dir=blocker)
    line = json.dumps(synthetic_thread(6, seed=1))

    async def go() -> list[ThreadSummary]:
        async with Runtime(settings) as runtime:
            assert not runtime.summaries().enabled
            return [await summarize_item(line, settings, runtime=runtime) for _ in range(2)]

    first, second = asyncio.run(go())
    assert first.claims == second.claims and first.engine.kind == "extractive"


def test_the_lists_of_settings_left_out_name_real_settings() -> None:
    assert set(Settings.model_fields) >= NOT_SHAPING | LLM_ONLY
    assert not NOT_SHAPING & LLM_ONLY
