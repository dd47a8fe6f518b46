"""Answer size, prompt overhead and slot occupancy of the LLM engine, against mock-llm.

    python3 bench/answers.py [--baseline /work/main] [--sizes 100 1000 5000]

Tokens: per thread (the example page and generated threads, seed 42), against an in-process
mock-llm at zero latency with the cache off and 8 calls in flight: model calls, completion tokens
per call, prompt tokens ÷ the raw comment tokens (the server's counts; both by the offline
estimator; one memory of the server's output mode across the threads, as a service keeps,
so the mode is found on the first), and what the summary holds: claims, rebuttals, counters,
citations and a digest of its claims (statements and cited sentence ids), so two runs can be
checked to give the same map.

Slots: the 1,000-comment thread against a mock-llm in a child process (its own core) with
bench/compare.py's cost model — 300 ms per call, 0.02 ms per prompt token, 5 ms per completion
token, a 16,000-token context, 8 slots — and threadsum at concurrency 8: model busy time (the
cost model summed over the calls served) ÷ (8 × wall time). The timed run is the second: the
first fills the mock's memo of its answers, so the mock's own CPU time (it computes each answer
with the extractive engine) is not mistaken for the model's. The timed run starts cold, finding
the server's output mode again (as a fresh process does; the probe counts as busy time); a third
run keeps the mode it found, as a long-lived service does after its first summary. For that
run it also prints, from the mock's call timeline, where the slots idle: the map that finished
last, what ran after it, and the ceiling on slots busy that the same calls allow while the
reduce waits for every map (the maps spread perfectly over the slots, the rest as it ran).

``--baseline DIR`` measures the same figures for the checkout in DIR (e.g. ``main``) in a child
process in the same run, and prints the two side by side with their ratios. Only the public API
is used (``summarize``, ``Runtime``, ``Settings``, ``read_thread``, ``MockConfig``,
``ModeMemory``), so any checkout runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from service import Runtime, Settings, ThreadSummary, read_thread, summarize
from service.devtools.mockllm import MockConfig, running
from service.devtools.synthetic import synthetic_thread
from service.model.modes import ModeMemory
from service.models import Thread
from service.text.tokens import estimate_tokens

ROOT = Path(__file__).resolve().parent.parent
MODEL = "threadsum-mock"
SEED = 42
SLOTS = 8
COST = {
    "latency_ms": 300.0,
    "ms_per_prompt_token": 0.02,
    "ms_per_token": 5.0,
    "context_limit": 16000,
    "max_concurrency": SLOTS,
}
_SERVE = """
import json, sys
from service.devtools.mockllm import MockConfig, serve
serve(MockConfig(**json.loads(sys.argv[1])), port=int(sys.argv[2]))
"""


def _threads(sizes: list[int]) -> list[tuple[str, Thread]]:
    page = read_thread((ROOT / "fixtures/threads/hn-comment-page.txt").read_bytes())
    return [("example page", page)] + [
        (f"{n:,} comments", read_thread(json.dumps(synthetic_thread(n, seed=SEED)))) for n in sizes
    ]


def _settings(url: str, tmp: str) -> Settings:
    return Settings(
        base_url=url,
        model=MODEL,
        engine="llm",
        cache="off",
        cache_dir=Path(tmp),
        concurrency=SLOTS,
    )


def _content(summary: ThreadSummary) -> dict[str, Any]:
    """What the map says: counts, and a digest of its statements and cited sentence ids."""
    citations = rebuttals = counters = sentences = 0
    shape = []
    for claim in summary.claims:
        groups = [claim.evidence, claim.supporters]
        for r in claim.rebuttals:
            rebuttals += 1
            groups.append(r.evidence)
            for c in r.counters:
                counters += 1
                groups.append(c.evidence)
        for group in groups:
            citations += len(group)
            sentences += sum(len(c.sentence_ids) for c in group)
        shape.append(claim.model_dump(mode="json", include={"statement", "evidence", "rebuttals"}))
        shape.append([c.model_dump(mode="json") for c in claim.supporters])
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:12]
    return {
        "claims": len(summary.claims),
        "rebuttals": rebuttals,
        "counters": counters,
        "citations": citations,
        "sentence_ids": sentences,
        "digest": digest,
    }


async def _summarize(thread: Thread, settings: Settings, modes: ModeMemory) -> ThreadSummary:
    async with Runtime(settings, modes=modes) as runtime:
        return await summarize(thread, settings, engine="llm", runtime=runtime)


def token_figures(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    # One memory of the server's output mode for every thread, as a long-lived service has: the
    # mode is found once, on the first thread (the example page's row counts that probe call),
    # so the other rows count the calls that summarize, not the finding of the mode.
    modes = ModeMemory()
    with running(MockConfig()) as url, tempfile.TemporaryDirectory() as tmp:
        root = url.removesuffix("/v1")
        for name, thread in _threads(sizes):
            httpx.post(root + "/mock/reset").raise_for_status()
            summary = asyncio.run(_summarize(thread, _settings(url, tmp), modes))
            served = httpx.get(root + "/mock/stats").json()
            raw = sum(estimate_tokens(c.text) for c in thread.comments)
            calls = served["requests"]
            rows.append(
                {
                    "thread": name,
                    "calls": calls,
                    "map": served["by_kind"]["map"],
                    "reduce": served["by_kind"]["reduce"] + served["by_kind"].get("overview", 0),
                    "completion": served["completion_tokens"],
                    "per_call": served["completion_tokens"] / max(1, calls),
                    "prompt": served["prompt_tokens"],
                    "sent_raw": served["prompt_tokens"] / max(1, raw),
                    **_content(summary),
                }
            )
    return rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _mock_process() -> Iterator[str]:
    config = dict(COST, model=MODEL)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE, json.dumps(config), str(port)], stdout=subprocess.DEVNULL
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


def _busy_s(s: dict[str, Any]) -> float:
    """The cost model's time for what the mock served, in seconds."""
    served = s["requests"] - s["rejected"] - s["faults"]
    busy_ms = served * COST["latency_ms"]
    busy_ms += s["prompt_tokens"] * COST["ms_per_prompt_token"]
    busy_ms += s["completion_tokens"] * COST["ms_per_token"]
    return float(busy_ms / 1000)


