"""HTTP service figures: POST /v1/summaries on a cached thread, and batch throughput.

    python bench/http_service.py [--seconds 10] [--clients 8] [--latency-ms 200] [--concurrency 8]

Starts ``threadsum serve`` (a real process on loopback, one worker) against ``threadsum
mock-llm`` in this process. Summaries: the example page with the LLM engine, its summary cached
after the first request, hammered by ``--clients`` concurrent clients for a fixed time, and
``GET /healthz`` hammered the same way in the same run; prints requests/s and p50/p99 latency
of each and their ratio. Then a 5,000-comment thread (``--large``) is summarized once and
posted again: prints the cached re-summary's time (median of 5, upload and answer included).
Batch: 5-comment threads (one model call each) with the model's latency fixed at --latency-ms
and the batch concurrency at --concurrency; prints threads/s against the ideal, concurrency ÷
latency, where the time went (before the first call, the mock's slots busy from the first
call to the last answer, after the last answer), and, as the baseline in the same run, the same
calls (the map call of each thread, as threadsum renders it) sent by a bare
``openai.AsyncOpenAI`` loop at the same concurrency from a process of its own: the ceiling a
client reaches with nothing else to do, and the batch's rate as a share of it.
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
from pathlib import Path

import httpx
import openai

from service import Runtime, Settings, read_thread, summarize
from service.devtools.bare import bare_map_call
from service.devtools.fake import FakeModel
from service.devtools.mockllm import MockConfig, running
from service.devtools.synthetic import synthetic_thread

ROOT = Path(__file__).resolve().parent.parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], *args: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return url, proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("threadsum serve did not start")


async def _hammer(
    url: str, path: str, body: bytes | None, clients: int, seconds: float
) -> list[float]:
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def one() -> None:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                if body is None:
                    r = await client.get(url + path)
                else:
                    r = await client.post(
                        url + path, content=body, headers={"content-type": "text/plain"}
                    )
                r.raise_for_status()
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(one() for _ in range(clients)))
    return sorted(latencies)


def _rate(name: str, lat: list[float], clients: int, seconds: float) -> float:
    rate = len(lat) / seconds
    print(
        f"{name}, {clients} clients, {seconds:g} s: {rate:.0f} requests/s, "
        f"p50 {statistics.median(lat) * 1000:.1f} ms, "
        f"p99 {lat[max(int(len(lat) * 0.99) - 1, 0)] * 1000:.1f} ms"
    )
    return rate


def _resummary(url: str, comments: int) -> None:
    body = json.dumps(synthetic_thread(comments, seed=11)).encode()
    headers = {"content-type": "application/json"}
    # One client for all (as a real client keeps its connection; httpx.post would build a new
    # client, and its TLS context, every time).
    with httpx.Client(timeout=600) as client:
        t0 = time.perf_counter()
        first = client.post(url + "/v1/summaries", content=body, headers=headers)
        first.raise_for_status()
        cold = time.perf_counter() - t0
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            again = client.post(url + "/v1/summaries", content=body, headers=headers)
            again.raise_for_status()
            times.append(time.perf_counter() - t0)
    summary = again.json()
    print(
        f"{comments:,}-comment thread ({len(body) / 1e6:.1f} MB, {len(summary['claims'])} "
        f"claims): first summary {cold:.1f} s; cached re-summary "
        f"{statistics.median(times) * 1000:.0f} ms (median of 5, upload and answer included; "
        f"{summary['stats']['llm_calls']} model calls)"
    )


async def _batch_calls(threads: int) -> tuple[Settings, list[list[dict[str, str]]]]:
    """The settings the batch runs with and the map calls its threads make (one each), read
    off an in-memory model, so a bare loop can send exactly those."""
    settings = Settings(
        engine="llm", model="threadsum-mock", cache="off", output_mode="json_schema"
    )
    fake = FakeModel()
    async with Runtime(settings, model=fake) as runtime:
        for n in range(threads):
            thread = read_thread(json.dumps(synthetic_thread(5, seed=n, thread_id=f"b{n}")))
            await summarize(thread, settings, engine="llm", runtime=runtime)
    return settings, fake.calls


async def _bare_loop(url: str, threads: int, concurrency: int) -> None:
    """(In a process of its own.) The batch's calls through a bare ``openai.AsyncOpenAI`` loop,
    ``concurrency`` at a time, against the mock at ``url``; prints its wall time as JSON."""
    settings, calls = await _batch_calls(threads)
    gate = asyncio.Semaphore(concurrency)
    async with openai.AsyncOpenAI(base_url=url, api_key="not-needed", max_retries=0) as bare:

        async def one(messages: list[dict[str, str]]) -> None:
            async with gate:
                answer = await bare_map_call(bare, messages, settings)
            if not answer:
                raise RuntimeError("an empty answer")

        await one(calls[0])  # a connection, as the batch has from its probe
        t0 = time.monotonic()
        await asyncio.gather(*(one(m) for m in calls))
        print(json.dumps({"calls": len(calls), "elapsed": time.monotonic() - t0}))


def _bare_figures(model_url: str, threads: int, concurrency: int) -> dict[str, float]:
    """:func:`_bare_loop` in a child process (its own core and GIL, as the server has)."""
    args = [sys.executable, __file__, "--bare-loop", model_url]
    args += ["--threads", str(threads), "--concurrency", str(concurrency)]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the bare loop failed:\n{done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--large", type=int, default=5000)
    ap.add_argument("--latency-ms", type=float, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--threads", type=int, default=200)
    ap.add_argument("--bare-loop", metavar="URL", help=argparse.SUPPRESS)  # the child's part
    args = ap.parse_args()
    if args.bare_loop:
        asyncio.run(_bare_loop(args.bare_loop, args.threads, args.concurrency))
        return

    with (
        tempfile.TemporaryDirectory() as tmp,
        running(MockConfig(latency_ms=args.latency_ms)) as model_url,
    ):
        env = {
            "THREADSUM_STATE_DIR": f"{tmp}/state",
            "THREADSUM_CACHE_DIR": f"{tmp}/cache",
            "THREADSUM_RATE_LIMIT": "0",
            "THREADSUM_BATCH_CONCURRENCY": str(args.concurrency),
            "THREADSUM_CONCURRENCY": str(args.concurrency),
        }
        url, proc = _start(
            env, "--engine", "llm", "--base-url", model_url, "--model", "threadsum-mock"
        )
        try:
            page = (ROOT / "fixtures/threads/hn-comment-page.txt").read_bytes()
            httpx.post(
                url + "/v1/summaries",
                content=page,
                headers={"content-type": "text/plain"},
                timeout=30,
            ).raise_for_status()
            lat = asyncio.run(_hammer(url, "/v1/summaries", page, args.clients, args.seconds))
            name = "POST /v1/summaries, cached example page"
            posts = _rate(name, lat, args.clients, args.seconds)
            lat = asyncio.run(_hammer(url, "/healthz", None, args.clients, args.seconds))
            health = _rate("GET /healthz", lat, args.clients, args.seconds)
            print(f"POST /v1/summaries (cached) ÷ GET /healthz: {posts / health:.2f}")
            _resummary(url, args.large)

            body = "\n".join(
                json.dumps(synthetic_thread(5, seed=n, thread_id=f"b{n}"))
                for n in range(args.threads)
            )
            # One client polls: httpx.get would build a client (and a TLS context) per poll, CPU
            # that the mock model, on a thread of this process, would wait behind.
            mock = model_url.removesuffix("/v1")
            httpx.post(mock + "/mock/reset").raise_for_status()
            with httpx.Client(timeout=30) as client:
                t0 = time.monotonic()  # the mock's clock: it runs in this process
                r = client.post(
                    url + "/v1/batches",
                    content=body,
                    headers={"content-type": "application/x-ndjson"},
                )
                job = r.json()["id"]
                while client.get(f"{url}/v1/batches/{job}").json()["status"] != "done":
                    time.sleep(0.05)
                elapsed = time.monotonic() - t0
            rate = args.threads / elapsed
            ideal = args.concurrency / (args.latency_ms / 1000)
            seen = httpx.get(mock + "/mock/stats").json()
            span = seen["last_finished"] - seen["first_started"]
            print(
                f"batch of {args.threads} threads, model latency {args.latency_ms:g} ms, "
                f"concurrency {args.concurrency}: {rate:.1f} threads/s, ideal {ideal:.1f} "
                f"({rate / ideal:.0%} of ideal); the model had at most "
                f"{seen['max_in_flight']} calls at once\n"
                f"  where the time went: {(seen['first_started'] - t0) * 1000:.0f} ms to the "
                f"first call, {span:.2f} s from the first call to the last answer with the "
                f"slots {seen['busy_seconds'] / (args.concurrency * span):.0%} busy, "
                f"{(t0 + elapsed - seen['last_finished']) * 1000:.0f} ms from the last answer "
                "to the batch's end"
            )
            httpx.post(mock + "/mock/reset").raise_for_status()
            bare = _bare_figures(model_url, args.threads, args.concurrency)
            bare_rate = bare["calls"] / bare["elapsed"]
            print(
                f"  the same {bare['calls']:.0f} calls through a bare openai.AsyncOpenAI loop "
                f"({args.concurrency} at once, a process of its own, nothing else to do): "
                f"{bare_rate:.1f} calls/s ({bare_rate / ideal:.0%} of ideal); the batch ÷ the "
                f"bare loop: {rate / bare_rate:.2f}"
            )
        finally:
            proc.terminate()
            proc.wait(timeout=15)


if __name__ == "__main__":
    main()
