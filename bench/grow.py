"""What re-summarizing a grown thread costs, against mock-llm.

For each size and growth: a cold LLM run of the thread (filling an answer cache), then of the
grown thread (the first ``n`` comments are the same; the title too, as a real thread's is):

* cold: the grown thread in a fresh cache (the baseline);
* cached: the grown thread with the first run's cache (what chunk-level caching saves);
* incremental: ``since`` the first summary, so only new comments go to the model.

Printed: prompt+completion tokens of each as a share of cold, cache hits, claim id stability
(claims of the first run, matched by anchoring evidence, that keep their id), and how the
incremental map on the unchanged part matches the cold map of the grown thread (of the claims
anchored on earlier comments in both, those with the same id and the same statement, and the
share of cold citations into earlier comments the incremental map also has, and how many of
those claims count as many authors as in the cold map, or fewer; and how many claims each map
has, and of them anchored on new comments only).

    python3 bench/grow.py --sizes 1000 5000 --growth 0.01 0.1 0.5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from service import Settings, read_thread, summarize
from service.devtools.mockllm import MockConfig, running
from service.devtools.synthetic import synthetic_thread
from service.models import Thread, ThreadSummary
from service.runtime import Runtime


def _thread(n: int, title: str) -> Thread:
    doc = synthetic_thread(n, seed=7)
    doc["title"] = title  # a thread keeps its title as it grows
    return read_thread(json.dumps(doc).encode(), "auto", Settings())


async def _run(
    url: str, cache_dir: Path, thread: Thread, since: ThreadSummary | None = None
) -> ThreadSummary:
    settings = Settings(
        engine="llm", base_url=url, model="mock", cache="use", cache_dir=cache_dir, max_claims=0
    )
    async with Runtime(settings) as runtime:
        return await summarize(thread, settings, runtime=runtime, since=since)


def _tokens(s: ThreadSummary) -> int:
    return s.stats.prompt_tokens + s.stats.completion_tokens


def _new_only(s: ThreadSummary, old: set[str]) -> int:
    return sum(all(e.comment_id not in old for e in c.evidence) for c in s.claims)


def _cites(s: ThreadSummary, old: set[str]) -> set[tuple[str, str, str]]:
    out = set()
    for c in s.claims:
        for cit in [*c.evidence, *c.supporters, *(e for r in c.rebuttals for e in r.evidence)]:
            if cit.comment_id in old:
                out.add((c.id, cit.comment_id, " ".join(cit.sentence_ids)))
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000])
    ap.add_argument("--growth", type=float, nargs="+", default=[0.01, 0.1, 0.5])
    args = ap.parse_args()
    with running(MockConfig()) as url, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for n in args.sizes:
            title = f"Synthetic discussion ({n} comments)"
            first_thread = _thread(n, title)
            first = await _run(url, root / f"first{n}", first_thread)
            old = {c.id for c in first_thread.comments}
            print(f"{n} comments: first run {_tokens(first)} tokens, {len(first.claims)} claims")
            for g in args.growth:
                grown = _thread(int(n * (1 + g)), title)
                cold = await _run(url, root / f"cold{n}-{g}", grown)
                cached = await _run(url, root / f"first{n}", grown)
                inc = await _run(url, root / f"inc{n}-{g}", grown, since=first)
                base = _tokens(cold) or 1
                kept_ids = {c.id for c in first.claims} & {c.id for c in inc.claims}
                stable = len(kept_ids) / max(1, len(first.claims))
                cold_ids = {c.id: c.statement for c in cold.claims}
                both = [c for c in inc.claims if c.id in cold_ids]
                same = sum(cold_ids[c.id] == c.statement for c in both)
                cold_by_id = {c.id: c for c in cold.claims}
                prev = [(c.prevalence, cold_by_id[c.id].prevalence) for c in both]
                same_prev = sum(p.authors == q.authors for p, q in prev)
                low_prev = sum(p.authors < q.authors for p, q in prev)
                cold_cites, inc_cites = _cites(cold, old), _cites(inc, old)
                cover = len(cold_cites & inc_cites) / max(1, len(cold_cites))
                print(
                    f"  +{g:.0%} ({len(grown.comments) - n} new): "
                    f"cold {base} tokens, {cold.stats.llm_calls} calls | "
                    f"cached {_tokens(cached) / base:.1%} ({cached.stats.cache_hits} of "
                    f"{cached.stats.cache_hits + cached.stats.llm_calls} answers from the cache) | "
                    f"incremental {_tokens(inc) / base:.1%} ({inc.stats.llm_calls} calls)"
                )
                print(
                    f"      ids kept: {stable:.1%} of the first run's claims; "
                    f"unchanged part vs cold: {len(both)} claims in both, {same} same statement; "
                    f"{cover:.1%} of cold citations into earlier comments also incremental"
                )
                print(
                    f"      prevalence of the claims in both: {same_prev} with the cold run's "
                    f"author count, {low_prev} lower; claims: incremental {len(inc.claims)}, "
                    f"cold {len(cold.claims)}, of them anchored on new comments only: "
                    f"{_new_only(inc, old)} and {_new_only(cold, old)}"
                )


if __name__ == "__main__":
    asyncio.run(main())
