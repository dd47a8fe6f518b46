"""A mock OpenAI-compatible model server that answers threadsum's own prompts, offline.

For development, demos, end-to-end tests and benchmarks: it speaks the chat-completions protocol
(``GET /v1/models``, ``POST /v1/chat/completions``) and answers the prompts threadsum sends —
deterministically, from the extractive engine, with no model and no network.

* **Map** calls (the last user message holding ``<thread_data>``): the chunk is read back with
  :func:`~service.prompts.parse_chunk`, rebuilt as a small thread (context comments ``pN``
  included so replies keep their parents), summarised by
  :func:`~service.engines.extractive.summarize_extractive`, and turned into a
  :class:`~service.validation.MapReply` citing the chunk-local sentence ids exactly as rendered.
  Context comments are never cited: a claim whose only evidence is context is carried by its
  first citable supporter, or else replaced by its rebuttals as claims of their own.
* **Reduce** calls (``<claims_data>``): near-duplicate statements merge (content-word Jaccard ≥
  :data:`~service.engines.extractive.MERGE_JACCARD`, exact duplicates always), the first
  statement of a group is kept, and the overview is a neutral template.
* A re-ask (a later user message without data) is answered for the data earlier in the
  conversation.
* Any other prompt is a 400 — unless :attr:`MockConfig.answer_any` is set (benchmarks that run
  other pipelines against the same server): then it gets a deterministic plain-text answer of
  realistic length, see :func:`generic_answer`.

It behaves like a real server where clients have to cope: output modes (``json_schema``,
``json_object``, ``tools``, plain text with a fenced JSON block), modes it refuses (400),
a context limit on every prompt (400), ``max_tokens`` (truncation, ``finish_reason:
"length"``), latency per call and per token, bounded concurrency (requests queue), and
injected transient faults (429, 500, 503, a garbage answer, a dropped connection) drawn
deterministically from the seed.
``GET /mock/stats`` counts what it was asked; ``POST /mock/reset`` zeroes the counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from ..engines.extractive import MERGE_JACCARD, summarize_extractive
from ..errors import ThreadsumError
from ..ingest.tree import build_thread
from ..models import Citation, RawComment, RawThread
from ..models import Claim as SummaryClaim
from ..prompts import ParsedComment, parse_chunk
from ..text.sentences import split_sentences
from ..text.tokens import estimate_tokens
from ..validation import (
    MapClaim,
    MapCounter,
    MapRebuttal,
    MapReply,
    ReduceClaim,
    ReduceReply,
)

__all__ = [
    "FAULT_KINDS",
    "GENERIC_TOKENS",
    "MODES",
    "MockConfig",
    "create_app",
    "generic_answer",
    "map_answer",
    "reduce_answer",
    "running",
    "serve",
]

MODES = ("json_schema", "json_object", "tools", "text")
FAULT_KINDS = ("429", "500", "503", "garbage", "disconnect")
KINDS = ("map", "reduce", "other")
GARBAGE = "}{ not json"
MESSAGE_OVERHEAD = 4  # tokens per message, as chat templates add
GENERIC_TOKENS = 200  # the most tokens of a generic answer: a paragraph, as hosted models write

_MAP_DATA = re.compile(r"^<thread_data>\n(.*?)\n?^</thread_data>$", re.MULTILINE | re.DOTALL)
_REDUCE_DATA = re.compile(r"^<claims_data>\n(.*?)\n?^</claims_data>$", re.MULTILINE | re.DOTALL)
_TITLE = re.compile(r"^Thread title: (.*)$", re.MULTILINE)
_CLAIM_LINE = re.compile(r"^(\S+) \[(\d+) rebuttals?\] (.*)$")
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_STOP = frozenset(
    """
    a an the and or but if of to in on at by for from with as is are was were be been being
    it its this that these those there their they them we our you your he she his her i me my
    not no do does did has have had will would can could should may might must so than then
    too very just also all any some such into about over more most only own same which who
    what when where why how
    """.split()
)
_QUIET = "ASGI callable returned without completing response."


@dataclass
class MockConfig:
    """How the mock server behaves. Every field has an offline-friendly default."""

    model: str = "threadsum-mock"
    latency_ms: float = 0.0  # fixed, per call
    ms_per_token: float = 0.0  # per completion token
    ms_per_prompt_token: float = 0.0
    fail_rate: float = 0.0  # share of requests that get an injected fault, 0..1
    seed: int = 0
    context_limit: int | None = None  # tokens; None = unlimited
    max_concurrency: int | None = None  # None = unlimited; requests beyond it queue
    refuse_modes: AbstractSet[str] = frozenset()  # among json_schema, json_object, tools
    max_output_tokens: int | None = None  # the server's cap on completion tokens
    faults: Sequence[str] = FAULT_KINDS  # which faults fail_rate draws from
    answer_any: bool = False  # answer prompts that are not threadsum's (else they get a 400)

    def __post_init__(self) -> None:
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be between 0 and 1, not {self.fail_rate}")
        unknown = set(self.refuse_modes) - {"json_schema", "json_object", "tools"}
        if unknown:
            raise ValueError(f"refuse_modes: unknown mode(s) {sorted(unknown)}")
        if not self.faults or set(self.faults) - set(FAULT_KINDS):
            raise ValueError(f"faults must be a non-empty subset of {FAULT_KINDS}")
        for name in ("latency_ms", "ms_per_token", "ms_per_prompt_token"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative")
        for name in ("context_limit", "max_concurrency", "max_output_tokens"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 (or None)")
        self.refuse_modes = frozenset(self.refuse_modes)
        self.faults = tuple(self.faults)


@dataclass
class _Stats:
    requests: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    by_mode: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODES, 0))
    faults: int = 0
    by_fault: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAULT_KINDS, 0))
    rejected: int = 0  # 4xx answers
    prompt_tokens: int = 0
    completion_tokens: int = 0
    in_flight: int = 0
    max_in_flight: int = 0


class _BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


def _error(
    status: int,
    message: str,
    kind: str,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


class _DroppedConnection(Response):
    """Starts a 200 answer, sends part of it, and returns: uvicorn then closes the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the headers and the first bytes of a body that never completes."""
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"id": "chatcmpl-', "more_body": True})


# --- reading the request -------------------------------------------------------------------------


def _text(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def _message_text(message: dict[str, Any]) -> str:
    parts = [_text(message.get("content"))]
    for call in message.get("tool_calls") or ():
        if isinstance(call, dict) and isinstance(call.get("function"), dict):
            parts.append(str(call["function"].get("arguments", "")))
    return "\n".join(p for p in parts if p)


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _BadRequest("'messages' must be a non-empty array", "messages")
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        raise _BadRequest("each message must be an object with a 'role'", "messages")
    return messages


def _mode(body: dict[str, Any]) -> tuple[str, str | None]:
    """The output mode a request asks for, and the tool name in tools mode."""
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if tools is not None and choice != "none":
        if not isinstance(tools, list) or not tools:
            raise _BadRequest("'tools' must be a non-empty array", "tools")
        names = [
            t["function"]["name"]
            for t in tools
            if isinstance(t, dict)
            and isinstance(t.get("function"), dict)
            and isinstance(t["function"].get("name"), str)
        ]
        if len(names) != len(tools):
            raise _BadRequest("each tool must be a function with a name", "tools")
        name = names[0]
        if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
            name = str(choice["function"].get("name", name))
            if name not in names:
                raise _BadRequest(f"tool_choice names an unknown tool {name!r}", "tool_choice")
        return "tools", name
    fmt = body.get("response_format")
    if fmt is None:
        return "text", None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return "text", None
    if kind == "json_object":
        return "json_object", None
    if kind == "json_schema":
        spec = fmt.get("json_schema") if isinstance(fmt, dict) else None
        if not isinstance(spec, dict) or not isinstance(spec.get("schema", {}), dict):
            raise _BadRequest("response_format.json_schema must be an object", "response_format")
        return "json_schema", None
    raise _BadRequest(f"response_format type {kind!r} is not supported", "response_format")


def _max_tokens(body: dict[str, Any]) -> int | None:
    value = body.get("max_completion_tokens")
    if value is None:
        value = body.get("max_tokens")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _BadRequest("max_tokens must be a positive integer", "max_tokens")
    return value


def _find_data(messages: list[dict[str, Any]]) -> tuple[str, str, str]:
    """``(kind, data, title)`` from the last user message holding data; kind "other" if none."""
    for message in reversed(messages):
        if message["role"] != "user":
            continue
        text = _text(message.get("content"))
        title_match = _TITLE.search(text)
        title = title_match.group(1).strip() if title_match else ""
        for kind, pattern in (("map", _MAP_DATA), ("reduce", _REDUCE_DATA)):
            m = pattern.search(text)
            if m:
                return kind, m.group(1), title
    return "other", "", ""


# --- answering map prompts -----------------------------------------------------------------------

_Spans = dict[str, list[tuple[int, int, int]]]  # comment key -> (rendered number, start, end)
_Local = Callable[[list[Citation]], list[str]]  # citations -> chunk-local sentence ids


def _mini_thread(parsed: list[ParsedComment], title: str) -> tuple[RawThread, _Spans]:
    """The chunk as a thread, each comment's text its rendered sentences joined by blank lines."""
    keys = {p.key for p in parsed}
    spans: _Spans = {}
    comments: list[RawComment] = []
    for p in parsed:
        author = p.author if p.author and p.author != "?" else None
        parent = p.parent if p.parent in keys else None
        if p.context:
            text = p.sentences[0][1] if p.sentences else ""
            hidden = text in ("[deleted]", "[dead]", "[removed]")
            status = "deleted" if hidden or not text.strip() else "ok"
        else:
            pieces: list[str] = []
            offsets: list[tuple[int, int, int]] = []
            pos = 0
            for number, sentence in p.sentences:
                if pieces:
                    pos += 2
                offsets.append((number, pos, pos + len(sentence)))
                pieces.append(sentence)
                pos += len(sentence)
            text = "\n\n".join(pieces)
            spans[p.key] = offsets
            status = "ok" if text.strip() else "deleted"
        comments.append(
            RawComment(
                id=p.key,
                parent_id=parent,
                author=author,
                text=text if status == "ok" else "",
                status=status,
            )
        )
    raw = RawThread(id="chunk", source="native", format="native", title=title or None)
    raw.comments = comments
    return raw, spans


