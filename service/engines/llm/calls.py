"""One validated model call: render → cache → model → validate → re-ask with the errors.

:func:`ask_validated` is the only way the map and reduce steps ask the model. An answer that does
not parse, fit the schema or check out is sent back with its errors, at most ``max_reasks`` times;
a re-ask that would repeat the last question exactly is not sent. When the answer is still
invalid, ``on_invalid = "fail"`` raises :class:`~service.errors.ModelOutputError` with the
attempts, the last reply and its errors; otherwise the caller gets the valid part and the errors.

Every call goes through the answer cache first, keyed on everything that shapes the answer,
the server (or the operator's cache namespace) included.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from ...cache import Cache, cache_key, digest_json
from ...errors import ModelOutputError, PromptTruncatedError, ReplyError, TruncatedError
from ...model.identity import cache_scope
from ...model.protocol import ChatModel
from ...models import Stats, Thread
from ...progress import Progress, ProgressCallback, ProgressKind, counting_retries
from ...prompts import Prompt, neutralise, one_line
from ...settings import Settings
from ...text.tokens import estimate_tokens
from ...validation import Checked, parse_reply
from .policy import Failures

#: A reported prompt_tokens under this share of the estimate means the server cut the prompt.
TRUNCATION_RATIO = 0.5
#: At most this many errors go back to the model in one re-ask.
REASK_ERRORS = 20

Reply = TypeVar("Reply", bound=BaseModel)
T = TypeVar("T")


async def gather_or_cancel(*steps: Awaitable[T]) -> list[T]:
    """Run ``steps`` concurrently; on the first failure cancel the rest and raise that failure.

    ``asyncio.gather`` leaves the other calls running after one fails, so a run that has already
    failed would go on spending model calls; a ``TaskGroup`` would wrap the error in a group.
    """
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class Slots:
    """At most ``size`` model calls of a run in flight; waiting calls go by rank, then largest
    prompt first.

    The model's slots finish a run soonest when the longest calls start first and the short
    ones fill the gaps at the end (longest-processing-time-first scheduling); in prompt order, a
    large chunk drawn last keeps one slot busy while the others idle. A higher rank goes first
    whatever its size: reduce calls outrank maps, since the final answer waits on them and a map
    can still run while they do. Ties go in arrival order.
    """

    def __init__(self, size: int) -> None:
        self.free = size
        self._waiting: list[tuple[int, int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @contextlib.asynccontextmanager
    async def hold(self, cost: int, rank: int = 0) -> AsyncIterator[None]:
        """A slot for a call of ``cost`` estimated tokens and ``rank``, while the block runs."""
        if self.free > 0 and not self._waiting:
            self.free -= 1
        else:
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (-rank, -cost, next(self._order), turn))
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._release()  # granted just as it was cancelled: pass the slot on
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            *_, turn = heapq.heappop(self._waiting)
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1


def prompt_digest(prompts: dict[str, Prompt]) -> str:
    """One digest over every prompt the engine uses."""
    joined = "|".join(f"{name}:{p.digest}" for name, p in sorted(prompts.items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Step:
    """One kind of model call: the prompt it renders and the structured answer it asks for."""

    prompt: str  # a key of Run.prompts
    schema_name: str
    schema: dict[str, Any]
    rank: int = 0  # waiting calls of a higher rank get a model slot first (see Slots)
    schema_digest: str = field(init=False, repr=False, compare=False)  # once, not per call

    def __post_init__(self) -> None:
        object.__setattr__(self, "schema_digest", digest_json(self.schema))


@dataclass
class Run:
    """What the model calls of one summary share, and what they count."""

    thread: Thread
    settings: Settings
    model: ChatModel
    cache: Cache
    prompts: dict[str, Prompt]
    stats: Stats = field(default_factory=Stats)
    warnings: list[str] = field(default_factory=list)
    modes: set[str] = field(default_factory=set)
    model_names: set[str] = field(default_factory=set)
    failures: Failures = field(default_factory=Failures)
    progress: ProgressCallback | None = None
    stage: str = "mapping"
    chunks_done: int = 0
    retries: int = 0
    digest: str = field(init=False)
    slots: Slots = field(init=False)

    def __post_init__(self) -> None:
        self.digest = prompt_digest(self.prompts)
        self.slots = Slots(self.settings.concurrency)

    def report(self, kind: ProgressKind) -> None:
        """Tell the progress callback, if any, what moved, with the run's totals."""
        if self.progress is None:
            return
        s = self.stats
        self.progress(
            Progress(
                kind=kind,
                stage=self.stage,
                chunks_total=s.chunks,
                chunks_done=self.chunks_done,
                calls=s.llm_calls,
                cache_hits=s.cache_hits,
                prompt_tokens=s.prompt_tokens,
                completion_tokens=s.completion_tokens,
                retries=self.retries,
                reasks=s.reasks,
            )
        )

    def _retried(self) -> None:
        self.retries += 1
        self.report("retry")

    @property
    def title(self) -> str:
        """The thread's title as prompts show it: one neutralised line."""
        return one_line(self.thread.title or "(untitled)")

    async def ask(self, messages: list[dict[str, str]], step: Step) -> str:
        """One model call through the cache; returns the answer text."""
        s = self.settings
        key = cache_key(
            server=cache_scope(s.base_url, s.cache_namespace),
            model=s.model or "",
            output_mode=s.output_mode,
            prompt_digest=self.digest,
            schema_digest=step.schema_digest,
            messages=messages,
            temperature=s.temperature,
            seed=s.seed,
            max_tokens=s.max_tokens,
        )

        sent = sum(estimate_tokens(m["content"]) + 4 for m in messages)

        async def call() -> dict[str, Any]:
            self.stats.llm_calls += 1
            try:
                async with self.slots.hold(sent, step.rank):
                    with counting_retries(self._retried):
                        c = await self.model.complete(
                            messages,
                            schema_name=step.schema_name,
                            schema=step.schema,
                            max_tokens=s.max_tokens,
                            temperature=s.temperature,
                            seed=s.seed,
                        )
            except TruncatedError as e:
                # Recorded too, so a re-run or a replay splits the same way without asking.
                return {"truncated": True, "error": str(e)}
            if 0 < c.prompt_tokens < TRUNCATION_RATIO * sent:
                raise PromptTruncatedError(
                    f"the model server read {c.prompt_tokens} prompt tokens of about {sent} "
                    "sent: it cuts prompts short (e.g. Ollama's num_ctx); raise the server's "
                    "context length or lower --chunk-tokens"
                )
            self.stats.prompt_tokens += c.prompt_tokens
            self.stats.completion_tokens += c.completion_tokens
            return {
                "content": c.content,
                "finish_reason": c.finish_reason,
                "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens,
                "mode": c.mode,
                "model": c.model,
            }

        value, hit = await self.cache.get_or_call(key, call)
        if hit:
            self.stats.cache_hits += 1
        self.report("cache_hit" if hit else "call")
        if value.get("truncated"):
            raise TruncatedError(str(value.get("error", "the answer was cut off")))
        self.modes.add(str(value.get("mode", "")))
        self.model_names.add(str(value.get("model", "")))
        return str(value.get("content", ""))


