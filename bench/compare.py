"""threadsum side by side with what users pick instead, on the same work against the same model.

    python3 -m pip install -e ".[bench]" && python3 bench/compare.py [--write-results]

Three ways to summarize a discussion thread, each run on the same workloads against one
simulated model (``threadsum mock-llm``'s server, started here in a child process, with a cost
model like a hosted model's and ``answer_any`` on so it answers every prompt):

* **threadsum** — ``--engine llm`` through :func:`service.summarize` with its real model
  client (cache off, so every call reaches the model); the batch through
  :func:`service.batch.run_batch_file`.
* **one-shot** — the whole thread as ``author: text`` lines in one prompt asking for the main
  themes with supporting quotes, through the ``openai`` client (what HN summary scripts do).
  A thread over the context limit fails with the server's 400, as a user would see it.
* **map_reduce** — LangChain's documented summarization chain,
  ``load_summarize_chain(llm, chain_type="map_reduce", token_max=…)`` with its default prompts,
  over the same ``author: text`` lines split by ``RecursiveCharacterTextSplitter``, with
  ``ChatOpenAI(base_url=…, api_key="x", model=…)``; ``ainvoke`` for one thread, ``abatch`` with
  ``max_concurrency`` for the batch.

Workloads: the example page, generated threads of 100, 1,000 and 5,000 comments, and a batch of
50 threads of mixed sizes, every pipeline at the same concurrency under the same server cap.
Per approach and workload: model calls, prompt and completion tokens (the server's counts,
reset between runs), wall time, the model's busy time (the cost model summed over the calls the
server answered), success, and for threadsum the share of quotes that are verbatim substrings
of the cited comment. Then threadsum's own figures: orchestration overhead per call at zero
latency, batch throughput against the ideal, 5,000-comment parse+chunk time and peak memory,
and how much of a grown thread's map work the cache serves.

``--write-results`` also writes ``bench/RESULTS.md`` from this run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai

from service import Settings, Thread, ThreadSummary, chunk_thread, read_thread, summarize
from service.cli.batchfile import run_batch_file
from service.devtools.mock.timeline import after_maps
from service.devtools.mockllm import MockConfig, running
from service.devtools.synthetic import synthetic_thread
from service.text.tokens import estimate_tokens

ROOT = Path(__file__).resolve().parent.parent
MODEL = "threadsum-mock"
SEED = 42
SIZES = (100, 1000, 5000)
BATCH_THREADS = 50
BATCH_SIZES = (10, 400)  # comments per batch thread: log-uniform, so most threads are small
ONE_SHOT_PROMPT = (
    "Below is a discussion thread from Hacker News, one comment per line as `author: text`.\n"
    "Summarize the discussion: list its main themes, and for each theme give one or two "
    "supporting quotes from the comments, with their authors.\n\n"
    "Title: {title}\n\n{lines}"
)


# --- the simulated model -------------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    """What one call costs on the simulated model (the mock sleeps this long per request)."""

    latency_ms: float
    ms_per_prompt_token: float
    ms_per_token: float
    context_limit: int
    max_concurrency: int

    def busy_s(self, stats: dict[str, Any]) -> float:
        """Seconds the model spent serving the calls in ``stats`` (rejected calls cost none)."""
        served = stats["requests"] - stats["rejected"] - stats["faults"]
        ms = served * self.latency_ms
        ms += stats["prompt_tokens"] * self.ms_per_prompt_token
        ms += stats["completion_tokens"] * self.ms_per_token
        return ms / 1000


_SERVE = """
import json, sys
from service.devtools.mockllm import MockConfig, serve
serve(MockConfig(**json.loads(sys.argv[1])), port=int(sys.argv[2]))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def mock_server(cost: Cost) -> Iterator[str]:
    """The mock model server in a child process (its own core and GIL); yields its base URL."""
    config = {
        "model": MODEL,
        "latency_ms": cost.latency_ms,
        "ms_per_prompt_token": cost.ms_per_prompt_token,
        "ms_per_token": cost.ms_per_token,
        "context_limit": cost.context_limit,
        "max_concurrency": cost.max_concurrency,
        "answer_any": True,
    }
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE, json.dumps(config), str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(root + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the mock model server did not start")
        yield root + "/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _root(url: str) -> str:
    return url.removesuffix("/v1")


def reset(url: str) -> None:
    httpx.post(_root(url) + "/mock/reset").raise_for_status()


def server_stats(url: str) -> dict[str, Any]:
    response = httpx.get(_root(url) + "/mock/stats")
    response.raise_for_status()
    return dict(response.json())


# --- workloads -----------------------------------------------------------------------------------


@dataclass
class Workload:
    name: str
    threads: list[Thread]
    docs: list[dict[str, Any]] | None = None  # native JSON of each thread (for the batch runner)

    @property
    def comments(self) -> int:
        return sum(len(t.comments) for t in self.threads)


def workloads(seed: int) -> list[Workload]:
    page = read_thread((ROOT / "fixtures/threads/hn-comment-page.txt").read_bytes())
    out = [Workload("example page", [page])]
    for n in SIZES:
        out.append(
            Workload(f"{n:,} comments", [read_thread(json.dumps(synthetic_thread(n, seed)))])
        )
    rng = random.Random(seed)
    lo, hi = BATCH_SIZES
    docs = [
        synthetic_thread(
            round(math.exp(rng.uniform(math.log(lo), math.log(hi)))), seed + i, thread_id=f"b{i}"
        )
        for i in range(BATCH_THREADS)
    ]
    threads = [read_thread(json.dumps(d)) for d in docs]
    out.append(Workload(f"batch of {BATCH_THREADS}", threads, docs))
    return out


def as_lines(thread: Thread) -> str:
    """The thread as ``author: text`` lines, the way summary scripts paste one into a prompt."""
    return "\n".join(
        f"{c.author or 'anonymous'}: {' '.join(c.text.split())}"
        for c in thread.comments
        if c.text.strip()
    )


# --- the approaches ------------------------------------------------------------------------------


@dataclass
class Outcome:
    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    quotes: int = 0
    verbatim: int = 0
    claims: int = 0
    answer_tokens: list[int] = field(default_factory=list)  # peers: length of the final answer
    largest_prompt: int = 0  # one-shot: the estimated tokens of its largest prompt


def _citations(summary: ThreadSummary) -> Iterator[Any]:
    for claim in summary.claims:
        yield from claim.evidence
        yield from claim.supporters
        for rebuttal in claim.rebuttals:
            yield from rebuttal.evidence
            for counter in rebuttal.counters:
                yield from counter.evidence


def check_quotes(summary: ThreadSummary, thread: Thread, out: Outcome) -> None:
    """Count the summary's quotes, and those that are a substring of the cited comment."""
    out.claims += len(summary.claims)
    for citation in _citations(summary):
        out.quotes += 1
        comment = thread.by_id.get(citation.comment_id)
        if comment is not None and citation.quote and citation.quote in comment.text:
            out.verbatim += 1


def _settings(url: str, cache_dir: Path, cache: str, concurrency: int) -> Settings:
    return Settings(
        base_url=url,
        model=MODEL,
        engine="llm",
        cache=cache,  # type: ignore[arg-type]
        cache_dir=cache_dir,
        concurrency=concurrency,
        batch_concurrency=concurrency,
    )


async def run_threadsum(
    work: Workload, url: str, concurrency: int, tmp: Path, cache: str = "off"
) -> Outcome:
    out = Outcome()
    settings = _settings(url, tmp / "cache", cache, concurrency)
    tmp.mkdir(parents=True, exist_ok=True)
    if work.docs is None:
        (thread,) = work.threads
        summary = await summarize(thread, settings, engine="llm")
        out.ok = 1
        check_quotes(summary, thread, out)
        return out
    src, dst = tmp / "batch.jsonl", tmp / "batch.out.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in work.docs), encoding="utf-8")
    await run_batch_file(src, dst, settings, concurrency=concurrency, resume=False)
    for line in dst.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["status"] != "ok":
            out.failed += 1
            out.errors.append(record["error"]["detail"])
            continue
        out.ok += 1
        thread = work.threads[record["line"] - 1]
        check_quotes(ThreadSummary.model_validate(record["summary"]), thread, out)
    return out


async def run_one_shot(work: Workload, url: str, concurrency: int) -> Outcome:
    out = Outcome()
    gate = asyncio.Semaphore(concurrency)
    async with openai.AsyncOpenAI(base_url=url, api_key="x") as client:

        async def one(thread: Thread) -> None:
            prompt = ONE_SHOT_PROMPT.format(title=thread.title or "", lines=as_lines(thread))
            out.largest_prompt = max(out.largest_prompt, estimate_tokens(prompt))
            async with gate:
                try:
                    answer = await client.chat.completions.create(
                        model=MODEL, messages=[{"role": "user", "content": prompt}], temperature=0
                    )
                except openai.BadRequestError as e:
                    out.failed += 1
                    out.errors.append(f"{e.status_code} {e.code}")
                    return
            out.ok += 1
            out.answer_tokens.append(estimate_tokens(answer.choices[0].message.content or ""))

        await asyncio.gather(*(one(t) for t in work.threads))
    return out


class MapReduce:
    """LangChain's map_reduce summarization chain with its default prompts."""

    def __init__(self, url: str, chunk_tokens: int, token_max: int) -> None:
        from langchain_classic.chains.summarize import load_summarize_chain
        from langchain_openai import ChatOpenAI
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        # Token counts: ChatOpenAI counts with tiktoken, which downloads its encodings on first
        # use and fails offline; custom_get_token_ids (a documented BaseLanguageModel field)
        # swaps in the estimator the server and threadsum count with.
        llm = ChatOpenAI(
            base_url=url,
            api_key="x",  # type: ignore[arg-type]
            model=MODEL,
            temperature=0,
            custom_get_token_ids=lambda text: [0] * estimate_tokens(text),
        )
        self.chain = load_summarize_chain(llm, chain_type="map_reduce", token_max=token_max)
        # chunk_size in tokens (length_function); the default chunk_overlap (200) stays.
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_tokens, length_function=estimate_tokens
        )

    def inputs(self, thread: Thread) -> dict[str, Any]:
        return {"input_documents": self.splitter.create_documents([as_lines(thread)])}

    async def run(self, work: Workload, concurrency: int) -> Outcome:
        out = Outcome()
        if len(work.threads) == 1:
            results: list[Any] = [await _catch(self.chain.ainvoke(self.inputs(work.threads[0])))]
        else:
            results = await self.chain.abatch(
                [self.inputs(t) for t in work.threads],
                config={"max_concurrency": concurrency},
                return_exceptions=True,
            )
        for result in results:
            if isinstance(result, BaseException):
                out.failed += 1
                out.errors.append(f"{type(result).__name__}: {result}"[:200])
            else:
                out.ok += 1
                out.answer_tokens.append(estimate_tokens(result["output_text"]))
        return out


