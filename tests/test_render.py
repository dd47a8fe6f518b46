"""Rendering a ThreadSummary as JSON, Markdown and HTML: structure, stability and escaping."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.models import (
    Citation,
    Claim,
    Counter,
    EngineInfo,
    Prevalence,
    Rebuttal,
    Stats,
    ThreadInfo,
    ThreadSummary,
)
from service.render import (
    FORMATS,
    escape_markdown,
    link_target,
    render,
    render_html,
    render_json,
    render_markdown,
)

HN = "https://news.ycombinator.com/item?id="


def cite(cid: str, author: str | None, sids: list[str], quote: str) -> Citation:
    return Citation(comment_id=cid, author=author, sentence_ids=sids, quote=quote, url=HN + cid)


def realistic() -> ThreadSummary:
    return ThreadSummary(
        thread=ThreadInfo(
            id="45890000",
            source="hn",
            format="hn-algolia",
            title="Open-weight models and the state",
            url=HN + "45890000",
            comments=316,
            authors=120,
            max_depth=9,
        ),
        engine=EngineInfo(
            kind="llm", model="qwen2.5-7b", output_mode="json_schema", prompt_digest="ab12cd34ef56"
        ),
        overview="The thread asks who pays for open-weight models and why; it splits on cost.",
        claims=[
            Claim(
                id="K1",
                statement="Open-weight models are state-funded infrastructure, not a product.",
                prevalence=Prevalence(comments=7, authors=5),
                evidence=[
                    cite("45890123", "foo12bar", ["c12.3"], "Nobody sells roads.\nThey fund them.")
                ],
                supporters=[
                    cite("45890200", "alice", ["c20.1"], "Same with GPS."),
                    cite("45890201", None, ["c21.1", "c21.3"], "Exactly … public goods."),
                ],
                rebuttals=[
                    Rebuttal(
                        id="K1.R1",
                        statement="Most open weights come from companies, not states.",
                        evidence=[cite("45890300", "bob", ["c30.1"], "Meta is not a state.")],
                        counters=[
                            Counter(
                                statement="Those companies are subsidised by governments.",
                                evidence=[cite("45890301", "carol", ["c31.2"], "Look at tax.")],
                            )
                        ],
                    ),
                    Rebuttal(id="K1.R2", statement="Roads are not software."),
                ],
            ),
            Claim(
                id="K2",
                statement="Training costs are falling fast.",
                prevalence=Prevalence(comments=1, authors=1),
                evidence=[cite("45890400", "dave", ["c40.1"], "It cost 10x less this year.")],
            ),
        ],
        stats=Stats(chunks=5, llm_calls=7, prompt_tokens=41000, completion_tokens=2100, reasks=1),
        warnings=["2 citations dropped: sentence ids not in the chunk"],
    )


SCRIPT = "<script>alert(1)</script>"
ATTR = '" onmouseover="x'
BOLD = "**x**"
JSLINK = "[a](javascript:alert(1))"
JSURL = "javascript:alert(1)"
HOSTILE_TEXT = (
    f"{SCRIPT} {ATTR} {BOLD} {JSLINK}\n# heading\n| table |\n|---|\n- item\n1. one\n"
    "    indented\n<img src=x onerror=alert(1)>\n&lt;b&gt; `code` ~~s~~ {: .x} \\ $x$"
)


def hostile_cite(sid: str) -> Citation:
    return Citation(
        comment_id=f"{SCRIPT}1",
        author=f"{SCRIPT}{ATTR}{JSLINK}",
        sentence_ids=[sid, f"c1.{SCRIPT}"],
        quote=HOSTILE_TEXT,
        url=JSURL,
    )


def hostile() -> ThreadSummary:
    return ThreadSummary(
        thread=ThreadInfo(
            id=SCRIPT,
            source=f"hn{ATTR}",
            title=f"# heading {SCRIPT}\n{JSLINK}",
            url=JSURL,
            comments=1,
            authors=1,
            max_depth=0,
        ),
        engine=EngineInfo(kind="extractive", model=f"{SCRIPT}{BOLD}"),
        overview=HOSTILE_TEXT,
        claims=[
            Claim(
                id=f"K1{SCRIPT}",
                statement=HOSTILE_TEXT,
                prevalence=Prevalence(comments=1, authors=1),
                evidence=[hostile_cite("c1.1")],
                supporters=[hostile_cite("c1.2")],
                rebuttals=[
                    Rebuttal(
                        id=f"K1.R1{ATTR}",
                        statement=HOSTILE_TEXT,
                        evidence=[hostile_cite("c1.3")],
                        counters=[Counter(statement=HOSTILE_TEXT, evidence=[hostile_cite("c1.4")])],
                    )
                ],
            )
        ],
        warnings=[HOSTILE_TEXT, f"see {JSLINK}"],
    )


# --- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [realistic, hostile])
def test_json_round_trips_and_is_byte_stable(make: Callable[[], ThreadSummary]) -> None:
    summary = make()
    text = render_json(summary)
    assert text.endswith("}\n")
    assert ThreadSummary.model_validate_json(text) == summary
    assert render_json(ThreadSummary.model_validate_json(text)) == text
    assert render_json(make()) == text


def test_json_keeps_model_field_order_and_unicode() -> None:
    data = json.loads(render_json(realistic()))
    assert list(data) == list(ThreadSummary.model_fields)
    assert list(data["claims"][0]) == list(Claim.model_fields)
    assert "…" in render_json(realistic())  # ensure_ascii=False


def test_json_refuses_non_finite_numbers() -> None:
    with pytest.raises(ValueError, match="finite number"):
        Stats(elapsed_s=float("nan"))
    stats = Stats.model_construct(elapsed_s=float("inf"))  # bypassing validation, as a bug would
    summary = realistic().model_copy(update={"stats": stats})
    with pytest.raises(ValueError, match="not JSON compliant"):
        render_json(summary)


def test_render_dispatches_on_format() -> None:
    summary = realistic()
    assert FORMATS == ("json", "markdown", "html")
    assert render(summary, "json") == render_json(summary)
    assert render(summary, "markdown") == render_markdown(summary)
    assert render(summary, "html") == render_html(summary)
    with pytest.raises(ValueError, match="unknown format"):
        render(summary, "pdf")  # type: ignore[arg-type]


# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a", "https://example.com/a"),
        (" HTTP://example.com/a b(c)", "HTTP://example.com/a%20b%28c%29"),
        ('https://x.org/"><script>', "https://x.org/%22%3E%3Cscript%3E"),
        ("https://x.org/a%20b", "https://x.org/a%20b"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("java\nscript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("//evil.example/x", None),
        ("/relative", None),
        ("https://", None),
        ("http:\\\\evil.example", None),
        ("ht\ntps://x.org", None),
        (None, None),
    ],
)
def test_link_target_allows_only_http_urls(url: str | None, expected: str | None) -> None:
    assert link_target(url) == expected


# --- Markdown -------------------------------------------------------------------------------

MD_SPECIAL = set("\\`*_{}[]<>#|~&$")


def md_unescape(text: str) -> str:
    """Undo escape_markdown, failing on any special character that was left unescaped."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            assert i + 1 < len(text), f"dangling backslash in {text!r}"
            out.append(text[i + 1])
            i += 2
            continue
        assert ch not in MD_SPECIAL, f"unescaped {ch!r} in {text!r}"
        out.append(ch)
        i += 1
    return "".join(out)


