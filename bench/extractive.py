"""Extractive summary time for generated threads.

    python bench/extractive.py [--comments 5000] [--repeat 3]

Prints, per size, the median wall time of read + summarize (extractive engine) and of the
summary step alone, and the number of claims produced.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from service import Settings, read_thread, summarize
from service.devtools.synthetic import synthetic_thread


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--comments", type=int, nargs="+", default=[100, 1000, 5000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    settings = Settings(engine="extractive")
    for n in args.comments:
        doc = json.dumps(synthetic_thread(n, seed=42)).encode()
        total, summary_only, claims = [], [], 0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            thread = read_thread(doc, "auto", settings)
            t1 = time.perf_counter()
            summary = asyncio.run(summarize(thread, settings))
            t2 = time.perf_counter()
            total.append(t2 - t0)
            summary_only.append(t2 - t1)
            claims = len(summary.claims)
        print(
            f"{n:>6} comments: read+summarize {statistics.median(total) * 1000:7.0f} ms   "
            f"summarize {statistics.median(summary_only) * 1000:7.0f} ms   {claims} claims "
            f"(median of {args.repeat})"
        )


if __name__ == "__main__":
    main()
