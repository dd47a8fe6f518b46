"""What re-summarizing a grown thread costs with the extractive engine.

The extractive engine keeps each reply pair's stance in the answer cache, so a grown thread's
re-summary reads only the new pairs (``service/engines/stance/memo.py``). For each size and
growth (the thread of ``n + k`` comments is the thread of ``n`` comments, ``k`` comments later):

* cold: the grown thread with the cache off (every pair read);
* grown: the grown thread after a run of the earlier thread filled the cache.

Printed: pairs the stance model read and wall time of each (best of ``--repeat``), the ratio of
grown to cold, and whether the two maps are identical (they must be).

    python3 bench/grow_extractive.py --sizes 1000 5000 --growth 0.01 0.1 0.5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import Settings, read_thread, summarize
from service.devtools.synthetic import synthetic_thread
from service.engines.stance import memo as memo_module
from service.models import Thread, ThreadSummary
from service.runtime import Runtime

_READ = [0]
_CLASSIFY = memo_module.classify_pair


def _counting(parent: str, reply: str) -> memo_module.StanceResult:
    _READ[0] += 1
    return _CLASSIFY(parent, reply)


memo_module.classify_pair = _counting  # type: ignore[assignment]


def _thread(n: int) -> Thread:
    doc = synthetic_thread(n, seed=7)
    doc["title"] = "A growing thread"
    return read_thread(json.dumps(doc).encode(), "auto", Settings())


async def _run(thread: Thread, settings: Settings) -> tuple[ThreadSummary, float, int]:
    _READ[0] = 0
    async with Runtime(settings) as runtime:
        started = time.perf_counter()
        summary = await summarize(thread, settings, runtime=runtime)
        return summary, time.perf_counter() - started, _READ[0]


async def measure(n: int, growth: float, repeat: int) -> None:
    k = max(1, round(n * growth))
    earlier, grown = _thread(n), _thread(n + k)
    cold_s, grown_s = [], []
    cold_map = grown_map = ""
    cold_read = grown_read = 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            off = Settings(engine="extractive", cache="off", cache_dir=Path(tmp))
            summary, took, cold_read = await _run(grown, off)
            cold_s.append(took)
            cold_map = summary.model_dump_json(exclude={"stats"})
            on = Settings(engine="extractive", cache_dir=Path(tmp))
            await _run(earlier, on)
            summary, took, grown_read = await _run(grown, on)
            grown_s.append(took)
            grown_map = summary.model_dump_json(exclude={"stats"})
    cold, warm = min(cold_s), min(grown_s)
    print(
        f"{n:>6,} +{growth:>4.0%}  cold: {cold_read:>5,} pairs read {cold * 1000:>6.0f} ms   "
        f"grown: {grown_read:>5,} pairs read {warm * 1000:>6.0f} ms   "
        f"ratio {warm / cold:.2f}   maps identical: {'yes' if cold_map == grown_map else 'NO'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--growth", type=float, nargs="+", default=[0.01, 0.1, 0.5])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for n in args.sizes:
        for g in args.growth:
            asyncio.run(measure(n, g, args.repeat))


if __name__ == "__main__":
    main()
