"""Train the extractive engine's stance model and report it on a held-out split.

    python3 -m pip install -e ".[train]"
    python3 bench/train_stance.py /path/to/debagreement_dev.csv /path/to/debagreement_test.csv \
        --pairs bench/data/stance/*.jsonl

Data: DEBAGREEMENT (Pougué-Biyong, Semenova, Matton, Han, Kim, Lambiotte, Farmer, "DEBAGREEMENT:
A comment-reply dataset for (dis)agreement detection in online debates", NeurIPS 2021 Datasets
and Benchmarks): Reddit comment → reply pairs from r/Brexit, r/climate, r/BlackLivesMatter,
r/Republican and r/democrats, each labelled by annotators (kept when at least 2 of 3 agreed).
License: CC BY 4.0 plus the Scale/Oxford data terms stated in the paper's supplement; the data is
not in this repository and must not be committed. The files this model was trained on are the
8,580 pairs (about 20% of the 42,894) that a public re-use of DEBAGREEMENT holds
(github.com/bartoszwatrobinski/postgraduate-research-project, ``dev.csv`` and ``test.csv``);
any CSV with DEBAGREEMENT's columns (``label``, ``body_parent``, ``body_child``,
``submission_id``, ``msg_id_parent``, ``msg_id_child``) can be given instead.

Label mapping: DEBAGREEMENT ``0`` disagree → ``disagree``, ``1`` neutral → ``other``, ``2``
agree → ``agree``.

Hand-labelled pairs (``--pairs``, JSONL: ``parent``, ``reply``, ``label``, ``source``,
``thread``; see ``bench/data/stance/README.md``) are real HN and Reddit pairs labelled by reading
them, the register the engine reads most and DEBAGREEMENT lacks. They are split by thread the
same way (20% of the threads held out) and reported on their own held-out split as well; a pair
whose texts are in the evaluation gold set (``fixtures/eval/pairs.jsonl``) is dropped, never
trained on. The weight of a hand-labelled pair in the fit is chosen by the cross-validation
below, by the out-of-fold macro-F1 of the worse of the two sources (then their mean), so that
neither source decides alone and no gain on one pays for a loss on the other.

Method (all deterministic, seed ``--seed``):

1. Pairs are de-duplicated on (parent id, reply id) and split by ``submission_id``: the
   submissions are sorted, shuffled with the seed, and the pairs of the first 20% of them are
   the held-out split, so no discussion has pairs on both sides.
2. Features are :func:`service.engines.stance.features.features` (hashed, the same code the
   package runs at inference).
3. Multinomial logistic regression (scikit-learn, lbfgs, balanced class weights); the
   regularisation ``C`` is chosen by 5-fold cross-validation grouped by submission on the
   training split (macro-F1).
4. Explicit declarations: when the cue classifier's margin on the reply (without its quote of
   the parent) is at least ``cue_margin`` ("I completely disagree.", "Can relate"), its side
   decides, with at least ``cue_confidence``: the smallest margin whose cue calls on the
   training split are right at least ``--cue-precision`` of the time, and that precision.
5. The thread prior: a map reads each reply against its thread's mix of sides
   (:func:`service.engines.stance.model.thread_prior`); its strength is chosen from
   :data:`THREAD_PRIORS` on the out-of-fold probabilities, each discussion's pairs read
   against that discussion's mix, by the same criterion.
6. The role threshold: the map gives a reply a role only when its stance's confidence (read in
   its thread) is at least ``role_confidence``, the smallest threshold at which the out-of-fold
   agree/disagree calls on the training split are right at least ``--role-precision`` of the
   time; what it gives on the hand-labelled pairs alone is printed. It is chosen on the
   training split only, so the held-out figures stay unseen.
7. The model is fitted on the whole training split and measured once on the held-out split
   (``model``: as the package decides, ``regression``: without the cue override,
   ``model_in_thread``: each pair read in its discussion, as a map reads it), beside the
   majority-class baseline and the cue-only baseline
   (:func:`service.engines.stance.cues.classify`: agree, disagree, anything else other).

The weights go to ``service/engines/stance/model.json`` (``--out``) with the figures printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from splits import HELD_OUT_SHARE, split  # noqa: E402

from service.engines.stance.cues import classify as cue_classify  # noqa: E402
from service.engines.stance.features import BUCKETS, features, split_quote  # noqa: E402
from service.engines.stance.model import decide, decode, encode, thread_prior  # noqa: E402

T = TypeVar("T")
CLASSES = ["agree", "disagree", "other"]
DEBAGREEMENT_LABELS = {"0": "disagree", "1": "other", "2": "agree"}
C_GRID = (0.05, 0.1, 0.2)
#: Weights of a hand-labelled pair tried by cross-validation (0: scored, not learnt from).
HAND_WEIGHTS = (0.0, 1.0, 3.0, 6.0)
CUE_MARGINS = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0)
#: Strengths of the thread prior tried on the out-of-fold probabilities (0: no prior).
THREAD_PRIORS = (0.0, 3.0, 10.0, 30.0, 100.0)


@dataclass(frozen=True)
class Pair:
    parent: str
    reply: str
    label: str
    group: str
    origin: str = "debagreement"  # or "hand": a pair of ``--pairs``


def read_pairs(paths: list[Path]) -> list[Pair]:
    """DEBAGREEMENT rows as pairs, de-duplicated on (parent id, reply id), in file order."""
    csv.field_size_limit(1 << 30)
    seen: set[tuple[str, str]] = set()
    pairs: list[Pair] = []
    for path in paths:
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                key = (row["msg_id_parent"], row["msg_id_child"])
                if key in seen or row["label"] not in DEBAGREEMENT_LABELS:
                    continue
                seen.add(key)
                pairs.append(
                    Pair(
                        row["body_parent"],
                        row["body_child"],
                        DEBAGREEMENT_LABELS[row["label"]],
                        row["submission_id"],
                    )
                )
    return pairs


def read_hand_pairs(paths: list[Path], gold: Path) -> tuple[list[Pair], int]:
    """Hand-labelled pairs (JSONL: ``parent``, ``reply``, ``label``, ``source``, ``thread``),
    grouped by thread, and how many were dropped because the evaluation gold set
    (``fixtures/eval/pairs.jsonl``) holds the same texts: it is never trained on."""

    def key(parent: str, reply: str) -> tuple[str, str]:
        return " ".join(parent.split()), " ".join(reply.split())

    held_for_eval = {
        key(row["parent"], row["reply"])
        for line in gold.read_text(encoding="utf-8").splitlines()
        if line.strip() and (row := json.loads(line))
    }
    pairs: list[Pair] = []
    seen: set[tuple[str, str]] = set()
    dropped = 0
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row["label"] not in CLASSES:
                raise SystemExit(f"{path}:{n}: label {row['label']!r} is not one of {CLASSES}")
            k = key(row["parent"], row["reply"])
            if k in held_for_eval:
                dropped += 1
                continue
            if k in seen:
                continue
            seen.add(k)
            group = f"{row['source']}:{row['thread']}"
            pairs.append(Pair(row["parent"], row["reply"], row["label"], group, "hand"))
    return pairs, dropped


def matrix(items: list[T], featurize: Callable[[T], dict[int, float]]) -> csr_matrix:
    """The items' hashed features as a sparse matrix, a row each."""
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for item in items:
        for slot, value in sorted(featurize(item).items()):
            indices.append(slot)
            data.append(value)
        indptr.append(len(indices))
    return csr_matrix((data, indices, indptr), shape=(len(items), BUCKETS))