@given(st.text())
def test_escape_markdown_is_literal_text(text: str) -> None:
    escaped = escape_markdown(text)
    assert "\n" not in escaped
    assert md_unescape(escaped) == " ".join(text.split())
    assert not re.match(r"[-+=]|[0-9]+[.)]", escaped)


def test_markdown_structure() -> None:
    md = render_markdown(realistic())
    lines = md.splitlines()
    assert lines[0] == f"# [Open-weight models and the state]({HN}45890000)"
    assert lines[2].startswith(
        "Hacker News · 316 comments · 120 authors · max depth 9 · llm engine"
    )
    headings = [line for line in lines if line.startswith("#")]
    assert headings == [
        lines[0],
        "## K1 · Open-weight models are state-funded infrastructure, not a product.",
        "### K1.R1 · Most open weights come from companies, not states.",
        "### K1.R2 · Roads are not software.",
        "## K2 · Training costs are falling fast.",
        "## Warnings",
    ]
    assert "**7 comments · 5 authors**" in lines
    assert "**1 comment · 1 author**" in lines
    # A multi-line quote stays in one blockquote, then its attribution with the sentence id.
    i = lines.index("> Nobody sells roads.  ")
    assert lines[i + 1 : i + 4] == [
        "> They fund them.",
        ">",
        f"> — [foo12bar]({HN}45890123) · `c12.3`",
    ]
    # Supporters as a list, the author-less one named by its comment.
    assert f"- [alice]({HN}45890200) · `c20.1`" in lines
    assert f"- [comment 45890201]({HN}45890201) · `c21.1` `c21.3`" in lines
    assert "  > Exactly … public goods." in lines
    # Counters nested under their rebuttal, with indented evidence.
    counter = lines.index("- ↳ counter: Those companies are subsidised by governments.")
    assert lines.index("### K1.R1 · Most open weights come from companies, not states.") < counter
    assert counter < lines.index("### K1.R2 · Roads are not software.")
    assert f"  > — [carol]({HN}45890301) · `c31.2`" in lines
    assert "- 2 citations dropped: sentence ids not in the chunk" in lines
    assert lines[-1].startswith("5 chunks · 7 LLM calls · 41,000 prompt + 2,100 completion tokens")
    assert md.endswith("\n")
    assert render_markdown(realistic()) == md


