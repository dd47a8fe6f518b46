"""The HTTP service at its edges: forwarding headers it must not believe, requests h11 refuses,
JSON bodies that are not threads, and the links it hands out (never from the ``Host`` header)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any

import httpx
import pytest

from service.cli.parser import apply_flags, build_parser
from service.devtools.fake import FakeModel
from service.devtools.synthetic import synthetic_thread
from service.errors import UsageError
from service.http.middleware import BodyLimitMiddleware
from service.http.server import server_config
from service.settings import Settings

from .http_live import serving
from .test_api import assert_problem, call

JSON = {"Content-Type": "application/json"}


def _settings(**kwargs: Any) -> Settings:
    kwargs.setdefault("engine", "extractive")
    return Settings(**kwargs)


def _raw(base: str, request: bytes) -> bytes:
    """Send ``request`` as it is and read the whole answer (the server closes the connection)."""
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                data += chunk
    return data


def _problem_of(response: bytes) -> dict[str, Any]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower(), head
    doc: dict[str, Any] = json.loads(body)
    return doc


# --- forwarding headers ----------------------------------------------------------------------


def test_forwarding_headers_are_believed_from_no_one_by_default() -> None:
    config = server_config(Settings(), "service.http:app_factory")
    assert config.proxy_headers is False
    named = server_config(Settings(forwarded_allow_ips="10.0.0.1, 10.0.1.0/24"), "x:y")
    assert named.proxy_headers is True
    assert named.forwarded_allow_ips == ["10.0.0.1", "10.0.1.0/24"]


@pytest.mark.parametrize(
    ("proxies", "codes"),
    [("", [404, 404, 429]), ("127.0.0.1", [404, 404, 404])],
    ids=["no-proxy", "loopback-is-a-named-proxy"],
)
def test_a_spoofed_forwarded_for_does_not_change_the_rate_limit_identity(
    proxies: str, codes: list[int]
) -> None:
    settings = _settings(rate_limit=2, forwarded_allow_ips=proxies)
    with serving(settings) as base, httpx.Client(base_url=base) as client:
        got = [
            client.get("/v1/batches/x", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
            for n in range(3)
        ]
    # Without a named proxy, three "addresses" from loopback are one client: the third is 429.
    assert got == codes


# --- requests h11 refuses, and malformed lengths that reach the app --------------------------


@pytest.mark.parametrize(
    ("request_bytes", "words"),
    [
        (
            b"POST /v1/summaries HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
            "Content-Length",
        ),
        (
            b"POST /v1/summaries HTTP/1.1\r\nHost: t\r\nContent-Length: 1, 2\r\n\r\nx",
            "Content-Length",
        ),
        (b"GET /healthz HTTP/1.1\r\nHost: t\r\nno colon here\r\n\r\n", "header"),
    ],
    ids=["letters", "two-lengths", "header-without-colon"],
)
def test_a_request_h11_refuses_is_a_400_problem(request_bytes: bytes, words: str) -> None:
    with serving(_settings()) as base:
        response = _raw(base, request_bytes)
        assert httpx.get(base + "/healthz").status_code == 200  # the server is fine after
    assert response.startswith(b"HTTP/1.1 400 "), response[:200]
    doc = _problem_of(response)
    assert doc["status"] == 400 and doc["type"] == "urn:threadsum:error:bad-request"
    assert "not valid HTTP/1.1" in doc["detail"] and words.lower() in doc["detail"].lower()


@pytest.mark.parametrize("value", [b"abc", b"", b"-1", b"1e3"])
def test_a_malformed_content_length_that_reaches_the_app_is_a_400_problem(value: bytes) -> None:
    """Servers other than uvicorn's h11 may pass a bad length on; the body limit answers it."""
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app behind the limit must not run")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/summaries",
        "headers": [(b"content-length", value)],
    }
    asyncio.run(BodyLimitMiddleware(app, max_bytes=1000)(scope, receive, send))
    start, body = sent[0], json.loads(sent[1]["body"])
    assert start["status"] == 400
    assert (b"content-type", b"application/problem+json") in start["headers"]
    assert body["status"] == 400 and "Content-Length" in body["detail"]