def pair_features(p: Pair) -> dict[int, float]:
    return features(p.parent, p.reply)


def model(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=5000, class_weight="balanced")


def scores(gold: list[str], predicted: list[str], classes: list[str] = CLASSES) -> dict[str, Any]:
    """Confusion matrix, per-class precision/recall/F1, macro-F1 and accuracy."""
    confusion = Counter(zip(gold, predicted, strict=True))
    per_class: dict[str, dict[str, float]] = {}
    for c in classes:
        tp = confusion[(c, c)]
        called = sum(confusion[(g, c)] for g in classes)
        actual = sum(confusion[(c, p)] for p in classes)
        precision = tp / called if called else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[c] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
    return {
        "macro_f1": sum(v["f1"] for v in per_class.values()) / len(classes),
        "accuracy": sum(confusion[(c, c)] for c in classes) / len(gold),
        "per_class": per_class,
        "confusion": {g: {p: confusion[(g, p)] for p in classes} for g in classes},
    }


def kept_scores(result: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each result's macro-F1, accuracy and per-class figures, rounded, as a model file keeps
    them (without the confusion matrix)."""
    return {
        name: {
            "macro_f1": round(s["macro_f1"], 4),
            "accuracy": round(s["accuracy"], 4),
            "per_class": {
                c: {m: round(v, 4) for m, v in cs.items()} for c, cs in s["per_class"].items()
            },
        }
        for name, s in result.items()
    }


def criterion(parts: list[float]) -> tuple[float, float]:
    """How a setting is chosen from its out-of-fold macro-F1 per source: the worse source
    first, then the mean (each rounded to 0.001, so a difference below it does not decide), so
    that no source's gain pays for another's loss."""
    return round(min(parts), 3), round(sum(parts) / len(parts), 3)


def role_calls(
    gold: list[str], labels: list[str], confidence: np.ndarray, threshold: float
) -> tuple[float, float]:
    """Precision and recall of the agree/disagree calls made at ``threshold`` or above."""
    called = right = sided = 0
    for g, p, conf in zip(gold, labels, confidence, strict=True):
        sided += g != "other"
        if p != "other" and conf >= threshold:
            called += 1
            right += g == p
    return (right / called if called else 1.0), (right / sided if sided else 0.0)


def choose_threshold(
    gold: list[str], labels: list[str], confidence: np.ndarray, target: float
) -> float:
    """The smallest confidence (in steps of 0.01) whose calls reach ``target`` precision."""
    for step in range(34, 100):
        threshold = step / 100
        if role_calls(gold, labels, confidence, threshold)[0] >= target:
            return threshold
    return 0.99


Cue = tuple[str, float]


def cue_reading(p: Pair) -> Cue:
    """The cue classifier's (label, margin) on the reply without its quote of the parent."""
    return cue_classify(split_quote(p.parent, p.reply)[0])


def choose_cue_margin(gold: list[str], cues: list[Cue], target: float) -> tuple[float, float]:
    """The smallest margin whose agree/disagree cue calls reach ``target`` precision, and it."""
    for margin in CUE_MARGINS:
        calls = [
            (g, c)
            for g, (c, m) in zip(gold, cues, strict=True)
            if c in ("agree", "disagree") and m >= margin
        ]
        precision = sum(g == c for g, c in calls) / len(calls) if calls else 0.0
        if precision >= target:
            return margin, round(precision, 3)
    return float("inf"), 1.0


def probabilities(fitted: LogisticRegression, x: csr_matrix) -> np.ndarray:
    """Class probabilities in :data:`CLASSES` order."""
    order = [list(fitted.classes_).index(c) for c in CLASSES]
    return np.asarray(fitted.predict_proba(x))[:, order]


def decisions(
    probs: np.ndarray, cues: list[Cue] | None, margin: float, conf: float
) -> tuple[list[str], np.ndarray]:
    """Labels and confidences as the package decides them (no cue override without ``cues``)."""
    labels: list[str] = []
    confidence = np.zeros(len(probs))
    for i, row in enumerate(probs):
        cue = cues[i] if cues is not None else ("other", 0.0)
        label, confidence[i] = decide(tuple(CLASSES), [float(v) for v in row], cue, margin, conf)
        labels.append(label)
    return labels, confidence


def predict(
    fitted: LogisticRegression, x: csr_matrix, cues: list[Cue] | None, margin: float, conf: float
) -> tuple[list[str], np.ndarray]:
    """Labels and confidences of each pair read on its own, as ``threadsum eval stance`` does."""
    return decisions(probabilities(fitted, x), cues, margin, conf)


def in_threads(probs: np.ndarray, groups: list[str], strength: float) -> np.ndarray:
    """Each pair's probabilities read against its discussion's mix of sides, as a map reads a
    thread (:func:`service.engines.stance.model.thread_prior`, the package's own code)."""
    out = probs.copy()
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    for idx in members.values():
        rows = [[float(v) for v in probs[i]] for i in idx]
        out[idx] = np.array(thread_prior(rows, strength))
    return out


def table(name: str, s: dict[str, Any]) -> str:
    cells = "  ".join(
        f"{c} P {v['precision']:.3f} R {v['recall']:.3f} F1 {v['f1']:.3f}"
        for c, v in s["per_class"].items()
    )
    return f"{name:<10} macro-F1 {s['macro_f1']:.3f}  acc {s['accuracy']:.3f}  {cells}"


def write_reads(path: Path, rows: list[dict[str, Any]]) -> None:
    """Out-of-fold reads of the training split, a JSON object a line, for
    ``bench/map_threads.py --split train``: each comes from a model that never saw its thread."""
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} out-of-fold reads to {path}", flush=True)


