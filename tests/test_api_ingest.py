"""Hostile input through the HTTP face and the batch body: a clear 4xx, never a 500.

JSON nested past the parser's recursion limit (``[[[[…]]]]``, ``{"a":{"a":…}}``) and lone
surrogates in a thread's fields once escaped as a RecursionError or a UnicodeEncodeError. The app
runs in process (``httpx.ASGITransport``, lifespan entered by hand), as in ``test_api``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from service.cli import main
from service.errors import FormatError
from service.http import create_app
from service.jobs.lines import parse_body
from service.settings import Settings

T = TypeVar("T")
PROBLEM = "application/problem+json"
DEEP = 100_000
DEEP_ARRAY = b"[" * DEEP + b"]" * DEEP
DEEP_OBJECT = b'{"a":' * DEEP + b"1" + b"}" * DEEP


def call(scenario: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    async def go() -> T:
        app = create_app(Settings(engine="extractive"))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await scenario(c)

    return asyncio.run(go())


def post(path: str, content: bytes, content_type: str = "application/json") -> httpx.Response:
    async def scenario(c: httpx.AsyncClient) -> httpx.Response:
        return await c.post(path, content=content, headers={"Content-Type": content_type})

    return call(scenario)


def assert_problem(r: httpx.Response, status: int, *words: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    detail = r.json()["detail"]
    for word in words:
        assert word in detail, detail


# --- JSON nested past the recursion limit ----------------------------------------------------


@pytest.mark.parametrize("body", [DEEP_ARRAY, b"[" + DEEP_OBJECT + b"]"], ids=["array", "in-array"])
def test_batch_body_nested_too_deep_is_a_422(body: bytes) -> None:
    assert_problem(post("/v1/batches", body), 422, "nested too deeply")


@pytest.mark.parametrize("depth", range(980, 1010))
def test_batch_body_nested_to_the_limit_never_escapes(depth: int) -> None:
    # Near the limit, json.loads succeeds but writing an element back can still recurse too deep.
    body = "[" + '{"a":' * depth + "1" + "}" * depth + "]"
    errors: list[str] = []
    try:
        items = parse_body(body)
    except FormatError as exc:
        errors, items = [str(exc)], []
    assert len(items) == 1 or errors == ["the batch body is JSON nested too deeply to read"]


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
def test_summary_of_json_nested_too_deep_is_a_422(body: bytes) -> None:
    assert_problem(post("/v1/summaries", body), 422, "too deeply nested")


def test_a_jsonl_line_nested_too_deep_is_an_error_record(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = {"id": "u", "comments": [{"id": "1", "text": "Hi. Yes."}]}
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(DEEP_OBJECT + b"\n" + json.dumps(good).encode() + b"\n")
    code = main(["batch", str(src), "-o", str(out), "--engine", "extractive"])
    capsys.readouterr()
    assert code == 3
    first, second = (json.loads(line) for line in out.read_text().splitlines())
    assert (first["status"], first["error"]["type"]) == ("error", "FormatError")
    assert "too deeply nested" in first["error"]["detail"]
    assert second["status"] == "ok"


# --- lone surrogates -------------------------------------------------------------------------


def thread(**fields: Any) -> bytes:
    doc = {"id": "t", "title": "T", "url": "https://x.org/t", **fields}
    doc["comments"] = [{"id": "1", "parent_id": None, "text": "Hi. Yes."}]
    return json.dumps(doc).encode()  # ensure_ascii: a surrogate travels as "\ud800"


@pytest.mark.parametrize("output", ["json", "markdown", "html"])
@pytest.mark.parametrize("field", ["title", "id", "url"])
def test_summary_of_a_thread_with_a_lone_surrogate_is_a_422(field: str, output: str) -> None:
    r = post(f"/v1/summaries?output={output}", thread(**{field: "x\ud800"}))
    assert_problem(r, 422, f"'{field}' of the thread is not valid Unicode", "\\ud800")