def map_answer(data: str, title: str = "") -> MapReply:
    """The map reply for a chunk rendered by :func:`~service.prompts.render_chunk`."""
    parsed = parse_chunk(data)
    raw, spans = _mini_thread(parsed, title)
    try:
        thread = build_thread(raw, max_comments=10**7, max_depth=10**7)
    except ThreadsumError:
        return MapReply(claims=[])
    summary = summarize_extractive(thread)

    def local(citations: list[Citation]) -> list[str]:
        out: list[str] = []
        for c in citations:
            if c.comment_id not in spans:  # a context comment: never cited
                continue
            comment = thread.by_id[c.comment_id]
            for sid in c.sentence_ids:
                s = comment.sentences[int(sid.rpartition(".")[2]) - 1]
                out.extend(
                    f"{c.comment_id}.{n}"
                    for n, a, b in spans[c.comment_id]
                    if a < s.end and s.start < b
                )
        return list(dict.fromkeys(out))

    claims: list[MapClaim] = []
    for claim in summary.claims:
        claims.extend(_map_claims(claim, local))
    return MapReply(claims=_dedupe(claims))


def _map_claims(claim: SummaryClaim, local: _Local) -> list[MapClaim]:
    """One summary claim as map claims citing only chunk sentences (none, one, or several)."""
    evidence: list[str] = local(claim.evidence)
    supporters: list[str] = []
    for citation in claim.supporters:
        ids = local([citation])
        if not evidence:
            evidence, ids = ids, []  # the first citable supporter carries the claim
        supporters.extend(i for i in ids if i not in evidence and i not in supporters)
    if not evidence:
        return _promoted(claim, local)
    rebuttals: list[MapRebuttal] = []
    for r in claim.rebuttals:
        r_evidence = local(r.evidence)
        counters = [
            MapCounter(statement=c.statement, evidence=ids)
            for c in r.counters
            if (ids := local(c.evidence))
        ]
        if r_evidence:
            rebuttals.append(
                MapRebuttal(statement=r.statement, evidence=r_evidence, counters=counters)
            )
        else:  # the rebuttal is context only: its counters defend the claim
            for counter in counters:
                supporters.extend(
                    i for i in counter.evidence if i not in evidence and i not in supporters
                )
    return [
        MapClaim(
            statement=claim.statement, evidence=evidence, supporters=supporters, rebuttals=rebuttals
        )
    ]