def _schedule(stats: dict[str, Any]) -> dict[str, Any] | None:
    """Where the run's slots idled, from the mock's timeline (None where an older checkout,
    measured with ``--baseline``, keeps none)."""
    try:
        from service.devtools.mock.timeline import after_maps
    except ImportError:
        return None
    plan = after_maps(stats.get("calls", []), SLOTS)
    return dataclasses.asdict(plan) if plan is not None else None


def slot_figures(n: int) -> dict[str, Any]:
    thread = read_thread(json.dumps(synthetic_thread(n, seed=SEED)))
    with _mock_process() as url, tempfile.TemporaryDirectory() as tmp:
        root = url.removesuffix("/v1")
        # A first run fills the mock's memo of its answers, so the timed run measures the cost
        # model's time and threadsum's scheduling, not the mock computing extractive answers.
        asyncio.run(summarize(thread, _settings(url, tmp), engine="llm"))
        runs = []
        modes = ModeMemory()  # cold: the mode is found in the first timed run, then known
        for _ in ("cold", "mode known"):
            httpx.post(root + "/mock/reset").raise_for_status()
            t0 = time.perf_counter()
            summary = asyncio.run(_summarize(thread, _settings(url, tmp), modes))
            wall = time.perf_counter() - t0
            s = httpx.get(root + "/mock/stats").json()
            runs.append((wall, s))
    (wall, s), (warm_wall, warm) = runs
    return {
        "thread": f"{n:,} comments",
        "calls": s["requests"],
        "wall_s": wall,
        "busy_s": _busy_s(s),
        "slots_busy": _busy_s(s) / (SLOTS * wall),
        "warm_wall_s": warm_wall,
        "warm_slots_busy": _busy_s(warm) / (SLOTS * warm_wall),
        "warm_schedule": _schedule(warm),
        "claims": len(summary.claims),
    }


def measure(sizes: list[int], slots_n: int) -> dict[str, Any]:
    return {"tokens": token_figures(sizes), "slots": slot_figures(slots_n)}


