"""LLM-engine figures against threadsum mock-llm (in-process, on loopback).

    python bench/llm.py [--sizes 10 100 1000 5000] [--budget 6000]

Prints, per thread size: model calls (map + reduce), the prompt-token overhead ratio (tokens sent
÷ tokens of the raw comment text, both by the offline estimator), wall time of a cold run with
zero model latency, and of a re-run served from the cache. Then the orchestration overhead per
model call: the engine alone against an instant in-process model (no HTTP), and the full stack
(client, HTTP, mock server) at zero latency with the server's answers memoised.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from service import Settings, read_thread, summarize
from service.cache import AnswerCache
from service.devtools.mockllm import MockConfig, running
from service.devtools.synthetic import synthetic_thread
from service.model.client import ModelClient
from service.models import Thread, ThreadSummary
from service.runtime import Runtime
from service.text.tokens import estimate_tokens


async def _run(
    thread: Thread, settings: Settings, cache_mode: str, cache_dir: Path, model: Any = None
) -> tuple[ThreadSummary, float]:
    cache = AnswerCache(cache_dir, cache_mode)  # type: ignore[arg-type]
    client = model or ModelClient(
        base_url=settings.base_url,
        model=settings.model or "",
        api_key=None,
        concurrency=settings.concurrency,
    )
    try:
        t0 = time.perf_counter()
        summary = await summarize(
            thread, settings, engine="llm", runtime=Runtime(settings, model=client, cache=cache)
        )
        return summary, time.perf_counter() - t0
    finally:
        if model is None:
            await client.aclose()
        cache.close()


class _Instant:
    """Replays recorded answers with no I/O, to time the engine alone."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    async def context_length(self) -> int | None:
        return None

    async def complete(self, messages: list[dict[str, str]], **_: Any) -> Any:
        from types import SimpleNamespace

        key = json.dumps(messages, sort_keys=True)
        return SimpleNamespace(
            content=self.answers[key],
            finish_reason="stop",
            prompt_tokens=0,
            completion_tokens=0,
            mode="json_schema",
            model="instant",
        )


class _Recorder:
    def __init__(self, inner: Any) -> None:
        self.inner, self.answers = inner, {}

    async def complete(self, messages: list[dict[str, str]], **kw: Any) -> Any:
        c = await self.inner.complete(messages, **kw)
        self.answers[json.dumps(messages, sort_keys=True)] = c.content
        return c

    async def context_length(self) -> int | None:
        result: int | None = await self.inner.context_length()
        return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 5000])
    ap.add_argument("--budget", type=int, default=6000)
    args = ap.parse_args()

    example = read_thread(Path("fixtures/threads/hn-comment-page.txt").read_bytes())
    threads = [("example page", example)] + [
        (f"{n} comments", read_thread(json.dumps(synthetic_thread(n, seed=42)))) for n in args.sizes
    ]
    with running(MockConfig()) as url, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            base_url=url, model="threadsum-mock", chunk_tokens=args.budget, concurrency=8
        )
        stats_url = url.removesuffix("/v1") + "/mock/stats"
        print(
            f"{'thread':<14} {'calls':>6} {'map':>5} {'reduce':>6} {'sent/raw':>9} "
            f"{'cold s':>8} {'cached s':>9}"
        )
        for name, thread in threads:
            httpx.post(url.removesuffix("/v1") + "/mock/reset")
            cache_dir = Path(tmp) / name.replace(" ", "-")
            summary, cold = asyncio.run(_run(thread, settings, "use", cache_dir))
            served = httpx.get(stats_url).json()
            _, warm = asyncio.run(_run(thread, settings, "use", cache_dir))
            raw = sum(estimate_tokens(c.text) for c in thread.comments)
            ratio = served["prompt_tokens"] / raw
            kinds = served["by_kind"]
            reduces = kinds["reduce"] + kinds.get("overview", 0)  # the overview's call included
            print(
                f"{name:<14} {summary.stats.llm_calls:>6} {kinds['map']:>5} "
                f"{reduces:>6} {ratio:>9.2f} {cold:>8.2f} {warm:>9.3f}"
            )

        # Orchestration overhead per call.
        thread = read_thread(json.dumps(synthetic_thread(2000, seed=7)))
        small = Settings(base_url=url, model="threadsum-mock", chunk_tokens=1000, concurrency=8)
        recorder = _Recorder(
            ModelClient(base_url=url, model="threadsum-mock", api_key=None, concurrency=8)
        )
        summary, _ = asyncio.run(_run(thread, small, "off", Path(tmp) / "x", recorder))
        calls = summary.stats.llm_calls
        engine_only, full = [], []
        for _ in range(5):
            _, t = asyncio.run(
                _run(thread, small, "off", Path(tmp) / "x", _Instant(recorder.answers))
            )
            engine_only.append(t / calls * 1000)
            _, t = asyncio.run(_run(thread, small, "off", Path(tmp) / "x"))
            full.append(t / calls * 1000)
        print(
            f"\norchestration per call ({calls} calls on a 2,000-comment thread, chunks of "
            f"1,000 tokens, cache off, median of 5 runs):"
        )
        print(f"  engine alone (instant in-process model): {statistics.median(engine_only):.2f} ms")
        print(f"  full stack against mock-llm at zero latency: {statistics.median(full):.2f} ms")


if __name__ == "__main__":
    main()
