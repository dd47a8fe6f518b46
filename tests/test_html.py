"""HN / Reddit HTML → clean text: every convention of service.ingest.html, and garbage."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.ingest.html import html_to_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("plain words", "plain words", id="plain"),
        pytest.param("one<p>two<p>three", "one\n\ntwo\n\nthree", id="hn-unclosed-p"),
        pytest.param("<p>one</p><p>two</p>", "one\n\ntwo", id="closed-p"),
        pytest.param("<p>one</p>\n\n<p>two</p>\n", "one\n\ntwo", id="closed-p-newlines"),
        pytest.param("one</p>two", "one\n\ntwo", id="stray-close-p"),
        pytest.param("<div>one</div><div>two</div>", "one\n\ntwo", id="div"),
        pytest.param("one<br>two<br/>three", "one\ntwo\nthree", id="br"),
        pytest.param("one<br><br><br>two", "one\n\ntwo", id="br-runs-make-one-blank-line"),
        pytest.param("<p><p>one<p><p>two<p>", "one\n\ntwo", id="empty-paragraphs"),
        pytest.param("  lots   of\n  space\t here  ", "lots of space here", id="collapse"),
        pytest.param("<p>  lead<p>trail  <p>", "lead\n\ntrail", id="strip-lines"),
        pytest.param("a&nbsp;&nbsp;b", "a b", id="nbsp-collapses"),
    ],
)
def test_paragraphs_and_whitespace(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("&#x27;&quot;&amp;&gt;&lt;&#x2F;", "'\"&></"),
        ("&#39;&#34;&#38;", "'\"&"),
        ("caf&eacute; &mdash; &hellip; &copy;", "café — … ©"),
        ("AT&amp;T &amp;amp;", "AT&T &amp;"),
        ("a & b < c > d", "a & b < c > d"),
        ("&bogus; & &#xZZ; &", "&bogus; & &#xZZ; &"),
    ],
)
def test_entities_are_decoded(html: str, text: str) -> None:
    assert html_to_text(html) == text


class TestLinks:
    def test_text_differs_from_url(self) -> None:
        html = 'See <a href="https://example.com/a" rel="nofollow">this post</a>.'
        assert html_to_text(html) == "See this post (https://example.com/a)."

    def test_text_is_the_url(self) -> None:
        html = (
            '<a href="https:&#x2F;&#x2F;example.com&#x2F;a?x=1&amp;y=2" rel="nofollow">'
            "https:&#x2F;&#x2F;example.com&#x2F;a?x=1&amp;y=2</a>"
        )
        assert html_to_text(html) == "https://example.com/a?x=1&y=2"

    def test_hn_truncated_display(self) -> None:
        url = "https://www.example.com/2024/01/some-very-long-article-title-that-goes-on-and-on"
        html = f'read <a href="{url}" rel="nofollow">{url[:40]}...</a> now'
        assert html_to_text(html) == f"read {url} now"

    @pytest.mark.parametrize(
        "label",
        [
            "example.com/docs/very/long/pa...",  # without the scheme
            "https://example.com/docs/very/long/pa…",  # a real ellipsis
            "example.com/docs/very/long/path",  # the URL without its scheme
            "https://example.com/docs/very/long/path/",  # a trailing slash
        ],
    )
    def test_other_displays_of_the_url(self, label: str) -> None:
        url = "https://example.com/docs/very/long/path"
        assert html_to_text(f'<a href="{url}">{label}</a>') == url

    def test_ellipsis_that_is_not_a_prefix(self) -> None:
        html = '<a href="https://example.com/b">and more...</a>'
        assert html_to_text(html) == "and more... (https://example.com/b)"

    def test_empty_text_and_missing_href(self) -> None:
        assert html_to_text('<a href="https://x.org/"></a>') == "https://x.org/"
        assert html_to_text("<a>just text</a>") == "just text"
        assert html_to_text('<a name="anchor">here</a> it is') == "here it is"

    def test_formatted_label(self) -> None:
        html = '<a href="https://x.org/"><i>the</i> paper</a>'
        assert html_to_text(html) == "*the* paper (https://x.org/)"

    def test_relative_reddit_link(self) -> None:
        assert html_to_text('<a href="/r/python">/r/python</a>') == "/r/python"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<i>it</i> and <em>this</em>", "*it* and *this*"),
        ("<b>bold</b> and <strong>strong</strong>", "**bold** and **strong**"),
        ("<b>bold <i>both</i></b>", "**bold *both***"),
        ("a<i> spaced </i>b", "a *spaced* b"),
        ("<i> </i>x", "x"),
        ("<s>gone</s> <del>too</del>", "~~gone~~ ~~too~~"),
        ("run <code>ls  -la &gt; out</code> first", "run `ls  -la > out` first"),
        ("<code>  </code>x", "x"),
    ],
)
def test_inline_formatting(html: str, text: str) -> None:
    assert html_to_text(html) == text


class TestCodeBlocks:
    def test_hn_code_block(self) -> None:
        html = (
            "Try this:<p><pre><code>  if a &lt; b &amp;&amp; c &gt; d:\n"
            "      print(&quot;x&quot;)\n\n\n  done()\n</code></pre>\nAfter."
        )
        assert html_to_text(html) == (
            'Try this:\n\n```\n  if a < b && c > d:\n      print("x")\n\n\n  done()\n```\n\nAfter.'
        )

    def test_code_is_its_own_paragraph(self) -> None:
        html = "before<pre><code>x = 1</code></pre>after"
        assert html_to_text(html) == "before\n\n```\nx = 1\n```\n\nafter"

    def test_pre_without_code_and_markup_inside(self) -> None:
        html = "<pre>a  <b>b</b>\n\tc<br>d\n\n\n</pre>"
        assert html_to_text(html) == "```\na  b\n\tc\nd\n```"

    def test_trailing_spaces_and_surrounding_blank_lines_dropped(self) -> None:
        html = "<pre><code>\n\n  x = 1   \n\n</code></pre>"
        assert html_to_text(html) == "```\n  x = 1\n```"

    def test_empty_code_block_vanishes(self) -> None:
        assert html_to_text("a<pre><code>\n \n</code></pre>b") == "a\n\nb"

    def test_unclosed_pre(self) -> None:
        assert html_to_text("x<pre><code>y &lt; z") == "x\n\n```\ny < z\n```"


class TestRedditBodyHtml:
    def test_lists(self) -> None:
        html = (
            '<div class="md"><p>Points:</p>\n<ul>\n<li>one</li>\n<li><p>two</p>\n'
            '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol></li>\n</ul>\n'
            "<ol><li>first</li><li>second<br>line</li></ol></div>"
        )
        assert html_to_text(html) == (
            "Points:\n\n- one\n- two\n  3. three\n  4. four\n\n1. first\n2. second\n   line"
        )

    def test_blockquote(self) -> None:
        html = (
            "<blockquote>\n<p>quoted &amp; cited</p>\n<p>second</p>\n</blockquote>\n"
            "<p>reply</p><blockquote><blockquote><p>deeper</p></blockquote></blockquote>"
        )
        assert html_to_text(html) == "> quoted & cited\n>\n> second\n\nreply\n\n> > deeper"

    def test_headings_and_rule(self) -> None:
        html = "<h1>Title</h1><p>text</p><hr/><h3>Sub <em>head</em></h3>"
        assert html_to_text(html) == "Title\n\ntext\n\nSub *head*"

    def test_table(self) -> None:
        html = (
            "<table><thead><tr><th>lang</th><th>year</th></tr></thead>"
            "<tbody><tr><td>C</td><td>1972</td></tr></tbody></table>"
        )
        assert html_to_text(html) == "lang | year\nC | 1972"

    def test_comments_and_hidden_elements(self) -> None:
        html = "<!-- SC_OFF --><div class='md'><p>hi</p><script>x()</script></div><!-- SC_ON -->"
        assert html_to_text(html) == "hi"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<i>never closed", "*never closed*"),
        ("<a href='https://x.org/'>never closed", "never closed (https://x.org/)"),
        ("<i>a<p>b</i> c", "*a*\n\nb c"),
        ("x</b></i></div></pre> y", "x y"),
        ("a <b", "a <b"),
        ("5 <3 7, x<y, a < b", "5 <3 7, x<y, a < b"),
        ("<![<stuff", "<![<stuff"),
        ("<!DOCTYPE html><html><body><p>hi", "hi"),
        ("<unknown-tag foo=bar>kept</unknown-tag>", "kept"),
        ("<li>stray item", "stray item"),
        ("\ue000 x", "x"),
    ],
)
def test_garbage_never_raises(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_deep_nesting_does_not_recurse_forever() -> None:
    text = html_to_text("<i>" * 5000 + "x" + "<blockquote>" * 5000 + "y")
    assert "x" in text
    assert "y" in text


_PREFIX = re.compile(r"^[> ]*(?:(?:-|\d+\.) +)*")
_PIECES = st.sampled_from(
    [
        "<p>", "</p>", "<pre>", "<code>", "</code>", "</pre>", "<i>", "</i>", "<b>", "<br>",
        '<a href="https://e.org/x">', "</a>", "<ul>", "<li>", "<ol>", "<blockquote>", "</div>",
        "<table>", "<tr>", "<td>", "&#x27;", "&amp", "&lt;", "<![", "<!--", "<", ">", "/", "&",
        " ", "\n", "\t", "word", "...", "\u00a0",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_output_invariants_on_random_markup(html: str) -> None:
    text = html_to_text(html)
    assert text == text.strip("\n")
    assert all(line == line.rstrip() for line in text.split("\n"))
    if "```" not in text:
        assert "\n\n\n" not in text
        for line in text.split("\n"):
            prose = _PREFIX.sub("", line)  # quote marks, list markers and their indents
            assert "  " not in prose or "`" in prose, line


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_accepted(text: str) -> None:
    html_to_text(text)
