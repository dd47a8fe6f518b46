"""threadsum's cost per model call against a bare ``openai.AsyncOpenAI`` loop, in one run.

    python bench/overhead.py [--comments 400] [--rounds 5] [--concurrency 8]

Starts ``threadsum mock-llm`` at zero latency in a child process (so this process's CPU time is
the client's alone), records the map calls the LLM engine makes for a synthetic thread (chunks
of 1,000 tokens), then sends exactly those calls, one at a time and ``--concurrency`` at once,
two ways, alternating rounds:

- **threadsum**: the engine's ask path (:meth:`service.engines.llm.calls.Run.ask`: the cache key,
  the answer cache in ``off`` mode, the retry layer and :class:`~service.model.client.ModelClient`);
- **bare SDK**: ``AsyncOpenAI.chat.completions.create(...)`` with the same messages, the same
  ``response_format`` and sampling settings, ``max_retries=0``, reading the answer's text.

Prints, per way: wall time per call (median of the rounds) and this process's CPU time per call,
then the ratios threadsum ÷ bare (aim: at most 1.3).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import openai

from service import Settings, read_thread, summarize
from service.cache import AnswerCache
from service.devtools.bare import bare_map_call
from service.devtools.synthetic import synthetic_thread
from service.engines.llm.calls import Run
from service.engines.llm.map import MAP
from service.model.client import ModelClient
from service.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent


def _start_mock() -> tuple[str, subprocess.Popen[bytes]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "mock-llm", "--port", str(port)],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/v1/models", timeout=1).status_code == 200:
                return url + "/v1", proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("threadsum mock-llm did not start")


class _Recorder:
    """A model that records the calls it is asked, answering through the real client."""

    def __init__(self, inner: ModelClient) -> None:
        self.inner = inner
        self.calls: list[list[dict[str, str]]] = []

    async def context_length(self) -> int | None:
        return None

    async def complete(self, messages: list[dict[str, str]], **kw: Any) -> Any:
        if kw.get("schema_name") == MAP.schema_name:
            self.calls.append(messages)
        return await self.inner.complete(messages, **kw)


async def _timed(
    calls: list[list[dict[str, str]]],
    ask: Callable[[list[dict[str, str]]], Awaitable[str]],
    concurrency: int,
) -> tuple[float, float]:
    """Wall and CPU seconds per call for sending ``calls``, ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(messages: list[dict[str, str]]) -> None:
        async with gate:
            if not await ask(messages):
                raise RuntimeError("an empty answer")

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(m) for m in calls))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return wall / len(calls), cpu / len(calls)


async def _measure(url: str, comments: int, rounds: int, concurrency: int) -> None:
    settings = Settings(
        base_url=url,
        model="threadsum-mock",
        output_mode="json_schema",
        chunk_tokens=1000,
        cache="off",
        concurrency=concurrency,
    )
    thread = read_thread(json.dumps(synthetic_thread(comments, seed=3)))
    with tempfile.TemporaryDirectory() as tmp:
        async with Runtime(settings) as runtime:
            client = runtime.client(settings)
            recorder = _Recorder(client)
            off = AnswerCache(Path(tmp), "off")
            async with Runtime(settings, model=recorder, cache=off) as rec:
                await summarize(thread, settings, engine="llm", runtime=rec)
            calls = recorder.calls
            run = Run(thread, settings, client, off, runtime.prompts())

            async def threadsum_ask(messages: list[dict[str, str]]) -> str:
                return await run.ask(messages, MAP)

            bare = openai.AsyncOpenAI(base_url=url, api_key="not-needed", max_retries=0)

            async def bare_ask(messages: list[dict[str, str]]) -> str:
                return await bare_map_call(bare, messages, settings)

            ways = {"threadsum": threadsum_ask, "bare SDK": bare_ask}
            for ask in ways.values():  # warm up: connections, the mock's memoised answers
                await _timed(calls, ask, concurrency)
            print(
                f"{len(calls)} map calls of a {comments}-comment thread (chunks of 1,000 "
                f"tokens) against mock-llm at zero latency, {rounds} alternating rounds"
            )
            for conc in (1, concurrency):
                got: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
                for _ in range(rounds):
                    for name, ask in ways.items():
                        got[name].append(await _timed(calls, ask, conc))
                wall = {n: statistics.median(w for w, _ in got[n]) * 1000 for n in ways}
                cpu = {n: statistics.median(c for _, c in got[n]) * 1000 for n in ways}
                print(f"  {conc} in flight:")
                for name in ways:
                    print(
                        f"    {name:<10} {wall[name]:6.2f} ms per call, "
                        f"client CPU {cpu[name]:5.2f} ms per call"
                    )
                print(
                    f"    threadsum / bare: wall {wall['threadsum'] / wall['bare SDK']:.2f}x, "
                    f"client CPU {cpu['threadsum'] / cpu['bare SDK']:.2f}x"
                )
            await bare.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--comments", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    url, proc = _start_mock()
    try:
        asyncio.run(_measure(url, args.comments, args.rounds, args.concurrency))
    finally:
        proc.terminate()
        proc.wait(timeout=15)


if __name__ == "__main__":
    main()
