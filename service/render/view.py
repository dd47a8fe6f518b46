"""What the HTML templates show, prepared from a summary (and its thread, when known).

Templates stay simple: every decision (what is linked, what is collapsed, which quotes say the
same thing, which comments get a place in the "in context" section, how claims group by topic)
is made here, as plain data. Nothing here escapes: the Jinja2 environment autoescapes every
value, and only http(s) URLs ever become links (:func:`~.common.link_target`).

Anchors are built from ids the service makes (``K1``, ``K1.R2``, comment keys ``c12``) and are
checked against a safe pattern; an id that is not safe gets a positional anchor instead, so an
untrusted source id never lands in an ``id`` or ``href`` attribute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from ..models import Citation, Claim, Counter, Rebuttal, Thread, ThreadSummary
from ..text.wording import one_line
from .common import (
    change_lines,
    counted,
    link_target,
    meta_parts,
    page_title,
    prevalence_label,
    stats_parts,
    who,
)

__all__ = ["MapView", "map_view"]

SHOWN_CLAIMS: Final = 10
"""Claims shown before "show N more"."""
SHOWN_QUOTES: Final = 3
"""Quotes of one claim, rebuttal or counter shown before "show N more"."""
SHOWN_PER_TOPIC: Final = 5
"""Claims of one topic shown before "show N more"."""
SHOWN_REBUTTALS: Final = 3
"""Rebuttals of one claim shown before "show N more"."""
ANCESTORS: Final = 4
"""Comments above a cited comment shown in its context."""
ABBREVIATED: Final = 240
"""Characters of an ancestor's text shown in a context."""

_SAFE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_FURTHER: Final = re.compile(r"^(\d+) further claim")


def _anchor(prefix: str, ident: str, fallback: int) -> str:
    """An element id: ``prefix-ident`` when ``ident`` is safe, else ``prefix-n``."""
    return f"{prefix}-{ident}" if _SAFE_ID.fullmatch(ident) else f"{prefix}-{fallback}"


@dataclass
class QuoteView:
    quote: str
    who: str
    url: str | None
    sentence_ids: list[str]
    context: str | None  # the anchor of the comment in the "in context" section
    also: list[QuoteView] = field(default_factory=list)  # others who said exactly this


@dataclass
class QuotesView:
    shown: list[QuoteView]
    more: list[QuoteView]
    total: int  # citations, duplicates included


@dataclass
class CounterView:
    statement: str
    quotes: QuotesView


@dataclass
class RebuttalView:
    id: str
    anchor: str
    statement: str
    quotes: QuotesView
    counters: list[CounterView]


@dataclass
class ClaimView:
    id: str
    anchor: str
    statement: str
    prevalence: str
    comments: int
    authors: list[str]  # everyone cited anywhere in the claim, for the author filter
    quotes: QuotesView
    supporters: QuotesView
    supporter_names: str
    rebuttals: list[RebuttalView]
    more_rebuttals: list[RebuttalView]
    rebuttal_count: int
    counter_count: int
    new: bool = False  # new since the earlier summary (``changes``)


@dataclass
class GroupView:
    """Claims under one topic (``title`` ``None``: the map has no topics)."""

    title: str | None
    anchor: str | None
    prevalence: str | None
    shown: list[ClaimView]
    more: list[ClaimView]

    @property
    def claims(self) -> list[ClaimView]:
        return [*self.shown, *self.more]


@dataclass
class AncestorView:
    who: str
    text: str
    context: str | None


@dataclass
class ContextView:
    anchor: str
    key: str
    who: str
    url: str | None
    status: str
    above: int  # ancestors not shown
    ancestors: list[AncestorView]
    segments: list[tuple[str, bool]]  # the comment's text, cited sentences marked
    replies: int


@dataclass
class MapView:
    title: str
    url: str | None
    url_text: str | None
    meta: list[str]
    overview: str
    groups: list[GroupView]
    claim_count: int
    further: int  # claims the engine found but left out
    authors: list[str]  # for the filter, most cited first
    contexts: list[ContextView]
    warnings: list[str]
    stats: list[str]
    markdown: str
    topics: bool
    changes: list[str]  # what changed since an earlier summary, one line each; [] if none

    @property
    def claims(self) -> list[ClaimView]:
        return [c for g in self.groups for c in g.claims]