@dataclass
class Answer(Generic[Reply]):
    """How the asking ended: the valid part of the answers, and what was still wrong."""

    reply: Reply | None  # the last answer that fit the schema, less what could not be kept
    errors: list[str]  # what was wrong with the last answer; empty when it was valid
    dropped: int  # citations dropped from ``reply``
    attempts: int  # model answers asked for (the first and every re-ask)

    @property
    def reasks(self) -> int:
        """Re-asks that were sent."""
        return self.attempts - 1


async def ask_validated(
    run: Run,
    step: Step,
    variables: dict[str, str],
    check: Callable[[Any], Checked[Reply]],
    where: str,
) -> Answer[Reply]:
    """Ask ``step`` with ``variables`` until ``check`` passes or the re-asks run out.

    ``check`` gets the parsed JSON and raises :class:`~service.errors.ReplyError` when nothing of
    it is usable. ``where`` names the call in the error raised under ``on_invalid = "fail"``.
    """
    s = run.settings
    base = run.prompts[step.prompt].render(**variables)
    messages = base
    kept: Checked[Reply] | None = None
    errors: list[str] = []
    reply = ""
    attempts = 0
    while True:
        attempts += 1
        reply = await run.ask(messages, step)
        try:
            kept = check(parse_reply(reply))
        except ReplyError as e:
            errors = e.errors
        else:
            errors = kept.errors
        if not errors or attempts > s.max_reasks:
            break
        again = _reask(run.prompts["reask"], base, reply, errors)
        if again == messages:
            break  # the same question again would get the same answer
        run.stats.reasks += 1
        run.report("reask")
        messages = again
    if errors and s.on_invalid == "fail":
        raise ModelOutputError(
            f"{where}: the model's answer is still invalid after {attempts - 1} re-ask(s): "
            f"{errors[0]}",
            attempts=attempts,
            last_reply=reply,
            errors=errors,
        )
    if kept is None:
        return Answer(None, errors, 0, attempts)
    return Answer(kept.reply, errors, kept.dropped, attempts)


def _reask(
    prompt: Prompt, base: list[dict[str, str]], reply: str, errors: list[str]
) -> list[dict[str, str]]:
    """The conversation that asks again, with the errors of ``reply``."""
    listed = "\n".join(f"- {neutralise(e)}" for e in errors[:REASK_ERRORS])
    return [*base, {"role": "assistant", "content": reply}, *prompt.render(errors=listed)]
