"""Linear models over hashed features, as the package ships them (the stance and claim models).

Weights are one per class and feature slot, quantised to 16-bit integers (``scale`` turns them
back into floats), stored little-endian, class-major (it compresses better), zlib-compressed and
base64-encoded. In memory they are slot-major, so one pass over a text's features scores every
class. Inference needs nothing beyond the standard library.
"""

from __future__ import annotations

import base64
import json
import math
import sys
import zlib
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

M = TypeVar("M")

#: The version of the ``model.json`` layout.
FORMAT = 1


def pack(weights: list[list[float]]) -> tuple[float, str]:
    """``(scale, blob)`` for trained float weights (``weights[class][slot]``)."""
    peak = max((abs(w) for row in weights for w in row), default=0.0) or 1.0
    scale = peak / 32767
    packed = array("h", (round(w / scale) for row in weights for w in row))
    if sys.byteorder == "big":
        packed.byteswap()
    return scale, base64.b64encode(zlib.compress(packed.tobytes(), 9)).decode("ascii")


def unpack(blob: str, classes: int, buckets: int) -> array[int]:
    """The weights of :func:`pack`, slot-major (``weights[slot * classes + class]``).

    Raises :class:`ValueError` (or :class:`zlib.error`) when the blob is not ``classes`` ×
    ``buckets`` weights.
    """
    weights = array("h")
    weights.frombytes(zlib.decompress(base64.b64decode(blob)))
    if sys.byteorder == "big":
        weights.byteswap()
    if len(weights) != classes * buckets:
        raise ValueError("the weights do not match the classes and slots")
    interleaved = array("h", bytes(2 * len(weights)))
    for c in range(classes):
        interleaved[c::classes] = weights[c * buckets : (c + 1) * buckets]
    return interleaved


def probabilities(
    weights: array[int], bias: tuple[float, ...], scale: float, features: dict[int, float]
) -> list[float]:
    """The softmax over classes of ``bias + scale · weights · features``."""
    k = len(bias)
    sums = [0.0] * k
    for slot, value in features.items():
        base = slot * k
        for c in range(k):
            sums[c] += weights[base + c] * value
    logits = [b + t * scale for b, t in zip(bias, sums, strict=True)]
    top = max(logits)
    exps = [math.exp(z - top) for z in logits]
    norm = sum(exps)
    return [e / norm for e in exps]


@dataclass(frozen=True)
class Linear:
    """The weights of a ``model.json`` document, ready to score."""

    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: array[int]  # slot-major
    scale: float


def read(doc: dict[str, Any], expected: tuple[str, ...], buckets: int) -> Linear:
    """The weights of a parsed ``model.json``; :class:`ValueError` naming what is wrong."""
    if doc.get("format") != FORMAT:
        raise ValueError(f"unsupported format {doc.get('format')!r}")
    classes = tuple(str(c) for c in doc["classes"])
    if sorted(classes) != sorted(expected):
        raise ValueError(f"classes {classes}, expected {expected}")
    if int(doc["buckets"]) != buckets:
        raise ValueError(f"{doc['buckets']} feature slots, the features use {buckets}")
    return Linear(
        classes=classes,
        bias=tuple(float(b) for b in doc["bias"]),
        weights=unpack(doc["weights"], len(classes), buckets),
        scale=float(doc["scale"]),
    )


def document(
    classes: list[str],
    bias: list[float],
    weights: list[list[float]],
    buckets: int,
    fields: dict[str, Any],
    meta: dict[str, Any],
) -> dict[str, Any]:
    """The ``model.json`` document for trained float weights (``weights[class][slot]``), with
    the model's own ``fields`` (its thresholds) and ``meta`` (how it was trained, its scores)."""
    scale, blob = pack(weights)
    return {
        "format": FORMAT,
        **meta,
        "classes": classes,
        "buckets": buckets,
        **fields,
        "scale": scale,
        "bias": bias,
        "weights": blob,
    }


def shipped(
    package: str,
    filename: str,
    decode: Callable[[dict[str, Any]], M],
    error: Callable[[str], Exception],
    what: str,
) -> M:
    """The model in ``filename`` of ``package``, read through :mod:`importlib.resources` (so
    from an installed wheel as from a checkout) and decoded; an unreadable or malformed file is
    ``error`` naming ``what`` and the file."""
    path = resources.files(package).joinpath(filename)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise error(f"{what}: cannot read {filename}: {e}") from e
    try:
        return decode(doc)
    except (KeyError, TypeError, ValueError, zlib.error) as e:
        raise error(f"{what}: malformed {filename}: {e}") from e