def test_markdown_escapes_hostile_text() -> None:
    md = render_markdown(hostile())
    assert not re.search(r"(?<!\\)<", md), "an unescaped < could start raw HTML"
    assert "](javascript:" not in md
    assert "](" not in md  # the only URL is javascript:, so nothing is linked
    assert "**x**" not in md
    assert "\\*\\*x\\*\\*" in md
    for line in md.splitlines():
        content = re.sub(r"^\s*(>\s?)*", "", line)  # what a renderer sees inside quotes
        assert not content.startswith(("# heading", "| table", "|---", "- item", "1. one"))
        assert not re.match(r"\s*> \s", line), f"indented quote line: {line!r}"
    headings = [line for line in md.splitlines() if re.match(r"#{1,6} ", line)]
    assert [h.split(" ", 1)[0] for h in headings] == ["#", "##", "###", "##"]
    # Every line of the multi-line quote stays inside the blockquote.
    quote_lines = [ln for ln in md.splitlines() if ln.startswith("> ")]
    assert "> \\# heading  " in quote_lines
    assert "> \\| table \\|  " in quote_lines
    assert "> \\- item  " in quote_lines
    assert "> 1\\. one  " in quote_lines
    assert "> indented  " in quote_lines
    # The non-http URL is shown as text only.
    assert "javascript:alert(1)" in md


# --- HTML -----------------------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "wbr"}


