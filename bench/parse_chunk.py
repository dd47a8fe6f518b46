"""Parse + chunk time and peak memory for a generated thread.

    python bench/parse_chunk.py [--comments 5000] [--budget 6000] [--repeat 5]

Prints the median time of reading (JSON → checked Thread with sentences) and chunking, as wall
time and as this process's CPU time (on a shared machine the wall time also counts the time the
process waited for a core; the aim of under 250 ms for 5,000 comments is judged on CPU time),
with ``json.loads`` of the same bytes timed in the same run as a baseline (the floor any reader
pays) and the ratio of the two; the peak Python heap (tracemalloc) and process max RSS of one
parse+chunk; the share of chunks a 10% growth leaves unchanged; and the time to read one 1 MB
single-paragraph comment.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
import tracemalloc

from service.chunker import chunk_thread
from service.devtools.synthetic import synthetic_thread
from service.ingest import read_thread
from service.settings import Settings
from service.text.sentences import split_sentences
from service.text.wording import one_line

AIM_S = 0.250


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--comments", type=int, default=5000)
    ap.add_argument("--budget", type=int, default=6000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    doc = json.dumps(synthetic_thread(args.comments, seed=42)).encode()
    settings = Settings(chunk_tokens=args.budget)
    parse_s, chunk_s, cpu_s, json_s = [], [], [], []
    for _ in range(args.repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        thread = read_thread(doc, "auto", settings)
        t1 = time.perf_counter()
        chunks = chunk_thread(thread, args.budget)
        t2 = time.perf_counter()
        cpu_s.append(time.process_time() - c0)
        parse_s.append(t1 - t0)
        chunk_s.append(t2 - t1)
        c0 = time.process_time()
        json.loads(doc)
        json_s.append(time.process_time() - c0)

    tracemalloc.start()
    thread = read_thread(doc, "auto", settings)
    chunks = chunk_thread(thread, args.budget)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    sentences = sum(len(c.sentences) for c in thread.comments)
    p, c = statistics.median(parse_s), statistics.median(chunk_s)
    cpu, floor = statistics.median(cpu_s), statistics.median(json_s)
    print(
        f"thread: {len(thread.comments)} comments, {sentences} sentences, "
        f"{len(doc) / 1e6:.2f} MB of JSON, max depth {thread.max_depth}"
    )
    print(
        f"chunks: {len(chunks)} at a budget of {args.budget} tokens "
        f"(mean fill {statistics.mean(ch.tokens for ch in chunks) / args.budget:.0%})"
    )
    print(
        f"parse: {p * 1000:.0f} ms   chunk: {c * 1000:.0f} ms   "
        f"parse+chunk: {(p + c) * 1000:.0f} ms wall (median of {args.repeat})"
    )
    verdict = "met" if cpu < AIM_S else "not met"
    print(
        f"parse+chunk CPU time: {cpu * 1000:.0f} ms; json.loads of the same bytes: "
        f"{floor * 1000:.0f} ms CPU, so parse+chunk costs {cpu / floor:.1f}x reading the JSON; "
        f"aim under {AIM_S * 1000:.0f} ms CPU: {verdict}"
    )
    print(f"peak heap (tracemalloc): {peak / 1e6:.1f} MB   process max RSS: {rss_mb:.0f} MB")

    # Growth: the same thread with 10% more comments appended (the generator continues the
    # same random stream, so the first N comments are identical). Unchanged chunks keep their
    # digest, so their model answers would come from the cache.
    grown_doc = json.dumps(synthetic_thread(args.comments * 11 // 10, seed=42)).encode()
    grown_thread = read_thread(grown_doc, "auto", settings)
    grown = chunk_thread(grown_thread, args.budget)
    before = {ch.digest for ch in chunks}
    after = {ch.digest for ch in grown}
    kept = sum(ch.digest in before for ch in grown)
    # Chunks none of whose comments or context drew a new reply could stay identical; how
    # many of those did is what the chunker's anchoring controls.
    old_children = {c.id: c.children for c in thread.comments}
    touched = {
        c.id
        for c in grown_thread.comments
        if c.id in old_children and c.children != old_children[c.id]
    }
    untouched = [ch for ch in chunks if not touched & (set(ch.comment_ids) | set(ch.continued_ids))]
    stable = sum(ch.digest in after for ch in untouched)
    print(
        f"growth +10% ({len(grown_thread.comments) - len(thread.comments)} comments added, "
        f"{len(touched)} existing comments drew replies): {kept} of {len(grown)} chunks "
        f"unchanged ({kept / len(grown):.0%}); of the {len(untouched)} chunks no new reply "
        f"touched, {stable} stayed identical ({stable / max(1, len(untouched)):.0%})"
    )

    # One 1 MB paragraph (the generator's comments joined into one line): sentence splitting
    # must stay linear in paragraph length.
    texts = [one_line(str(c["text"])) for c in synthetic_thread(2000, seed=7)["comments"]]
    paragraph = " ".join(texts)
    paragraph = (paragraph + " ") * (1_000_000 // len(paragraph) + 1)
    paragraph = paragraph[: paragraph.rindex(" ", 0, 1_000_000)]
    one = {"id": "long", "parent_id": None, "author": "a", "text": paragraph}
    long_doc = json.dumps({"id": "t", "title": "One long comment", "comments": [one]}).encode()
    t0 = time.perf_counter()
    long_thread = read_thread(long_doc, "native", settings)
    t1 = time.perf_counter()
    split_sentences(paragraph)
    t2 = time.perf_counter()
    print(
        f"one {len(paragraph) / 1e6:.2f} MB single-paragraph comment "
        f"({len(long_thread.comments[0].sentences):,} sentences): read_thread "
        f"{(t1 - t0) * 1000:.0f} ms   split_sentences alone {(t2 - t1) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