def _promoted(claim: SummaryClaim, local: _Local) -> list[MapClaim]:
    """A claim only context makes: its rebuttals become claims, their counters rebuttals."""
    out: list[MapClaim] = []
    for r in claim.rebuttals:
        r_evidence = local(r.evidence)
        counters = [(c.statement, ids) for c in r.counters if (ids := local(c.evidence))]
        if r_evidence:
            rebuttals = [MapRebuttal(statement=s, evidence=ids, counters=[]) for s, ids in counters]
            out.append(
                MapClaim(
                    statement=r.statement, evidence=r_evidence, supporters=[], rebuttals=rebuttals
                )
            )
        else:  # the rebuttal is context too: its counters stand on their own
            out.extend(
                MapClaim(statement=s, evidence=ids, supporters=[], rebuttals=[])
                for s, ids in counters
            )
    return out


def _dedupe(claims: list[MapClaim]) -> list[MapClaim]:
    """Claims with the same statement fold into the first."""
    kept: dict[str, MapClaim] = {}
    for claim in claims:
        key = " ".join(claim.statement.lower().split())
        first = kept.get(key)
        if first is None:
            kept[key] = claim
            continue
        first.evidence.extend(i for i in claim.evidence if i not in first.evidence)
        first.supporters.extend(
            i
            for i in [*claim.evidence, *claim.supporters]
            if i not in first.evidence and i not in first.supporters
        )
        first.rebuttals.extend(claim.rebuttals)
    return list(kept.values())