async def _catch(aw: Awaitable[Any]) -> Any:
    try:
        return await aw
    except Exception as e:  # noqa: BLE001 - a failed run is a figure of the table, not a crash
        return e


# --- the side-by-side run ------------------------------------------------------------------------


@dataclass
class Row:
    workload: str
    approach: str
    comments: int
    threads: int
    outcome: Outcome
    stats: dict[str, Any]
    wall_s: float
    busy_s: float

    @property
    def ok(self) -> bool:
        return self.outcome.failed == 0


APPROACHES = ("threadsum", "one-shot", "map_reduce")


async def compare(
    url: str, cost: Cost, works: list[Workload], args: argparse.Namespace, tmp: Path
) -> tuple[list[Row], dict[str, Any]]:
    """Every approach on every workload, then the growth figure, in one event loop.

    One loop for all: ChatOpenAI shares one cached async HTTP client per base URL, which must
    not outlive the loop it was made in.
    """
    mapreduce = MapReduce(url, args.chunk_tokens, args.token_max)
    growth_cache = tmp / "growth-cache"
    cap = cost.max_concurrency

    def start(name: str, work: Workload, n: int) -> Awaitable[Outcome]:
        if name == "threadsum":
            # The 1,000-comment run fills a cache for the growth figure: "refresh" asks the
            # model every time, like "off", and stores the answers.
            if work.name == "1,000 comments":
                return run_threadsum(work, url, cap, growth_cache, "refresh")
            return run_threadsum(work, url, cap, tmp / f"run-{n}", "off")
        if name == "one-shot":
            return run_one_shot(work, url, cap)
        return mapreduce.run(work, cap)

    rows: list[Row] = []
    for work in works:
        for name in APPROACHES:
            reset(url)
            t0 = time.perf_counter()
            outcome = await _run_outcome(start(name, work, len(rows)))
            wall = time.perf_counter() - t0
            stats = server_stats(url)
            row = Row(
                work.name,
                name,
                work.comments,
                len(work.threads),
                outcome,
                stats,
                wall,
                cost.busy_s(stats),
            )
            rows.append(row)
            print(_row_line(row), flush=True)
    growth = await growth_figures(url, growth_cache / "cache", 1000, args.seed, cap)
    return rows, growth


