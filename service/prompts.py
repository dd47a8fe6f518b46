"""Prompts as data: load ``prompts/*.toml``, check their variables, render them, digest them.

Each prompt file declares ``name``, ``version``, ``variables``, ``system`` and ``user``; the
templates use ``${variable}``. Loading fails if a template uses an undeclared variable or a
declared one goes unused. The digest (of the file bytes) goes into every cache key, so editing a
prompt never serves an answer to the old one.

This module also owns the compact text form of a chunk that the map prompt describes
(:func:`render_chunk`) and its inverse (:func:`parse_chunk`), so the two cannot drift apart.
Comment text is untrusted: look-alikes of the data delimiters are neutralised, and every line of
a sentence after its first is indented so no comment can forge a header or sentence line.
"""

from __future__ import annotations

import functools
import hashlib
import re
import string
import sys
import tomllib
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .chunker import context_text
from .errors import PromptError
from .models import Chunk, Comment, Thread

_SOURCE_PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
_INSTALLED_PROMPTS = Path(sys.prefix) / "share" / "threadsum" / "prompts"


def default_prompts_dir() -> Path:
    """``prompts/`` beside the package in a checkout, else the copy a wheel installs."""
    return _SOURCE_PROMPTS if _SOURCE_PROMPTS.is_dir() else _INSTALLED_PROMPTS


DEFAULT_PROMPTS_DIR = default_prompts_dir()
DATA_TAGS = ("thread_data", "claims_data", "pair_data")
_TAG_NAME = re.compile("|".join(DATA_TAGS), re.IGNORECASE)
#: Default_Ignorable_Code_Point ranges that are not format (Cf) characters: combining grapheme
#: joiner, Hangul fillers, Khmer inherent vowels, Mongolian and other variation selectors, the
#: reserved U+2065 and U+FFF0-FFF8, and the whole tag block (U+E0000-E0FFF).
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2065, 0x2065),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
#: Format characters outside the tag block all lie in the first two planes.
_FORMAT_SCAN_END = 0x20000
_HEADER = re.compile(r"^(c|p)(\d+)(?: ([^\s>]\S*))?(?: >((?:[cp]\d+)?))?$")
_SENTENCE = re.compile(r"^(\d+) (.*)$")
_LABELS = frozenset({"context:", "comments:"})

