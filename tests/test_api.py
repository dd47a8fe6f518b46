"""The HTTP face (service.http): routes, limits, auth, rate limit, problems, batches, restart.

Most tests drive the app in process (``httpx.ASGITransport``, lifespan entered by hand). The body
limit and the batch restart need a real server: uvicorn on loopback in a background thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import select
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, get_args

import httpx
import pytest

from service.devtools.fake import FakeModel
from service.devtools.mockllm import MockConfig, running
from service.devtools.synthetic import synthetic_thread
from service.errors import CacheMissError, ModelAuthError, ModelUnavailableError, describe
from service.http import create_app
from service.http.inputs import InputFormat
from service.http.security import RateLimiter
from service.ingest import FORMATS
from service.jobs.runner import JobStore
from service.model.protocol import ChatModel
from service.models import ThreadSummary
from service.settings import Settings

from .conftest import EXAMPLE_PAGE, FIXTURES
from .http_live import serving

T = TypeVar("T")
PAGE = EXAMPLE_PAGE.read_bytes()
FORMAT_FILES = sorted((FIXTURES / "formats").glob("*.json"))
TEXT = {"Content-Type": "text/plain"}
PROBLEM = "application/problem+json"


def _settings(**kwargs: Any) -> Settings:
    kwargs.setdefault("engine", "extractive")
    return Settings(**kwargs)


def call(
    settings: Settings,
    scenario: Callable[[httpx.AsyncClient], Awaitable[T]],
    *,
    model: ChatModel | None = None,
) -> T:
    """Run ``scenario`` against the app in process, its lifespan entered."""

    async def go() -> T:
        app = create_app(settings, model=model)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await scenario(c)

    return asyncio.run(go())


def post_page(settings: Settings, path: str = "/v1/summaries", **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("content", PAGE)
    kwargs.setdefault("headers", TEXT)

    async def scenario(c: httpx.AsyncClient) -> httpx.Response:
        return await c.post(path, **kwargs)

    return call(settings, scenario, model=kwargs.pop("model", None))


def assert_problem(r: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    doc: dict[str, Any] = r.json()
    assert {"type", "title", "status", "detail", "instance"} <= doc.keys()
    assert doc["status"] == status and doc["instance"].startswith("/")
    for word in words:
        assert word in doc["detail"], doc["detail"]
    assert "Traceback" not in r.text
    return doc


def live(
    settings: Settings, *, model: ChatModel | None = None
) -> contextlib.AbstractContextManager[str]:
    """The app served for real on loopback, configured as ``threadsum serve`` configures it."""
    return serving(settings, model=model)


# --- summaries -------------------------------------------------------------------------------


def test_a_pasted_page_as_text_plain() -> None:
    r = post_page(_settings())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    summary = ThreadSummary.model_validate_json(r.content)
    assert summary.engine.kind == "extractive" and summary.thread.comments > 0
    assert summary.claims


@pytest.mark.parametrize("path", FORMAT_FILES, ids=lambda p: p.stem)
def test_each_json_input_format_detected_and_named(path: Path) -> None:
    body = path.read_bytes()

    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        headers = {"Content-Type": "application/json"}
        detected = await c.post("/v1/summaries", content=body, headers=headers)
        named = await c.post(f"/v1/summaries?format={path.stem}", content=body, headers=headers)
        return [detected, named]

    for r in call(_settings(), scenario):
        assert r.status_code == 200, r.text
        assert ThreadSummary.model_validate_json(r.content).thread.format == path.stem


def test_the_format_query_lists_every_input_format() -> None:
    assert set(get_args(InputFormat)) == {"auto", *FORMATS}


@pytest.mark.parametrize(
    ("output", "media_type", "start"),
    [
        ("markdown", "text/markdown; charset=utf-8", "# "),
        ("html", "text/html; charset=utf-8", "<!DOCTYPE html>"),
    ],
)
def test_output_formats_have_their_media_types(output: str, media_type: str, start: str) -> None:
    r = post_page(_settings(), f"/v1/summaries?output={output}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == media_type
    assert r.text.lstrip().lower().startswith(start.lower())


def test_llm_engine_with_a_shared_model_and_options() -> None:
    model = FakeModel()
    r = post_page(
        _settings(engine="auto", model="fake-model", cache="off"),
        "/v1/summaries?output_mode=tools&chunk_tokens=2000",
        model=model,
    )
    assert r.status_code == 200, r.text
    summary = ThreadSummary.model_validate_json(r.content)
    assert summary.engine.kind == "llm" and model.calls


def test_clients_cannot_pick_the_model_server() -> None:
    r = post_page(_settings(), "/v1/summaries?base_url=http://169.254.169.254/&model=x")
    # Unknown query parameters are ignored: the server's own settings are used.
    assert r.status_code == 200
    assert ThreadSummary.model_validate_json(r.content).engine.kind == "extractive"
    params = {
        p["name"]
        for p in create_app(_settings()).openapi()["paths"]["/v1/summaries"]["post"]["parameters"]
    }
    assert params == {"format", "output", "engine", "output_mode", "chunk_tokens", "since"}


# --- errors ----------------------------------------------------------------------------------


def test_400_for_an_engine_that_cannot_run() -> None:
    r = post_page(_settings(), "/v1/summaries?engine=llm")
    assert_problem(r, 400, "needs a model name")


def test_415_for_an_unsupported_content_type() -> None:
    r = post_page(_settings(), headers={"Content-Type": "application/xml"})
    assert_problem(r, 415, "application/json", "text/plain")
    r = post_page(_settings(), "/v1/batches", headers={"Content-Type": "text/csv"})
    assert_problem(r, 415, "application/x-ndjson")


def test_422_for_unusable_input_and_bad_parameters() -> None:
    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        json_headers = {"Content-Type": "application/json"}
        return [
            await c.post("/v1/summaries", content=b"{not json", headers=json_headers),
            await c.post("/v1/summaries", content=b"", headers=TEXT),
            await c.post("/v1/summaries?chunk_tokens=5", content=PAGE, headers=TEXT),
            await c.post("/v1/summaries?output=pdf", content=PAGE, headers=TEXT),
        ]

    malformed, empty, small_budget, bad_output = call(_settings(), scenario)
    doc = assert_problem(malformed, 422)
    assert doc["type"] == "urn:threadsum:error:format-error" and doc["error"] == "FormatError"
    assert_problem(empty, 422)
    doc = assert_problem(small_budget, 422, "chunk_tokens")
    assert doc["errors"][0]["loc"] == ["query", "chunk_tokens"]
    assert_problem(bad_output, 422, "output")


def test_too_many_comments_or_too_deep_is_422_not_413() -> None:
    r = post_page(_settings(max_comments=3))
    assert_problem(r, 422, "comments, over the limit of 3")
    r = post_page(_settings(max_depth=1))
    assert_problem(r, 422, "deep, over the limit of 1")


def test_413_in_process_declared_and_streamed() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000

    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        return [
            await c.post("/v1/summaries", content=b"x" * 5000, headers=TEXT),
            await c.post("/v1/summaries", content=chunks(), headers=TEXT),
        ]

    declared, streamed = call(_settings(max_bytes=2000), scenario)
    for r in (declared, streamed):
        doc = assert_problem(r, 413, "over the limit of 2000 bytes")
        assert doc["type"] == "urn:threadsum:error:too-large-error"
        assert doc["error"] == "TooLargeError"  # as a batch record names it
        assert r.headers["connection"] == "close"


def test_404_for_unknown_routes_and_jobs_and_405() -> None:
    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        return [
            await c.get("/v1/nothing"),
            await c.get("/v1/batches/nope"),
            await c.get("/v1/batches/nope/results"),
            await c.delete("/v1/batches/nope"),
            await c.put("/v1/summaries"),
        ]

    *missing, wrong_method = call(_settings(), scenario)
    for r in missing:
        assert_problem(r, 404)
    assert missing[1].json()["error"] == "JobNotFoundError"
    assert_problem(wrong_method, 405)


def test_503_when_the_model_server_is_down() -> None:
    settings = _settings(
        engine="llm", model="m", base_url="http://127.0.0.1:9/v1", llm_attempts=1, cache="off"
    )

    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        return [
            await c.post("/v1/summaries", content=PAGE, headers=TEXT),
            await c.get("/readyz"),
            await c.get("/healthz"),
        ]

    summary, ready, health = call(settings, scenario)
    assert_problem(summary, 503, "127.0.0.1:9")
    assert_problem(ready, 503, "does not answer")
    assert health.status_code == 200 and health.json() == {"status": "ok"}


def test_503_carries_retry_after_from_the_model_server() -> None:
    model = FakeModel(script=[ModelUnavailableError("the model server is overloaded", 7.2)])
    r = post_page(_settings(engine="llm", model="m", cache="off"), model=model)
    assert_problem(r, 503, "overloaded")
    assert r.headers["retry-after"] == "8"


def test_502_when_the_model_server_refuses() -> None:
    with running(MockConfig(refuse_modes={"json_schema"})) as url:
        settings = _settings(engine="llm", model="threadsum-mock", base_url=url, cache="off")
        r = post_page(settings, "/v1/summaries?output_mode=json_schema")
        assert_problem(r, 502, "refused output mode json_schema")
        ok = post_page(settings, "/v1/summaries?output_mode=auto")
        assert ok.status_code == 200, ok.text
    model = FakeModel(script=[ModelAuthError("the model server refused the API key (401)")])
    assert_problem(post_page(settings, model=model), 502, "refused the API key")


@pytest.mark.parametrize(
    "error",
    [
        ModelAuthError("the model server refused the API key (401)"),
        ModelUnavailableError("the model server is overloaded", 2.0),
        CacheMissError("replay mode: no recorded answer for this prompt"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_problem_names_an_error_as_describe_does(error: Exception) -> None:
    model = FakeModel(script=[error])
    r = post_page(_settings(engine="llm", model="m", cache="off"), model=model)
    info = describe(error)
    doc = assert_problem(r, info.status)
    assert doc["detail"] == info.detail
    assert doc["type"] == f"urn:threadsum:error:{info.slug}" and doc["error"] == info.name


def test_an_unexpected_error_is_a_generic_500_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    model = FakeModel(script=[RuntimeError("secret internals")])
    with caplog.at_level(logging.ERROR, logger="threadsum.api"):
        r = post_page(_settings(engine="llm", model="m", cache="off"), model=model)
    doc = assert_problem(r, 500, "internal error")
    assert doc["type"] == "urn:threadsum:error:internal-error" and doc["error"] == "InternalError"
    assert "secret internals" not in r.text
    assert "secret internals" in caplog.text


# --- auth and rate limit ---------------------------------------------------------------------


def test_api_keys_in_either_header(caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings(api_keys="k-one, k-two")

    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        return [
            await c.post("/v1/summaries", content=PAGE, headers=TEXT),
            await c.post(
                "/v1/summaries", content=PAGE, headers={**TEXT, "X-API-Key": "wrong-key-123"}
            ),
            await c.post(
                "/v1/summaries", content=PAGE, headers={**TEXT, "Authorization": "Basic k-one"}
            ),
            await c.post(
                "/v1/summaries", content=PAGE, headers={**TEXT, "Authorization": "Bearer k-one"}
            ),
            await c.post("/v1/summaries", content=PAGE, headers={**TEXT, "X-API-Key": "k-two"}),
            await c.get("/healthz"),
            await c.get("/openapi.json"),
        ]

    with caplog.at_level(logging.DEBUG):
        missing, wrong, basic, bearer, header, health, docs = call(settings, scenario)
    for r in (missing, wrong, basic):
        assert_problem(r, 401, "X-API-Key")
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert "required" in missing.json()["detail"] and "not valid" in wrong.json()["detail"]
    assert "wrong-key-123" not in wrong.text and "wrong-key-123" not in caplog.text
    assert bearer.status_code == 200 and header.status_code == 200
    assert health.status_code == 200 and docs.status_code == 200


def test_rate_limit_per_key_with_retry_after() -> None:
    settings = _settings(api_keys="a,b", rate_limit=2)

    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        out = []
        for key in ("a", "a", "a", "b"):
            out.append(await c.get("/v1/batches/x", headers={"X-API-Key": key}))
        return out

    first, second, third, other = call(settings, scenario)
    assert first.status_code == second.status_code == 404
    doc = assert_problem(third, 429, "2 requests per minute")
    assert int(third.headers["retry-after"]) >= 1 and doc["type"].endswith("rate-limited")
    assert other.status_code == 404  # another key has its own bucket


def test_guessing_keys_is_rate_limited_by_address() -> None:
    async def scenario(c: httpx.AsyncClient) -> list[int]:
        wrong = [(await c.get("/v1/batches/x", headers={"X-API-Key": f"g{i}"})) for i in range(3)]
        right = await c.get("/v1/batches/x", headers={"X-API-Key": "k"})
        return [r.status_code for r in (*wrong, right)]

    assert call(_settings(api_keys="k", rate_limit=2), scenario) == [401, 401, 429, 404]


def test_rate_limit_per_client_address_without_auth() -> None:
    async def scenario(c: httpx.AsyncClient) -> list[int]:
        return [(await c.get("/v1/batches/x")).status_code for _ in range(3)]

    assert call(_settings(rate_limit=2), scenario) == [404, 404, 429]
    assert call(_settings(rate_limit=0), scenario) == [404, 404, 404]  # 0: no limit


def test_token_bucket_refills_at_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    assert all(limiter.take("x") is None for _ in range(60))
    wait = limiter.take("x")
    assert wait == pytest.approx(1.0)
    now[0] += 1.0
    assert limiter.take("x") is None and limiter.take("x") is not None


# --- health and OpenAPI ----------------------------------------------------------------------


def test_readyz_without_and_with_a_model_server() -> None:
    async def scenario(c: httpx.AsyncClient) -> httpx.Response:
        return await c.get("/readyz")

    assert call(_settings(), scenario).json() == {"status": "ready"}
    with running(MockConfig()) as url:
        settings = _settings(engine="llm", model="threadsum-mock", base_url=url)
        r = call(settings, scenario)
    assert r.status_code == 200 and r.json() == {"status": "ready"}
    r = call(_settings(engine="auto", base_url="http://127.0.0.1:9/v1"), scenario)
    assert_problem(r, 503, "no model is named")
    # Extractive by default: requests do not need the model server, so it is not probed.
    r = call(_settings(model="m", base_url="http://127.0.0.1:9/v1"), scenario)
    assert r.status_code == 200


def test_openapi_describes_routes_and_errors() -> None:
    async def scenario(c: httpx.AsyncClient) -> tuple[dict[str, Any], httpx.Response]:
        return (await c.get("/openapi.json")).json(), await c.get("/docs")

    schema, docs = call(_settings(), scenario)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    paths = schema["paths"]
    assert set(paths) == {
        "/v1/summaries",
        "/v1/summaries/{summary_id}",
        "/v1/batches",
        "/v1/batches/{job_id}",
        "/v1/batches/{job_id}/results",
        "/v1/batches/{job_id}/retry",
        "/v1/batches/{job_id}/events",
        "/healthz",
        "/readyz",
    }
    post = paths["/v1/summaries"]["post"]
    for code in ("401", "413", "422", "429", "502", "503"):
        content = post["responses"][code]["content"]
        assert set(content) == {PROBLEM}
        assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
        assert content[PROBLEM]["example"]["status"] == int(code)
    assert set(post["requestBody"]["content"]) == {"application/json", "text/plain"}
    ok = post["responses"]["200"]["content"]
    assert {"application/json", "text/markdown; charset=utf-8", "text/html; charset=utf-8"} <= set(
        ok
    )
    assert set(paths["/v1/batches/{job_id}"]) == {"get", "delete"}
    assert (
        "application/x-ndjson"
        in paths["/v1/batches/{job_id}/results"]["get"]["responses"]["200"]["content"]
    )
    assert {"Problem", "ThreadSummary", "JobStatus", "BatchCreated"} <= set(
        schema["components"]["schemas"]
    )
    assert schema["components"]["securitySchemes"].keys() == {"HTTPBearer", "APIKeyHeader"}


# --- batches ---------------------------------------------------------------------------------


def _small(i: int) -> dict[str, Any]:
    return synthetic_thread(5, i, thread_id=f"t{i}")


async def _until_ended(c: httpx.AsyncClient, url: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = (await c.get(url)).json()
        if status["status"] not in ("queued", "running"):
            return status
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.02)


def test_batch_lifecycle_json_array() -> None:
    native = json.loads((FIXTURES / "formats" / "native.json").read_text())
    body = [
        {"id": "page", "text": PAGE.decode()},
        native,
        {"id": "bad", "thread": {"comments": "nope"}},
        {"id": "x", "url": "/etc/passwd"},
    ]

    async def scenario(c: httpx.AsyncClient) -> tuple[httpx.Response, dict[str, Any], Any]:
        created = await c.post("/v1/batches", json=body)
        status = await _until_ended(c, created.json()["status_url"])
        results = await c.get(created.json()["results_url"])
        cancelled = await c.delete(created.headers["location"])
        return created, status, (results, cancelled)

    created, status, (results, cancelled) = call(_settings(), scenario)
    assert created.status_code == 202, created.text
    job = created.json()
    assert created.headers["location"] == job["status_url"]
    assert job["status_url"].endswith(f"/v1/batches/{job['id']}")
    assert job["results_url"] == job["status_url"] + "/results"
    assert (job["status"], job["total"]) == ("queued", 4)
    assert (status["status"], status["total"], status["done"], status["failed"]) == (
        "done",
        4,
        4,
        2,
    )
    assert status["progress"] == 1.0
    assert results.headers["content-type"] == "application/x-ndjson"
    records = [json.loads(line) for line in results.text.splitlines()]
    assert [(r["line"], r["key"], r["status"]) for r in records] == [
        (1, "page", "ok"),
        (2, native["id"], "ok"),
        (3, "bad", "error"),
        (4, "x", "error"),
    ]
    assert records[2]["error"]["status"] == 422
    assert records[3]["error"]["status"] == 400  # a path is never read from a request
    ThreadSummary.model_validate(records[0]["summary"])
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "done"


def test_batch_jsonl_body_and_its_limits() -> None:
    lines = "\n".join(json.dumps(_small(i)) for i in range(3))

    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        jsonl = {"Content-Type": "application/x-ndjson"}
        created = await c.post("/v1/batches", content=lines, headers=jsonl)
        await _until_ended(c, created.json()["status_url"])
        return [
            created,
            await c.get(created.json()["results_url"]),
            await c.post("/v1/batches", content=lines + "\n" + lines, headers=jsonl),
            await c.post("/v1/batches", content="\n\n", headers=jsonl),
            await c.post("/v1/batches?engine=llm", content=lines, headers=jsonl),
        ]

    created, results, too_many, empty, no_model = call(_settings(max_batch_items=4), scenario)
    assert created.status_code == 202
    assert [json.loads(x)["key"] for x in results.text.splitlines()] == ["t0", "t1", "t2"]
    assert_problem(too_many, 422, "over 4 threads")
    assert_problem(empty, 422, "no threads")
    assert_problem(no_model, 400, "needs a model name")


@dataclass
class GatedModel(FakeModel):
    """A fake model that answers its first ``free`` calls, then holds each later one until it is
    cancelled; ``held`` is set when a call is held (a threading event: servers under test may run
    in another thread), ``stopped`` counts the held calls that were cancelled."""

    free: int = 0
    held: threading.Event = field(default_factory=threading.Event)
    stopped: int = 0

    async def complete(self, messages: list[dict[str, str]], **kwargs: Any) -> Any:
        if len(self.calls) < self.free:
            return await super().complete(messages, **kwargs)
        self.calls.append(messages)
        self.held.set()
        try:
            await asyncio.Event().wait()  # never set: only a cancel ends it
        except asyncio.CancelledError:
            self.stopped += 1
            raise
        raise AssertionError("a held call ended without being cancelled")


def test_cancel_a_running_batch() -> None:
    body = [{"id": f"t{i}", "thread": _small(i)} for i in range(20)]
    settings = _settings(engine="llm", model="fake-model", cache="off", batch_concurrency=1)
    model = GatedModel(free=3)  # a small thread is one model call: three threads finish

    async def scenario(c: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        created = (await c.post("/v1/batches", json=body)).json()
        assert await asyncio.to_thread(model.held.wait, 60), "the fourth thread never started"
        cancelled = (await c.delete(created["status_url"])).json()
        # The call in flight was stopped by the cancel itself (not by the app's shutdown).
        assert model.stopped == 1
        later = (await c.get(created["status_url"])).json()
        results = (await c.get(created["results_url"])).text.splitlines()
        return cancelled, later, [json.loads(line)["key"] for line in results]

    cancelled, later, keys = call(settings, scenario, model=model)
    assert cancelled["status"] == "cancelled" and later["status"] == "cancelled"
    assert cancelled["done"] == later["done"] == 3 and keys == ["t0", "t1", "t2"]
    assert len(model.calls) == 4  # no thread started after the cancel


# --- a real server: the body limit and a restart ---------------------------------------------


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    with contextlib.suppress(ConnectionResetError, TimeoutError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_a_huge_body_is_refused_while_it_streams() -> None:
    with live(_settings(max_bytes=100_000)) as base:
        port = int(base.rsplit(":", 1)[1])

        # Declared: Content-Length 1 GB with a tiny body; 413 at once, nothing read.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(
                b"POST /v1/summaries HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 1000000000\r\n\r\nhello"
            )
            response = _read_response(sock)  # the body is never sent: an answer means unread
        assert response.startswith(b"HTTP/1.1 413"), response[:200]
        assert b"over the limit of 100000 bytes" in response

        # Chunked: 50 MB offered; the server answers 413 and closes long before the end (what
        # was sent before the answer is seen is mostly socket buffers, not server memory).
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
            sock.sendall(
                b"POST /v1/summaries HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            piece = b"x" * 65536
            frame = b"%x\r\n" % len(piece) + piece + b"\r\n"
            sent = 0
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                while sent < 50_000_000:
                    sock.sendall(frame)
                    sent += len(piece)
                    if select.select([sock], [], [], 0)[0]:
                        break
            response = _read_response(sock)
        assert response.startswith(b"HTTP/1.1 413"), response[:200]
        assert b"application/problem+json" in response
        assert sent < 20_000_000, sent

        # The server is fine afterwards.
        assert httpx.get(base + "/healthz").json() == {"status": "ok"}


def test_a_batch_survives_a_server_restart() -> None:
    n = 6
    body = [{"id": f"t{i}", "thread": _small(i)} for i in range(n)]
    settings = _settings(engine="llm", model="fake-model", cache="off", batch_concurrency=1)
    first = GatedModel(free=2)  # two threads finish on server A, the third is in flight
    with live(settings, model=first) as base:
        job_id = httpx.post(base + "/v1/batches", json=body).json()["id"]
        assert first.held.wait(60), "the third thread never started"
    # Server A is gone mid-way: its call in flight was stopped, the job is unfinished and nobody
    # holds it.
    assert first.stopped == 1
    store = JobStore(settings.state_dir / "jobs.sqlite")
    try:
        midway = store.get(job_id)
        assert (midway.status, midway.done) == ("running", 2)
        assert job_id in store.unfinished_jobs()
    finally:
        store.close()
    second = FakeModel()
    with live(settings, model=second) as base, httpx.Client(base_url=base) as client:
        deadline = time.monotonic() + 60
        while (status := client.get(f"/v1/batches/{job_id}").json())["status"] != "done":
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
        lines = client.get(f"/v1/batches/{job_id}/results").text.splitlines()
    records = [json.loads(line) for line in lines]
    assert [(r["line"], r["key"], r["status"]) for r in records] == [
        (i + 1, f"t{i}", "ok") for i in range(n)
    ]
    assert (status["done"], status["failed"]) == (n, 0)
    # Server B asked only for the threads A had not finished (the stopped one among them).
    assert len(second.calls) == n - 2