def _baseline(directory: Path, sizes: list[int], slots_n: int) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(directory))
    args = [sys.executable, __file__, "--json", "--sizes", *map(str, sizes)]
    args += ["--slots-comments", str(slots_n)]
    done = subprocess.run(args, env=env, cwd=directory, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the baseline run failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _print(figures: dict[str, Any], label: str) -> None:
    print(f"\n{label}")
    print(
        f"{'thread':<15} {'calls':>5} {'map':>4} {'red':>4} {'completion':>10} {'per call':>8} "
        f"{'sent/raw':>8} {'claims':>6} {'rebut':>5} {'count':>5} {'cites':>5} {'ids':>5} digest"
    )
    for r in figures["tokens"]:
        print(
            f"{r['thread']:<15} {r['calls']:>5} {r['map']:>4} {r['reduce']:>4} "
            f"{r['completion']:>10,} {r['per_call']:>8.0f} {r['sent_raw']:>8.2f} "
            f"{r['claims']:>6} {r['rebuttals']:>5} {r['counters']:>5} {r['citations']:>5} "
            f"{r['sentence_ids']:>5} {r['digest']}"
        )
    s = figures["slots"]
    print(
        f"slots, {s['thread']} ({SLOTS} slots, compare.py's cost model): {s['calls']} calls, "
        f"wall {s['wall_s']:.1f} s, model busy {s['busy_s']:.1f} s, "
        f"slots busy {s['slots_busy']:.0%}; with the output mode known (a service after its "
        f"first summary): wall {s['warm_wall_s']:.1f} s, slots busy {s['warm_slots_busy']:.0%}"
    )
    plan = s.get("warm_schedule")
    if plan:
        start, end = plan["last_map"]
        low, high = plan["map_lengths"]
        print(
            f"  where the slots idle (mode known, real seconds from the first call): maps took "
            f"{low:.2f}–{high:.2f} s each; the last map to finish ran {start:.2f} → {end:.2f} s "
            f"({plan['last_map_tokens']:,} completion tokens), then {' and '.join(plan['after'])}"
            f" took {plan['tail_s']:.2f} s more. Ceiling with every later call after the last "
            f"map (these maps spread perfectly over {SLOTS} slots): {plan['ceiling']:.0%} busy"
        )


def _compare(before: dict[str, Any], after: dict[str, Any]) -> None:
    print("\nafter ÷ before")
    for b, a in zip(before["tokens"], after["tokens"], strict=True):
        same = all(a[k] == b[k] for k in ("claims", "rebuttals", "counters", "citations"))
        print(
            f"{a['thread']:<15} completion per call {a['per_call'] / b['per_call']:.2f}× "
            f"({b['per_call']:.0f} → {a['per_call']:.0f}), calls {b['calls']} → {a['calls']}, "
            f"sent/raw {b['sent_raw']:.2f} → {a['sent_raw']:.2f}, claims/rebuttals/counters/"
            f"citations {'the same' if same else 'DIFFER'}, map "
            f"{'identical' if a['digest'] == b['digest'] else 'differs'}"
        )
    sb, sa = before["slots"], after["slots"]
    print(
        f"slots busy on {sa['thread']}: {sb['slots_busy']:.0%} → {sa['slots_busy']:.0%}; "
        f"wall {sb['wall_s']:.1f} s → {sa['wall_s']:.1f} s; with the mode known "
        f"{sb['warm_slots_busy']:.0%} → {sa['warm_slots_busy']:.0%}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    ap.add_argument("--slots-comments", type=int, default=1000)
    ap.add_argument("--baseline", type=Path, help="another checkout to measure in the same run")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    if args.json:
        print(json.dumps(measure(args.sizes, args.slots_comments)))
        return
    before = _baseline(args.baseline, args.sizes, args.slots_comments) if args.baseline else None
    after = measure(args.sizes, args.slots_comments)
    if before is not None:
        _print(before, f"baseline ({args.baseline})")
    _print(after, "this checkout")
    if before is not None:
        _compare(before, after)


if __name__ == "__main__":
    main()
