"""The LLM engine: map each chunk to claims with one model call, reduce them to the thread's.

Map: every chunk is rendered with chunk-local keys (``service.prompts.render_chunk``) and sent
with the map prompt; calls run concurrently (the client bounds them). Each answer is parsed,
schema-checked and grounded against the chunk; an invalid answer is re-asked with its errors,
at most ``max_reasks`` times; then the valid part is kept with warnings, or the run fails,
as ``on_invalid`` says. An answer cut off at the token limit splits its chunk in two.

Reduce: the chunk claims (statements and ids only, never comment text) are merged by the reduce
prompt, which also writes the overview. When they do not fit one call they are reduced in a
tree. Evidence, supporters and rebuttals travel by id, so every quote is still sliced from the
thread. A single-chunk thread needs exactly one call.

Every call goes through the answer cache first.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...cache import AnswerCache, cache_key, digest_json
from ...chunker import MIN_BUDGET, chunk_thread
from ...errors import ModelOutputError, PromptTruncatedError, ReplyError, TruncatedError, UsageError
from ...grounding import cite
from ...model.protocol import ChatModel
from ...models import (
    Chunk,
    ChunkSegment,
    Citation,
    Claim,
    Counter,
    EngineInfo,
    Prevalence,
    Rebuttal,
    Stats,
    Thread,
    ThreadInfo,
    ThreadSummary,
)
from ...prompts import (
    Prompt,
    default_prompts_dir,
    load_prompt,
    neutralise,
    one_line,
    render_chunk,
)
from ...settings import Settings
from ...text.tokens import estimate_tokens
from ...validation import (
    MAP_SHAPE,
    REDUCE_SHAPE,
    MapClaim,
    MapReply,
    ReduceReply,
    check_map,
    check_reduce,
    parse_reply,
    strict_schema,
)

MAX_CLAIMS = 20
#: Estimated tokens of a map prompt besides the chunk (instructions, schema, title).
PROMPT_OVERHEAD = 700
#: A reported prompt_tokens under this share of the estimate means the server cut the prompt.
TRUNCATION_RATIO = 0.5


MAP_SCHEMA = strict_schema(MapReply)
REDUCE_SCHEMA = strict_schema(ReduceReply)


@dataclass
class _Found:
    """A claim from one chunk, with thread-global sentence ids."""

    statement: str
    evidence: list[str]
    supporters: list[str]
    rebuttals: list[tuple[str, list[str], list[tuple[str, list[str]]]]]


@dataclass
class _Run:
    thread: Thread
    settings: Settings
    model: ChatModel
    cache: AnswerCache
    prompts: dict[str, Prompt]
    stats: Stats = field(default_factory=Stats)
    warnings: list[str] = field(default_factory=list)
    modes: set[str] = field(default_factory=set)
    model_names: set[str] = field(default_factory=set)

    async def ask(
        self, messages: list[dict[str, str]], schema_name: str, schema: dict[str, Any]
    ) -> str:
        """One model call through the cache; returns the answer text."""
        s = self.settings
        key = cache_key(
            model=s.model or "",
            output_mode=s.output_mode,
            prompt_digest=prompt_digest(self.prompts),
            schema_digest=digest_json(schema),
            messages=messages,
            temperature=s.temperature,
            seed=s.seed,
            max_tokens=s.max_tokens,
        )

        async def call() -> dict[str, Any]:
            self.stats.llm_calls += 1
            try:
                c = await self.model.complete(
                    messages,
                    schema_name=schema_name,
                    schema=schema,
                    max_tokens=s.max_tokens,
                    temperature=s.temperature,
                    seed=s.seed,
                )
            except TruncatedError as e:
                # Recorded too, so a re-run or a replay splits the same way without asking.
                return {"truncated": True, "error": str(e)}
            sent = sum(estimate_tokens(m["content"]) + 4 for m in messages)
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
        if value.get("truncated"):
            raise TruncatedError(str(value.get("error", "the answer was cut off")))
        self.modes.add(str(value.get("mode", "")))
        self.model_names.add(str(value.get("model", "")))
        return str(value.get("content", ""))

    def reask(
        self, base: list[dict[str, str]], reply: str, errors: list[str]
    ) -> list[dict[str, str]]:
        """The conversation that asks again, with the errors of ``reply``."""
        listed = "\n".join(f"- {neutralise(e)}" for e in errors[:20])
        return [
            *base,
            {"role": "assistant", "content": reply},
            *self.prompts["reask"].render(errors=listed),
        ]

    # --- map ---------------------------------------------------------------------------------

    async def map_chunk(self, chunk: Chunk, label: str) -> list[_Found]:
        try:
            return await self._map_once(chunk, label)
        except TruncatedError:
            halves = split_chunk(self.thread, chunk)
            if halves is None:
                raise TruncatedError(
                    f"chunk {label}: the model's answers are cut off (finish_reason length) "
                    "even for a single sentence range; raise THREADSUM_MAX_TOKENS or the "
                    "server's output limit"
                ) from None
            self.warnings.append(f"chunk {label}: the answer hit max_tokens; split in two")
            first, second = await asyncio.gather(
                self.map_chunk(halves[0], label + "a"), self.map_chunk(halves[1], label + "b")
            )
            return first + second

    async def _map_once(self, chunk: Chunk, label: str) -> list[_Found]:
        view = render_chunk(self.thread, chunk)
        valid = {
            f"{key}.{k}"
            for key, (first, last) in view.sentences.items()
            for k in range(first, last + 1)
            if self.thread.by_key[view.local_to_global[key]].sentences
        }
        base = self.prompts["map"].render(
            title=one_line(self.thread.title or "(untitled)"),
            comments=view.text,
            schema=MAP_SHAPE,
        )
        messages = base
        errors: list[str] = []
        kept: MapReply | None = None
        dropped = 0
        reply = ""
        for attempt in range(self.settings.max_reasks + 1):
            reply = await self.ask(messages, "argument_map", MAP_SCHEMA)
            try:
                grounded = check_map(parse_reply(reply), valid)
            except ReplyError as e:
                errors = e.errors
            else:
                errors, dropped = grounded.errors, grounded.dropped
                kept = grounded.reply
            if not errors:
                break
            if attempt < self.settings.max_reasks:
                again = self.reask(base, reply, errors)
                if again == messages:
                    break  # the same question again would get the same answer
                self.stats.reasks += 1
                messages = again
        if errors:
            if self.settings.on_invalid == "fail":
                raise ModelOutputError(
                    f"chunk {label}: the model's answer is still invalid after "
                    f"{self.settings.max_reasks} re-ask(s): {errors[0]}",
                    attempts=self.settings.max_reasks + 1,
                    last_reply=reply,
                    errors=errors,
                )
            if kept is None or not kept.claims:
                self.warnings.append(
                    f"chunk {label}: no usable answer after {self.settings.max_reasks} "
                    f"re-ask(s) ({errors[0]}); its {len(chunk.comment_ids)} comment(s) are "
                    "not in the map"
                )
                return []
            self.warnings.append(
                f"chunk {label}: kept the valid part of the answer; dropped "
                f"{len(errors)} problem(s), e.g. {errors[0]}"
            )
        self.stats.dropped_citations += dropped
        claims = kept.claims if kept is not None else []
        return [self._globalise(c, view.local_to_global) for c in claims]

    @staticmethod
    def _globalise(claim: MapClaim, keys: dict[str, str]) -> _Found:
        def g(ids: list[str]) -> list[str]:
            out = []
            for sid in ids:
                local, _, k = sid.partition(".")
                out.append(f"{keys[local]}.{k}")
            return out

        return _Found(
            statement=claim.statement,
            evidence=g(claim.evidence),
            supporters=g(claim.supporters),
            rebuttals=[
                (r.statement, g(r.evidence), [(c.statement, g(c.evidence)) for c in r.counters])
                for r in claim.rebuttals
            ],
        )

    # --- reduce ------------------------------------------------------------------------------

    async def reduce(self, found: list[_Found]) -> tuple[str, list[tuple[str, list[int]]]]:
        """Merge chunk claims: the overview and ``(statement, indexes into found)`` per claim."""
        items = [(f"m{i + 1}", f.statement, len(f.rebuttals), [i]) for i, f in enumerate(found)]
        level = 0
        # A reduce answer restates every claim, so a group's input must fit the answer budget.
        room = min(self.settings.chunk_tokens - 800, int(self.settings.max_tokens * 0.6))
        while True:
            groups = _pack(items, room)
            results = await asyncio.gather(
                *(self._reduce_group(g, f"{level}.{n}") for n, g in enumerate(groups))
            )
            merged: list[tuple[str, str, int, list[int]]] = []
            overview = ""
            for g, (text, claims) in zip(groups, results, strict=True):
                overview = text
                by_id = {item[0]: item for item in g}
                for statement, ids in claims:
                    members = [m for mid in ids for m in by_id[mid][3]]
                    rebuttals = sum(by_id[mid][2] for mid in ids)
                    merged.append(("", statement, rebuttals, members))
            if len(groups) == 1:
                return overview, [(s, members) for _, s, _, members in merged]
            if len(merged) >= len(items):
                # No progress: the claims do not merge further; stop with what there is.
                self.warnings.append("reduce: claims could not be merged into one call")
                return overview, [(s, members) for _, s, _, members in merged]
            level += 1
            items = [(f"r{k + 1}", s, r, m) for k, (_, s, r, m) in enumerate(merged)]

    async def _reduce_group(
        self, group: list[tuple[str, str, int, list[int]]], label: str
    ) -> tuple[str, list[tuple[str, list[str]]]]:
        try:
            return await self._reduce_once(group, label)
        except TruncatedError:
            if len(group) < 2:
                raise TruncatedError(
                    f"reduce {label}: the model's answer is cut off (finish_reason length) "
                    "even for one claim; raise THREADSUM_MAX_TOKENS or the server's output limit"
                ) from None
            self.warnings.append(f"reduce {label}: the answer hit max_tokens; split in two")
            half = len(group) // 2
            (o1, c1), (_, c2) = await asyncio.gather(
                self._reduce_group(group[:half], label + "a"),
                self._reduce_group(group[half:], label + "b"),
            )
            return o1, c1 + c2

    async def _reduce_once(
        self, group: list[tuple[str, str, int, list[int]]], label: str
    ) -> tuple[str, list[tuple[str, list[str]]]]:
        ids = [item[0] for item in group]
        lines = "\n".join(
            f"{mid} [{n} rebuttals] {' '.join(neutralise(s).split())}" for mid, s, n, _ in group
        )
        base = self.prompts["reduce"].render(
            title=one_line(self.thread.title or "(untitled)"), claims=lines, schema=REDUCE_SHAPE
        )
        messages = base
        result: ReduceReply | None = None
        errors: list[str] = []
        for attempt in range(self.settings.max_reasks + 1):
            reply = await self.ask(messages, "merged_claims", REDUCE_SCHEMA)
            try:
                result, errors = check_reduce(parse_reply(reply), ids)
            except ReplyError as e:
                errors = e.errors
            if not errors:
                break
            if attempt < self.settings.max_reasks:
                again = self.reask(base, reply, errors)
                if again == messages:
                    break
                self.stats.reasks += 1
                messages = again
        if errors and self.settings.on_invalid == "fail":
            raise ModelOutputError(
                f"reduce {label}: the model's answer is still invalid after "
                f"{self.settings.max_reasks} re-ask(s): {errors[0]}",
                attempts=self.settings.max_reasks + 1,
                errors=errors,
            )
        if errors:
            self.warnings.append(f"reduce {label}: {errors[0]} (kept what was valid)")
        claims = [(c.statement, c.merges) for c in result.claims] if result else []
        placed = {mid for _, merges in claims for mid in merges}
        claims += [(s, [mid]) for mid, s, _, _ in group if mid not in placed]
        return (result.overview if result else ""), claims


def _pack(
    items: list[tuple[str, str, int, list[int]]], room: int
) -> list[list[tuple[str, str, int, list[int]]]]:
    groups: list[list[tuple[str, str, int, list[int]]]] = [[]]
    used = 0
    room = max(300, room)
    for item in items:
        cost = estimate_tokens(item[1]) + 8
        if groups[-1] and used + cost > room:
            groups.append([])
            used = 0
        groups[-1].append(item)
        used += cost
    return groups


def split_chunk(thread: Thread, chunk: Chunk) -> tuple[Chunk, Chunk] | None:
    """Two halves of a chunk's comments, each with the context its replies need.

    A chunk of one comment is halved by sentence range instead; None when it is one sentence.
    """
    members = [*chunk.continued_ids, *chunk.comment_ids]
    if len(members) == 1:
        return _split_comment(thread, chunk, members[0])
    if len(members) < 2:
        return None
    half = len(members) // 2
    parts = []
    for n, ids in enumerate((members[:half], members[half:])):
        inside = set(ids)
        context = list(chunk.context_ids)
        for cid in ids:
            p = thread.by_id[cid].parent_id
            while p is not None and p not in inside and p not in context and p in members:
                context.append(p)
                p = thread.by_id[p].parent_id
        order = {c.id: i for i, c in enumerate(thread.comments)}
        context.sort(key=order.__getitem__)
        parts.append(
            Chunk(
                index=chunk.index,
                comment_ids=tuple(c for c in ids if c in chunk.comment_ids),
                continued_ids=tuple(c for c in ids if c in chunk.continued_ids),
                context_ids=tuple(context),
                segments=tuple(s for s in chunk.segments if s.comment_id in inside),
                tokens=chunk.tokens // 2,
                digest=f"{chunk.digest}{'ab'[n]}",
            )
        )
    return parts[0], parts[1]


def _split_comment(thread: Thread, chunk: Chunk, cid: str) -> tuple[Chunk, Chunk] | None:
    ranges = {seg.comment_id: (seg.first, seg.last) for seg in chunk.segments}
    first, last = ranges.get(cid, (1, len(thread.by_id[cid].sentences)))
    if last <= first:
        return None
    mid = (first + last) // 2
    head = Chunk(
        index=chunk.index,
        comment_ids=chunk.comment_ids,
        continued_ids=chunk.continued_ids,
        context_ids=chunk.context_ids,
        segments=(ChunkSegment(comment_id=cid, first=first, last=mid),),
        tokens=chunk.tokens // 2,
        digest=f"{chunk.digest}a",
    )
    tail = Chunk(
        index=chunk.index,
        comment_ids=(),
        continued_ids=(cid,),
        context_ids=chunk.context_ids,
        segments=(ChunkSegment(comment_id=cid, first=mid + 1, last=last),),
        tokens=chunk.tokens // 2,
        digest=f"{chunk.digest}b",
    )
    return head, tail


async def fit_to_context(model: ChatModel, settings: Settings) -> tuple[Settings, str | None]:
    """Shrink chunks and answers to the model's context, where the server reports it.

    Servers such as vLLM and llama.cpp report their context length on ``/v1/models``; a chunk
    plus the instructions plus the answer must fit in it. Replay never asks the server.
    """
    probe = getattr(model, "context_length", None)
    if probe is None or settings.cache == "replay":
        return settings, None
    context = await probe()
    if not isinstance(context, int) or context <= 0:
        return settings, None
    max_tokens = min(settings.max_tokens, max(256, context // 4))
    budget = min(settings.chunk_tokens, context - max_tokens - PROMPT_OVERHEAD)
    if budget < MIN_BUDGET:
        raise UsageError(
            f"the model's context of {context} tokens is too small: threadsum needs at least "
            f"{MIN_BUDGET + max_tokens + PROMPT_OVERHEAD}"
        )
    if (max_tokens, budget) == (settings.max_tokens, settings.chunk_tokens):
        return settings, None
    note = (
        f"sized to the model's context of {context} tokens: chunks of at most {budget} "
        f"tokens, answers of at most {max_tokens}"
    )
    return settings.model_copy(update={"max_tokens": max_tokens, "chunk_tokens": budget}), note


def prompt_digest(prompts: dict[str, Prompt]) -> str:
    """One digest over every prompt the engine uses."""
    joined = "|".join(f"{name}:{p.digest}" for name, p in sorted(prompts.items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def load_engine_prompts(directory: Path | None = None) -> dict[str, Prompt]:
    """The map, reduce and re-ask prompts, checked."""
    where = directory or default_prompts_dir()
    return {name: load_prompt(name, where) for name in ("map", "reduce", "reask")}


def _build_claims(thread: Thread, groups: list[tuple[str, list[_Found]]]) -> list[Claim]:
    drafts = []
    for statement, founds in groups:
        evidence = list(dict.fromkeys(s for f in founds for s in f.evidence))
        supporters = [
            s for s in dict.fromkeys(s for f in founds for s in f.supporters) if s not in evidence
        ]
        rebuttals = [r for f in founds for r in f.rebuttals]
        keys = {s.partition(".")[0] for s in evidence + supporters}
        comments = [thread.by_key[k] for k in keys]
        authors = {c.author for c in comments if c.author} | {
            f"#{c.id}" for c in comments if not c.author
        }
        first = min((int(k[1:]) for k in keys), default=0)
        drafts.append((statement, evidence, supporters, rebuttals, len(keys), len(authors), first))
    drafts.sort(key=lambda d: (-d[5], -len(d[3]), d[6]))
    claims = []
    for n, (statement, evidence, supporters, rebuttals, n_comments, n_authors, _) in enumerate(
        drafts[:MAX_CLAIMS], start=1
    ):
        claims.append(
            Claim(
                id=f"K{n}",
                statement=" ".join(statement.split()),
                prevalence=Prevalence(comments=n_comments, authors=n_authors),
                evidence=_cite(thread, evidence),
                supporters=_cite(thread, supporters),
                rebuttals=[
                    Rebuttal(
                        id=f"K{n}.R{m}",
                        statement=" ".join(r_statement.split()),
                        evidence=_cite(thread, r_evidence),
                        counters=[
                            Counter(statement=" ".join(cs.split()), evidence=_cite(thread, ce))
                            for cs, ce in counters
                        ],
                    )
                    for m, (r_statement, r_evidence, counters) in enumerate(rebuttals, start=1)
                ],
            )
        )
    return claims


def _cite(thread: Thread, ids: list[str]) -> list[Citation]:
    def position(sid: str) -> tuple[int, int]:
        key, _, k = sid.partition(".")
        return int(key[1:]), int(k)  # keys are numbered in thread order

    return cite(thread, sorted(dict.fromkeys(ids), key=position))


def _template_overview(thread: Thread, claims: list[Claim]) -> str:
    """The overview of a one-call summary (the map prompt writes none)."""
    n = len(thread.comments)
    unnamed = any(c.status == "ok" and not c.author for c in thread.comments)
    authors = thread.authors
    who = f" by {authors} author{'s' * (authors != 1)}" if authors and not unnamed else ""
    head = f"{n} comment{'s' * (n != 1)}{who}."
    if not claims:
        return head + " No claims were found."
    listed = "; ".join(f"“{c.statement.rstrip('.')}”" for c in claims[:3])
    return f"{head} Main claims: {listed}."


async def summarize_llm(
    thread: Thread,
    settings: Settings,
    model: ChatModel,
    cache: AnswerCache,
    prompts: dict[str, Prompt] | None = None,
) -> ThreadSummary:
    """The argument map of ``thread`` from a model, through ``cache``."""
    started = time.perf_counter()
    prompts = prompts or load_engine_prompts(settings.prompts_dir)
    settings, sized = await fit_to_context(model, settings)
    run = _Run(thread, settings, model, cache, prompts)
    if sized:
        run.warnings.append(sized)
    chunks = chunk_thread(thread, settings.chunk_tokens)
    run.stats.chunks = len(chunks)
    per_chunk = await asyncio.gather(*(run.map_chunk(ch, str(ch.index)) for ch in chunks))
    found = [f for fs in per_chunk for f in fs]
    if len(chunks) == 1 or len(found) <= 1:
        groups = [(f.statement, [f]) for f in found]
        overview = ""
    else:
        overview, merged = await run.reduce(found)
        groups = [(statement, [found[i] for i in members]) for statement, members in merged]
    claims = _build_claims(thread, groups)
    if len(groups) > MAX_CLAIMS:
        run.warnings.append(f"{len(groups) - MAX_CLAIMS} further claim(s) are not shown")
    overview = " ".join(overview.split()) or _template_overview(thread, claims)
    run.stats.elapsed_s = (
        0.0 if settings.cache == "replay" else round(time.perf_counter() - started, 3)
    )
    modes = sorted(m for m in run.modes if m)
    names = sorted(n for n in run.model_names if n)
    return ThreadSummary(
        thread=ThreadInfo.of(thread),
        engine=EngineInfo(
            kind="llm",
            model=names[0] if len(names) == 1 else (settings.model or ", ".join(names)),
            output_mode=", ".join(modes) or settings.output_mode,
            prompt_digest=prompt_digest(prompts),
            version="llm-1",
        ),
        overview=overview,
        claims=claims,
        stats=run.stats,
        warnings=[*thread.warnings, *run.warnings],
    )
