"""The mock model server as an app: routes, injected faults, latency, the concurrency cap; and
running it (in the foreground, or in a background thread for tests and benchmarks)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from ...serving import listen
from ...text.tokens import estimate_tokens
from ...validation import OverviewReply, encode_map, encode_overview, encode_reduce
from ..prompt_data import PromptKind, content_text, data_block, read_prompt
from ..servers import LOOPBACK, in_thread
from .config import CALLS_KEPT, MockConfig, Stats
from .generic import generic_answer
from .mapping import delta_answer, map_answer
from .protocol import (
    Answer,
    BadRequest,
    ChatRequest,
    completion_body,
    error_body,
    prompt_tokens,
    read_request,
    truncate,
)
from .reducing import overview_answer, reduce_answer, reduce_inputs
from .stancing import stance_answer

GARBAGE = "}{ not json"
"""The answer of the ``garbage`` fault."""
_QUIET = "ASGI callable returned without completing response."


class _DroppedConnection(Response):
    """Starts a 200 answer, sends part of it, and returns: uvicorn then closes the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the headers and the first bytes of a body that never completes."""
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"id": "chatcmpl-', "more_body": True})


def _error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


@functools.lru_cache(maxsize=512)
def _threadsum_answer(kind: PromptKind, data: str, title: str) -> str:
    """The JSON answer to a map, reduce or overview prompt, in the compact answer format
    (cached: benchmarks send the same chunks)."""
    if kind == "map":
        value = encode_map(map_answer(data, title))
    elif kind == "overview":
        value = encode_overview(OverviewReply(overview=overview_answer(data, title)))
    else:
        value = encode_reduce(reduce_answer(data), reduce_inputs(data))
    return json.dumps(value, ensure_ascii=False)


def _listed(messages: list[dict[str, Any]]) -> str | None:
    """The earlier claims of a delta prompt (``<claims_data>`` beside ``<thread_data>``)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        text = content_text(message.get("content"))
        if data_block(text, "thread_data") is not None:
            return data_block(text, "claims_data")
    return None


@functools.lru_cache(maxsize=512)
def _delta_answer(data: str, listed: str, title: str) -> str:
    """The JSON answer to a delta prompt (cached, as map answers are)."""
    return json.dumps(delta_answer(data, listed, title), ensure_ascii=False)


class _Mock:
    """The state behind one app: config, counters, the concurrency gate."""

    def __init__(self, config: MockConfig, drop_connections: bool) -> None:
        self.config = config
        self.drop_connections = drop_connections
        self.stats = Stats()
        self.counter = 0
        self._gate: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def gate(self) -> asyncio.Semaphore | None:
        """The concurrency semaphore for the running loop (None when unlimited)."""
        if self.config.max_concurrency is None:
            return None
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate[0] is not loop:
            self._gate = (loop, asyncio.Semaphore(self.config.max_concurrency))
        return self._gate[1]

    def fault(self, number: int) -> str | None:
        """The fault injected into request ``number``, if any (deterministic from the seed)."""
        if self.config.fail_rate <= 0:
            return None
        rng = random.Random(f"{self.config.seed}:{number}")
        if rng.random() >= self.config.fail_rate:
            return None
        return rng.choice(list(self.config.faults))

    def reject(self, e: BadRequest) -> Response:
        """A 400 for ``e``, counted."""
        self.stats.rejected += 1
        return _error(400, error_body(e.message, "invalid_request_error", e.param, e.code))

    def faulty(self, fault: str) -> Response | None:
        """The response of an injected fault (None for ``garbage``, which is a 200)."""
        self.stats.faults += 1
        self.stats.by_fault[fault] += 1
        if fault == "429":
            body = error_body(
                "Rate limit reached (injected by the mock)",
                "rate_limit_error",
                code="rate_limit_exceeded",
            )
            return _error(429, body, headers={"Retry-After": "0"})
        if fault in ("500", "503"):
            body = error_body("The server had an error (injected by the mock)", "server_error")
            return _error(int(fault), body)
        if fault == "disconnect":
            if self.drop_connections:
                return _DroppedConnection()
            return _error(502, error_body("Bad gateway (injected by the mock)", "server_error"))
        return None

    async def complete(self, request: Request) -> Response:
        """Handle ``POST /v1/chat/completions``."""
        started = time.perf_counter()
        self.counter += 1
        number = self.counter
        self.stats.requests += 1
        try:
            try:
                body = await request.json()
            except ValueError:
                raise BadRequest("the request body is not valid JSON") from None
            chat = read_request(body)
        except BadRequest as e:
            self.stats.by_kind["other"] += 1
            return self.reject(e)
        prompt = read_prompt(chat.messages)
        self.stats.by_kind[prompt.kind] += 1
        self.stats.by_mode[chat.mode] += 1
        if chat.mode in self.config.refuse_modes:
            param = "tools" if chat.mode == "tools" else "response_format"
            what = "tools are" if chat.mode == "tools" else f"response_format type '{chat.mode}' is"
            return self.reject(BadRequest(f"{what} not supported", param))
        stance = stance_answer(chat.messages) if prompt.kind == "other" else None
        # A one-token request is a probe of the output mode: answered, whatever it asks.
        probe = chat.max_tokens == 1
        if prompt.kind == "other" and stance is None and not (self.config.answer_any or probe):
            return self.reject(
                BadRequest(
                    "unknown prompt: no <thread_data>, <claims_data> or <pair_data> in the messages"
                )
            )
        asked = prompt_tokens(chat.messages)
        limit = self.config.context_limit
        if limit is not None and asked > limit:
            return self.reject(
                BadRequest(
                    f"This model's maximum context length is {limit} tokens. However, your "
                    f"messages resulted in {asked} tokens. Please reduce the length of "
                    "the messages.",
                    "messages",
                    "context_length_exceeded",
                )
            )
        fault = self.fault(number)
        if fault is not None and (response := self.faulty(fault)) is not None:
            return response
        if fault == "garbage":
            text = GARBAGE
        elif stance is not None:  # counted as "other" in by_kind
            text = stance if chat.mode != "text" else "Here is the JSON:\n" + stance
        elif prompt.kind == "other":  # answer_any or a probe: plain text, or JSON where asked
            text = generic_answer(chat.messages)
            if chat.mode != "text":
                text = json.dumps({"answer": text}, ensure_ascii=False)
        elif prompt.kind == "map" and (listed := _listed(chat.messages)) is not None:
            text = _delta_answer(prompt.data, listed, prompt.title)
            if chat.mode == "text":
                text = "Here is the JSON:\n```json\n" + text + "\n```"
        else:
            text = _threadsum_answer(prompt.kind, prompt.data, prompt.title)
            if chat.mode == "text":
                text = "Here is the JSON:\n```json\n" + text + "\n```"
        answer = self._capped(number, chat, text, asked)
        await self._take_time(answer, time.perf_counter() - started, prompt.kind)
        self.stats.prompt_tokens += answer.prompt_tokens
        self.stats.completion_tokens += answer.completion_tokens
        return JSONResponse(completion_body(answer))

    def _capped(self, number: int, chat: ChatRequest, text: str, asked: int) -> Answer:
        """The answer, cut where the request's, the server's or the context's cap is hit."""
        completion_tokens = estimate_tokens(text)
        caps = [c for c in (chat.max_tokens, self.config.max_output_tokens) if c is not None]
        if self.config.context_limit is not None:
            caps.append(max(1, self.config.context_limit - asked))
        finish = "stop"
        if caps and completion_tokens > min(caps):
            completion_tokens = min(caps)
            text = truncate(text, completion_tokens)
            finish = "length"
        model = chat.model or self.config.model
        return Answer(number, model, chat.tool, text, finish, asked, completion_tokens)

    async def _take_time(self, answer: Answer, spent: float, kind: str) -> None:
        """Wait as long as the configured latency says, within the concurrency cap.

        The latency is the call's whole time: ``spent`` (seconds already spent reading the
        request and making the answer) counts towards it, as a real server's work does; a wait
        for the concurrency cap does not.
        """
        gate = self.gate()
        async with gate if gate is not None else contextlib.nullcontext():
            stats = self.stats
            stats.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
            took = time.monotonic() - spent  # the call holds its slot from its arrival
            stats.first_started = stats.first_started or took
            try:
                cfg = self.config
                delay = cfg.latency_ms + cfg.ms_per_token * answer.completion_tokens
                delay += cfg.ms_per_prompt_token * answer.prompt_tokens
                await asyncio.sleep(max(0.0, delay / 1000 - spent))
            finally:
                stats.in_flight -= 1
                stats.last_finished = time.monotonic()
                stats.busy_seconds += stats.last_finished - took
                stats.calls.append(
                    {
                        "kind": kind,
                        "started": took,
                        "finished": stats.last_finished,
                        "prompt_tokens": answer.prompt_tokens,
                        "completion_tokens": answer.completion_tokens,
                    }
                )
                if len(stats.calls) > CALLS_KEPT:
                    del stats.calls[: len(stats.calls) - CALLS_KEPT]


