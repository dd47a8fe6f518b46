"""The :class:`Runtime`: the one builder and owner of the resources summaries share.

A face (the CLI, the HTTP app, a batch runner, a Ray actor) opens one runtime and passes it to
every :func:`~service.summarizer.summarize` call it makes. The runtime builds, on first use and
then once, what those calls share:

- answer caches, one per (folder, cache mode), or per (Redis URL, prefix, mode, TTL) when
  ``cache_url`` names a shared Redis or Valkey (:mod:`service.cache_redis`), and one Redis link
  per URL and prefix, also for the batch-owner registry;
- model clients, one per server, model, key and client settings, all sharing one
  :class:`~service.model.modes.ModeMemory` (which output mode each server accepts);
- the loaded prompt templates, once per prompts folder;
- the whole-summary caches (:mod:`service.summary_cache`), in a folder of their own beside the
  answers (``<cache dir>/summaries``).

Nothing else in the package builds a cache or a model client. Closing the runtime (it is an
async context manager) closes what it built; what was handed in (``model``, ``cache``) stays
the caller's.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from concurrent.futures import Executor
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self

from tenacity.wait import WaitBaseT

from .cache import AnswerCache, Cache
from .errors import CacheError
from .model.modes import ModeMemory
from .model.protocol import ChatModel
from .retrying import RetryPolicy
from .settings import Settings
from .summary_cache import SummaryCache, SummaryStore

if TYPE_CHECKING:
    from .cache_redis import RedisJobOwners, RedisLink
    from .model.client import ModelClient
    from .prompts import Prompt

log = logging.getLogger(__name__)

FETCH_ATTEMPTS: Final = 3
"""Tries per live-fetch request."""
FETCH_MAX_WAIT: Final = 5.0
"""Longest wait between live-fetch tries, a server's ``Retry-After`` included."""

SUMMARIES_DIR: Final = "summaries"
"""The summary cache's folder, inside the answer cache's."""

_ClientKey = tuple[str | None, str, str, str, float, int, int]


