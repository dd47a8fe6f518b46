"""How right the map is on real threads: gold maps derived from the hand-labelled training data.

    python3 bench/map_threads.py [--out DIR] [--split held|train|all] [--engine extractive]

``bench/data/stance/`` labels the stance of real HN and Reddit replies toward their parents, and
``bench/data/claims/`` whether each of those comments argues a point. Together they say what a
map of each labelled thread should show. This script rebuilds every labelled thread from them
(the comments of its labelled pairs, linked reply to parent; a comment whose parent was not
labelled is a top-level comment here) and gives each comment the role the gold set's
definitions (``fixtures/eval/README.md``) derive from those labels, walking down the tree:

* a comment that is not on a side of a line of argument is a **claim** if it argues a point,
  otherwise ``none``;
* a reply disagreeing with a claim or a supporter is a **rebuttal** of that claim, agreeing a
  **supporter**; a reply agreeing with a rebuttal is a rebuttal too, disagreeing a **counter**;
  agreeing with a counter a counter, disagreeing a rebuttal;
* a reply that takes no side (``other``) is not on a side: a claim if it argues, else ``none``,
  and its replies are placed relative to that.

The threads are written as gold threads (native JSON with ``role`` and ``claim``) under
``--out`` and scored with ``threadsum eval map``. The threads are split as the training scripts
split them (by thread, seed 11, 20% held out): the held-out threads were seen by neither
model's training, so their figure is the honest one; the training threads' figure is what the
models' own training data gives, shown for comparison only.

What this measures differs from the hand-annotated gold threads (``fixtures/eval/threads``) in
three ways: the labels were given pair by pair and comment by comment, not by reading the
whole sub-thread; authors are not recorded, so the rule that a claimant defends his own claim
is not exercised; and each thread is the part of a discussion whose pairs were labelled
(short comments, at most 30 to 60 pairs a thread).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from splits import split  # noqa: E402

from service.cli import main as threadsum  # noqa: E402
from service.engines.extractive import summarize_extractive  # noqa: E402
from service.engines.stance import StanceResult, decided  # noqa: E402
from service.engines.stance.model import load as stance_model  # noqa: E402
from service.eval import render  # noqa: E402
from service.eval.gold import read_gold  # noqa: E402
from service.eval.maps import score_map  # noqa: E402
from service.eval.runner import MapReport, Stability, ThreadResult  # noqa: E402

SIDE = {
    # (role of the parent, stance of the reply toward it) → role of the reply
    ("claim", "agree"): "supporter",
    ("claim", "disagree"): "rebuttal",
    ("supporter", "agree"): "supporter",
    ("supporter", "disagree"): "rebuttal",
    ("rebuttal", "agree"): "rebuttal",
    ("rebuttal", "disagree"): "counter",
    ("counter", "agree"): "counter",
    ("counter", "disagree"): "rebuttal",
}


@dataclass
class LabelledThread:
    """One thread of the labelled data: its comments, reply links and labels."""

    group: str  # source:thread, as the training scripts group them
    texts: dict[str, str] = field(default_factory=dict)  # comment id → text
    order: list[str] = field(default_factory=list)  # comment ids as the pairs show them
    parent: dict[str, str] = field(default_factory=dict)  # reply id → parent id
    stance: dict[str, str] = field(default_factory=dict)  # reply id → its stance to the parent
    argues: dict[str, bool] = field(default_factory=dict)  # comment id → argues a point

    def add(self, cid: str, text: str) -> None:
        if cid not in self.texts:
            self.texts[cid] = text
            self.order.append(cid)

    def complete(self) -> bool:
        """Every comment has a claim label (the claim files cover every comment of the pairs)."""
        return all(cid in self.argues for cid in self.texts)

    def gold_roles(self) -> dict[str, tuple[str, str | None]]:
        """Each comment's derived role and the claim comment it belongs to."""
        children: dict[str | None, list[str]] = defaultdict(list)
        for cid in self.order:
            children[self.parent.get(cid)].append(cid)
        roles: dict[str, tuple[str, str | None]] = {}
        stack = list(reversed(children[None]))
        while stack:
            cid = stack.pop()
            up = self.parent.get(cid)
            parent_role, owner = roles[up] if up is not None else ("none", None)
            role = SIDE.get((parent_role, self.stance.get(cid, "other")))
            if role is not None:
                roles[cid] = (role, owner if parent_role != "claim" else up)
            elif self.argues[cid]:
                roles[cid] = ("claim", None)
            else:
                roles[cid] = ("none", None)
            stack.extend(reversed(children[cid]))
        return roles

    def gold_file(self) -> dict[str, object]:
        """The thread as a gold thread: native JSON whose comments carry role and claim."""
        roles = self.gold_roles()
        source, _, thread = self.group.partition(":")
        comments: list[dict[str, object]] = []
        for cid in self.order:
            role, claim = roles[cid]
            item: dict[str, object] = {
                "id": cid,
                "parent_id": self.parent.get(cid),
                "author": None,
                "text": self.texts[cid],
                "role": role,
            }
            if claim is not None:
                item["claim"] = claim
            comments.append(item)
        return {"id": f"{source}-{thread}", "source": source, "comments": comments}


