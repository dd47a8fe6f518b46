"""The mock model server: threadsum's own prompts in, grounded deterministic answers out."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from service import Settings, summarize
from service.answer_format import MAP_SHAPE, OVERVIEW_SHAPE, REDUCE_SHAPE, WireMap, answer_schema
from service.chunker import chunk_thread
from service.devtools.bare import bare_map_call
from service.devtools.fake import FakeModel
from service.devtools.mock.timeline import after_maps
from service.devtools.mockllm import (
    GENERIC_TOKENS,
    MockConfig,
    create_app,
    generic_answer,
    map_answer,
    running,
)
from service.devtools.prompt_data import read_prompt
from service.devtools.synthetic import synthetic_thread
from service.ingest import read_thread
from service.models import Thread, ThreadSummary
from service.prompts import ChunkView, load_prompt, render_chunk
from service.runtime import Runtime
from service.text.tokens import estimate_tokens
from service.validation import (
    MapReply,
    ReduceReply,
    check_map,
    check_overview,
    check_reduce,
    encode_map,
    parse_reply,
)

from .conftest import EXAMPLE_PAGE, ROOT

Messages = list[Any]  # chat messages as threadsum renders them

REDUCE_CLAIMS = (
    "m1 [2] Open models are cheap.\nm2 Open models are cheap!\nm3 [1] Hardware is the bottleneck."
)
REDUCE_INPUTS = {
    "m1": "Open models are cheap.",
    "m2": "Open models are cheap!",
    "m3": "Hardware is the bottleneck.",
}


@pytest.fixture(scope="module")
def thread() -> Thread:
    return read_thread(EXAMPLE_PAGE.read_bytes())


@pytest.fixture(scope="module")
def view(thread: Thread) -> ChunkView:
    return render_chunk(thread, chunk_thread(thread, 6000)[0])


@pytest.fixture(scope="module")
def map_messages(thread: Thread, view: ChunkView) -> Messages:
    return load_prompt("map").render(title=thread.title or "", comments=view.text, schema=MAP_SHAPE)


@pytest.fixture(scope="module")
def reduce_messages() -> Messages:
    return load_prompt("reduce").render(title="T", claims=REDUCE_CLAIMS, schema=REDUCE_SHAPE)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """One default server for the tests that need no special configuration."""
    with running(MockConfig()) as url:
        yield url


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key="x", max_retries=0)


def cited(reply: MapReply) -> list[str]:
    ids: list[str] = []
    for c in reply.claims:
        ids += c.evidence + c.supporters
        for r in c.rebuttals:
            ids += r.evidence
            for k in r.counters:
                ids += k.evidence
    return ids


def valid_ids(view: ChunkView) -> set[str]:
    return {f"{k}.{n}" for k, (a, b) in view.sentences.items() for n in range(a, b + 1)}


def decode_map(text: str, view: ChunkView) -> MapReply:
    """A mock answer in the compact format, read as the engine reads it; nothing dropped."""
    checked = check_map(parse_reply(text), valid_ids(view))
    assert checked.errors == [] and checked.dropped == 0
    return checked.reply


def decode_reduce(text: str) -> ReduceReply:
    checked = check_reduce(parse_reply(text), REDUCE_INPUTS)
    assert checked.errors == []
    return checked.reply


JSON_SCHEMA: Any = {
    "type": "json_schema",
    "json_schema": {"name": "map", "strict": False, "schema": answer_schema(WireMap)},
}


def test_models(base_url: str) -> None:
    with client(base_url) as c:
        models = c.models.list()
    assert [m.id for m in models.data] == ["threadsum-mock"]
    body = httpx.get(base_url + "/models").json()
    assert body["data"][0] == {
        "id": "threadsum-mock",
        "object": "model",
        "owned_by": "threadsum",
        "max_model_len": None,
    }


def test_map_reply_is_grounded_and_deterministic(
    base_url: str, map_messages: Messages, view: ChunkView
) -> None:
    with client(base_url) as c:
        first, second = (
            c.chat.completions.create(
                model="threadsum-mock",
                messages=map_messages,
                response_format=JSON_SCHEMA,
                temperature=0,
                seed=1,
            )
            for _ in range(2)
        )
    content = first.choices[0].message.content
    assert content is not None and content == second.choices[0].message.content
    assert first.choices[0].finish_reason == "stop"
    reply = decode_map(content, view)
    assert reply.claims and all(c.evidence for c in reply.claims)
    ids = cited(reply)
    assert ids and set(ids) <= valid_ids(view)
    assert first.usage is not None
    assert first.usage.prompt_tokens > 1000 and first.usage.completion_tokens > 10
    assert first.usage.total_tokens == first.usage.prompt_tokens + first.usage.completion_tokens


def test_context_comments_are_never_cited(thread: Thread) -> None:
    chunks = [c for c in chunk_thread(thread, 1000) if c.context_ids]
    assert chunks
    for chunk in chunks:
        view = render_chunk(thread, chunk)
        assert "\np1" in "\n" + view.text
        reply = map_answer(view.text)
        ids = cited(reply)
        assert reply.claims and set(ids) <= valid_ids(view)
        assert not any(i.startswith("p") for i in ids)


@pytest.mark.parametrize(
    ("request_extra", "where"),
    [
        ({"response_format": JSON_SCHEMA}, "content"),
        (
            {"response_format": {"type": "json_object", "schema": answer_schema(WireMap)}},
            "content",
        ),
        ({"response_format": {"type": "json_object"}}, "content"),
        (
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {"name": "report", "parameters": answer_schema(WireMap)},
                    }
                ],
                "tool_choice": {"type": "function", "function": {"name": "report"}},
            },
            "tools",
        ),
        ({}, "text"),
    ],
    ids=["json_schema", "json_object+schema", "json_object", "tools", "text"],
)
def test_output_modes(
    base_url: str,
    map_messages: Messages,
    view: ChunkView,
    request_extra: dict[str, Any],
    where: str,
) -> None:
    body = {"model": "m", "messages": map_messages, **request_extra}
    response = httpx.post(base_url + "/chat/completions", json=body)
    assert response.status_code == 200
    choice = response.json()["choices"][0]
    message = choice["message"]
    expected = map_answer(map_messages[-1]["content"].split("<thread_data>\n")[1].split("\n</")[0])
    if where == "tools":
        assert message["content"] is None and choice["finish_reason"] == "tool_calls"
        (call,) = message["tool_calls"]
        assert call["type"] == "function" and call["function"]["name"] == "report"
        assert decode_map(call["function"]["arguments"], view) == expected
    elif where == "text":
        assert message["content"].startswith("Here is the JSON:\n```json\n")
        assert decode_map(message["content"], view) == expected
    else:
        assert decode_map(message["content"], view) == expected


def test_reduce_merges_near_duplicates(base_url: str, reduce_messages: Messages) -> None:
    with client(base_url) as c:
        answer = c.chat.completions.create(
            model="m",
            messages=reduce_messages,
            response_format={"type": "json_object"},
        )
    reply = decode_reduce(answer.choices[0].message.content or "")
    assert [c.merges for c in reply.claims] == [["m1", "m2"], ["m3"]]
    assert reply.claims[0].statement == "Open models are cheap."


def test_the_overview_prompt_gets_an_overview_of_the_same_claims(base_url: str) -> None:
    messages = load_prompt("overview").render(
        title="T", claims=REDUCE_CLAIMS, schema=OVERVIEW_SHAPE
    )
    with client(base_url) as c:
        answer = c.chat.completions.create(
            model="m", messages=messages, response_format={"type": "json_object"}
        )
    checked = check_overview(parse_reply(answer.choices[0].message.content or ""))
    overview = checked.reply.overview
    assert checked.errors == [] and "2 distinct claims" in overview
    assert "Open models are cheap." in overview and len(overview.split()) <= 120
    stats = httpx.get(base_url.removesuffix("/v1") + "/mock/stats").json()
    assert stats["by_kind"]["overview"] >= 1


TITLE = "Should small teams self-host their database?"


def titled_thread() -> Thread:
    """A thread of several chunks at 1000 tokens, so both map and reduce prompts are sent."""
    return read_thread(json.dumps({**synthetic_thread(120, seed=4), "title": TITLE}))


def llm_settings(url: str = "http://127.0.0.1:9/v1") -> Settings:
    return Settings(
        base_url=url, model="threadsum-mock", engine="llm", cache="off", chunk_tokens=1000
    )


def test_the_title_line_of_real_prompts_is_read() -> None:
    """The map, reduce and overview prompts as the LLM engine renders them carry the title to
    the mock."""
    fake = FakeModel()

    async def go() -> ThreadSummary:
        async with Runtime(llm_settings(), model=fake) as runtime:
            return await summarize(titled_thread(), llm_settings(), runtime=runtime)

    asyncio.run(go())
    read = [read_prompt(messages) for messages in fake.calls]
    assert {r.kind for r in read} == {"map", "reduce", "overview"}
    assert all(r.title == TITLE for r in read)


def test_the_reduce_overview_names_the_thread_title() -> None:
    with running(MockConfig()) as url:
        summary = asyncio.run(summarize(titled_thread(), llm_settings(url)))
    assert summary.stats.chunks > 1  # the overview is the mock's answer to the overview prompt
    assert summary.overview.startswith(f"The discussion “{TITLE}” comes down to ")


def test_mock_llm_on_a_port_in_use_is_one_error_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "service", "mock-llm", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1 and result.stdout == ""
    assert (
        result.stderr
        == f"error: cannot listen on 127.0.0.1:{port}: the address is already in use\n"
    )


def test_reask_is_answered_for_the_original_data(base_url: str, reduce_messages: Messages) -> None:
    reask = load_prompt("reask").render(errors="- the reply is not valid JSON")
    messages = [*reduce_messages, {"role": "assistant", "content": "}{ not json"}, *reask]
    with client(base_url) as c:
        answer = c.chat.completions.create(model="m", messages=messages)
    reply = decode_reduce(answer.choices[0].message.content or "")
    assert [c.merges for c in reply.claims] == [["m1", "m2"], ["m3"]]


def test_unknown_prompt_is_a_400(base_url: str) -> None:
    with client(base_url) as c, pytest.raises(openai.BadRequestError) as e:
        c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert "unknown prompt" in str(e.value)


@pytest.mark.parametrize("mode", ["json_schema", "tools"])
def test_refused_modes(map_messages: Messages, mode: str) -> None:
    extra: dict[str, Any] = (
        {"response_format": JSON_SCHEMA}
        if mode == "json_schema"
        else {"tools": [{"type": "function", "function": {"name": "report"}}]}
    )
    with running(MockConfig(refuse_modes={mode})) as url:
        response = httpx.post(
            url + "/chat/completions", json={"model": "m", "messages": map_messages, **extra}
        )
        error = response.json()["error"]
        ok = httpx.post(
            url + "/chat/completions",
            json={
                "model": "m",
                "messages": map_messages,
                "response_format": {"type": "json_object"},
            },
        )
    assert response.status_code == 400
    assert error["type"] == "invalid_request_error" and error["code"] is None
    if mode == "json_schema":
        assert error["message"] == "response_format type 'json_schema' is not supported"
        assert error["param"] == "response_format"
    else:
        assert error["param"] == "tools"
    assert ok.status_code == 200


def test_context_limit(map_messages: Messages, reduce_messages: Messages) -> None:
    with running(MockConfig(context_limit=2000)) as url, client(url) as c:
        assert httpx.get(url + "/models").json()["data"][0]["max_model_len"] == 2000
        with pytest.raises(openai.BadRequestError) as e:
            c.chat.completions.create(model="m", messages=map_messages)
        c.chat.completions.create(model="m", messages=reduce_messages)  # a small prompt fits
    assert "maximum context length is 2000 tokens" in str(e.value)
    assert e.value.code == "context_length_exceeded"


def test_max_tokens_truncates(base_url: str, map_messages: Messages) -> None:
    with client(base_url) as c:
        full = c.chat.completions.create(
            model="m", messages=map_messages, response_format={"type": "json_object"}
        )
        cut = c.chat.completions.create(
            model="m", messages=map_messages, response_format={"type": "json_object"}, max_tokens=20
        )
    content = cut.choices[0].message.content or ""
    assert cut.choices[0].finish_reason == "length"
    assert content and (full.choices[0].message.content or "").startswith(content)
    assert cut.usage is not None and cut.usage.completion_tokens == 20


def test_latency_and_concurrency(reduce_messages: Messages) -> None:
    config = MockConfig(latency_ms=100, ms_per_token=0.1, max_concurrency=1)

    async def three(url: str) -> float:
        async with openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0) as c:
            started = time.monotonic()
            await asyncio.gather(
                *(c.chat.completions.create(model="m", messages=reduce_messages) for _ in range(3))
            )
            return time.monotonic() - started

    with running(config) as url:
        elapsed = asyncio.run(three(url))
        stats = httpx.get(url.removesuffix("/v1") + "/mock/stats").json()
    assert elapsed >= 0.3  # one at a time, 100 ms each at least
    assert stats["max_in_flight"] == 1 and stats["requests"] == 3
    # The timeline: each call's slot, one after another, each held at least its latency.
    calls = stats["calls"]
    assert [c["kind"] for c in calls] == ["reduce"] * 3
    assert all(c["finished"] - c["started"] >= 0.1 for c in calls)
    # (a call's slot time counts from its arrival, so the next may start a moment before the
    # last one ends; never a whole latency before)
    assert all(b["started"] - a["started"] > 0.05 for a, b in itertools.pairwise(calls))
    assert calls[0]["started"] == stats["first_started"]
    assert calls[-1]["finished"] == stats["last_finished"]
    assert sum(c["completion_tokens"] for c in calls) == stats["completion_tokens"]


def test_faults_are_injected(reduce_messages: Messages) -> None:
    seen: dict[str, Any] = {}
    for kind in ("429", "500", "503", "garbage", "disconnect"):
        with running(MockConfig(fail_rate=1.0, faults=(kind,))) as url, client(url) as c:
            try:
                answer = c.chat.completions.create(model="m", messages=reduce_messages)
                seen[kind] = answer.choices[0].message.content
            except openai.APIStatusError as e:
                seen[kind] = (e.status_code, e.response.headers.get("retry-after"))
            except openai.APIConnectionError as e:
                seen[kind] = type(e).__name__
            stats = httpx.get(url.removesuffix("/v1") + "/mock/stats").json()
            assert stats["faults"] == 1 and stats["by_fault"][kind] == 1
    assert seen == {
        "429": (429, "0"),
        "500": (500, None),
        "503": (503, None),
        "garbage": "}{ not json",
        "disconnect": "APIConnectionError",
    }


def test_faults_are_transient_and_seeded(reduce_messages: Messages) -> None:
    def outcomes(seed: int) -> list[str]:
        out = []
        with running(MockConfig(fail_rate=0.5, seed=seed)) as url, client(url) as c:
            for _ in range(12):
                try:
                    answer = c.chat.completions.create(model="m", messages=reduce_messages)
                    content = answer.choices[0].message.content or ""
                    out.append("ok" if content.startswith("Here is") else "garbage")
                except openai.APIStatusError as e:
                    out.append(str(e.status_code))
                except openai.APIConnectionError:
                    out.append("disconnect")
        return out

    first = outcomes(7)
    assert "ok" in first and set(first) != {"ok"}  # failures happen, and retries get through
    assert outcomes(7) == first


def test_stats_and_reset(map_messages: Messages, reduce_messages: Messages) -> None:
    with running(MockConfig()) as url, client(url) as c:
        root = url.removesuffix("/v1")
        assert httpx.get(root + "/mock/stats").json()["requests"] == 0
        c.chat.completions.create(
            model="m", messages=map_messages, response_format={"type": "json_object"}
        )
        c.chat.completions.create(model="m", messages=reduce_messages)
        with pytest.raises(openai.BadRequestError):
            c.chat.completions.create(model="m", messages=[{"role": "user", "content": "?"}])
        stats = httpx.get(root + "/mock/stats").json()
        assert httpx.post(root + "/mock/reset").json() == {"ok": True}
        after = httpx.get(root + "/mock/stats").json()
    assert stats["requests"] == 3
    assert stats["by_kind"] == {"map": 1, "reduce": 1, "overview": 0, "other": 1}
    assert stats["by_mode"]["json_object"] == 1 and stats["by_mode"]["text"] == 2
    assert stats["rejected"] == 1 and stats["faults"] == 0
    assert stats["prompt_tokens"] > 1000 and stats["completion_tokens"] > 0
    assert after["requests"] == 0 and after["prompt_tokens"] == 0
    # The timeline holds the calls that were answered (a rejected one took no slot).
    assert [c["kind"] for c in stats["calls"]] == ["map", "reduce"] and after["calls"] == []


def test_the_timeline_keeps_the_latest_calls(
    reduce_messages: Messages, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("service.devtools.mock.server.CALLS_KEPT", 2)

    async def go() -> dict[str, Any]:
        app = create_app(MockConfig())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as http:
            c = openai.AsyncOpenAI(base_url="http://mock/v1", api_key="x", http_client=http)
            for _ in range(5):
                await c.chat.completions.create(model="m", messages=reduce_messages)
            stats: dict[str, Any] = (await http.get("/mock/stats")).json()
            return stats

    stats = asyncio.run(go())
    assert stats["requests"] == 5 and len(stats["calls"]) == 2
    assert stats["calls"][-1]["finished"] == stats["last_finished"]


def _call(kind: str, started: float, finished: float, tokens: int = 10) -> dict[str, Any]:
    return {
        "kind": kind,
        "started": started,
        "finished": finished,
        "prompt_tokens": 100,
        "completion_tokens": tokens,
    }


def test_the_schedule_after_the_last_map() -> None:
    # Two slots: maps of 1, 3 and 2 s, then a reduce and the overview beside it for 1 s.
    calls = [
        _call("map", 10.0, 11.0),
        _call("map", 10.0, 13.0, tokens=300),
        _call("map", 11.0, 13.0),
        _call("reduce", 13.0, 14.0),
        _call("overview", 13.0, 13.5),
    ]
    plan = after_maps(calls, slots=2)
    assert plan is not None
    assert plan.last_map == (0.0, 3.0) and plan.last_map_tokens == 300
    assert plan.map_lengths == (1.0, 3.0)
    assert plan.after == ("overview", "reduce") and plan.tail_s == 1.0
    # Busy 7.5 slot-seconds; no schedule of these maps ends before 3 s (the longest map),
    # and the tail took 1 s: 7.5 / (2 × 4).
    assert plan.ceiling == pytest.approx(7.5 / 8)
    # Maps longer in all than the slots can run side by side: spread evenly, 6 s on 2 slots.
    spread = [_call("map", 0.0, 4.0), _call("map", 0.0, 4.0), _call("map", 4.0, 8.0)]
    wide = after_maps(spread, slots=2)
    assert wide is not None and wide.ceiling == pytest.approx(12 / (2 * 6)) and wide.after == ()
    assert after_maps([_call("reduce", 0.0, 1.0)], slots=2) is None


def test_the_bare_baseline_sends_a_map_call_as_threadsum_does(map_messages: Messages) -> None:
    # The benchmarks' baseline: one SDK call, json_schema mode, the map's schema and settings.
    async def go() -> tuple[str, dict[str, Any]]:
        app = create_app(MockConfig())
        sent: list[dict[str, Any]] = []

        async def keep(request: httpx.Request) -> None:
            sent.append(json.loads(request.content))

        transport = httpx.ASGITransport(app=app)
        hooks = {"request": [keep]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://mock", event_hooks=hooks
        ) as http:
            c = openai.AsyncOpenAI(base_url="http://mock/v1", api_key="x", http_client=http)
            settings = Settings(model="m", seed=7)
            return await bare_map_call(c, map_messages, settings), sent[0]

    text, body = asyncio.run(go())
    assert WireMap.model_validate_json(text).k  # the mock's map answer, claims and all
    assert body["model"] == "m" and body["seed"] == 7 and body["messages"] == map_messages
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == answer_schema(WireMap)


def test_bad_config() -> None:
    with pytest.raises(ValueError, match="fail_rate"):
        MockConfig(fail_rate=2)
    with pytest.raises(ValueError, match="refuse_modes"):
        MockConfig(refuse_modes={"xml"})


def test_answers_are_plain_json_and_read_back(view: ChunkView) -> None:
    dumped = json.dumps(encode_map(map_answer(view.text)))
    assert decode_map(dumped, view) == map_answer(view.text)


def test_in_process_app(reduce_messages: Messages) -> None:
    """create_app runs in process too (httpx's ASGI transport); a dropped connection is a 502."""

    async def go() -> tuple[str | None, int]:
        app = create_app(MockConfig(fail_rate=1.0, faults=("disconnect",)))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as http:
            c = openai.AsyncOpenAI(
                base_url="http://mock/v1", api_key="x", http_client=http, max_retries=0
            )
            with pytest.raises(openai.APIStatusError) as e:
                await c.chat.completions.create(model="m", messages=reduce_messages)
            await http.post("/mock/reset")
            app.state.mock.config.fail_rate = 0.0
            answer = await c.chat.completions.create(model="m", messages=reduce_messages)
            return answer.choices[0].message.content, e.value.status_code

    content, status = asyncio.run(go())
    assert status == 502
    assert content is not None and '"k": [{"m": "m1-2"}]' in content


# --- answer_any: prompts that are not threadsum's ------------------------------------------------

# LangChain's default map_reduce summarization prompt, around a piece of a thread.
SUMMARY_PROMPT = 'Write a concise summary of the following:\n\n\n"{text}"\n\n\nCONCISE SUMMARY:'


def thread_lines(n: int) -> str:
    """A generated thread as ``author: text`` lines, the way summary scripts paste one."""
    return "\n".join(
        f"{c['author']}: {' '.join(c['text'].split())}"
        for c in synthetic_thread(n, seed=3)["comments"]
    )


def test_answer_any_summarises_any_prompt_in_plain_text() -> None:
    prompt = SUMMARY_PROMPT.format(text=thread_lines(60))
    messages = [{"role": "user", "content": prompt}]
    with running(MockConfig(answer_any=True)) as url, client(url) as c:
        first, second = (
            c.chat.completions.create(model="gpt-x", messages=messages) for _ in range(2)
        )
        stats = httpx.get(url.removesuffix("/v1") + "/mock/stats").json()
    answer = first.choices[0].message.content or ""
    assert answer == second.choices[0].message.content == generic_answer(messages)
    assert first.choices[0].finish_reason == "stop"
    # A paragraph of realistic length, made of sentences of the prompt, instructions left out.
    assert 150 <= estimate_tokens(answer) <= GENERIC_TOKENS
    assert "CONCISE SUMMARY" not in answer and "Write a concise" not in answer
    assert not answer.startswith('"')
    assert answer.split(": ", 1)[1].split(". ")[0] in prompt
    assert first.usage is not None and first.usage.completion_tokens == estimate_tokens(answer)
    assert first.usage.prompt_tokens > 1000
    assert stats["by_kind"] == {"map": 0, "reduce": 0, "overview": 0, "other": 2}
    assert stats["rejected"] == 0 and stats["completion_tokens"] == 2 * estimate_tokens(answer)


def test_generic_answer_shape() -> None:
    def ask(content: str, limit: int = GENERIC_TOKENS) -> str:
        return generic_answer([{"role": "user", "content": content}], limit)

    assert ask("One. Two! One. Three?") == "One. Two! Three?"  # repeated sentences once
    assert ask("Summarize these points:\n\nCheap is good.\n\nTL;DR:") == "Cheap is good."
    assert ask("   ") == "There is nothing here to summarise."
    long = ask("word " * 5000)
    assert 0 < estimate_tokens(long) <= GENERIC_TOKENS and long.startswith("word word")
    for limit in (1, 7, 40):
        assert estimate_tokens(ask(thread_lines(30), limit)) <= limit
    system_only = [{"role": "system", "content": "Be brief. Be kind."}]
    assert generic_answer(system_only) == "Be brief. Be kind."


def test_answer_any_keeps_threadsum_answers(
    base_url: str, map_messages: Messages, reduce_messages: Messages
) -> None:
    def answers(url: str) -> list[str | None]:
        with client(url) as c:
            return [
                c.chat.completions.create(model="m", messages=messages, **extra)
                .choices[0]
                .message.content
                for messages, extra in (
                    (map_messages, {"response_format": JSON_SCHEMA}),
                    (map_messages, {}),
                    (reduce_messages, {"response_format": {"type": "json_object"}}),
                )
            ]

    with running(MockConfig(answer_any=True)) as url:
        assert answers(url) == answers(base_url)  # byte for byte what the default server says


def test_answer_any_obeys_context_limit_and_max_tokens() -> None:
    long = [{"role": "user", "content": SUMMARY_PROMPT.format(text=thread_lines(400))}]
    short = [{"role": "user", "content": SUMMARY_PROMPT.format(text=thread_lines(20))}]
    with running(MockConfig(answer_any=True, context_limit=4000)) as url, client(url) as c:
        with pytest.raises(openai.BadRequestError) as e:
            c.chat.completions.create(model="m", messages=long)
        cut = c.chat.completions.create(model="m", messages=short, max_tokens=12)
        whole = c.chat.completions.create(model="m", messages=short)
        as_json = c.chat.completions.create(
            model="m", messages=short, response_format={"type": "json_object"}
        )
        stats = httpx.get(url.removesuffix("/v1") + "/mock/stats").json()
    assert e.value.code == "context_length_exceeded"
    assert "maximum context length is 4000 tokens" in str(e.value)
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None and cut.usage.completion_tokens == 12
    assert (whole.choices[0].message.content or "").startswith(cut.choices[0].message.content or "")
    assert json.loads(as_json.choices[0].message.content or "") == {
        "answer": whole.choices[0].message.content
    }
    assert stats["rejected"] == 1 and stats["by_kind"]["other"] == 4


def test_a_one_token_probe_of_any_prompt_is_answered(base_url: str) -> None:
    # A probe of the output mode asks one token of a one-line prompt: answered, cut off; the
    # same prompt asking for a whole answer is still refused (it is not threadsum's).
    messages = [{"role": "user", "content": "Reply with a JSON object."}]
    with client(base_url) as c:
        cut = c.chat.completions.create(
            model="m", messages=messages, max_tokens=1, response_format=JSON_SCHEMA
        )
        assert cut.choices[0].finish_reason == "length"
        assert cut.usage is not None and cut.usage.completion_tokens == 1
        with pytest.raises(openai.BadRequestError):
            c.chat.completions.create(model="m", messages=messages, response_format=JSON_SCHEMA)