class Page(HTMLParser):
    """Parses a page strictly: balanced tags, and a record of every element and attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> without an open tag"
        assert self.stack.pop() == tag, f"</{tag}> closes the wrong element"

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def count(self, tag: str, cls: str | None = None) -> int:
        return sum(
            1
            for t, a in self.tags
            if t == tag and (cls is None or cls in (a.get("class") or "").split())
        )


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    assert parser.stack == [], f"unclosed: {parser.stack}"
    return parser


def test_html_structure() -> None:
    summary = realistic()
    page = render_html(summary)
    doc = parse(page)
    assert page.startswith("<!doctype html>\n")
    metas = [a for t, a in doc.tags if t == "meta"]
    assert {"charset": "utf-8"} in metas
    assert any(a.get("name") == "viewport" for a in metas)
    assert {
        "http-equiv": "Content-Security-Policy",
        "content": "default-src 'none'; style-src 'unsafe-inline'",
    } in metas
    assert doc.count("article", "claim") == 2
    assert doc.count("details", "rebuttal") == 2
    assert doc.count("div", "counter") == 1
    assert doc.count("details", "supporters") == 1
    # evidence 1 + 1, supporters 2, rebuttal 1, counter 1
    assert doc.count("blockquote") == 6
    assert doc.count("h3") == 2
    text = "".join(doc.text)
    for expected in ["K1", "K2", "K1.R1", "7 comments · 5 authors", "c12.3", "foo12bar", "↳"]:
        assert expected in text
    assert text.index("K1.R1") < text.index("Those companies") < text.index("K1.R2")
    assert "Nobody sells roads.\nThey fund them." in text
    assert "2 citations dropped" in text
    links = [a for t, a in doc.tags if t == "a" and not (a.get("href") or "").startswith("#")]
    assert len(links) == 1 + 6  # the title, and each quote's author
    assert all(a["href"] and a["href"].startswith(HN) for a in links)
    assert all(a["rel"] == "nofollow noopener" for a in links)
    # The table of contents links each claim to its anchor.
    anchors = {a["id"] for _, a in doc.tags if a.get("id")}
    toc = [a["href"] for t, a in doc.tags if t == "a" and "data-claim" in a]
    assert toc == ["#claim-K1", "#claim-K2"]
    assert {"claim-K1", "claim-K2", "claim-K1.R1", "claim-K1.R2"} <= anchors
    assert "<script" not in page
    assert render_html(realistic()) == page


def test_html_escapes_hostile_text() -> None:
    page = render_html(hostile())
    doc = parse(page)
    assert "<script" not in page.lower()
    assert "<img" not in page
    assert ATTR not in page
    assert "onmouseover=" not in page.replace("onmouseover=&#34;", "")  # only as escaped text
    # Only the elements the renderer writes; none with event handlers or sources, and links
    # only to anchors of the page itself.
    assert {t for t, _ in doc.tags} <= {
        "html", "head", "meta", "title", "style", "body", "div", "header", "h1", "p", "span",
        "section", "h2", "article", "h3", "blockquote", "footer", "cite", "code", "details",
        "summary", "h4", "ul", "li", "nav", "ol", "a", "form", "label", "select", "option",
        "input", "output", "button", "textarea",
    }  # fmt: skip
    for tag, attrs in doc.tags:
        allowed = {
            "lang", "charset", "name", "content", "http-equiv", "class", "open", "aria-hidden",
            "id", "href", "title", "data-claim", "data-comments", "data-authors", "hidden",
            "type", "min", "step", "value", "inputmode", "aria-live", "data-copy", "readonly",
            "rows", "aria-label", "aria-labelledby",
        }  # fmt: skip
        assert set(attrs) <= allowed, tag
        assert not any(k.startswith("on") for k in attrs)
    hrefs = [a["href"] for t, a in doc.tags if t == "a"]
    assert hrefs and all(
        h and re.fullmatch(r"#(claim|topic|ctx)-[A-Za-z0-9._-]+", h) for h in hrefs
    )
    assert "src=" not in page.replace("src=x", "")
    # The hostile strings are there as text, exactly.
    text = "".join(doc.text)
    for hostile_string in [SCRIPT, ATTR, BOLD, JSLINK, "# heading", "| table |", JSURL]:
        assert hostile_string in text
    assert "<img src=x onerror=alert(1)>" in text
    assert "&lt;b&gt;" in text  # entities in the source text stay as typed
    style = page[page.index("<style>") : page.index("</style>")]
    assert "url(" not in style
    assert "@import" not in style


def test_html_without_claims_or_url() -> None:
    base = realistic()
    thread = base.thread.model_copy(update={"title": None, "url": None})
    summary = base.model_copy(
        update={"thread": thread, "claims": [], "warnings": [], "overview": " "}
    )
    doc = parse(render_html(summary))
    text = "".join(doc.text)
    assert "Thread 45890000" in text
    assert "No claims were found." in text
    assert doc.count("article") == 0
    assert doc.count("a") == 0
    assert doc.count("nav") == 0  # no table of contents for no claims
    md = render_markdown(summary)
    assert md.startswith("# Thread 45890000\n")
    assert "*No claims were found.*" in md


def test_counts_group_thousands_and_pluralise() -> None:
    base = realistic()
    thread = base.thread.model_copy(update={"comments": 12345, "authors": 1})
    summary = base.model_copy(update={"thread": thread, "stats": Stats(chunks=1000)})
    md = render_markdown(summary)
    assert "Hacker News · 12,345 comments · 1 author · max depth 9" in md
    assert md.splitlines()[-1].startswith("1,000 chunks · 0 LLM calls")
    page = render_html(summary)
    assert "<span>12,345 comments</span><span>1 author</span>" in page
    assert "<span>1,000 chunks</span>" in page


def test_html_inlines_the_packaged_stylesheet() -> None:
    css = resources.files("service.render").joinpath("style.css").read_text(encoding="utf-8")
    assert css.startswith(":root {") and css.endswith("}\n")
    assert f"<style>\n{css}</style>" in render_html(realistic())
