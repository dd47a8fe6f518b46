"""Batch throughput on local Ray and on the local runner, against the same mock-llm.

    python bench/batch_ray.py [--threads 200] [--latency-ms 200] [--concurrency 8] [--actors 2]

Needs the ray extra (``pip install -e ".[ray]"``). Starts ``threadsum mock-llm`` in this process
with a fixed latency per call, writes --threads small synthetic threads (one model call each) as
JSONL, and summarises them with the LLM engine and no answer cache: once with the local runner
(``threadsum batch``'s), once on a local Ray (``threadsum batch --ray``) with --actors actors
sharing --concurrency; the Ray session is started and warmed up by a first small run, timed on
their own. The ideal is calls × latency ÷ concurrency. Prints, for each, wall time, threads/s
and the share of the ideal reached; for Ray also a run of a tenth of the threads, so the fixed
cost of a run (starting the actors) and the cost per thread can be told apart; and Ray's
overhead per thread over the local runner.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

from service.cli.batchfile import run_batch_file
from service.devtools.mockllm import MockConfig, running
from service.devtools.synthetic import synthetic_thread
from service.settings import Settings


def _write(path: Path, n: int) -> None:
    lines = (json.dumps(synthetic_thread(5, i, thread_id=f"t{i}")) for i in range(n))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _calls(url: str) -> int:
    base = url.removesuffix("/v1")
    stats = httpx.get(base + "/mock/stats").json()
    httpx.post(base + "/mock/reset")
    return int(stats["requests"])


def _row(name: str, n: int, wall: float, ideal: float) -> None:
    print(
        f"{name:<22} {wall:8.2f} s {n / wall:9.1f} threads/s   {100 * ideal / wall:5.1f}% of ideal"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=200)
    ap.add_argument("--latency-ms", type=float, default=200.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--actors", type=int, default=2)
    args = ap.parse_args()
    try:
        import ray

        from service.jobs import ray_batch
    except ImportError:
        sys.exit('bench/batch_ray.py needs the ray extra: pip install -e ".[ray]"')

    n, c, latency = args.threads, args.concurrency, args.latency_ms / 1000
    with (
        tempfile.TemporaryDirectory() as tmp,
        running(MockConfig(latency_ms=args.latency_ms)) as url,
    ):
        folder = Path(tmp)
        src, small = folder / "in.jsonl", folder / "small.jsonl"
        _write(src, n)
        _write(small, max(1, n // 10))
        settings = Settings(
            engine="llm",
            base_url=url,
            model="threadsum-mock",
            cache="off",
            concurrency=c,
            batch_concurrency=c,
        )

        t0 = time.perf_counter()
        code = asyncio.run(
            run_batch_file(src, folder / "local.jsonl", settings, concurrency=c, resume=False)
        )
        local = time.perf_counter() - t0
        calls = _calls(url)
        assert code == 0, "the local batch had failed records"

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        t0 = time.perf_counter()
        ray.init(
            num_cpus=os.cpu_count() or 2,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            logging_level=logging.WARNING,
        )
        try:
            # A first run starts Ray's worker processes (imports included); later runs reuse them.
            ray_batch.run(small, folder / "warm.jsonl", settings, actors=args.actors)
            started = time.perf_counter() - t0
            t0 = time.perf_counter()
            ray_batch.run(small, folder / "small.out.jsonl", settings, actors=args.actors)
            short = time.perf_counter() - t0
            _calls(url)
            t0 = time.perf_counter()
            result = ray_batch.run(src, folder / "ray.jsonl", settings, actors=args.actors)
            on_ray = time.perf_counter() - t0
            ray_calls = _calls(url)
        finally:
            ray.shutdown()
        assert result.failed == 0, "the Ray batch had failed records"

    ideal = calls * latency / c
    m = max(1, n // 10)
    per_thread = (on_ray - short) / (n - m) if n > m else float("nan")
    print(
        f"{n} threads of 5 comments, {calls} model calls ({ray_calls} on Ray), "
        f"{args.latency_ms:.0f} ms each, concurrency {c}; Ray: {args.actors} actors, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"ideal (calls x latency / concurrency): {ideal:.2f} s, {n / ideal:.1f} threads/s")
    load = os.getloadavg()[0]
    print(
        f"load average at the end: {load:.1f} on {os.cpu_count()} CPUs (load lowers every figure)"
    )
    _row("local runner", n, local, ideal)
    _row("Ray", n, on_ray, ideal)
    _row(f"Ray, {m} threads", m, short, m * ideal / n)
    print(f"Ray session start and a first run (once, not in the figures): {started:.2f} s")
    print(
        f"Ray overhead per thread over the local runner: {1000 * (on_ray - local) / n:.1f} ms "
        f"(a run's fixed cost {short - m * per_thread:.2f} s, then {1000 * per_thread:.1f} ms "
        f"a thread against the ideal's {1000 * ideal / n:.1f} ms)"
    )


if __name__ == "__main__":
    main()