# --- answering reduce prompts --------------------------------------------------------------------


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _normal(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _short(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts) if len(parts) <= words else " ".join(parts[:words]) + "…"


def reduce_answer(data: str, title: str = "") -> ReduceReply:
    """The reduce reply for lines ``ID [n rebuttals] statement``."""
    groups: list[tuple[str, set[str], list[str], int]] = []  # normal, words, ids, rebuttals
    statements: list[str] = []
    seen: set[str] = set()
    for line in data.split("\n"):
        m = _CLAIM_LINE.match(line.strip())
        if not m or m.group(1) in seen:
            continue
        cid, rebuttals, statement = m.group(1), int(m.group(2)), m.group(3).strip()
        seen.add(cid)
        norm, words = _normal(statement), _content_words(statement)
        for i, (g_norm, g_words, ids, g_rebuttals) in enumerate(groups):
            same = norm == g_norm or (
                words and g_words and len(words & g_words) / len(words | g_words) >= MERGE_JACCARD
            )
            if same:
                ids.append(cid)
                groups[i] = (g_norm, g_words, ids, g_rebuttals + rebuttals)
                break
        else:
            groups.append((norm, words, [cid], rebuttals))
            statements.append(statement)
    claims = [
        ReduceClaim(statement=s, merges=g[2]) for s, g in zip(statements, groups, strict=True)
    ]
    return ReduceReply(overview=_overview(title, len(seen), claims, groups), claims=claims)


def _overview(
    title: str,
    inputs: int,
    claims: list[ReduceClaim],
    groups: list[tuple[str, set[str], list[str], int]],
) -> str:
    subject = f"The discussion “{_short(title, 12)}”" if title else "The discussion"
    if not claims:
        return f"{subject} yielded no claims."
    points, found = _count(len(claims), "distinct claim"), _count(inputs, "claim")
    parts = [f"{subject} comes down to {points}, drawn from {found} found in its parts."]
    ranked = sorted(
        ((g[3], i) for i, g in enumerate(groups) if g[3] > 0), key=lambda x: (-x[0], x[1])
    )[:2]
    if ranked:
        listed = "; ".join(
            f"“{_short(claims[i].statement, 15)}” ({_count(n, 'rebuttal')})" for n, i in ranked
        )
        parts.append(f"It splits most over {listed}.")
    else:
        parts.append("None of the claims drew a rebuttal.")
    return " ".join(parts)


# --- answering any other prompt ------------------------------------------------------------------


def generic_answer(messages: list[dict[str, Any]], limit: int = GENERIC_TOKENS) -> str:
    """A plain-text answer to a prompt that is not threadsum's, as a summarizing model might give.

    It is the last user message's first distinct sentences (lines ending in ``:`` — headings and
    instructions such as ``CONCISE SUMMARY:`` — and surrounding quotes left out), as many as fit
    in ``limit`` tokens by the offline estimator; a first sentence longer than that is cut.
    Deterministic, and never longer than ``limit`` (empty when ``limit`` holds no text at all).
    """
    user = [m for m in messages if m["role"] == "user"]
    text = _text(user[-1].get("content")) if user else ""
    if not text.strip():
        text = "\n".join(_message_text(m) for m in messages)
    lines = [line.strip().strip('"“”').strip() for line in text.splitlines()]
    sentences = (
        " ".join(line[start:end].split())
        for line in lines
        if line and not line.endswith(":")
        for start, end in split_sentences(line)
    )
    picked: list[str] = []
    seen: set[str] = set()
    used = 0
    for sentence in sentences:
        if not sentence or sentence in seen:
            continue
        cost = estimate_tokens(sentence if not picked else " " + sentence)
        if used + cost > limit:
            return " ".join(picked) if picked else _prefix(sentence, limit)
        picked.append(sentence)
        seen.add(sentence)
        used += cost
    return " ".join(picked) if picked else _prefix("There is nothing here to summarise.", limit)


# --- the server ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _render(kind: str, data: str, title: str) -> str:
    """The answer's JSON text (cached: benchmarks send the same chunks again and again)."""
    reply = map_answer(data, title) if kind == "map" else reduce_answer(data, title)
    return json.dumps(reply.model_dump(), ensure_ascii=False)


def _prefix(text: str, limit: int) -> str:
    """The longest prefix of ``text`` estimated at ``limit`` tokens or fewer."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate_tokens(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


class _Server:
    """The state behind one app: config, counters, the concurrency gate."""

    def __init__(self, config: MockConfig, drop_connections: bool) -> None:
        self.config = config
        self.drop_connections = drop_connections
        self.stats = _Stats()
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

    def reject(self, e: _BadRequest) -> JSONResponse:
        self.stats.rejected += 1
        return _error(400, e.message, "invalid_request_error", e.param, e.code)

    async def complete(self, request: Request) -> Response:
        """Handle ``POST /v1/chat/completions``."""
        self.counter += 1
        number = self.counter
        self.stats.requests += 1
        try:
            try:
                body = await request.json()
            except ValueError:
                raise _BadRequest("the request body is not valid JSON") from None
            if not isinstance(body, dict):
                raise _BadRequest("the request body must be a JSON object")
            messages = _messages(body)
            mode, tool = _mode(body)
            max_tokens = _max_tokens(body)
            if body.get("stream"):
                raise _BadRequest("streaming is not supported by this server", "stream")
        except _BadRequest as e:
            self.stats.by_kind["other"] += 1
            return self.reject(e)
        kind, data, title = _find_data(messages)
        self.stats.by_kind[kind] += 1
        self.stats.by_mode[mode] += 1
        if mode in self.config.refuse_modes:
            param = "tools" if mode == "tools" else "response_format"
            what = "tools are" if mode == "tools" else f"response_format type '{mode}' is"
            return self.reject(_BadRequest(f"{what} not supported", param))
        if kind == "other" and not self.config.answer_any:
            return self.reject(
                _BadRequest("unknown prompt: no <thread_data> or <claims_data> in the messages")
            )
        prompt_tokens = sum(estimate_tokens(_message_text(m)) + MESSAGE_OVERHEAD for m in messages)
        limit = self.config.context_limit
        if limit is not None and prompt_tokens > limit:
            return self.reject(
                _BadRequest(
                    f"This model's maximum context length is {limit} tokens. However, your "
                    f"messages resulted in {prompt_tokens} tokens. Please reduce the length of "
                    "the messages.",
                    "messages",
                    "context_length_exceeded",
                )
            )
        fault = self.fault(number)
        if fault is not None:
            self.stats.faults += 1
            self.stats.by_fault[fault] += 1
            if fault == "429":
                return _error(
                    429,
                    "Rate limit reached (injected by the mock)",
                    "rate_limit_error",
                    code="rate_limit_exceeded",
                    headers={"Retry-After": "0"},
                )
            if fault in ("500", "503"):
                message = "The server had an error (injected by the mock)"
                return _error(int(fault), message, "server_error")
            if fault == "disconnect":
                if self.drop_connections:
                    return _DroppedConnection()
                return _error(502, "Bad gateway (injected by the mock)", "server_error")
        if fault == "garbage":
            answer = GARBAGE
        elif kind == "other":  # answer_any: plain text, or a JSON object where JSON is asked for
            answer = generic_answer(messages)
            if mode != "text":
                answer = json.dumps({"answer": answer}, ensure_ascii=False)
        else:
            answer = _render(kind, data, title)
            if mode == "text" and fault is None:
                answer = "Here is the JSON:\n```json\n" + answer + "\n```"
        completion_tokens = estimate_tokens(answer)
        caps = [c for c in (max_tokens, self.config.max_output_tokens) if c is not None]
        if limit is not None:
            caps.append(max(1, limit - prompt_tokens))
        finish = "stop"
        if caps and completion_tokens > min(caps):
            completion_tokens = min(caps)
            answer = _prefix(answer, completion_tokens)
            finish = "length"
        gate = self.gate()
        async with gate if gate is not None else contextlib.nullcontext():
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
            try:
                cfg = self.config
                delay = cfg.latency_ms + cfg.ms_per_token * completion_tokens
                delay += cfg.ms_per_prompt_token * prompt_tokens
                await asyncio.sleep(delay / 1000)
            finally:
                self.stats.in_flight -= 1
        self.stats.prompt_tokens += prompt_tokens
        self.stats.completion_tokens += completion_tokens
        model = str(body.get("model") or self.config.model)
        return JSONResponse(
            _completion(number, model, tool, answer, finish, prompt_tokens, completion_tokens)
        )


def _completion(
    number: int,
    model: str,
    tool: str | None,
    answer: str,
    finish: str,
    prompt_tokens: int,
    completion_tokens: int,
) -> dict[str, Any]:
    """A chat.completion body; in tools mode (``tool`` set) the answer is the call's arguments."""
    digest = hashlib.sha256(f"{number}\n{answer}".encode()).hexdigest()
    message: dict[str, Any] = {"role": "assistant", "content": answer}
    if tool is not None:
        call_id = "call_" + hashlib.sha256(answer.encode()).hexdigest()[:24]
        function = {"name": tool, "arguments": answer}
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call_id, "type": "function", "function": function}],
        }
        finish = "tool_calls" if finish == "stop" else finish
    return {
        "id": "chatcmpl-" + digest[:24],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "threadsum-mock",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def create_app(config: MockConfig, *, drop_connections: bool = False) -> FastAPI:
    """The mock server as an ASGI app.

    ``drop_connections`` lets the ``disconnect`` fault close the connection mid-answer, which
    needs a real server (uvicorn, as :func:`serve` and :func:`running` use); without it that
    fault is a 502.
    """
    server = _Server(config, drop_connections)
    app = FastAPI(title="threadsum mock model server", version="1")
    app.state.mock = server

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
        return await server.complete(request)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/mock/stats")
    async def stats() -> dict[str, Any]:
        s = server.stats
        return {
            "requests": s.requests,
            "by_kind": dict(s.by_kind),
            "by_mode": dict(s.by_mode),
            "faults": s.faults,
            "by_fault": dict(s.by_fault),
            "rejected": s.rejected,
            "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.completion_tokens,
            "in_flight": s.in_flight,
            "max_in_flight": s.max_in_flight,
        }

    @app.post("/mock/reset")
    async def reset() -> dict[str, bool]:
        in_flight = server.stats.in_flight
        server.stats = _Stats(in_flight=in_flight, max_in_flight=in_flight)
        server.counter = 0
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


def serve(config: MockConfig, host: str = "127.0.0.1", port: int = 8089) -> None:
    """Run the mock server in the foreground until interrupted."""
    uvicorn.Server(_uvicorn_config(config, host, port)).run()


@contextlib.contextmanager
def running(config: MockConfig) -> Iterator[str]:
    """Run the mock server in a background thread; yield its base URL (``http://…/v1``)."""
    server = uvicorn.Server(_uvicorn_config(config, "127.0.0.1", 0))
    thread = threading.Thread(target=server.run, name="threadsum-mock-llm", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the mock model server did not start")
            time.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