async def _run_outcome(aw: Awaitable[Outcome]) -> Outcome:
    try:
        return await aw
    except Exception as e:  # noqa: BLE001 - a failed run is a figure of the table, not a crash
        return Outcome(failed=1, errors=[f"{type(e).__name__}: {e}"[:200]])


def _row_line(row: Row) -> str:
    o, s = row.outcome, row.stats
    return (
        f"{row.workload:<16} {row.approach:<11} ok {o.ok}/{o.ok + o.failed}  calls "
        f"{s['requests']:>4}  prompt {s['prompt_tokens']:>8,}  completion "
        f"{s['completion_tokens']:>7,}  wall {row.wall_s:7.1f} s  busy {row.busy_s:7.1f} s"
        + (f"  [{o.errors[0]}]" if o.errors else "")
    )


# --- threadsum's own figures ---------------------------------------------------------------------


def parse_chunk_figures(n: int, budget: int, repeat: int) -> dict[str, float]:
    """bench/parse_chunk.py's method: median parse and chunk time, tracemalloc peak, max RSS,
    and ``json.loads`` of the same bytes (what this machine's speed makes of a plain read)."""
    doc = json.dumps(synthetic_thread(n, seed=SEED)).encode()
    settings = Settings(chunk_tokens=budget)
    parse_s, chunk_s, loads_s = [], [], []
    chunks = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        json.loads(doc)
        loads_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        thread = read_thread(doc, "auto", settings)
        t1 = time.perf_counter()
        chunks = len(chunk_thread(thread, budget))
        t2 = time.perf_counter()
        parse_s.append(t1 - t0)
        chunk_s.append(t2 - t1)
    tracemalloc.start()
    thread = read_thread(doc, "auto", settings)
    chunk_thread(thread, budget)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "parse_ms": statistics.median(parse_s) * 1000,
        "loads_ms": statistics.median(loads_s) * 1000,
        "chunk_ms": statistics.median(chunk_s) * 1000,
        "chunks": chunks,
        "peak_mb": peak / 1e6,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "json_mb": len(doc) / 1e6,
    }


