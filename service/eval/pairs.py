"""Labelled reply pairs: read from CSV or JSONL, their labels mapped to the stance classes.

A pair is a comment (``parent``), a reply to it (``reply``) and a human label of the reply's
stance toward the comment: ``agree``, ``disagree`` or ``other`` (``neutral`` is read as
``other``). CSV files need a header row naming the columns; JSONL files hold one JSON object a
line. The columns are ``parent``, ``reply`` and ``label`` unless named otherwise
(``--columns body_parent,body_child,label``); other columns or keys are not used.

Data sets encode labels their own way (DEBAGREEMENT: 0 disagree, 1 neutral, 2 agree), so a
label map (``--labels 0=disagree,1=other,2=agree``) says what each raw label means; with a map,
a raw label it does not name is an error, never a silent guess. Every problem is an
:class:`~service.errors.EvalDataError` naming the file and line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, get_args

from ..errors import EvalDataError, UsageError

__all__ = [
    "COLUMNS",
    "LABELS",
    "Columns",
    "Label",
    "Pair",
    "parse_columns",
    "parse_label_map",
    "read_pairs",
]

Label = Literal["agree", "disagree", "other"]
LABELS: Final[tuple[Label, ...]] = get_args(Label)
"""The stance classes, in the order tables show them."""

_ALIASES: Final[dict[str, Label]] = {
    "agree": "agree",
    "disagree": "disagree",
    "other": "other",
    "neutral": "other",
}
COLUMNS: Final = ("parent", "reply", "label")
"""The default names of the three columns (CSV) or keys (JSONL)."""
Columns = tuple[str, str, str]


@dataclass(frozen=True)
class Pair:
    """One labelled reply pair; ``where`` names its place in the file (``pairs.csv:12``)."""

    parent: str
    reply: str
    label: Label
    where: str


def parse_label_map(spec: str) -> dict[str, Label]:
    """``"0=disagree,1=other,2=agree"`` → ``{"0": "disagree", "1": "other", "2": "agree"}``.

    Raises :class:`UsageError` for a malformed map or a class that does not exist.
    """
    mapping: dict[str, Label] = {}
    for part in spec.split(","):
        raw, sep, name = part.partition("=")
        raw, name = raw.strip(), name.strip().lower()
        if not sep or not raw:
            raise UsageError(f"--labels: {part.strip()!r} is not RAW=CLASS (e.g. 0=disagree)")
        if name not in _ALIASES:
            raise UsageError(
                f"--labels: {name!r} is not a stance class (agree, disagree, other or neutral)"
            )
        if raw in mapping:
            raise UsageError(f"--labels: {raw!r} is mapped twice")
        mapping[raw] = _ALIASES[name]
    return mapping


def _label(raw: object, mapping: Mapping[str, Label] | None, where: str) -> Label:
    text = str(raw).strip() if raw is not None else ""
    if isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))  # JSON 2.0 reads as the label 2
    if mapping is not None:
        found = mapping.get(text)
        if found is None:
            raise EvalDataError(
                f"{where}: label {text!r} is not in the label map ({', '.join(mapping)})"
            )
        return found
    alias = _ALIASES.get(text.lower())
    if alias is None:
        raise EvalDataError(
            f"{where}: label {text!r} is not agree, disagree, other or neutral "
            "(map other encodings with --labels, e.g. --labels 0=disagree,1=other,2=agree)"
        )
    return alias


def parse_columns(spec: str) -> Columns:
    """``"body_parent,body_child,label"`` → the names of the parent, reply and label columns."""
    names = tuple(part.strip() for part in spec.split(","))
    if len(names) != 3 or not all(names):
        raise UsageError(f"--columns: {spec!r} is not PARENT,REPLY,LABEL (three column names)")
    return names[0], names[1], names[2]


def _pair(
    row: Mapping[str, object], columns: Columns, mapping: Mapping[str, Label] | None, where: str
) -> Pair:
    texts = []
    for column in columns[:2]:
        value = row.get(column)
        if not isinstance(value, str):
            raise EvalDataError(f"{where}: {column!r} must be text, not {type(value).__name__}")
        texts.append(value)
    return Pair(texts[0], texts[1], _label(row.get(columns[2]), mapping, where), where)


def _csv_rows(text: str, name: str, columns: Columns) -> list[tuple[dict[str, object], str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in columns if c not in header]
    if missing:
        raise EvalDataError(
            f"{name}: the header has no column {', '.join(map(repr, missing))} "
            f"(found {', '.join(map(repr, header)) or 'nothing'}; name the parent, reply and "
            "label columns with --columns)"
        )
    rows: list[tuple[dict[str, object], str]] = []
    try:
        for row in reader:
            rows.append((dict(row), f"{name}:{reader.line_num}"))
    except csv.Error as e:
        raise EvalDataError(f"{name}:{reader.line_num}: not valid CSV: {e}") from None
    return rows


def _jsonl_rows(text: str, name: str, columns: Columns) -> list[tuple[dict[str, object], str]]:
    rows: list[tuple[dict[str, object], str]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}:{n}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            raise EvalDataError(f"{where}: not valid JSON: {e.msg}") from None
        if not isinstance(value, dict):
            raise EvalDataError(f"{where}: a line must be a JSON object with parent, reply, label")
        missing = [c for c in columns if c not in value]
        if missing:
            raise EvalDataError(f"{where}: no {', '.join(map(repr, missing))} key")
        rows.append((value, where))
    return rows


def read_pairs(
    path: Path, mapping: Mapping[str, Label] | None = None, columns: Columns = COLUMNS
) -> list[Pair]:
    """The labelled pairs in ``path`` (``.csv``; JSON lines otherwise), read from ``columns``."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EvalDataError(f"no such file: {path}") from None
    except UnicodeDecodeError:
        raise EvalDataError(f"{name}: not UTF-8 text") from None
    except OSError as e:
        raise EvalDataError(f"cannot read {path}: {e.strerror or e}") from None
    is_csv = path.suffix.lower() == ".csv"
    rows = _csv_rows(text, name, columns) if is_csv else _jsonl_rows(text, name, columns)
    pairs = [_pair(row, columns, mapping, where) for row, where in rows]
    if not pairs:
        raise EvalDataError(f"{name}: no labelled pairs")
    return pairs