class _Builder:
    def __init__(self, summary: ThreadSummary, thread: Thread | None) -> None:
        self.summary = summary
        self.thread = thread
        self.cited: dict[str, set[str]] = {}  # comment key → cited sentence ids
        changes = summary.changes
        self.new = frozenset(changes.new_claims if changes is not None else ())
        self.mentions: dict[str, int] = {}

    def context_of(self, citation: Citation) -> str | None:
        if self.thread is None or not citation.sentence_ids:
            return None
        key = citation.sentence_ids[0].partition(".")[0]
        comment = self.thread.by_key.get(key)
        if comment is None or comment.id != citation.comment_id or not _SAFE_ID.fullmatch(key):
            return None
        self.cited.setdefault(key, set()).update(citation.sentence_ids)
        return f"ctx-{key}"

    def quote(self, citation: Citation) -> QuoteView:
        name = who(citation)
        if citation.author:
            self.mentions[name] = self.mentions.get(name, 0) + 1
        return QuoteView(
            quote=citation.quote.strip(),
            who=name,
            url=link_target(citation.url),
            sentence_ids=list(citation.sentence_ids),
            context=self.context_of(citation),
        )

    def quotes(self, citations: list[Citation], shown: int = SHOWN_QUOTES) -> QuotesView:
        groups: dict[str, QuoteView] = {}
        for citation in citations:
            view = self.quote(citation)
            same = groups.get(view.quote)
            if same is None:
                groups[view.quote] = view
            else:
                same.also.append(view)
        distinct = list(groups.values())
        return QuotesView(distinct[:shown], distinct[shown:], len(citations))

    def counter(self, counter: Counter) -> CounterView:
        return CounterView(one_line(counter.statement), self.quotes(counter.evidence))

    def rebuttal(self, rebuttal: Rebuttal, n: int) -> RebuttalView:
        return RebuttalView(
            id=one_line(rebuttal.id),
            anchor=_anchor("claim", rebuttal.id, n),
            statement=one_line(rebuttal.statement),
            quotes=self.quotes(rebuttal.evidence),
            counters=[self.counter(c) for c in rebuttal.counters],
        )

    def claim(self, claim: Claim, n: int) -> ClaimView:
        everyone = [
            *claim.evidence,
            *claim.supporters,
            *(c for r in claim.rebuttals for c in r.evidence),
            *(c for r in claim.rebuttals for k in r.counters for c in k.evidence),
        ]
        authors = sorted({one_line(c.author) for c in everyone if c.author and c.author.strip()})
        names = list(dict.fromkeys(who(s) for s in claim.supporters))
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        rebuttals = [self.rebuttal(r, n * 1000 + i) for i, r in enumerate(claim.rebuttals, start=1)]
        return ClaimView(
            id=one_line(claim.id),
            anchor=_anchor("claim", claim.id, n),
            statement=one_line(claim.statement),
            prevalence=prevalence_label(claim),
            comments=claim.prevalence.comments,
            authors=authors,
            quotes=self.quotes(claim.evidence),
            supporters=self.quotes(claim.supporters, shown=len(claim.supporters)),
            supporter_names=shown,
            rebuttals=rebuttals[:SHOWN_REBUTTALS],
            more_rebuttals=rebuttals[SHOWN_REBUTTALS:],
            rebuttal_count=len(rebuttals),
            counter_count=sum(len(r.counters) for r in claim.rebuttals),
            new=claim.id in self.new,
        )

    def groups(self, claims: list[ClaimView]) -> tuple[list[GroupView], bool]:
        topics = _topics(self.summary)
        if not topics:
            return [
                GroupView(None, None, None, claims[:SHOWN_CLAIMS], claims[SHOWN_CLAIMS:])
            ], False
        by_id = {c.id: c for c in claims}
        placed: set[str] = set()
        groups: list[GroupView] = []
        for n, topic in enumerate(topics, start=1):
            members = [by_id[i] for i in topic["claim_ids"] if i in by_id and i not in placed]
            if not members:
                continue
            placed.update(c.id for c in members)
            groups.append(
                GroupView(
                    title=topic["title"],
                    anchor=_anchor("topic", topic["id"], n),
                    prevalence=topic["prevalence"],
                    shown=members[:SHOWN_PER_TOPIC],
                    more=members[SHOWN_PER_TOPIC:],
                )
            )
        rest = [c for c in claims if c.id not in placed]
        if rest:
            shown, more = rest[:SHOWN_PER_TOPIC], rest[SHOWN_PER_TOPIC:]
            groups.append(GroupView("Other claims", "topic-other", None, shown, more))
        return groups, True

    def contexts(self) -> list[ContextView]:
        thread = self.thread
        if thread is None:
            return []
        order = {c.key: i for i, c in enumerate(thread.comments)}
        out: list[ContextView] = []
        for key in sorted(self.cited, key=lambda k: order.get(k, 0)):
            comment = thread.by_key[key]
            chain = []
            parent = comment.parent_id
            while parent is not None and parent in thread.by_id:
                up = thread.by_id[parent]
                chain.append(up)
                parent = up.parent_id
            chain.reverse()
            shown = chain[-ANCESTORS:]
            ancestors = [
                AncestorView(
                    who=_name(c.author, c.id, c.status),
                    text=one_line(c.text, ABBREVIATED) if c.text else f"[{c.status}]",
                    context=f"ctx-{c.key}" if c.key in self.cited else None,
                )
                for c in shown
            ]
            marked = self.cited[key]
            segments: list[tuple[str, bool]] = []
            at = 0
            for sentence in comment.sentences:
                if sentence.id in marked:
                    if sentence.start > at:
                        segments.append((comment.text[at : sentence.start], False))
                    segments.append((comment.text[sentence.start : sentence.end], True))
                    at = sentence.end
            if at < len(comment.text):
                segments.append((comment.text[at:], False))
            out.append(
                ContextView(
                    anchor=f"ctx-{key}",
                    key=key,
                    who=_name(comment.author, comment.id, comment.status),
                    url=link_target(comment.url),
                    status=comment.status,
                    above=len(chain) - len(shown),
                    ancestors=ancestors,
                    segments=segments,
                    replies=len(comment.children),
                )
            )
        return out


