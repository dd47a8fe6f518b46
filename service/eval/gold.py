"""Gold threads: a thread in threadsum's native JSON whose comments carry hand-assigned roles.

Each comment has, besides the native fields, ``role`` — one of ``claim``, ``supporter``,
``rebuttal``, ``counter``, ``none`` — and, for the non-claim roles, ``claim``: the id of the gold
claim comment it belongs to (a supporter backs that claim, a rebuttal pushes back on it, a
counter answers one of its rebuttals). A comment without ``role`` is ``none``. A claim may also
carry ``topic``: a label naming what it is about (claims with the same label are on one topic);
the comments that belong to a claim are on its topic. The annotations are taken out before the
thread is read, so what the engine sees is an ordinary native thread.

:func:`read_gold` checks the annotations (known roles, claims that exist and are claims) and
raises :class:`~service.errors.EvalDataError` naming the comment otherwise. A directory stands
for every ``*.json`` file in it, in name order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, get_args

from ..errors import EvalDataError, InputError
from ..ingest import read_thread
from ..models import Thread
from ..settings import Settings

__all__ = ["ROLES", "GoldRole", "GoldThread", "Role", "gold_files", "read_gold"]

Role = Literal["claim", "supporter", "rebuttal", "counter", "none"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
SHOWN_ROLES: Final[tuple[Role, ...]] = ("claim", "supporter", "rebuttal", "counter")
"""The roles a map shows (``none`` is every comment it does not show)."""


@dataclass(frozen=True)
class GoldRole:
    """The gold role of one comment, and the gold claim it belongs to (None for claims)."""

    role: Role
    claim: str | None = None
    topic: str | None = None  # gold claims only


@dataclass(frozen=True)
class GoldThread:
    """A thread and its gold roles, by comment id (every comment of the thread has one)."""

    name: str
    thread: Thread
    roles: dict[str, GoldRole]

    @property
    def disputed(self) -> bool:
        """False for a thread whose gold map has no rebuttal and no counter."""
        return any(r.role in ("rebuttal", "counter") for r in self.roles.values())

    def topic_of(self, comment_id: str) -> str | None:
        """The gold topic of a claim, or of the claim the comment belongs to; None if unlabelled."""
        g = self.roles.get(comment_id)
        if g is None:
            return None
        if g.role == "claim":
            return g.topic
        owner = self.roles.get(g.claim or "")
        return owner.topic if owner is not None else None

    def count(self, role: Role) -> int:
        """Comments whose gold role is ``role``."""
        return sum(1 for r in self.roles.values() if r.role == role)


def gold_files(targets: Iterable[str]) -> list[Path]:
    """The gold files ``targets`` name: files as given, directories as their ``*.json``."""
    found: list[Path] = []
    for target in targets:
        path = Path(target)
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.json") if p.is_file())
            if not inside:
                raise EvalDataError(f"no gold thread (*.json) in {target}")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise EvalDataError(f"no such file or directory: {target}")
    return found


def _annotation(item: dict[str, object], where: str) -> tuple[Role, str | None]:
    role = item.pop("role", "none")
    claim = item.pop("claim", None)
    if role not in ROLES:
        raise EvalDataError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
    if claim is not None and not isinstance(claim, str | int):
        raise EvalDataError(f"{where}: 'claim' must be a comment id")
    known = role
    if known == "claim" or known == "none":
        return known, None
    if claim is None:
        raise EvalDataError(f"{where}: a {known} needs 'claim': the id of the claim it belongs to")
    return known, str(claim)


def read_gold(path: Path, settings: Settings | None = None) -> GoldThread:
    """The gold thread in ``path``."""
    name = path.name
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise EvalDataError(f"cannot read {path}: {e}") from None
    except json.JSONDecodeError as e:
        raise EvalDataError(f"{name}: not valid JSON: {e.msg} (line {e.lineno})") from None
    comments = doc.get("comments") if isinstance(doc, dict) else None
    if not isinstance(comments, list):
        raise EvalDataError(f"{name}: a gold thread is a native thread with a 'comments' list")
    annotations: dict[str, tuple[Role, str | None]] = {}
    topics: dict[str, str] = {}
    for n, item in enumerate(comments, start=1):
        if not isinstance(item, dict) or "id" not in item:
            raise EvalDataError(f"{name}: comment #{n} is not an object with an 'id'")
        cid = str(item["id"])
        topic = item.pop("topic", None)
        annotations[cid] = _annotation(item, f"{name}: comment {cid}")
        if topic is not None:
            if annotations[cid][0] != "claim" or not isinstance(topic, str) or not topic.strip():
                raise EvalDataError(
                    f"{name}: comment {cid}: 'topic' is a non-empty label, on claims only"
                )
            topics[cid] = topic.strip()
    try:
        thread = read_thread(json.dumps(doc), "native", settings)
    except InputError as e:
        raise EvalDataError(f"{name}: {e}") from None
    roles: dict[str, GoldRole] = {}
    for comment in thread.comments:
        role, claim = annotations.get(comment.id, ("none", None))
        if claim is not None and annotations.get(claim, ("none", None))[0] != "claim":
            raise EvalDataError(
                f"{name}: comment {comment.id} belongs to claim {claim!r}, "
                "which is not a comment with role 'claim'"
            )
        roles[comment.id] = GoldRole(role, claim, topics.get(comment.id))
    return GoldThread(name, thread, roles)