def read_threads(stance_files: list[Path], claim_files: list[Path]) -> list[LabelledThread]:
    """The labelled threads of the data files, in the order they first appear."""
    threads: dict[str, LabelledThread] = {}
    for path in stance_files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            group = f"{row['source']}:{row['thread']}"
            t = threads.setdefault(group, LabelledThread(group))
            parent, reply = str(row["parent_id"]), str(row["reply_id"])
            t.add(parent, row["parent"])
            t.add(reply, row["reply"])
            t.parent[reply] = parent
            t.stance[reply] = row["label"]
    for path in claim_files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            t = threads.get(f"{row['source']}:{row['thread']}")
            if t is not None:
                t.argues[str(row["comment_id"])] = row["label"] == "claim"
    return list(threads.values())


def _acyclic(t: LabelledThread) -> bool:
    for start in t.texts:
        seen = {start}
        cid = t.parent.get(start)
        while cid is not None:
            if cid in seen:
                return False
            seen.add(cid)
            cid = t.parent.get(cid)
    return True


def _key(*texts: str) -> tuple[str, ...]:
    return tuple(" ".join(t.split()) for t in texts)


def read_reads(
    stance_file: Path, claim_file: Path
) -> tuple[Callable[[str, str], StanceResult], Callable[[str], float]]:
    """Stance and claim readers that answer from the training scripts' out-of-fold reads."""
    model = stance_model()
    probs: dict[tuple[str, ...], list[float]] = {}
    for line in stance_file.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        probs[_key(row["parent"], row["reply"])] = row["probabilities"]
    claims: dict[tuple[str, ...], float] = {}
    for line in claim_file.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        claims[_key(row["text"])] = row["claim_probability"]

    def stance(parent: str, reply: str) -> StanceResult:
        row = probs.get(_key(parent, reply))
        if row is None:
            raise SystemExit(f"no out-of-fold stance read for the reply {reply[:60]!r}")
        return decided(row, model.cue(parent, reply))

    def argues(text: str) -> float:
        p = claims.get(_key(text))
        if p is None:
            raise SystemExit(f"no out-of-fold claim read for the comment {text[:60]!r}")
        return p

    return stance, argues


def score_with_reads(files: list[Path], stance_file: Path, claim_file: Path) -> MapReport:
    """The extractive maps of the gold threads in ``files``, read with out-of-fold reads."""
    stance, argues = read_reads(stance_file, claim_file)
    report = MapReport(engine="extractive (out-of-fold reads)")
    for path in files:
        gold = read_gold(path)
        summary = summarize_extractive(gold.thread, stance=stance, argues=argues)
        scored = score_map(summary, gold)
        report.total.add(scored)
        report.threads.append(
            ThreadResult(
                gold.name, len(gold.thread.comments), gold.disputed, scored, Stability(1, 1), []
            )
        )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, help="where to write the gold threads (default: a temp dir)"
    )
    parser.add_argument("--split", choices=("held", "train", "all"), default="held")
    parser.add_argument("--engine", default="extractive")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--reads",
        nargs=2,
        type=Path,
        metavar=("STANCE", "CLAIMS"),
        help="read the training threads with the out-of-fold reads the training scripts write "
        "(--reads of bench/train_stance.py and bench/train_claims.py), not the shipped models",
    )
    args = parser.parse_args(argv)
    if args.reads and args.split != "train":
        parser.error("--reads holds reads of the training threads only: use --split train")
    for path in args.reads or ():
        if not path.is_file():
            parser.error(
                f"no such file: {path} (bench/train_stance.py and bench/train_claims.py "
                "write it with --reads)"
            )
    data = ROOT / "bench" / "data"
    threads = read_threads(
        sorted((data / "stance").glob("*.jsonl")), sorted((data / "claims").glob("*.jsonl"))
    )
    usable = [t for t in threads if t.complete() and _acyclic(t)]
    if len(usable) != len(threads):
        print(
            f"{len(threads) - len(usable)} thread(s) left out: a comment without a claim label",
            file=sys.stderr,
        )
    train, held = split(usable, args.seed)
    chosen = {"held": held, "train": train, "all": usable}[args.split]
    out = args.out or Path(tempfile.mkdtemp(prefix="threadsum-map-"))
    target = out / args.split
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.json"):
        old.unlink()
    for t in chosen:
        name = t.group.replace(":", "-") + ".json"
        (target / name).write_text(json.dumps(t.gold_file(), ensure_ascii=False, indent=1))
    comments = sum(len(t.texts) for t in chosen)
    print(
        f"{len(chosen)} {args.split} thread(s), {comments} comments, written to {target}",
        file=sys.stderr,
        flush=True,
    )
    if args.reads:
        report = score_with_reads(sorted(target.glob("*.json")), *args.reads)
        print(render(report, args.json), end="")
        return 0
    command = ["eval", "map", str(target), "--engine", args.engine]
    return threadsum([*command, "--json"] if args.json else command)


if __name__ == "__main__":
    raise SystemExit(main())
