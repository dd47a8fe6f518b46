"""Peak memory of summarizing a ~20 MB thread with the extractive engine.

    python bench/memory.py [--comments 50000] [--mb 19.5] [--top 0]

Builds a native-format thread of ``--comments`` comments (``synthetic_thread``), their texts
lengthened (each comment's own text repeated as a further paragraph, in order) until the JSON is
``--mb`` MB, just under the default 20 MB input limit, and writes it to a file. Then, each in a
fresh child process:

- ``threadsum summarize FILE --engine extractive -o OUT`` (the CLI's ``main``): read, parse and
  check the thread, summarize it, render the JSON output; its peak RSS
  (``resource.getrusage``, the child's max resident set);
- the same with ``tracemalloc`` on: the peak Python heap (tracing is slow and adds to the RSS,
  so it gets a child of its own);
- only reading the thread (``load_thread``), and only importing threadsum, for their peak RSS,
  so the figure for the work can be told apart from the interpreter's;
- with ``--top N``: the N source lines holding the most memory once the thread is read and once
  it is summarized.

The thread is built in a child as well: Linux carries a process's peak RSS across ``exec`` into
a child it forks, so the parent must stay small for the children's figures to be their own.
The aim is a peak RSS under 250 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

AIM_MB = 250
PHASES = ("build", "imports", "read", "summarize", "top")


def build(comments: int, mb: float) -> bytes:
    """The thread as native JSON bytes, lengthened to about ``mb`` MB."""
    from service.devtools.synthetic import synthetic_thread

    doc: dict[str, Any] = synthetic_thread(comments, seed=7)
    missing = int(mb * 1e6) - len(json.dumps(doc).encode())
    for comment in doc["comments"]:
        if missing <= 0:
            break
        extra = "\n\n" + comment["text"]
        comment["text"] += extra
        missing -= len(json.dumps(extra)) - 2
    return json.dumps(doc).encode()


def child(args: argparse.Namespace) -> None:
    """Run one phase on the thread in ``args.child`` and print its figures as one JSON line."""
    path = Path(args.child)
    if args.phase == "build":
        path.write_bytes(build(args.comments, args.mb))
        print(json.dumps({"bytes": path.stat().st_size}))
        return
    if args.phase == "top":
        top(path, args.top)
        return
    if args.trace:
        tracemalloc.start(1)
    started = time.perf_counter()
    from service import Settings, load_thread

    out: dict[str, Any] = {}
    if args.phase == "read":
        thread = load_thread(path, "auto", Settings(engine="extractive"))
        out["comments"] = len(thread.comments)
        out["sentences"] = sum(len(c.sentences) for c in thread.comments)
    elif args.phase == "summarize":
        from service.cli import main

        target = path.with_suffix(".summary.json")
        out["exit"] = main(["summarize", str(path), "--engine", "extractive", "-o", str(target)])
        out["claims"] = len(json.loads(target.read_bytes())["claims"])
        out["output_bytes"] = target.stat().st_size
    out["seconds"] = round(time.perf_counter() - started, 2)
    out["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if args.trace:
        out["heap_mb"] = round(tracemalloc.get_traced_memory()[1] / 1e6, 1)
    print(json.dumps(out))


def top(path: Path, n: int) -> None:
    """Print the ``n`` source lines holding the most memory after reading and summarizing."""
    tracemalloc.start(1)
    from service import Settings, load_thread, summarize

    settings = Settings(engine="extractive")
    thread = load_thread(path, "auto", settings)
    report("after reading", tracemalloc.take_snapshot(), n)

    async def run() -> None:  # returns nothing: see load_thread on asyncio.run and big results
        summary = await summarize(thread, settings)
        report("after summarizing", tracemalloc.take_snapshot(), n)
        del summary

    asyncio.run(run())


def report(title: str, snapshot: tracemalloc.Snapshot, n: int) -> None:
    now, peak = tracemalloc.get_traced_memory()
    print(f"{title}: {now / 1e6:.1f} MB live, peak so far {peak / 1e6:.1f} MB")
    for stat in snapshot.statistics("lineno")[:n]:
        frame = stat.traceback[0]
        where = "/".join(Path(frame.filename).parts[-2:])
        print(f"  {stat.size / 1e6:7.1f} MB {stat.count:>9} blocks  {where}:{frame.lineno}")


def run_child(path: Path, phase: str, *options: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(path), "--phase", phase, *options]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--comments", type=int, default=50_000)
    ap.add_argument("--mb", type=float, default=19.5, help="size of the thread's JSON, in MB")
    ap.add_argument("--top", type=int, default=0, help="show the N lines holding most memory")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--phase", choices=PHASES, default="summarize", help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "thread.json"
        sizes = ("--comments", str(args.comments), "--mb", str(args.mb))
        size = run_child(path, "build", *sizes)["bytes"]
        base = run_child(path, "imports")
        read = run_child(path, "read")
        full = run_child(path, "summarize")
        traced = run_child(path, "summarize", "--trace")
        print(
            f"thread: {read['comments']} comments, {read['sentences']} sentences, "
            f"{size / 1e6:.1f} MB of native JSON; {full['claims']} claims, "
            f"{full['output_bytes'] / 1e3:.0f} kB of JSON output; {full['seconds']} s"
        )
        verdict = "met" if full["rss_mb"] < AIM_MB else "not met"
        print(
            f"peak RSS: {full['rss_mb']:.0f} MB for threadsum summarize (read only: "
            f"{read['rss_mb']:.0f} MB; imports only: {base['rss_mb']:.0f} MB); "
            f"aim under {AIM_MB} MB: {verdict}"
        )
        work = full["rss_mb"] - base["rss_mb"]
        print(
            f"beyond the interpreter and imports: {work:.0f} MB, {work / (size / 1e6):.1f}x the "
            f"thread's {size / 1e6:.1f} MB of JSON"
        )
        print(f"peak Python heap (tracemalloc): {traced['heap_mb']:.0f} MB")
        if args.top:
            command = [sys.executable, __file__, "--child", str(path), "--phase", "top"]
            subprocess.run([*command, "--top", str(args.top)], check=True)


if __name__ == "__main__":
    main()
