"""What each common OpenAI-compatible server does differently, replayed from fixtures/llm/.

The engine and the real model client run against respx; the bodies are in the shapes these
servers send (see fixtures/llm/README.md).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import tenacity

from service import Settings, read_thread, summarize
from service.cache import AnswerCache
from service.devtools.fake import FakeModel
from service.devtools.fake import data_block as _data
from service.devtools.mockllm import map_answer
from service.devtools.synthetic import synthetic_thread
from service.errors import PromptTruncatedError, UsageError
from service.grounding import check_summary
from service.model.client import ModelClient
from service.models import ThreadSummary
from service.retrying import RetryPolicy
from service.runtime import Runtime
from service.validation import encode_map

from .conftest import EXAMPLE_PAGE, FIXTURES

BASE = "http://model.test/v1"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / "llm" / name).read_text())


def completion(content: str, prompt_tokens: int = 0) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1767225600,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 50,
            "total_tokens": prompt_tokens + 50,
        },
    }


def answering(request: httpx.Request, prompt_tokens: int = 0) -> httpx.Response:
    """A server that answers the map prompt it is sent (from the mock's engine)."""
    body = json.loads(request.content)
    data = _data(body["messages"], "thread_data") or ""
    answer = json.dumps(encode_map(map_answer(data)))
    return httpx.Response(200, json=completion(answer, prompt_tokens))


def run(thread: Any, tmp_path: Path, **kw: Any) -> ThreadSummary:
    settings = Settings(model="m", base_url=BASE, cache_dir=tmp_path / "c", **kw)

    async def go() -> ThreadSummary:
        client = ModelClient(
            base_url=BASE, model="m", api_key=None, retry=RetryPolicy(wait=tenacity.wait_none())
        )
        cache = AnswerCache(settings.cache_dir, settings.cache)
        try:
            return await summarize(
                thread, settings, engine="llm", runtime=Runtime(settings, model=client, cache=cache)
            )
        finally:
            await client.aclose()
            cache.close()

    return asyncio.run(go())


@respx.mock(base_url=BASE, assert_all_called=False)
def test_llama_cpp_python_is_asked_in_json_object_with_its_schema(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    refusal = fixture("refusal-llama-cpp-python.json")
    seen: list[dict[str, Any]] = []

    def server(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body.get("response_format", {}))
        if body.get("response_format", {}).get("type") == "json_schema":
            return httpx.Response(500, json=refusal)
        return answering(request)

    respx_mock.post("/chat/completions").mock(side_effect=server)
    respx_mock.get("/models").mock(return_value=httpx.Response(200, json={"data": []}))
    thread = read_thread(EXAMPLE_PAGE.read_bytes())
    summary = run(thread, tmp_path)
    assert summary.engine.output_mode == "json_object"
    assert seen[0]["type"] == "json_schema" and seen[-1]["type"] == "json_object"
    assert seen[-1]["schema"]["properties"]["k"]["type"] == "array"
    assert summary.claims and check_summary(summary, thread) == []


@respx.mock(base_url=BASE, assert_all_called=False)
def test_vllm_context_length_sizes_chunks_and_answers(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    models = fixture("models-vllm.json")
    models["data"][0]["id"] = "m"
    models["data"][0]["max_model_len"] = 4096
    respx_mock.get("/models").mock(return_value=httpx.Response(200, json=models))
    sent: list[dict[str, Any]] = []

    def server(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return answering(request)

    respx_mock.post("/chat/completions").mock(side_effect=server)
    thread = read_thread(json.dumps(synthetic_thread(200, 4)))
    summary = run(thread, tmp_path)
    assert any("context of 4096 tokens" in w for w in summary.warnings)
    assert all(body["max_tokens"] == 1024 for body in sent)
    assert summary.stats.chunks > 1 and check_summary(summary, thread) == []


@respx.mock(base_url=BASE, assert_all_called=False)
def test_llama_server_n_ctx_too_small_is_a_clear_error(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    models = fixture("models-llamacpp.json")
    for item in models.get("data", []):
        item.setdefault("meta", {})["n_ctx"] = 1024
        item["meta"]["n_ctx_train"] = 1024
    respx_mock.get("/models").mock(return_value=httpx.Response(200, json=models))
    with pytest.raises(UsageError, match="context of 1024 tokens is too small"):
        run(read_thread(EXAMPLE_PAGE.read_bytes()), tmp_path)


@respx.mock(base_url=BASE, assert_all_called=False)
def test_ollama_silent_prompt_truncation_is_detected_not_trusted(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    # Ollama with a small num_ctx keeps the last tokens and reports what it read.
    respx_mock.get("/models").mock(return_value=httpx.Response(200, json={"data": []}))
    respx_mock.post("/chat/completions").mock(
        side_effect=lambda request: answering(request, prompt_tokens=512)
    )
    thread = read_thread(json.dumps(synthetic_thread(120, 2)))
    with pytest.raises(PromptTruncatedError, match="read 512 prompt tokens of about"):
        run(thread, tmp_path)


def test_a_small_models_junk_is_dropped_reasked_and_survived(tmp_path: Path) -> None:
    thread = read_thread(EXAMPLE_PAGE.read_bytes())
    junk = json.dumps(
        {
            "k": [
                {"t": ""},
                {
                    "t": "c2.1 c2.1 c77.3 Open models are marketing.",
                    "p": "c2.1",
                    "r": [{"t": "x"}],
                },
                {"t": "c2.1 Open models are marketing."},
            ]
        }
    )
    model = FakeModel(script=[junk, junk.replace("marketing", "ads"), "[]"])
    settings = Settings(model="m", cache_dir=tmp_path / "c")

    async def go() -> ThreadSummary:
        cache = AnswerCache(settings.cache_dir, "use")
        try:
            return await summarize(
                thread, settings, engine="llm", runtime=Runtime(settings, model=model, cache=cache)
            )
        finally:
            cache.close()

    summary = asyncio.run(go())
    assert summary.stats.reasks == 2
    assert [c.statement for c in summary.claims] == ["Open models are ads."]
    assert summary.claims[0].supporters == []  # its own evidence is no support
    assert any("kept the valid part" in w for w in summary.warnings)
    assert check_summary(summary, thread) == []
