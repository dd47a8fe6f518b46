"""How the HTTP service answers small requests while six large ones keep its CPU busy.

    python bench/http_load.py [--comments 20000] [--large 6] [--probes 5]

Starts ``threadsum serve`` (a real process on loopback, one worker, the extractive engine) and
posts ``--large`` synthetic threads of ``--comments`` comments each at once (20,000 comments is
about 6 MB and several seconds of parsing and summarizing each). Once they are all admitted
(``/readyz`` answers 503 busy, or they are running), it times, ``--probes`` times each: a small
``POST /v1/summaries`` (the example page as text/plain), ``GET /v1/batches/{id}`` of a small
batch, and ``GET /healthz``; it prints the median and the slowest of each (aim: under a second),
then how long the large requests took and what they were answered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from service.devtools.synthetic import synthetic_thread

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "fixtures/threads/hn-comment-page.txt").read_bytes()


def _start(env: dict[str, str]) -> tuple[str, subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", "0", "--engine", "extractive"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    found = re.match(r"threadsum serve on (http://\S+) ", proc.stderr.readline())
    if found is None:
        proc.kill()
        raise RuntimeError("threadsum serve did not start")
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # never block on a full pipe
    return found.group(1), proc


async def _timed(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> float:
    t0 = time.perf_counter()
    r = await client.request(method, url, **kwargs)
    elapsed = time.perf_counter() - t0
    if r.status_code >= 500:
        raise RuntimeError(f"{method} {url}: {r.status_code} {r.text[:200]}")
    return elapsed


async def _run(url: str, body: bytes, large: int, probes: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        batch = await client.post(
            "/v1/batches", content=json.dumps(synthetic_thread(5, thread_id="small")).encode()
        )
        status_url = batch.json()["status_url"]
        await client.get("/readyz")  # warm up

        async def one_large() -> tuple[int, float]:
            t0 = time.perf_counter()
            r = await client.post(
                "/v1/summaries", content=body, headers={"content-type": "application/json"}
            )
            return r.status_code, time.perf_counter() - t0

        t0 = time.perf_counter()
        big = [asyncio.create_task(one_large()) for _ in range(large)]
        while (await client.get("/readyz")).status_code == 200 and time.perf_counter() - t0 < 5:
            await asyncio.sleep(0.05)  # until the large requests are admitted (the lanes fill)
        busy = (await client.get("/readyz")).json().get("detail", "ready")
        print(f"{large} large requests of {len(body) / 1e6:.1f} MB posted; /readyz: {busy}")

        probes_of: dict[str, tuple[str, str, dict[str, Any]]] = {
            "POST /v1/summaries (small page)": (
                "POST",
                "/v1/summaries",
                {"content": PAGE, "headers": {"content-type": "text/plain"}},
            ),
            "GET /v1/batches/{id}": ("GET", status_url, {}),
            "GET /healthz": ("GET", "/healthz", {}),
        }
        for name, (method, path, kwargs) in probes_of.items():
            times = [await _timed(client, method, path, **kwargs) for _ in range(probes)]
            print(
                f"{name} while they run: median {statistics.median(times) * 1000:.0f} ms, "
                f"slowest {max(times) * 1000:.0f} ms"
            )
        done = await asyncio.gather(*big)
        codes = sorted({code for code, _ in done})
        print(
            f"the large requests: answered {codes} in {min(t for _, t in done):.1f}"
            f"–{max(t for _, t in done):.1f} s"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--comments", type=int, default=20_000)
    ap.add_argument("--large", type=int, default=6)
    ap.add_argument("--probes", type=int, default=5)
    args = ap.parse_args()
    body = json.dumps(synthetic_thread(args.comments, seed=1)).encode()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "THREADSUM_STATE_DIR": f"{tmp}/state",
            "THREADSUM_CACHE_DIR": f"{tmp}/cache",
            "THREADSUM_RATE_LIMIT": "0",
        }
        url, proc = _start(env)
        try:
            asyncio.run(_run(url, body, args.large, args.probes))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