# --- JSON bodies that are not threads --------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b'"hello"', "a JSON string"),
        (b"42", "a JSON number"),
        (b"-1.5", "a JSON number"),
        (b"null", "JSON null"),
        (b" \n true", "a JSON boolean"),
        (b"\xef\xbb\xbf false", "a JSON boolean"),
        (b"hello there", "not JSON"),
        (b"[citation needed] people say so\nand more", "not valid JSON"),
    ],
    ids=["string", "number", "negative", "null", "true", "bom-false", "bare-words", "bracket-text"],
)
def test_a_json_body_that_is_not_a_thread_is_422_and_calls_no_model(body: bytes, what: str) -> None:
    model = FakeModel()
    settings = _settings(engine="llm", model="fake-model", cache="off")

    async def scenario(c: httpx.AsyncClient) -> httpx.Response:
        return await c.post("/v1/summaries", content=body, headers=JSON)

    doc = assert_problem(call(settings, scenario, model=model), 422, what, "text/plain")
    assert doc["error"] == "FormatError"
    assert model.calls == []


def test_the_same_words_as_text_or_with_a_named_format_are_still_read() -> None:
    page = b"alice 2 hours ago\nThis is the first comment of the page.\n"

    async def scenario(c: httpx.AsyncClient) -> list[httpx.Response]:
        return [
            await c.post("/v1/summaries?format=text", content=page, headers=JSON),
            await c.post("/v1/summaries", content=page, headers={"Content-Type": "text/plain"}),
            await c.post("/v1/summaries?format=native", content=b'"hello"', headers=JSON),
        ]

    as_text, plain, named = call(_settings(), scenario)
    assert as_text.status_code == plain.status_code == 200, (as_text.text, plain.text)
    assert_problem(named, 422, "native", "got a string")


# --- links -----------------------------------------------------------------------------------

HOSTILE = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


@pytest.mark.parametrize(
    ("public_url", "prefix"),
    [(None, ""), ("https://threadsum.example.com/api/", "https://threadsum.example.com/api")],
    ids=["relative", "public-url"],
)
def test_batch_links_never_come_from_the_host_header(public_url: str | None, prefix: str) -> None:
    settings = _settings(public_url=public_url)
    body = [{"id": "t0", "thread": synthetic_thread(5, 0, thread_id="t0")}]

    async def scenario(c: httpx.AsyncClient) -> httpx.Response:
        return await c.post("/v1/batches", json=body, headers=HOSTILE)

    r = call(settings, scenario)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status_url"] == f"{prefix}/v1/batches/{job['id']}"
    assert job["results_url"] == job["status_url"] + "/results"
    assert r.headers["location"] == job["status_url"]
    assert "evil" not in r.text and "evil" not in r.headers["location"]


def test_a_public_url_must_be_an_http_url() -> None:
    for bad in ("javascript:alert(1)", "threadsum.example.com", "https://x.example/?q=1"):
        with pytest.raises(ValueError, match="http"):
            Settings(public_url=bad)
    assert Settings(public_url="").public_url is None


def test_serve_flags_set_the_deployment_settings() -> None:
    parser = build_parser()
    args = parser.parse_args(
        [
            "serve",
            "--public-url",
            "https://threadsum.example.com",
            "--forwarded-allow-ips",
            "10.0.0.1",
            "--shutdown-timeout",
            "3",
        ]
    )
    settings = apply_flags(args, Settings())
    assert settings.public_url == "https://threadsum.example.com"
    assert settings.forwarded_allow_ips == "10.0.0.1" and settings.shutdown_timeout == 3
    assert server_config(settings, "x:y").timeout_graceful_shutdown == 3
    with pytest.raises(UsageError, match="--public-url"):
        apply_flags(parser.parse_args(["serve", "--public-url", "ftp://x"]), Settings())