class Runtime:
    """Shared caches, model clients, output-mode memory and prompts for one face.

    ``model`` replaces every model client the runtime would build (tests, embedding a custom
    model); ``cache`` replaces every answer cache; ``modes`` shares what another runtime learned
    about servers' output modes; ``wait`` replaces the wait between retries of every outbound
    call (tests pass ``tenacity.wait_none()``, so nothing sleeps); ``executor`` is where
    :func:`~service.summarizer.summarize` runs the CPU-bound extractive engine (default: asyncio's
    default executor). ``summaries`` replaces the store of whole summaries; with an injected
    ``cache`` and no ``summaries``, no summary is cached (what a test injects is all it gets).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        model: ChatModel | None = None,
        cache: Cache | None = None,
        modes: ModeMemory | None = None,
        wait: WaitBaseT | None = None,
        executor: Executor | None = None,
        summaries: SummaryStore | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.wait = wait
        self.executor = executor
        #: How live fetches (HN, Reddit) are retried.
        self.fetch_retry = RetryPolicy(attempts=FETCH_ATTEMPTS, max_wait=FETCH_MAX_WAIT, wait=wait)
        self.modes = modes if modes is not None else ModeMemory()
        self._model = model
        self._cache = cache
        self._summary_store = summaries
        self._caches: dict[tuple[object, ...], Cache] = {}
        self._summary_caches: dict[tuple[Path, str], AnswerCache] = {}
        self._links: dict[tuple[str, str], RedisLink] = {}
        self._clients: dict[_ClientKey, ModelClient] = {}
        self._prompts: dict[Path | None, dict[str, Prompt]] = {}
        self._prompt_digests: dict[Path | None, str] = {}
        self._unusable: set[tuple[Path, str]] = set()
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every client and cache this runtime built (it can be opened again by use)."""
        clients, self._clients = list(self._clients.values()), {}
        caches, self._caches = list(self._caches.values()), {}
        links, self._links = list(self._links.values()), {}
        for client in clients:
            await client.aclose()
        for cache in caches:
            await cache.aclose()
        for link in links:
            await link.aclose()

    def using(self, executor: Executor | None) -> Runtime:
        """A view of this runtime that shares everything it holds but runs CPU work on
        ``executor`` (the HTTP app gives each request its own admission to its CPU threads).

        Only the original is closed; closing it closes what the views use.
        """
        view = copy.copy(self)
        view.executor = executor
        return view

    def cache(self, settings: Settings | None = None) -> Cache:
        """The answer cache ``settings`` (default: the runtime's) describe: Redis when
        ``cache_url`` is set (and the mode is not ``off``), else the folder ``cache_dir``."""
        if self._cache is not None:
            return self._cache
        s = settings or self.settings
        url = s.shared_cache_url
        if url is not None and s.cache != "off":
            from .cache_redis import RedisAnswerCache

            shared: tuple[object, ...] = (url, s.cache_prefix, s.cache, s.cache_ttl)
            found = self._caches.get(shared)
            if found is None:
                link = self.link(url, s.cache_prefix)
                found = self._caches[shared] = RedisAnswerCache(link, s.cache, ttl=s.cache_ttl)
            return found
        key = (s.cache_dir, s.cache)
        found = self._caches.get(key)
        if found is None:
            found = self._caches[key] = AnswerCache(s.cache_dir, s.cache)
        return found

    def summaries(self, settings: Settings | None = None) -> SummaryCache:
        """The whole-summary cache ``settings`` (default: the runtime's) describe.

        Stored beside the answers (its own folder, same mode; under ``<prefix>summary:`` in
        Redis when ``cache_url`` is set, so replicas share them and forget them together with
        the answers); nothing is kept in modes ``off`` and ``replay``, nor when an answer cache
        was injected without a summary store.
        """
        s = settings or self.settings
        store: SummaryStore | None = self._summary_store
        shared = s.shared_cache_url
        if store is None and self._cache is None and s.cache in ("use", "refresh") and shared:
            from .cache_redis import RedisAnswerCache

            ident: tuple[object, ...] = ("summaries", shared, s.cache_prefix, s.cache, s.cache_ttl)
            cached = self._caches.get(ident)
            if cached is None:
                link = self.link(shared, s.cache_prefix + "summary:")
                cached = self._caches[ident] = RedisAnswerCache(link, s.cache, ttl=s.cache_ttl)
            store = cached
        elif store is None and self._cache is None and s.cache in ("use", "refresh"):
            key = (s.cache_dir / SUMMARIES_DIR, s.cache)
            found = self._summary_caches.get(key)
            if found is None and key not in self._unusable:
                try:
                    found = self._summary_caches[key] = AnswerCache(key[0], s.cache)
                except CacheError as e:
                    # An accelerator only: a summary is still made, and its answers cached.
                    self._unusable.add(key)
                    log.warning("whole summaries are not cached: %s", e)
            store = found
        return SummaryCache(store, s, lambda: self.prompt_digest(s))

    def prompt_digest(self, settings: Settings | None = None) -> str:
        """One digest over the LLM engine's prompts (as loaded by :meth:`prompts`), once."""
        from .engines.llm.calls import prompt_digest

        directory = (settings or self.settings).prompts_dir
        found = self._prompt_digests.get(directory)
        if found is None:
            found = self._prompt_digests[directory] = prompt_digest(self.prompts(settings))
        return found

    def link(self, url: str, prefix: str) -> RedisLink:
        """The one client of the Redis at ``url`` for keys under ``prefix``."""
        from .cache_redis import RedisLink

        found = self._links.get((url, prefix))
        if found is None:
            found = self._links[(url, prefix)] = RedisLink(url, prefix)
        return found

    def job_owners(self, settings: Settings | None = None) -> RedisJobOwners | None:
        """Where replicas note which of them holds a batch job: Redis when ``cache_url`` is
        set, else nowhere (``None``)."""
        s = settings or self.settings
        url = s.shared_cache_url
        if url is None:
            return None
        from .cache_redis import RedisJobOwners

        return RedisJobOwners(self.link(url, s.cache_prefix), ttl=s.cache_ttl)

    async def shared_problem(self, settings: Settings | None = None) -> str | None:
        """``None`` when the shared cache (if ``cache_url`` is set) answers, else why not."""
        s = settings or self.settings
        url = s.shared_cache_url
        if url is None or self._cache is not None:
            return None
        return await self.link(url, s.cache_prefix).ping()

    def check_cache(self, settings: Settings | None = None) -> None:
        """Open and close the answer cache ``settings`` describe, to fail now, not on first use.

        A face that serves calls this before it starts, so a replay folder that does not exist
        (:class:`~service.errors.CacheMissError`), a folder that cannot be used
        (:class:`~service.errors.CacheError`) or a Redis that does not answer
        (:class:`~service.errors.SharedStoreError`) stops it with one clear error.
        """
        if self._cache is None:
            s = settings or self.settings
            url = s.shared_cache_url
            if url is not None and s.cache != "off":
                from .cache_redis import check_link

                check_link(url)
            else:
                AnswerCache(s.cache_dir, s.cache).close()

    @property
    def model_injected(self) -> bool:
        """Whether the runtime was given its model (then no model client caps its calls)."""
        return self._model is not None

    def model(self, settings: Settings | None = None) -> ChatModel:
        """The model ``settings`` (default: the runtime's) describe, built once and shared."""
        if self._model is not None:
            return self._model
        return self.client(settings)

    def client(self, settings: Settings | None = None) -> ModelClient:
        """The HTTP model client ``settings`` describe (never the injected ``model``)."""
        from .model.client import ModelClient

        s = settings or self.settings
        secret = s.api_key.get_secret_value() if s.api_key is not None else ""
        key: _ClientKey = (
            s.base_url,
            s.model or "",
            hashlib.sha256(secret.encode()).hexdigest(),
            s.output_mode,
            s.llm_timeout,
            s.llm_attempts,
            s.concurrency,
        )
        found = self._clients.get(key)
        if found is None:
            found = self._clients[key] = ModelClient(
                retry=RetryPolicy(attempts=s.llm_attempts, wait=self.wait),
                base_url=s.base_url,
                model=s.model or "",
                api_key=s.api_key,
                output_mode=s.output_mode,
                timeout=s.llm_timeout,
                concurrency=s.concurrency,
                modes=self.modes,
            )
        return found

    def prompts(self, settings: Settings | None = None) -> dict[str, Prompt]:
        """The LLM engine's prompt templates from ``settings.prompts_dir``, loaded once."""
        from .engines.llm import load_engine_prompts

        directory = (settings or self.settings).prompts_dir
        found = self._prompts.get(directory)
        if found is None:
            found = self._prompts[directory] = load_engine_prompts(directory)
        return found