READS_HELP = "write the chosen setting's out-of-fold reads of the training split here (JSONL)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="+", type=Path, help="DEBAGREEMENT CSV files")
    parser.add_argument(
        "--pairs", nargs="*", type=Path, default=[], help="hand-labelled pairs (JSONL)"
    )
    parser.add_argument("--gold", type=Path, default=ROOT / "fixtures/eval/pairs.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "service/engines/stance/model.json")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a model.json to score on the same held-out splits (default: the one at --out)",
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--role-precision", type=float, default=0.75)
    parser.add_argument("--cue-precision", type=float, default=0.8)
    parser.add_argument("--c", type=float, help="regularisation; default: chosen by CV")
    parser.add_argument(
        "--hand-weight", type=float, help="weight of a hand-labelled pair; default: chosen by CV"
    )
    parser.add_argument("--reads", type=Path, help=READS_HELP)
    args = parser.parse_args(argv)

    pairs = read_pairs(args.csv)
    train, held = split(pairs, args.seed)
    print(f"{len(pairs)} pairs: {len(train)} train, {len(held)} held out", flush=True)
    hand, dropped = read_hand_pairs(args.pairs, args.gold) if args.pairs else ([], 0)
    hand_train, hand_held = split(hand, args.seed)
    if hand:
        print(
            f"{len(hand)} hand-labelled pairs ({dropped} dropped: in the evaluation gold set): "
            f"{len(hand_train)} train, {len(hand_held)} held out",
            flush=True,
        )
    train = train + hand_train
    x_train, x_held = matrix(train, pair_features), matrix(held, pair_features)
    x_hand_held = matrix(hand_held, pair_features)
    y_train = np.array([p.label for p in train])
    gold_train = [p.label for p in train]
    groups = [p.group for p in train]
    is_hand = np.array([p.origin == "hand" for p in train])
    folds = list(GroupKFold(n_splits=5).split(x_train, y_train, groups))
    cues_train = [cue_reading(p) for p in train]
    cues_held = [cue_reading(p) for p in held]
    cues_hand_held = [cue_reading(p) for p in hand_held]
    cue_margin, cue_conf = choose_cue_margin(gold_train, cues_train, args.cue_precision)

    def weights_for(idx: np.ndarray, w: float) -> np.ndarray:
        return np.where(is_hand[idx], w, 1.0)

    def out_of_fold(c: float, w: float) -> tuple[list[str], np.ndarray]:
        probs = np.zeros((len(train), len(CLASSES)))
        for fit_idx, val_idx in folds:
            fitted = model(c).fit(
                x_train[fit_idx], y_train[fit_idx], sample_weight=weights_for(fit_idx, w)
            )
            probs[val_idx] = probabilities(fitted, x_train[val_idx])
        oof_probs[(c, w)] = probs
        return decisions(probs, cues_train, cue_margin, cue_conf)

    def cv_parts(labels: list[str]) -> list[float]:
        """Out-of-fold macro-F1 of DEBAGREEMENT's pairs and of the hand-labelled ones."""
        parts = []
        for hand_part in (False, True) if hand else (False,):
            idx = [i for i in range(len(train)) if is_hand[i] == hand_part]
            parts.append(scores([gold_train[i] for i in idx], [labels[i] for i in idx])["macro_f1"])
        return parts

    c_grid = C_GRID if args.c is None else (args.c,)
    w_grid = (
        (1.0,) if not hand else HAND_WEIGHTS if args.hand_weight is None else (args.hand_weight,)
    )
    oof: dict[tuple[float, float], tuple[list[str], np.ndarray]] = {}
    oof_probs: dict[tuple[float, float], np.ndarray] = {}

    def judged(setting: str, labels: list[str]) -> tuple[float, float]:
        """The :func:`criterion` of a setting's out-of-fold labels, printed with its parts."""
        parts = cv_parts(labels)
        score = criterion(parts)
        each = " and ".join(f"{v:.3f}" for v in parts)
        print(
            f"{setting}: out-of-fold macro-F1, worse source {score[0]:.3f}, mean {score[1]:.3f}"
            + (f" (DEBAGREEMENT and hand-labelled: {each})" if hand else ""),
            flush=True,
        )
        return score

    cv: dict[tuple[float, float], tuple[float, float]] = {}
    for c in c_grid:
        for w in w_grid:
            oof[(c, w)] = out_of_fold(c, w)
            cv[(c, w)] = judged(f"C={c} hand weight {w:g}", oof[(c, w)][0])
    chosen, weight = max(cv, key=lambda k: (*cv[k], -k[0], -k[1]))

    # The thread prior: how strongly a map reads each reply against its thread's mix of sides,
    # chosen on the same out-of-fold probabilities (each discussion's pairs are in one fold).
    by_prior: dict[float, tuple[list[str], np.ndarray]] = {}
    prior_cv: dict[float, tuple[float, float]] = {}
    for strength in THREAD_PRIORS:
        adapted = in_threads(oof_probs[(chosen, weight)], groups, strength)
        by_prior[strength] = decisions(adapted, cues_train, cue_margin, cue_conf)
        prior_cv[strength] = judged(f"thread prior {strength:g}", by_prior[strength][0])
    prior = max(prior_cv, key=lambda k: (*prior_cv[k], -k))
    if args.reads:
        raw = oof_probs[(chosen, weight)]
        write_reads(
            args.reads,
            [
                {"parent": p.parent, "reply": p.reply, "probabilities": [float(v) for v in raw[i]]}
                for i, p in enumerate(train)
                if p.origin == "hand"
            ],
        )
    oof_labels, oof_conf = by_prior[prior]
    threshold = choose_threshold(gold_train, oof_labels, oof_conf, args.role_precision)
    if hand:
        # The pool is mostly DEBAGREEMENT: what the threshold gives in the register the engine
        # reads most is printed, so the trade is in view.
        idx = [i for i in range(len(train)) if is_hand[i]]
        precision, recall = role_calls(
            [gold_train[i] for i in idx], [oof_labels[i] for i in idx], oof_conf[idx], threshold
        )
        print(
            f"out-of-fold hand-labelled calls at {threshold:.2f}: precision {precision:.3f}, "
            f"recall {recall:.3f}",
            flush=True,
        )

    fitted = model(chosen).fit(
        x_train, y_train, sample_weight=weights_for(np.arange(len(train)), weight)
    )
    gold = [p.label for p in held]
    labels, _ = predict(fitted, x_held, cues_held, cue_margin, cue_conf)
    alone, _ = predict(fitted, x_held, None, cue_margin, cue_conf)
    majority = Counter(gold_train).most_common(1)[0][0]
    cue = [s if (s := cue_classify(p.reply)[0]) in ("agree", "disagree") else "other" for p in held]
    result = {
        "model": scores(gold, labels),
        "regression": scores(gold, alone),
        "majority": scores(gold, [majority] * len(gold)),
        "cues": scores(gold, cue),
    }
    if hand_held:
        hand_gold = [p.label for p in hand_held]
        got, _ = predict(fitted, x_hand_held, cues_hand_held, cue_margin, cue_conf)
        result["hand_model"] = scores(hand_gold, got)
        result["hand_majority"] = scores(hand_gold, [majority] * len(hand_gold))
    before = args.baseline or args.out
    if before.is_file():  # the model this run would replace, on the same splits
        old = decode(json.loads(before.read_text(encoding="utf-8")))
        result["before"] = scores(gold, [old.classify(p.parent, p.reply)[0] for p in held])
        if hand_held:
            result["hand_before"] = scores(
                hand_gold, [old.classify(p.parent, p.reply)[0] for p in hand_held]
            )

    # How a map reads them: each discussion's pairs against its own mix of sides.
    def read_in_threads(
        items: list[Pair], x: csr_matrix, cues: list[Cue]
    ) -> tuple[list[str], np.ndarray]:
        adapted = in_threads(probabilities(fitted, x), [p.group for p in items], prior)
        return decisions(adapted, cues, cue_margin, cue_conf)

    in_thread = read_in_threads(held, x_held, cues_held)
    result["model_in_thread"] = scores(gold, in_thread[0])
    calls = {"debagreement": role_calls(gold, *in_thread, threshold)}
    if hand_held:
        hand_in_thread = read_in_threads(hand_held, x_hand_held, cues_hand_held)
        result["hand_model_in_thread"] = scores(hand_gold, hand_in_thread[0])
        calls["hand"] = role_calls(hand_gold, *hand_in_thread, threshold)
    print(
        f"C={chosen}; hand weight {weight:g}; thread prior {prior:g}; role_confidence "
        f"{threshold:.2f}; cue margin {cue_margin} (train precision {cue_conf:.3f})"
    )
    for name, s in result.items():
        print(table(name, s))
    for name, (precision, recall) in calls.items():
        print(
            f"held-out {name} agree/disagree calls in their threads at confidence >= "
            f"{threshold:.2f}: precision {precision:.3f}, recall {recall:.3f}"
        )
    conf_matrix = result["model"]["confusion"]
    print("confusion (gold → predicted):", conf_matrix)

    order = [CLASSES.index(str(c)) for c in fitted.classes_]
    weights = [[0.0] * BUCKETS for _ in CLASSES]
    bias = [0.0] * len(CLASSES)
    for row, k in enumerate(order):
        weights[k] = [float(w) for w in fitted.coef_[row]]
        bias[k] = float(fitted.intercept_[row])
    # The replaced model's figures are printed, not kept.
    rounded = kept_scores({n: s for n, s in result.items() if "before" not in n})
    meta = {
        "trained_on": "DEBAGREEMENT (NeurIPS 2021), CC BY 4.0 + Scale/Oxford terms"
        + (", and hand-labelled HN/Reddit pairs (bench/data/stance)" if hand else ""),
        "pairs": {
            "train": len(train),
            "held_out": len(held),
            "hand_train": len(hand_train),
            "hand_held_out": len(hand_held),
        },
        "hand_weight": weight,
        "split": f"by submission_id, {HELD_OUT_SHARE:.0%} held out, seed {args.seed}",
        "c": chosen,
        "held_out": rounded,
        "role_calls_held_out": {
            name: {"precision": round(precision, 4), "recall": round(recall, 4)}
            for name, (precision, recall) in calls.items()
        },
    }
    doc = encode(CLASSES, bias, weights, threshold, cue_margin, cue_conf, meta, prior)
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
