"""Whole summaries, cached: a repeated request for the same input is one lookup.

The answer cache keeps every model answer, so a re-run asks no model; but it still reads,
parses and chunks the thread, renders every prompt and validates every answer (0.9 s for a
5,000-comment thread). The summary cache keeps the finished :class:`ThreadSummary` under a key
made from the input's bytes, before anything is parsed:

- the input: the SHA-256 of its bytes and how they are read (``reader``: the input format, or
  how a face decided it, e.g. ``auto, JSON only``);
- the engine kind and :func:`code_digest` (the package's own code and data, so an upgraded or
  edited engine never serves a summary an older one wrote);
- every setting except those named in :data:`NOT_SHAPING` (secrets, paths, speed and capacity
  knobs), and for the extractive engine also :data:`LLM_ONLY`: the reading limits
  (``max_bytes``, ``max_comments``, ``max_depth``, ``strict``) and, for the LLM engine, model,
  output mode, chunk budget, max tokens, temperature, seed, re-asks, the invalid-answer policy,
  the failed-chunk share; a setting added later is in the key until it is named there;
- for the LLM engine, the answers' scope (the server without credentials, or the operator's
  cache namespace) and the prompt digest. Never the API key.

Modes follow the answer cache's setting: ``use`` reads and writes, ``refresh`` writes only (the
summary is made again, through a refreshed answer cache), ``off`` and ``replay`` never touch it
(a replayed run always goes through the recorded answers, so it tests the whole pipeline).

A hit is the stored summary with its ``stats`` as a run served wholly by the answer cache would
report them: no model calls or tokens, every call a cache hit, and ``elapsed_s`` 0 (nothing ran).
It is stored in exactly that form, rendered as JSON, so a face answering JSON sends the stored
text as it is: a hit costs one read, not a parse, a validation and a render.

The store is anything with ``async get(key) -> dict | None`` and ``async set(key, dict)`` over
JSON values (:class:`SummaryStore`): the local answer cache's class (a folder of its own beside
the answers, see :mod:`service.runtime`), or another backend of :mod:`service.cache`. Values are
JSON, never pickles: ``{"format": 2, "json": "<the hit's JSON rendering>"}``; anything else read
back is a miss.

Every kept summary has an id (:func:`summary_id`), which the HTTP service hands out
(``Summary-Id``) and takes back (``GET /v1/summaries/{id}``, ``?since=ID``): the hex part of its
key, for a summary keyed on its input; for one no input names (a thread fetched live), the
SHA-256 of its stored JSON, kept by :meth:`SummaryCache.keep` in the same store. Ids say nothing
the client does not already hold (no setting or secret can be read back from a hash).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from pydantic import ValidationError

from .errors import CacheError
from .model.identity import cache_scope
from .models import ThreadSummary
from .render.jsonout import render_json
from .settings import Settings

__all__ = [
    "SUMMARY_FORMAT",
    "CachedSummary",
    "SummaryCache",
    "SummaryStore",
    "as_hit",
    "code_digest",
    "summary_id",
    "summary_key",
]

log = logging.getLogger(__name__)

SUMMARY_FORMAT: Final = 2
"""The layout of a stored value; a value of another layout is a miss."""
HASH_OFF_LOOP_BYTES: Final = 1 << 20
"""Inputs larger than this are hashed on a thread (hashlib releases the GIL), not the loop."""

Engine = Literal["extractive", "llm"]

_KEY_PREFIX: Final = "summary:"
_ID: Final = re.compile(r"\A[0-9a-f]{64}\Z")


def summary_id(key: str) -> str:
    """The id a client is given for the summary kept under ``key``."""
    return key.removeprefix(_KEY_PREFIX)


class SummaryStore(Protocol):
    """Where whole summaries are kept: JSON values by string key."""

    async def get(self, key: str) -> dict[str, Any] | None:
        """The value under ``key``, or ``None``."""

    async def set(self, key: str, value: dict[str, Any]) -> None:
        """Keep ``value`` under ``key``."""


@functools.cache
def code_digest() -> str:
    """A digest of the package's code and data files (computed once per process).

    Part of every summary key: a summary made by other code is never served.
    """
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".json", ".toml", ".css") and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode())
            h.update(b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()[:16]


NOT_SHAPING: Final = frozenset(
    {
        # secrets and where things live
        "api_key",
        "api_keys",
        "cache",
        "cache_dir",
        "state_dir",
        "prompts_dir",  # the prompts' own digest is in the key instead
        # how fast and how much, never what
        "concurrency",
        "llm_timeout",
        "llm_attempts",
        "fetch_timeout",
        "fetch_concurrency",
        "user_agent",
        "rate_limit",
        "batch_concurrency",
        "max_batch_items",
        "max_batch_urls",
        "request_timeout",
        "cpu_workers",
        "cpu_queue",
        "shutdown_timeout",
        "forwarded_allow_ips",
        "public_url",
        # the engine choice is in the key as the engine that ran
        "engine",
        # the server is in the key as the answers' scope (no credentials, or the namespace)
        "base_url",
        "cache_namespace",
    }
)
"""Settings that never change what a summary says; every other setting is part of its key (so
a setting added later is in the key until it is named here: a miss, never a stale summary)."""

LLM_ONLY: Final = frozenset(
    {
        "model",
        "output_mode",
        "chunk_tokens",
        "max_tokens",
        "temperature",
        "seed",
        "max_reasks",
        "on_invalid",
        "max_failed_share",
    }
)
"""Settings only the LLM engine reads: not in the key of an extractive summary."""


def summary_key(
    input_digest: str,
    reader: str,
    settings: Settings,
    engine: Engine,
    prompt_digest: str | None = None,
) -> str:
    """The key of the summary of an input whose bytes hash to ``input_digest``.

    ``prompt_digest`` is the LLM engine's (required for it, ignored otherwise).
    """
    left_out = NOT_SHAPING if engine == "llm" else NOT_SHAPING | LLM_ONLY
    doc: dict[str, Any] = {
        "format": SUMMARY_FORMAT,
        "code": code_digest(),
        "input": input_digest,
        "reader": reader,
        "engine": engine,
        "settings": settings.model_dump(mode="json", exclude=set(left_out)),
    }
    if engine == "llm":
        if prompt_digest is None:
            raise ValueError("the llm engine's summary key needs its prompt digest")
        doc["scope"] = cache_scope(settings.base_url, settings.cache_namespace)
        doc["prompts"] = prompt_digest
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return _KEY_PREFIX + hashlib.sha256(raw.encode()).hexdigest()


SPENT: Final = ("llm_calls", "prompt_tokens", "completion_tokens", "cost_usd", "elapsed_s")
"""What a run spends, in ``stats``: nothing, for a hit (those of them the stats have)."""


def as_hit(summary: ThreadSummary) -> ThreadSummary:
    """``summary`` as a run served wholly by the cache reports it: every call it made a cache
    hit, and nothing spent (:data:`SPENT`: no model calls, tokens or time)."""
    s = summary.stats
    spent: dict[str, Any] = {name: 0 for name in SPENT if name in type(s).model_fields}
    stats = s.model_copy(update={**spent, "cache_hits": s.cache_hits + s.llm_calls})
    stats = type(s).model_validate(stats.model_dump())  # zeros in each field's own type
    return summary.model_copy(update={"stats": stats})


@dataclass(frozen=True, slots=True)
class CachedSummary:
    """A stored summary: its JSON rendering as a hit (:func:`as_hit`), parsed when asked."""

    json: str
    """Exactly what :func:`~service.render.jsonout.render_json` gives for the hit."""

    def summary(self) -> ThreadSummary | None:
        """The summary itself; ``None`` when the stored text is not one (a miss, then)."""
        try:
            return ThreadSummary.model_validate_json(self.json)
        except ValidationError:
            return None


def _input_digest(content: bytes | str) -> str:
    data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    return hashlib.sha256(data).hexdigest()


class SummaryCache:
    """The summary cache one request or batch item uses: its store, settings and mode.

    Built by :meth:`service.runtime.Runtime.summaries`; with no store (cache ``off`` or
    ``replay``, or an injected answer cache and no summary store) it reads and writes nothing.
    """

    def __init__(
        self,
        store: SummaryStore | None,
        settings: Settings,
        prompt_digest: Callable[[], str] | None = None,
    ) -> None:
        self.store = store if settings.cache in ("use", "refresh") else None
        self.settings = settings
        self._prompt_digest = prompt_digest
        self._reads = settings.cache == "use"

    @property
    def enabled(self) -> bool:
        """Whether this cache keeps summaries at all."""
        return self.store is not None

    async def key(self, content: bytes | str, reader: str, engine: Engine) -> str:
        """The key of the summary of ``content`` read as ``reader`` by ``engine``."""
        if len(content) > HASH_OFF_LOOP_BYTES:
            digest = await asyncio.to_thread(_input_digest, content)
        else:
            digest = _input_digest(content)
        prompts = None
        if engine == "llm":
            if self._prompt_digest is None:
                raise ValueError("the llm engine's summary cache needs the prompt digest")
            prompts = self._prompt_digest()
        return summary_key(digest, reader, self.settings, engine, prompts)

    async def get(self, key: str) -> CachedSummary | None:
        """The stored summary under ``key`` (as a cached run reports it), or ``None``."""
        if not self._reads:
            return None
        return await self._read(key)

    async def by_id(self, ident: str) -> CachedSummary | None:
        """The kept summary of id ``ident`` (:func:`summary_id`), or ``None``.

        Read in mode ``refresh`` too: naming a summary by its id asks for that summary, not
        for a new one.
        """
        if not _ID.match(ident):
            return None
        return await self._read(_KEY_PREFIX + ident)

    async def _read(self, key: str) -> CachedSummary | None:
        if self.store is None:
            return None
        value = await self.store.get(key)
        if not value or value.get("format") != SUMMARY_FORMAT:
            return None
        text = value.get("json")
        if not isinstance(text, str) or not text.startswith("{"):
            return None
        return CachedSummary(text)

    async def put(self, key: str, summary: ThreadSummary) -> str | None:
        """Keep ``summary`` under ``key``, in the form a hit reports it; its id, once kept."""
        if self.store is None:
            return None
        return await self._write(key, render_json(as_hit(summary)))

    async def keep(self, summary: ThreadSummary) -> str | None:
        """Keep a summary no input key names (a thread fetched live) under an id of its own,
        the SHA-256 of its stored JSON; that id, once kept (``None`` with no store)."""
        if self.store is None:
            return None
        text = render_json(as_hit(summary))
        ident = hashlib.sha256(b"kept\0" + text.encode("utf-8", "surrogatepass")).hexdigest()
        return await self._write(_KEY_PREFIX + ident, text)

    async def _write(self, key: str, text: str) -> str | None:
        if self.store is None:
            return None
        try:
            await self.store.set(key, {"format": SUMMARY_FORMAT, "json": text})
        except CacheError as e:  # the summary is made; only its next request costs more
            log.warning("a summary was not cached: %s", e)
            return None
        return summary_id(key)

    async def through(
        self,
        content: bytes | str,
        reader: str,
        engine: Engine,
        make: Callable[[], Awaitable[tuple[ThreadSummary, bool]]],
    ) -> ThreadSummary:
        """The summary of ``content``: stored, or made by ``make()`` and then stored.

        ``make`` returns the summary and whether it may be kept (a thread fetched live from a
        URL the input names is not the input's to key on).
        """
        if self.store is None:
            return (await make())[0]
        key = await self.key(content, reader, engine)
        found = await self.get(key)
        if found is not None:
            summary = found.summary()
            if summary is not None:
                return summary
        summary, keep = await make()
        if keep:
            await self.put(key, summary)
        return summary
