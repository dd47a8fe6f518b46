"""Evaluation reports as text tables for people and as JSON for machines (``--json``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .gold import ROLES, SHOWN_ROLES
from .maps import MapScore
from .metrics import ClassScore, Scores
from .runner import MapReport, Stability, StanceReport

__all__ = ["map_json", "map_text", "stance_json", "stance_text"]

WRONG_SHOWN = 10
"""Wrong items a text map report lists (``--json`` lists them all)."""


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell: the first left-aligned, the rest right-aligned."""
    cells = [[str(c) for c in header], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for r in cells:
        first = r[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        lines.append("  ".join([first, *rest]).rstrip())
    return "\n".join(lines)


def _cell(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _stability(s: Stability) -> str:
    if s.runs == 1:
        return "1 run (use --repeat N to check stability)"
    if s.identical:
        return f"{s.runs} runs, identical outputs"
    return f"{s.runs} runs, NOT identical: {s.distinct} different outputs"


def _class_rows(classes: Sequence[ClassScore]) -> list[list[object]]:
    return [[c.label, c.precision, c.recall, c.f1, c.support, c.predicted] for c in classes]


_CLASS_HEADER = ("class", "precision", "recall", "f1", "support", "predicted")


def stance_text(report: StanceReport) -> str:
    """The stance report as tables."""
    s, b = report.scores, report.baseline
    classes = s.confusion.classes
    matrix = [
        [f"gold {label}", *s.confusion.row(label), sum(s.confusion.row(label))] for label in classes
    ]
    parts = [
        f"stance of {report.engine} on {report.source} ({report.pairs} pairs)",
        "",
        "confusion matrix (rows: gold label, columns: predicted)",
        table(["", *classes, "total"], matrix),
        "",
        table(_CLASS_HEADER, _class_rows(s.per_class)),
        f"macro-F1 {s.macro_f1:.3f}   accuracy {s.accuracy:.3f}",
        "",
        f'majority-class baseline (always "{report.baseline_label}")',
        table(_CLASS_HEADER, _class_rows(b.per_class)),
        f"macro-F1 {b.macro_f1:.3f}   accuracy {b.accuracy:.3f}",
        "",
        f"stability: {_stability(report.stability)}",
    ]
    if report.invalid:
        parts.append(f"no usable answer for {report.invalid} pair(s), scored as other")
    if report.model_calls is not None:
        parts.append(f"model calls: {report.model_calls} (cache hits not counted)")
    return "\n".join(parts) + "\n"


def _scores_json(s: Scores) -> dict[str, Any]:
    m = s.confusion
    return {
        "confusion": {g: dict(zip(m.classes, m.row(g), strict=True)) for g in m.classes},
        "per_class": {
            c.label: {
                "precision": c.precision,
                "recall": c.recall,
                "f1": c.f1,
                "support": c.support,
                "predicted": c.predicted,
            }
            for c in s.per_class
        },
        "macro_f1": s.macro_f1,
        "accuracy": s.accuracy,
    }


def _stability_json(s: Stability) -> dict[str, Any]:
    return {"runs": s.runs, "identical": s.identical, "distinct_outputs": s.distinct}


def stance_json(report: StanceReport) -> dict[str, Any]:
    """The stance report as a JSON-able document."""
    return {
        "kind": "stance",
        "engine": report.engine,
        "source": report.source,
        "pairs": report.pairs,
        "classes": list(report.scores.confusion.classes),
        **_scores_json(report.scores),
        "baseline": {"label": report.baseline_label, **_scores_json(report.baseline)},
        "invalid": report.invalid,
        "repeat": _stability_json(report.stability),
        "model_calls": report.model_calls,
    }


def _role_rows(score: MapScore) -> list[list[object]]:
    rows: list[list[object]] = []
    for role in ROLES:
        c, s = score.counts[role], score.role(role)
        rows.append([role, c.shown, c.right, c.gold, s.precision, s.recall, s.f1])
    return rows


def map_text(report: MapReport) -> str:
    """The map report as tables."""
    total = report.total
    per_thread = [
        [
            t.name,
            t.comments,
            "yes" if t.disputed else "no",
            t.score.shown,
            t.score.right,
            f"{100 * t.score.share_right:.1f}%",
            "" if t.disputed else t.score.rebuttals_undisputed,
            "yes" if t.stability.identical else f"no ({t.stability.distinct})",
        ]
        for t in report.threads
    ]
    runs = report.threads[0].stability if report.threads else Stability(1, 1)
    parts = [
        f"map of the {report.engine} engine on {len(report.threads)} gold thread(s)",
        "",
        table(
            ["thread", "comments", "dispute", "shown", "right", "share", "rebuttals", "stable"],
            per_thread,
        ),
        "",
        table(["role", "shown", "right", "gold", "precision", "recall", "f1"], _role_rows(total)),
        "",
        f"shown items right (claims, supporters, rebuttals, counters): {total.right} of "
        f"{total.shown} ({100 * total.share_right:.1f}%; 95% interval "
        f"{100 * total.share_right_interval[0]:.1f}-{100 * total.share_right_interval[1]:.1f}%)",
    ]
    if total.undisputed_threads:
        parts.append(
            f"threads with no dispute: {total.undisputed_threads}; rebuttals or counters shown "
            f"on them: {total.rebuttals_undisputed}"
        )
    tc = total.topics
    if tc.claims:
        parts.append(
            f"topics: {tc.together} of {tc.claims} shown claims of one gold topic land in its "
            f"main predicted topic ({100 * tc.share_together:.1f}%; {tc.gold_topics} gold "
            f"topic(s), {tc.split} split); {tc.mixed} of {tc.predicted} predicted topic(s) mix "
            "gold topics"
        )
    else:
        parts.append("topics: no shown claim stands for a gold topic")
    stable = "identical maps" if report.stable else "maps NOT identical on some thread"
    parts.append(
        f"stability: {runs.runs} run(s) per thread"
        + (f", {stable}" if runs.runs > 1 else " (use --repeat N to check stability)")
    )
    if total.wrong:
        parts += [
            "",
            f"wrong items (first {min(WRONG_SHOWN, len(total.wrong))} of "
            f"{len(total.wrong)}; --json lists all):",
        ]
        parts += [f"  {line}" for line in total.wrong[:WRONG_SHOWN]]
    return "\n".join(parts) + "\n"


def _map_score_json(score: MapScore) -> dict[str, Any]:
    return {
        "roles": {
            role: {
                "shown": score.counts[role].shown,
                "right": score.counts[role].right,
                "gold": score.counts[role].gold,
                "precision": score.role(role).precision,
                "recall": score.role(role).recall,
                "f1": score.role(role).f1,
            }
            for role in ROLES
        },
        "shown": score.shown,
        "right": score.right,
        "share_right": score.share_right,
        "share_right_interval": list(score.share_right_interval),
        "shown_roles": list(SHOWN_ROLES),
        "undisputed_threads": score.undisputed_threads,
        "rebuttals_on_undisputed": score.rebuttals_undisputed,
        "topics": {
            "gold_topics": score.topics.gold_topics,
            "claims": score.topics.claims,
            "together": score.topics.together,
            "share_together": score.topics.share_together,
            "split": score.topics.split,
            "predicted": score.topics.predicted,
            "mixed": score.topics.mixed,
        },
        "wrong": list(score.wrong),
    }


def map_json(report: MapReport) -> dict[str, Any]:
    """The map report as a JSON-able document."""
    return {
        "kind": "map",
        "engine": report.engine,
        "threads": [
            {
                "name": t.name,
                "comments": t.comments,
                "disputed": t.disputed,
                **_map_score_json(t.score),
                "repeat": _stability_json(t.stability),
                "warnings": t.warnings,
            }
            for t in report.threads
        ],
        "total": _map_score_json(report.total),
        "stable": report.stable,
    }