def create_app(config: MockConfig, *, drop_connections: bool = False) -> FastAPI:
    """The mock server as an ASGI app.

    ``drop_connections`` lets the ``disconnect`` fault close the connection mid-answer, which
    needs a real server (uvicorn, as :func:`serve` and :func:`running` use); without it that
    fault is a 502.
    """
    mock = _Mock(config, drop_connections)
    app = FastAPI(title="threadsum mock model server", version="1")
    app.state.mock = mock

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {
                    "id": config.model,
                    "object": "model",
                    "owned_by": "threadsum",
                    "max_model_len": config.context_limit,
                }
            ],
        }

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await mock.complete(request)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/mock/stats")
    async def stats() -> dict[str, Any]:
        return asdict(mock.stats)

    @app.post("/mock/reset")
    async def reset() -> dict[str, bool]:
        in_flight = mock.stats.in_flight
        mock.stats = Stats(in_flight=in_flight, max_in_flight=in_flight)
        mock.counter = 0
        return {"ok": True}

    return app


class _QuietDrops(logging.Filter):
    """Hide uvicorn's complaint about the connections the ``disconnect`` fault drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _QUIET


_QUIET_FILTER = _QuietDrops()


def _uvicorn_config(config: MockConfig, host: str, port: int) -> uvicorn.Config:
    logging.getLogger("uvicorn.error").addFilter(_QUIET_FILTER)
    app = create_app(config, drop_connections=True)
    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off", ws="none"
    )


def serve(config: MockConfig, host: str = LOOPBACK, port: int = 8089) -> None:
    """Run the mock server on ``host:port`` in the foreground until interrupted.

    A port that cannot be bound is a :class:`~service.errors.ServeError` before anything starts.
    """
    serve_on(config, listen(host, port))


def serve_on(config: MockConfig, sock: socket.socket) -> None:
    """Run the mock server on a listening socket (from :func:`~service.serving.listen`)."""
    host, port = sock.getsockname()[:2]
    uvicorn.Server(_uvicorn_config(config, host, port)).run(sockets=[sock])


@contextlib.contextmanager
def running(config: MockConfig) -> Iterator[str]:
    """Run the mock server in a background thread; yield its base URL (``http://…/v1``)."""
    with in_thread(_uvicorn_config(config, LOOPBACK, 0), name="threadsum-mock-llm") as url:
        yield url + "/v1"
