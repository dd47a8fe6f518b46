"""Train the claim model (does a comment argue a point?) and report it on a held-out split.

    python3 -m pip install -e ".[train]"
    python3 bench/train_claims.py bench/data/claims/*.jsonl

Data: HN and Reddit comments labelled ``claim`` or ``none`` by reading them
(``bench/data/claims/README.md`` says how and where they come from); JSONL with ``text``,
``label``, ``source`` and ``thread``.

Method (all deterministic, seed ``--seed``):

1. Comments are split by thread: the threads are sorted, shuffled with the seed, and the
   comments of the first 20% of them are the held-out split.
2. Features are :func:`service.engines.argues.comment_features` (hashed, the code the package
   runs at inference).
3. Logistic regression (scikit-learn, lbfgs), weighted so that both classes weigh the same
   within every length band (:func:`balanced_weights`: word counts up to 8, 15, 30, 60 and
   more); ``C`` is chosen by 5-fold cross-validation grouped by thread on the training split
   (macro-F1).
4. The veto threshold: the map drops a comment the rules pass as a claim when the model's
   probability that it argues nothing is at least ``not_a_claim_confidence``, the threshold
   (0.50 to 0.99) at which the rules with the veto score the best out-of-fold macro-F1 on the
   training split, the criterion ``C`` is chosen by: a wrong claim and a lost one weigh alike.
   It is chosen on the training split only.
5. The model is fitted on the whole training split and measured once on the held-out split,
   beside the majority class and the engine's rules alone
   (:func:`service.engines.extractive.reading.argues` over the comment's sentences).

The weights go to ``service/engines/argues/model.json`` (``--out``) with the figures printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from splits import HELD_OUT_SHARE, split  # noqa: E402
from train_stance import (  # noqa: E402
    READS_HELP,
    kept_scores,
    matrix,
    scores,
    table,
    write_reads,
)

from service.engines.argues import CLASSES, comment_features, decode, encode  # noqa: E402
from service.engines.extractive.reading import argues  # noqa: E402
from service.engines.stance.features import BUCKETS  # noqa: E402
from service.text.sentences import split_sentences  # noqa: E402

LABELS = list(CLASSES)
C_GRID = (0.1, 0.3, 1.0)


@dataclass(frozen=True)
class Item:
    text: str
    label: str
    group: str


def read_items(paths: list[Path]) -> list[Item]:
    items: list[Item] = []
    seen: set[str] = set()
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row["label"] not in LABELS:
                raise SystemExit(f"{path}:{n}: label {row['label']!r} is not one of {LABELS}")
            key = " ".join(row["text"].split())
            if key in seen:
                continue
            seen.add(key)
            items.append(Item(row["text"], row["label"], f"{row['source']}:{row['thread']}"))
    return items


def featurize(item: Item) -> dict[int, float]:
    return comment_features(item.text)


def model(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=5000)


#: Word counts that bound the length bands the training weights balance the classes in.
LENGTH_BANDS = (8, 15, 30, 60)


def length_band(text: str) -> int:
    words = len(text.split())
    return next((n for n, limit in enumerate(LENGTH_BANDS) if words <= limit), len(LENGTH_BANDS))


def balanced_weights(items: list[Item]) -> np.ndarray:
    """Sample weights under which both classes weigh the same within every length band (and
    each band as much as it holds): in labelled threads short comments are mostly jokes and
    thanks and long ones mostly claims, and a model that learns that vetoes a short plain
    claim. The features leave length out; this keeps it from coming back through how much
    evidence a long text piles up."""
    bands = [length_band(i.text) for i in items]
    cells = Counter(zip(bands, (i.label for i in items), strict=True))
    per_band = Counter(bands)
    return np.array(
        [
            per_band[b] / (len(LABELS) * cells[(b, i.label)])
            for b, i in zip(bands, items, strict=True)
        ]
    )


def none_probability(fitted: LogisticRegression, x: csr_matrix) -> np.ndarray:
    column = [str(c) for c in fitted.classes_].index("none")
    return np.asarray(fitted.predict_proba(x)[:, column])


def veto_calls(gold: list[str], p_none: np.ndarray, threshold: float) -> tuple[float, float, int]:
    """Of the comments vetoed at ``threshold``: the share that argue nothing, the share of the
    claims among all that are vetoed (what the veto costs), and how many are vetoed."""
    vetoed = [g for g, p in zip(gold, p_none, strict=True) if p >= threshold]
    claims = sum(g == "claim" for g in gold)
    right = sum(g == "none" for g in vetoed)
    lost = sum(g == "claim" for g in vetoed)
    return (right / len(vetoed) if vetoed else 1.0), (lost / claims if claims else 0.0), len(vetoed)


def with_veto(passed: list[str], p_none: np.ndarray, threshold: float) -> list[str]:
    """The rules' calls with the veto: a comment they pass is ``none`` when p(none) reaches
    ``threshold``."""
    return [
        "claim" if r == "claim" and p < threshold else "none"
        for r, p in zip(passed, p_none, strict=True)
    ]


def choose_threshold(gold: list[str], passed: list[str], p_none: np.ndarray) -> float:
    """The veto threshold (steps of 0.01, from 0.5) at which the rules with the veto score the
    best macro-F1; the larger one on a tie (the veto fires less)."""
    best = max(
        range(50, 100),
        key=lambda step: (
            round(scores(gold, with_veto(passed, p_none, step / 100), LABELS)["macro_f1"], 3),
            step,
        ),
    )
    return best / 100


def rules(text: str) -> str:
    """The engine's rules alone: ``claim`` when a sentence of the comment argues."""
    return "claim" if any(argues(text[a:b]) for a, b in split_sentences(text)) else "none"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("jsonl", nargs="+", type=Path, help="labelled comments")
    parser.add_argument("--out", type=Path, default=ROOT / "service/engines/argues/model.json")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--reads", type=Path, help=READS_HELP)
    args = parser.parse_args(argv)

    items = read_items(args.jsonl)
    train, held = split(items, args.seed)
    print(
        f"{len(items)} comments ({Counter(i.label for i in items)}): {len(train)} train, "
        f"{len(held)} held out",
        flush=True,
    )
    x_train, x_held = matrix(train, featurize), matrix(held, featurize)
    y_train = np.array([i.label for i in train])
    gold_train = [i.label for i in train]
    folds = list(GroupKFold(n_splits=5).split(x_train, y_train, [i.group for i in train]))
    weights = balanced_weights(train)

    cv: dict[float, float] = {}
    oof_none: dict[float, np.ndarray] = {}
    for c in C_GRID:
        p_none = np.zeros(len(train))
        for fit_idx, val_idx in folds:
            fitted = model(c).fit(
                x_train[fit_idx], y_train[fit_idx], sample_weight=weights[fit_idx]
            )
            p_none[val_idx] = none_probability(fitted, x_train[val_idx])
        oof_none[c] = p_none
        labels = ["none" if p >= 0.5 else "claim" for p in p_none]
        cv[c] = scores(gold_train, labels, LABELS)["macro_f1"]
        print(f"C={c}: out-of-fold macro-F1 {cv[c]:.3f}", flush=True)
    chosen = max(C_GRID, key=lambda c: (round(cv[c], 3), -c))
    passed_train = [rules(i.text) for i in train]
    threshold = choose_threshold(gold_train, passed_train, oof_none[chosen])
    if args.reads:
        rows = [
            {"text": i.text, "claim_probability": 1.0 - float(p)}
            for i, p in zip(train, oof_none[chosen], strict=True)
        ]
        write_reads(args.reads, rows)

    fitted = model(chosen).fit(x_train, y_train, sample_weight=weights)
    gold = [i.label for i in held]
    p_held = none_probability(fitted, x_held)
    majority = Counter(gold_train).most_common(1)[0][0]
    result = {
        "model": scores(gold, ["none" if p >= 0.5 else "claim" for p in p_held], LABELS),
        "rules": scores(gold, [rules(i.text) for i in held], LABELS),
        "majority": scores(gold, [majority] * len(gold), LABELS),
    }
    precision, cost, vetoed = veto_calls(gold, p_held, threshold)
    result["rules_and_veto"] = scores(
        gold, with_veto([rules(i.text) for i in held], p_held, threshold), LABELS
    )
    print(f"C={chosen}; not_a_claim_confidence {threshold:.2f}")
    for name, s in result.items():
        print(table(name, s))
    print(
        f"held-out vetoes at p(none) >= {threshold:.2f}: {vetoed} comments, {precision:.3f} of "
        f"them argue nothing; {cost:.3f} of the held-out claims are vetoed"
    )

    # Binary: one row of weights w and an intercept b, for classes_[1]: p = sigmoid(w·x + b).
    # As two classes scored by softmax, that is +(w·x + b)/2 for it and -(w·x + b)/2 for the
    # other (softmax of [z, -z] is sigmoid(2z)).
    first, second = (LABELS.index(str(c)) for c in fitted.classes_)
    half_row = [float(w) / 2 for w in fitted.coef_[0]]
    half_bias = float(fitted.intercept_[0]) / 2
    weights = [[0.0] * BUCKETS for _ in LABELS]
    bias = [0.0] * len(LABELS)
    weights[second], weights[first] = half_row, [-w for w in half_row]
    bias[second], bias[first] = half_bias, -half_bias
    rounded = kept_scores(result)
    meta = {
        "trained_on": "HN and Reddit comments labelled by hand (bench/data/claims)",
        "comments": {"train": len(train), "held_out": len(held)},
        "split": f"by thread, {HELD_OUT_SHARE:.0%} held out, seed {args.seed}",
        "c": chosen,
        "held_out": rounded,
        "vetoes_held_out": {"precision": round(precision, 4), "claims_vetoed": round(cost, 4)},
    }
    doc = encode(LABELS, bias, weights, threshold, meta)
    # The package's own inference must give the probabilities the figures above were read from.
    shipped = decode(json.loads(json.dumps(doc)))
    for item, p in zip(held, p_held, strict=True):
        if abs((1 - shipped.claim_probability(item.text)) - p) > 0.01:
            raise SystemExit(f"the encoded model disagrees with the fitted one on {item.text!r}")
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