TITLE_PREFIX = "Title: "
"""How the map, reduce and overview prompts start the line that carries the thread's title (the
``Title: ${title}`` line of ``prompts/map.toml``, ``prompts/reduce.toml`` and
``prompts/overview.toml``)."""
_TITLE = re.compile(rf"^{re.escape(TITLE_PREFIX)}(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Prompt:
    """One prompt file, checked."""

    name: str
    version: str
    variables: tuple[str, ...]
    system: str
    user: str
    digest: str

    def render(self, **values: str) -> list[dict[str, str]]:
        """Chat messages with ``values`` substituted; every declared variable is required."""
        missing = set(self.variables) - values.keys()
        extra = values.keys() - set(self.variables)
        if missing or extra:
            raise PromptError(
                f"prompt {self.name}: missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        messages = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        messages.append({"role": "user", "content": string.Template(self.user).substitute(values)})
        return messages


def parse_title(text: str) -> str | None:
    """The title a rendered map or reduce prompt carries (its :data:`TITLE_PREFIX` line), if any.

    The engine renders the title as one neutralised line, so the line holds all of it.
    """
    found = _TITLE.search(text)
    return found.group(1).strip() if found else None


def _placeholders(template: str) -> set[str]:
    return {
        m.group("named") or m.group("braced")
        for m in string.Template.pattern.finditer(template)
        if m.group("named") or m.group("braced")
    }


def load_prompt(name: str, directory: Path = DEFAULT_PROMPTS_DIR) -> Prompt:
    """Load and check ``directory/name.toml``."""
    path = directory / f"{name}.toml"
    try:
        raw = path.read_bytes()
        doc: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise PromptError(f"cannot load prompt {path}: {e}") from None
    try:
        variables = tuple(str(v) for v in doc["variables"])
        system, user = str(doc.get("system", "")).strip(), str(doc["user"]).strip()
        version = str(doc["version"])
    except KeyError as e:
        raise PromptError(f"prompt {path} has no {e.args[0]!r}") from None
    used = _placeholders(system) | _placeholders(user)
    if used != set(variables):
        raise PromptError(
            f"prompt {path}: declared variables {sorted(variables)} but the templates use "
            f"{sorted(used)}"
        )
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return Prompt(name, version, variables, system, user, digest)


@functools.cache
def _invisible() -> re.Pattern[str]:
    """Every format (Cf) and every default-ignorable code point, as one character class."""
    points = {cp for first, last in _IGNORABLE_RANGES for cp in range(first, last + 1)}
    points.update(cp for cp in range(_FORMAT_SCAN_END) if unicodedata.category(chr(cp)) == "Cf")
    ranges: list[tuple[int, int]] = []
    for cp in sorted(points):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    spans = (f"\\U{a:08x}" + (f"-\\U{b:08x}" if b != a else "") for a, b in ranges)
    return re.compile("[" + "".join(spans) + "]")


def neutralise(text: str) -> str:
    """Defuse delimiter look-alikes in untrusted text (``<thread_data>`` → ``‹thread_data>``).

    By a general rule, not a list of tricks: compatibility forms are folded (NFKC: fullwidth
    ``＜``, small ``﹤``, fullwidth letters), then every format character (Unicode category Cf:
    zero-width spaces and joiners, bidirectional overrides, U+180E, tag characters) and every
    other default-ignorable code point (variation selectors, the combining grapheme joiner,
    Hangul fillers, …) is removed, and only then are tags matched: ``<``, then any spacing,
    slashes or marks, then a data tag name in any case. So nothing invisible can separate the
    parts of a tag, and invisible tag characters spelling words never reach the model. Visible
    text is kept (emoji lose only their invisible variation selectors and joiners). This only
    shapes what the model reads; quotes in the output are sliced from the original text.
    """
    if not text.isascii():
        text = _invisible().sub("", unicodedata.normalize("NFKC", text))
    return _defuse_tags(text)


def _defuse_tags(text: str) -> str:
    """Every ``<`` in the run of non-word characters before a data tag name becomes ``‹``.

    The run stops at a letter, digit, ``_`` or ``>``, so ``<b>thread_data`` is left alone. Each
    character is looked at once (a run cannot reach past the name before it): linear time.
    """
    parts: list[str] = []
    done = 0
    for m in _TAG_NAME.finditer(text):
        start = gap = m.start()
        while gap > done and not (text[gap - 1].isalnum() or text[gap - 1] in "_>"):
            gap -= 1
        if "<" in text[gap:start]:
            parts += (text[done:gap], text[gap:start].replace("<", "‹"))
            done = start
    return "".join(parts) + text[done:] if parts else text


def one_line(text: str) -> str:
    """Untrusted text as one neutralised line (every kind of line break folded to a space)."""
    return " ".join(neutralise(text).split())


_one_line = one_line


def _continued(text: str) -> str:
    # splitlines() knows every line break (\u2028, \x85, \x1c …), so none can start a line
    # that the model would read as a header or a sentence.
    lines = neutralise(text).splitlines() or [""]
    return "\n".join([lines[0], *("  " + ln if ln.strip() else "  " for ln in lines[1:])])


@dataclass(frozen=True)
class ChunkView:
    """A chunk rendered for the model, with its local keys mapped back to the thread."""

    text: str
    local_to_global: dict[str, str]  # "c1" (local) -> "c17" (thread key)
    sentences: dict[str, tuple[int, int]]  # local comment key -> first, last sentence number


def render_chunk(thread: Thread, chunk: Chunk, *, implied_first: bool = False) -> ChunkView:
    """The compact data block of a chunk, with chunk-local keys.

    Local keys (``c1…`` for comments, ``p1…`` for context) depend only on the chunk's content,
    so a chunk that did not change renders byte-identically when its thread grows. A header
    names its comment's parent (``>c2``, or ``>`` alone for the comment just above) and its
    author only when the author wrote two or more of the comments shown: who wrote what matters
    to the map only where one person speaks twice, and everyone else is told apart by key.

    Every sentence line is ``N text``; with ``implied_first`` a comment's sentence 1 goes
    without its number (the line right after the header is sentence 1) unless its text could
    be read as anything else: a number, an indented line, a header or a section label then
    keep the ``1``, so no comment text can pass for a header or another sentence.
    """
    by_id = thread.by_id
    members = sorted(
        [*chunk.continued_ids, *chunk.comment_ids], key=lambda x: int(by_id[x].key[1:])
    )
    shown = [by_id[cid] for cid in (*chunk.context_ids, *members)]
    writes = Counter(c.author for c in shown if c.author)
    local: dict[str, str] = {}
    lines: list[str] = []
    above: str | None = None  # the key of the comment rendered just above

    def header(key: str, c: Comment) -> str:
        nonlocal above
        parts = [key]
        if c.author and writes[c.author] > 1:
            parts.append(_author(c.author))
        parent = local.get(c.parent_id or "")
        if parent is not None:
            parts.append(">" if parent == above else f">{parent}")
        above = key
        return " ".join(parts)

    if chunk.context_ids:
        lines.append("context:")
        for n, cid in enumerate(chunk.context_ids, start=1):
            c = by_id[cid]
            key = f"p{n}"
            head = header(key, c)
            local[cid] = key
            lines.append(f"{head}: {_one_line(context_text(c))}")
        lines.append("comments:")
    ranges = {s.comment_id: (s.first, s.last) for s in chunk.segments}
    local_to_global: dict[str, str] = {}
    sentence_ranges: dict[str, tuple[int, int]] = {}
    for n, cid in enumerate(members, start=1):
        c = by_id[cid]
        key = f"c{n}"
        lines.append(header(key, c))
        local[cid] = key
        local_to_global[key] = c.key
        first, last = ranges.get(cid, (1, len(c.sentences)))
        sentence_ranges[key] = (first, last)
        if c.status != "ok":
            lines.append(f"  [{c.status}]")
            continue
        for k in range(first, last + 1):
            text = _continued(c.sentences[k - 1].text)
            lines.append(text if k == 1 and implied_first and _plain(text) else f"{k} {text}")
    return ChunkView("\n".join(lines), local_to_global, sentence_ranges)


def _plain(text: str) -> bool:
    """Whether a sentence's rendered text, unnumbered, can only be read as a sentence."""
    first = text.split("\n", 1)[0]
    return bool(first) and not (
        first[0].isdigit()
        or first[0].isspace()
        or first in _LABELS
        or _HEADER.match(first) is not None
    )


def _author(author: str) -> str:
    """An author as one header word (spaces folded to ``_``, no leading ``>``)."""
    word = _one_line(author).replace(" ", "_")
    return "_" + word if word.startswith(">") else word


@dataclass
class ParsedComment:
    """A comment read back from a rendered chunk (used by the mock model server)."""

    key: str
    author: str | None
    parent: str | None
    sentences: list[tuple[int, str]]
    context: bool


def parse_chunk(text: str) -> list[ParsedComment]:
    """Read the comments back out of :func:`render_chunk`'s text."""
    out: list[ParsedComment] = []
    in_context = False

    def parsed(head: str, context: bool) -> ParsedComment | None:
        h = _HEADER.match(head)
        if h is None:
            return None
        parent = h.group(4)
        if parent == "":  # ">" alone: the comment just above
            parent = out[-1].key if out else None
        key = f"{h.group(1)}{h.group(2)}"
        return ParsedComment(key, h.group(3), parent, [], context)

    for line in text.split("\n"):
        if line == "context:":
            in_context = True
            continue
        if line == "comments:":
            in_context = False
            continue
        if line.startswith("  ") and out and out[-1].sentences:
            k, prev = out[-1].sentences[-1]
            out[-1].sentences[-1] = (k, prev + "\n" + line[2:])
            continue
        m = _SENTENCE.match(line)
        if m and out and not out[-1].context:
            out[-1].sentences.append((int(m.group(1)), m.group(2)))
            continue
        if out and not out[-1].context and not out[-1].sentences and _plain(line):
            out[-1].sentences.append((1, line))  # sentence 1, its number implied
            continue
        if in_context and line.startswith("p"):
            head, _, body = line.partition(": ")
            found = parsed(head, True)
            if found is not None:
                found.sentences.append((1, body))
                out.append(found)
            continue
        found = parsed(line, False)
        if found is not None:
            out.append(found)
    return out