def _bench_llm() -> Any:
    """bench/llm.py as a module (its run helper, instant model and recorder)."""
    spec = importlib.util.spec_from_file_location("bench_llm", ROOT / "bench" / "llm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def overhead_figures(tmp: Path, repeat: int) -> dict[str, float]:
    """bench/llm.py's method: ms per model call, engine alone and full stack at zero latency."""
    bl = _bench_llm()
    from service.model.client import ModelClient

    thread = read_thread(json.dumps(synthetic_thread(2000, seed=7)))
    with running(MockConfig()) as url:
        small = Settings(base_url=url, model=MODEL, chunk_tokens=1000, concurrency=8)
        recorder = bl._Recorder(ModelClient(base_url=url, model=MODEL, api_key=None, concurrency=8))
        summary, _ = asyncio.run(bl._run(thread, small, "off", tmp / "o", recorder))
        calls = summary.stats.llm_calls
        engine, full = [], []
        for _ in range(repeat):
            _, t = asyncio.run(
                bl._run(thread, small, "off", tmp / "o", bl._Instant(recorder.answers))
            )
            engine.append(t / calls * 1000)
            _, t = asyncio.run(bl._run(thread, small, "off", tmp / "o"))
            full.append(t / calls * 1000)
    return {
        "calls": calls,
        "engine_ms": statistics.median(engine),
        "full_ms": statistics.median(full),
    }


def batch_ideal_figures(tmp: Path, cost: Cost, n: int) -> dict[str, float]:
    """bench/http_service.py's method through the batch runner: one-call threads, fixed latency.

    The model costs its fixed latency per call and nothing per token (300 ms if the run's cost
    model has none), so the ideal is exactly concurrency ÷ latency.
    """
    latency = cost.latency_ms or 300.0
    fixed = Cost(latency, 0.0, 0.0, cost.context_limit, cost.max_concurrency)
    src, dst = tmp / "tiny.jsonl", tmp / "tiny.out.jsonl"
    src.write_text(
        "".join(
            json.dumps(synthetic_thread(5, seed=i, thread_id=f"t{i}")) + "\n" for i in range(n)
        ),
        encoding="utf-8",
    )
    with mock_server(fixed) as url:
        settings = _settings(url, tmp / "tiny-cache", "off", cost.max_concurrency)
        t0 = time.perf_counter()
        code = asyncio.run(
            run_batch_file(src, dst, settings, concurrency=cost.max_concurrency, resume=False)
        )
        elapsed = time.perf_counter() - t0
        calls = server_stats(url)["requests"]
    rate = n / elapsed
    ideal = cost.max_concurrency / (latency / 1000)
    return {
        "threads": n,
        "calls": calls,
        "rate": rate,
        "ideal": ideal,
        "exit": code,
        "latency": latency,
    }


async def growth_figures(
    url: str, cache_dir: Path, n: int, seed: int, concurrency: int
) -> dict[str, Any]:
    """Re-summarize the n-comment thread grown by 10%, cache on (the n-comment run filled it)."""
    base_doc = synthetic_thread(n, seed)
    grown_doc = synthetic_thread(n * 11 // 10, seed)
    grown_doc["title"] = base_doc["title"]  # the generator puts the size in it; a real title stays
    base = read_thread(json.dumps(base_doc))
    grown = read_thread(json.dumps(grown_doc))
    assert [c.text for c in grown.comments if c.id in base.by_id] == [
        c.text for c in base.comments
    ], "the grown thread must keep the first comments"
    settings = _settings(url, cache_dir, "use", concurrency)
    reset(url)
    t0 = time.perf_counter()
    summary = await summarize(grown, settings, engine="llm")
    wall = time.perf_counter() - t0
    stats = server_stats(url)
    maps = summary.stats.chunks
    map_misses = stats["by_kind"]["map"]
    # Why chunks miss: a chunk is reused only if none of its comments (or its context) drew a
    # new reply, since the chunk's text is its comments' whole subtrees.
    before = {c.digest for c in chunk_thread(base, 6000)}
    after = chunk_thread(grown, 6000)
    old_children = {c.id: c.children for c in base.comments}
    touched = {
        c.id for c in grown.comments if c.id in old_children and c.children != old_children[c.id]
    }
    untouched = [ch for ch in after if not touched & (set(ch.comment_ids) | set(ch.continued_ids))]
    # Where the new replies landed: which top-level subtrees of the original grew.
    top: dict[str, str] = {}
    for c in grown.comments:  # depth-first: a parent comes before its replies
        top[c.id] = c.id if c.parent_id is None else top[c.parent_id]
    grew = {top[c.id] for c in grown.comments if c.id not in base.by_id} & set(base.roots)
    in_grown_subtrees = sum(top[c.id] in grew for c in base.comments)
    return {
        "roots": len(base.roots),
        "roots_grew": len(grew),
        "comments_in_grown_subtrees": in_grown_subtrees,
        "new_roots": sum(
            1 for c in grown.comments if c.parent_id is None and c.id not in base.by_id
        ),
        "added": len(grown.comments) - len(base.comments),
        "touched": len(touched),
        "maps": maps,
        "map_hits": maps - map_misses,
        "reduce_calls": stats["by_kind"]["reduce"] + stats["by_kind"].get("overview", 0),
        "hits": summary.stats.cache_hits,
        "calls": stats["requests"],
        "wall_s": wall,
        "unchanged_chunks": sum(ch.digest in before for ch in after),
        "untouched_chunks": len(untouched),
        "new_only_chunks": sum(
            all(cid not in base.by_id for cid in ch.comment_ids) for ch in after
        ),
    }


# --- output --------------------------------------------------------------------------------------


def _int(n: int) -> str:
    return f"{n:,}"


def _ratio(a: float, b: float) -> str:
    if b == 0:
        return "—"
    r = a / b
    return f"{r:.2f}×" if r < 10 else f"{r:.0f}×"


def table(rows: list[Row], cap: int) -> str:
    head = (
        "| workload | approach | handled | calls | prompt tokens | completion tokens "
        "| wall s | model busy s | slots busy | verbatim quotes |\n"
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
    )
    lines = []
    for r in rows:
        o, s = r.outcome, r.stats
        handled = f"{o.ok}/{o.ok + o.failed}" if r.threads > 1 else ("yes" if r.ok else "**no**")
        if not r.ok and o.errors:
            handled += f" ({_why(o.errors)})"
        if o.largest_prompt:
            handled += f"; prompt up to {_int(o.largest_prompt)} tokens"
        if r.approach == "threadsum" and o.quotes:
            quotes = f"{o.verbatim}/{o.quotes} ({o.verbatim / o.quotes:.0%}), {o.claims} claims"
        elif r.approach == "threadsum":
            quotes = "no quotes"
        else:
            quotes = "n/a (plain text)"
        lines.append(
            f"| {r.workload} | {r.approach} | {handled} | {s['requests']} "
            f"| {_int(s['prompt_tokens'])} | {_int(s['completion_tokens'])} "
            f"| {r.wall_s:.1f} | {r.busy_s:.1f} | {r.busy_s / (r.wall_s * cap):.0%} | {quotes} |"
        )
    return head + "\n".join(lines) + "\n"


def _why(errors: list[str]) -> str:
    if all("context_length_exceeded" in e for e in errors):
        return "over the context limit"
    return errors[0]


def ratio_table(rows: list[Row]) -> str:
    by = {(r.workload, r.approach): r for r in rows}
    head = (
        "| workload | threadsum ÷ | calls | prompt tokens | completion tokens | wall time |\n"
        "| --- | --- | ---: | ---: | ---: | ---: |\n"
    )
    lines = []
    for workload in dict.fromkeys(r.workload for r in rows):
        ts = by[(workload, "threadsum")]
        for peer in APPROACHES[1:]:
            p = by[(workload, peer)]
            if p.outcome.ok == 0:
                lines.append(f"| {workload} | {peer} | peer failed | | | |")
                continue
            note = (
                "" if p.ok else f" (peer handled {p.outcome.ok}/{p.outcome.ok + p.outcome.failed})"
            )
            lines.append(
                f"| {workload} | {peer}{note} "
                f"| {_ratio(ts.stats['requests'], p.stats['requests'])} "
                f"| {_ratio(ts.stats['prompt_tokens'], p.stats['prompt_tokens'])} "
                f"| {_ratio(ts.stats['completion_tokens'], p.stats['completion_tokens'])} "
                f"| {_ratio(ts.wall_s, p.wall_s)} |"
            )
    return head + "\n".join(lines) + "\n"


def own_figures(
    rows: list[Row],
    pc: dict[str, float],
    oh: dict[str, float],
    bi: dict[str, float],
    gr: dict[str, Any],
    cost: Cost,
) -> str:
    batch = next(r for r in rows if r.approach == "threadsum" and r.threads > 1)
    cap_ideal = batch.busy_s / cost.max_concurrency
    share = gr["map_hits"] / gr["maps"] if gr["maps"] else 0.0
    return (
        f"- **Orchestration overhead per model call** ({oh['calls']:.0f} calls on a "
        f"2,000-comment thread, chunks of 1,000 tokens, cache off, zero model latency, median "
        f"of runs): engine alone (instant in-process model) {oh['engine_ms']:.2f} ms; full stack "
        f"(client, HTTP, mock server) {oh['full_ms']:.2f} ms.\n"
        f"- **Batch throughput vs the ideal**: {bi['threads']:.0f} one-call threads, model latency "
        f"{bi['latency']:g} ms, concurrency {cost.max_concurrency}: {bi['rate']:.1f} threads/s "
        f"against an ideal of {bi['ideal']:.1f} (concurrency ÷ latency), "
        f"{bi['rate'] / bi['ideal']:.0%} of ideal. On the mixed batch above, the model was busy "
        f"{batch.busy_s:.0f} s in all, so {cost.max_concurrency} slots kept full would take "
        f"{cap_ideal:.0f} s; the run took {batch.wall_s:.0f} s ({cap_ideal / batch.wall_s:.0%} "
        f"of that bound).\n"
        f"- **Parse + chunk, 5,000 comments** ({pc['json_mb']:.1f} MB of JSON, {pc['chunks']:.0f} "
        f"chunks at 6,000 tokens): parse {pc['parse_ms']:.0f} ms + chunk {pc['chunk_ms']:.0f} ms "
        f"= {pc['parse_ms'] + pc['chunk_ms']:.0f} ms (median), "
        f"{(pc['parse_ms'] + pc['chunk_ms']) / pc['loads_ms']:.1f}× a bare `json.loads` of the "
        f"same bytes ({pc['loads_ms']:.0f} ms here); peak Python heap "
        f"{pc['peak_mb']:.1f} MB (tracemalloc), process max RSS {pc['rss_mb']:.0f} MB at that "
        f"point.\n"
        f"- **Grown thread, cache on**: the 1,000-comment thread grown to "
        f"{1000 + gr['added']:,} comments (the first 1,000 identical, the title kept) and "
        f"summarized again with the cache the cold run filled. Map calls served from the cache: "
        f"**{gr['map_hits']} of {gr['maps']} ({share:.0%})**, against an aim of 80%; the rest "
        f"went to the model with {gr['reduce_calls']} reduce calls ({gr['calls']} calls, "
        f"{gr['wall_s']:.0f} s, against {_base_calls(rows)} calls cold). Why: a chunk is "
        f"cached whole, and its text is whole subtrees, so one new reply anywhere in it makes "
        f"it new. The {gr['added']} new comments replied to {gr['touched']} existing ones "
        f"({gr['new_roots']} started new subtrees), and they landed where threads grow — in "
        f"the big, active subtrees: {gr['roots_grew']} of {gr['roots']} top-level subtrees "
        f"grew, but those hold {gr['comments_in_grown_subtrees']:,} of the 1,000 old comments. "
        f"Only {gr['untouched_chunks']} of the grown thread's {gr['maps']} chunks hold no "
        f"comment that drew a reply, and {gr['unchanged_chunks']} "
        f"{'is' if gr['unchanged_chunks'] == 1 else 'are'} byte-identical to an old chunk.\n"
    )


def _base_calls(rows: list[Row]) -> int:
    return int(next(r for r in rows if r.workload == "1,000 comments").stats["requests"])


def machine() -> str:
    model = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=False
        ).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    return (
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def versions() -> str:
    names = [
        "threadsum",
        "openai",
        "httpx",
        "langchain-classic",
        "langchain-core",
        "langchain-openai",
        "langchain-text-splitters",
    ]
    parts = []
    for name in names:
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--latency-ms", type=float, default=300, help="fixed time per call")
    ap.add_argument("--ms-per-prompt-token", type=float, default=0.02)
    ap.add_argument("--ms-per-token", type=float, default=5, help="per completion token")
    ap.add_argument("--context-limit", type=int, default=16000)
    ap.add_argument("--max-concurrency", type=int, default=8)
    ap.add_argument("--chunk-tokens", type=int, default=6000, help="map_reduce chunk size")
    ap.add_argument("--token-max", type=int, default=12000, help="map_reduce token_max")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--write-results", action="store_true", help="write bench/RESULTS.md")
    args = ap.parse_args()
    cost = Cost(
        args.latency_ms,
        args.ms_per_prompt_token,
        args.ms_per_token,
        args.context_limit,
        args.max_concurrency,
    )
    # LLMChain and the combine-documents chains behind load_summarize_chain are deprecated in
    # LangChain 1.x (still documented, still shipped in langchain-classic): quiet the warnings.
    warnings.filterwarnings("ignore", message=".*deprecat.*")
    started = time.perf_counter()

    pc = parse_chunk_figures(5000, 6000, 3)  # first, so max RSS is parse+chunk's, not the rest
    print(f"parse+chunk, 5,000 comments: {pc}", flush=True)
    works = workloads(args.seed)
    for w in works:
        print(f"{w.name}: {len(w.threads)} thread(s), {w.comments:,} comments", flush=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with mock_server(cost) as url:
            rows, gr = asyncio.run(compare(url, cost, works, args, tmp))
        print(f"growth: {gr}", flush=True)
        oh = overhead_figures(tmp, 3)
        print(f"overhead: {oh}", flush=True)
        bi = batch_ideal_figures(tmp, cost, 200)
        print(f"batch vs ideal: {bi}", flush=True)
    total = time.perf_counter() - started

    flags = [
        f"--{key.replace('_', '-')} {value:g}"
        for key, value in vars(args).items()
        if key != "write_results" and value != ap.get_default(key)
    ]
    command = " ".join(["python3 bench/compare.py", *flags, "--write-results"])
    report = render(rows, pc, oh, bi, gr, cost, args, command, total)
    print("\n" + report)
    if args.write_results:
        (ROOT / "bench" / "RESULTS.md").write_text(report, encoding="utf-8")
        print("wrote bench/RESULTS.md")


def render(
    rows: list[Row],
    pc: dict[str, float],
    oh: dict[str, float],
    bi: dict[str, float],
    gr: dict[str, Any],
    cost: Cost,
    args: argparse.Namespace,
    command: str,
    total: float,
) -> str:
    return RESULTS_TEMPLATE.format(
        command=command,
        machine=machine(),
        versions=versions(),
        total=total,
        latency=cost.latency_ms,
        ppt=cost.ms_per_prompt_token,
        ppt_10k=cost.ms_per_prompt_token * 10,
        pct=cost.ms_per_token,
        tps=1000 / cost.ms_per_token if cost.ms_per_token else math.inf,
        prefill=1000 / cost.ms_per_prompt_token if cost.ms_per_prompt_token else math.inf,
        context=cost.context_limit,
        cap=cost.max_concurrency,
        one_slot=100 / cost.max_concurrency,
        chunk=args.chunk_tokens,
        token_max=args.token_max,
        seed=args.seed,
        table=table(rows, cost.max_concurrency),
        ratios=ratio_table(rows),
        own=own_figures(rows, pc, oh, bi, gr, cost),
        reading=reading(rows, gr, cost, args.chunk_tokens),
    )


def _pct_span(values: list[float]) -> str:
    lo, hi = (f"{v:.0%}" for v in (min(values), max(values)))
    return lo if lo == hi else f"{lo[:-1]}–{hi}"


def _span(values: list[float]) -> str:
    lo, hi = (f"{v:.1f}" if v < 10 else f"{v:.0f}" for v in (min(values), max(values)))
    return f"{lo}×" if lo == hi else f"{lo}–{hi}×"


def reading(rows: list[Row], gr: dict[str, Any], cost: Cost, chunk_tokens: int) -> str:
    """What the table says, with this run's numbers."""
    by = {(r.workload, r.approach): r for r in rows}
    works = list(dict.fromkeys(r.workload for r in rows))
    ts = [by[(w, "threadsum")] for w in works]
    mr = [by[(w, "map_reduce")] for w in works]
    one = [by[(w, "one-shot")] for w in works]

    def ratios(key: str, peers: list[Row]) -> list[float]:
        out = []
        for t, p in zip(ts, peers, strict=True):
            a = t.wall_s if key == "wall" else t.stats[key]
            b = p.wall_s if key == "wall" else p.stats[key]
            if p.ok and b:
                out.append(a / b)
        return out

    failed = [r for r in one if not r.ok]
    failed_text = "; ".join(
        f"{r.workload}: {r.outcome.failed} of {r.threads} "
        f"(largest prompt {_int(r.outcome.largest_prompt)} tokens)"
        if r.threads > 1
        else f"{r.workload} ({_int(r.outcome.largest_prompt)}-token prompt)"
        for r in failed
    )
    ts_calls = sum(t.stats["requests"] for t in ts)
    ts_ct = sum(t.stats["completion_tokens"] for t in ts)
    peer_answers = [n for r in mr + one for n in r.outcome.answer_tokens]
    quotes = sum(t.outcome.quotes for t in ts)
    verbatim = sum(t.outcome.verbatim for t in ts)
    big = [w for w in works if by[(w, "threadsum")].comments >= 1000]
    calls_big = [
        by[(w, "threadsum")].stats["requests"] / by[(w, "map_reduce")].stats["requests"]
        for w in big
    ]
    share = gr["map_hits"] / gr["maps"] if gr["maps"] else 0.0
    handled = (
        "threadsum handled every workload."
        if all(t.ok for t in ts)
        else "threadsum failed on: " + ", ".join(t.workload for t in ts if not t.ok) + "."
    )
    largest = max((r.outcome.largest_prompt for r in failed), default=0)
    larger = (
        "A model with a larger context moves that line but does not remove it: "
        f"the largest prompt here, {_int(largest)} tokens, is over 128k too."
        if largest > 128_000
        else ""
    )
    util = [t.busy_s / (cost.max_concurrency * t.wall_s) for t in ts if t.comments >= 4000]
    batch_util = [t.busy_s / (cost.max_concurrency * t.wall_s) for t in ts if t.threads > 1]
    mid_util = [
        t.busy_s / (cost.max_concurrency * t.wall_s)
        for t in ts
        if t.threads == 1 and 1000 <= t.comments < 4000
    ]
    mid = _pct_span(mid_util) if mid_util else "n/a"
    plans = [
        plan
        for t in ts
        if t.threads == 1
        and 1000 <= t.comments < 4000
        and (plan := after_maps(t.stats.get("calls", []), cost.max_concurrency)) is not None
    ]
    ceiling = (
        f" Even spread perfectly over the slots, the same maps followed by that last step as it "
        f"ran ({max(p.tail_s for p in plans):.1f} s) would keep at most "
        f"{_pct_span([p.ceiling for p in plans])} of the slots busy: more needs the last reduce "
        "to start before the last map ends."
        if plans
        else ""
    )
    page_ts, page_mr = ts[0].stats["requests"], mr[0].stats["requests"]
    one_chunk = (
        f"- *One-chunk threads.* On the {works[0]} threadsum made {page_ts} "
        f"call{'s' if page_ts != 1 else ''} where map_reduce made {page_mr} "
        "(a map, then a reduce of one summary).\n"
        if page_ts < page_mr
        else ""
    )
    decode = ts_ct * cost.ms_per_token / 1000
    busy = sum(t.busy_s for t in ts)
    return f"""## Reading it

**Where threadsum wins.**

- *Size.* {handled} The one-shot prompt failed over the
  {cost.context_limit:,}-token context on {failed_text or "nothing"}. {larger}
- *Grounding.* {verbatim:,} of {quotes:,} quotes ({verbatim / max(1, quotes):.0%}) are verbatim
  substrings of the comment they cite, each with its comment id and author, organised as
  claims, rebuttals and counters. The peers return a paragraph of prose (about
  {statistics.median(peer_answers or [0]):.0f} tokens here) with nothing to check a quote
  against. (The mock quotes the prompt verbatim for the peers too; a real model may
  paraphrase or invent quotes. That is not measured here.)
{one_chunk}- *Batch.* On the mixed batch the runner kept {_pct_span(batch_util)} of the model's
  {cost.max_concurrency} slots busy, and a batch is durable and resumable (state in SQLite,
  `--resume` after a crash); the peers' batches are plain `asyncio`/`abatch` loops that start
  over.

**Where it loses, and why.**

- *Completion tokens: {_span(ratios("completion_tokens", mr))} map_reduce's,
  {_span(ratios("completion_tokens", one))} one-shot's (where one-shot worked).* A map answer
  is an argument map in JSON — statements, sentence ids, rebuttals, counters — about
  {ts_ct / ts_calls:,.0f} tokens a call here, against a paragraph of about 200. At
  {cost.ms_per_token:g} ms a token, decoding is {decode / busy:.0%} of the model time
  threadsum used, so this is most of the gap below; the slower the model decodes, the wider it
  gets.
- *Wall time: {_span(ratios("wall", mr))} map_reduce's, {_span(ratios("wall", one))}
  one-shot's (where one-shot worked).* Mostly it follows from the completion tokens: on the
  5,000-comment thread and the batch threadsum kept {_pct_span(util)} of the slots busy. With
  {mid} busy on 1,000 comments it idles too, short of the 85% aimed at: its chunks
  are balanced by prompt size into whole waves of calls, but map answers differ in length
  (a chunk's claims are not known before it is mapped), so a wave's maps do not finish
  together; while the client finds the server's output mode, the first call and a one-token
  probe run alone for the server's fixed latency; and the last reduce (merges and topics), with
  the overview asked beside it, runs once every map is in, two calls where eight slots
  wait.{ceiling}
  Here the mock also computes each answer the first time it is asked, inside the calls' time;
  `bench/answers.py` warms it first and so measures a little more of the slots busy.
- *Calls: {_span(calls_big)} map_reduce's on 1,000 comments and up.* threadsum's chunks are
  fuller of markup (comment keys, reply-to, an id per sentence, ancestor context) and less full
  of text: units are whole subtrees, and chunk boundaries are content-defined anchors (so a
  growing thread keeps chunks stable) rather than packed to the brim, or, where that would
  leave the last wave of calls part-empty, re-packed into whole waves of similar chunks; and
  its reduce is a tree when the chunk claims do not fit one call. map_reduce packs raw text into
  {chunk_tokens:,}-token chunks and reduces once (under `token_max`).
- *Prompt tokens: {_span(ratios("prompt_tokens", mr))} map_reduce's.* The same markup, plus
  the instructions and JSON schema in every map call.
- *Incremental re-summarization: {share:.0%} of map calls cached, not ≥ 80%.* See the grown
  thread above: with chunk-level caching, new replies in the big active subtrees touch almost
  every chunk, and a thread re-packed into whole waves of calls has no anchors to keep its
  boundaries in place. Reaching the aim needs caching below the chunk (per subtree or per comment
  group, with the chunk's answer merged from cached parts), not a better hit rate on chunks.
  A re-summary *since* the earlier summary takes another path, asking only about new comments:
  `python3 bench/grow.py` gives 4.0% of a cold run's tokens at +1% and 15.6% at +10% on 1,000
  comments (README, "Growing threads").
- *Against one-shot on threads that fit*, threadsum is slower and costlier, always: one call
  and a 200-token answer is hard to beat when the thread fits and a paragraph is enough.

"""


RESULTS_TEMPLATE = """\
# threadsum side by side

One run of

```sh
python3 -m pip install -e ".[bench]" && {command}
```

on {machine}; {versions}. The whole run took {total:.0f} s.

## Set-up

**The model** is threadsum's mock server (`service.mockllm`, in a child process, with
`answer_any` on so it answers every prompt). Cost model, meant to resemble a fast hosted model:

- {latency:g} ms fixed per call (network and queueing before the first token);
- {ppt:g} ms per prompt token (prefill at {prefill:,.0f} tokens/s: a 10,000-token prompt adds
  {ppt_10k:.1f} s);
- {pct:g} ms per completion token (decode at {tps:.0f} tokens/s);
- a context limit of {context:,} tokens: a longer prompt gets a 400 `context_length_exceeded`;
- at most {cap} requests served at once; more wait in line.

Tokens are counted by the server for every approach alike, with threadsum's offline estimator.
Answers are deterministic: threadsum's prompts get the extractive engine's argument map as JSON;
any other prompt gets the first distinct sentences of its last user message, up to 200 tokens
(a paragraph; a real model's summary would be about as long).

**The approaches**, each at concurrency {cap}:

- **threadsum** — `--engine llm` through `service.summarize` with its own model client, cache off
  (the 1,000-comment run uses `refresh`: it asks the model every time and stores the answers for
  the growth figure below); the batch through `service.batch.run_batch_file` (8 threads at once,
  one shared client with 8 calls in flight). Default chunk budget (6,000 tokens).
- **one-shot** — the whole thread as `author: text` lines in one prompt asking for the main
  themes with supporting quotes, through `openai.AsyncOpenAI` (a semaphore of {cap} for the
  batch). Over the context limit it fails, as it would for a user.
- **map_reduce** — LangChain's `load_summarize_chain(llm, chain_type="map_reduce",
  token_max={token_max})` with its default prompts and `ChatOpenAI(base_url=…, api_key="x",
  model=…)`, over the same `author: text` lines split by `RecursiveCharacterTextSplitter`
  (`chunk_size={chunk}` tokens — threadsum's budget — default overlap of 200);
  `ainvoke` for one thread, `abatch(…, config={{"max_concurrency": {cap}}})` for the batch.
  `custom_get_token_ids` is set to the same estimator, because `ChatOpenAI` counts tokens with
  tiktoken, which downloads its encodings and fails offline.

**Workloads**: the example page (`fixtures/threads/hn-comment-page.txt`), generated threads
(`service.synthetic.synthetic_thread`, seed {seed}) of 100, 1,000 and 5,000 comments, and a
batch of 50 generated threads of 10–400 comments (log-uniform: most are small).

*Model busy s* is the cost model summed over the calls the server answered: the time one
request slot would need. *Slots busy* is busy ÷ ({cap} × wall): 100% means all {cap} slots
were serving for the whole run; {one_slot:.1f}% means one call at a time.

## The table

{table}
### threadsum ÷ peer

{ratios}
## threadsum's own figures (same run)

{own}
{reading}"""


if __name__ == "__main__":
    main()