def _name(author: str | None, comment_id: str, status: str) -> str:
    if author and author.strip():
        return one_line(author)
    return f"[{status}]" if status != "ok" else f"comment {one_line(comment_id)}"


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _topics(summary: ThreadSummary) -> list[dict[str, Any]]:
    """The summary's topics (a field other versions may add), as plain dicts; ``[]`` if none."""
    raw = getattr(summary, "topics", None) or []
    topics = []
    for item in raw:
        prevalence = _field(item, "prevalence")
        comments = prevalence if isinstance(prevalence, int) else _field(prevalence, "comments")
        authors = None if isinstance(prevalence, int) else _field(prevalence, "authors")
        label = None
        if isinstance(comments, int):
            label = counted(comments, "comment")
            if isinstance(authors, int):
                label += f" · {counted(authors, 'author')}"
        topics.append(
            {
                "id": one_line(str(_field(item, "id") or "")),
                "title": one_line(str(_field(item, "title") or "")) or "Untitled topic",
                "claim_ids": [str(i) for i in (_field(item, "claim_ids") or [])],
                "prevalence": label,
            }
        )
    return topics


def map_view(summary: ThreadSummary, thread: Thread | None, markdown: str) -> MapView:
    """Everything the map templates show. ``thread``, when given, must be the summary's own:
    its comments give each quote a place "in context"."""
    b = _Builder(summary, thread)
    claims = [b.claim(c, n) for n, c in enumerate(summary.claims, start=1)]
    groups, has_topics = b.groups(claims)
    omitted = getattr(summary, "claims_omitted", None)  # a field newer summaries carry
    further = omitted if isinstance(omitted, int) else 0
    if not further:
        for warning in summary.warnings:
            m = _FURTHER.match(warning)
            if m:
                further += int(m.group(1))
    url = summary.thread.url
    target = link_target(url)
    authors = sorted(b.mentions, key=lambda a: (-b.mentions[a], a.lower()))
    return MapView(
        title=page_title(summary),
        url=target,
        url_text=url.strip() if url and url.strip() and target is None else None,
        meta=meta_parts(summary),
        overview=summary.overview.strip(),
        groups=groups,
        claim_count=len(claims),
        further=further,
        authors=authors,
        contexts=b.contexts(),
        warnings=list(summary.warnings),
        stats=stats_parts(summary),
        markdown=markdown,
        topics=has_topics,
        changes=change_lines(summary.changes) if summary.changes is not None else [],
    )
