"""Invalid Unicode at ingest: a lone surrogate in any field of any format is a clear FormatError.

JSON can spell a lone surrogate (``"\\ud800"``) that no UTF-8 text can hold; once inside a
Thread it broke every step that encodes text (JSON, Markdown and HTML output, prompts, cache
keys). Every string of every format is refused as it is read, naming the field, and the same
line holds for str input (the text format) and for a RawThread built by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service import read_thread
from service.cli import main
from service.errors import FormatError
from service.models import Thread

from .conftest import EXAMPLE_PAGE, FIXTURES

JSON_FORMATS = ("native", "hn-algolia", "hn-firebase", "reddit")
Path_ = tuple[str | int, ...]


def fixture(fmt: str) -> Any:
    return json.loads((FIXTURES / "formats" / f"{fmt}.json").read_text(encoding="utf-8"))


def string_leaves(value: Any, path: Path_ = ()) -> Iterator[Path_]:
    """The path of every string value in a JSON document."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from string_leaves(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_leaves(item, (*path, key))


def with_surrogate(doc: Any, path: Path_, surrogate: str = "\ud800", at: int = 0) -> bytes:
    """``doc`` as JSON bytes with ``surrogate`` put into the string at ``path`` (``\\u`` escape)."""
    copy = json.loads(json.dumps(doc))
    node = copy
    for step in path[:-1]:
        node = node[step]
    text = node[path[-1]]
    node[path[-1]] = text[:at] + surrogate + text[at:]
    return json.dumps(copy).encode()  # ensure_ascii: the surrogate travels as "\ud800"


def assert_encodable(thread: Thread) -> None:
    json.dumps(thread.model_dump(mode="json"), ensure_ascii=False).encode("utf-8")


def check(path: Path_, content: bytes, fmt_arg: str) -> None:
    """Reading ``content`` refuses it naming the field, or gives an encodable thread.

    A surrogate in a structural string (a Listing's ``kind``, an item's ``type``) can also make
    the document another shape: then any FormatError will do, as long as it can be printed.
    """
    try:
        thread = read_thread(content, fmt_arg)
    except FormatError as exc:
        message = str(exc)
        message.encode("utf-8")
        if "not valid Unicode" in message:
            assert "lone surrogate (\\u" in message, message
            key = path[-1]
            named = f"'{key}'" if isinstance(key, str) else f"#{key + 1}"
            assert named in message, (path, message)
    else:
        assert_encodable(thread)  # a field the parser does not read


CASES = [(fmt, path) for fmt in JSON_FORMATS for path in string_leaves(fixture(fmt))]


@pytest.mark.parametrize("fmt_arg", ["auto", "explicit"])
@pytest.mark.parametrize(("fmt", "path"), CASES, ids=[f"{f}:{p}" for f, p in CASES])
def test_every_string_of_every_format(fmt: str, path: Path_, fmt_arg: str) -> None:
    content = with_surrogate(fixture(fmt), path)
    check(path, content, fmt if fmt_arg == "explicit" else "auto")


# Fields the issue found reaching a 500, and the fields every format reads, by format:
# (format, path in the fixture, how the message names it).
NAMED = [
    ("native", ("title",), "'title' of the thread"),
    ("native", ("id",), "'id' of the thread"),
    ("native", ("url",), "'url' of the thread"),
    ("native", ("text",), "'text' of the thread"),
    ("native", ("comments", 0, "id"), "'id' of comment #1"),
    ("native", ("comments", 1, "parent_id"), "'parent_id' of comment 38001150"),
    ("native", ("comments", 0, "author"), "'author' of comment 38001101"),
    ("native", ("comments", 0, "text"), "'text' of comment 38001101"),
    ("hn-algolia", ("title",), "'title' of item 38001000"),
    ("hn-algolia", ("text",), "'text' of item 38001000"),
    ("hn-algolia", ("children", 0, "author"), "'author' of item 38001101"),
    ("hn-algolia", ("children", 0, "text"), "'text' of item 38001101"),
    ("hn-firebase", (0, "title"), "'title' of item 38001000"),
    ("hn-firebase", (1, "by"), "'by' of item "),
    ("hn-firebase", (1, "text"), "'text' of item "),
    ("reddit", (0, "data", "children", 0, "data", "title"), "'title' of post p0a1"),
    ("reddit", (0, "data", "children", 0, "data", "permalink"), "'permalink' of post"),
    ("reddit", (1, "data", "children", 0, "data", "body"), "'body' of comment"),
    ("reddit", (1, "data", "children", 0, "data", "author"), "'author' of comment"),
    ("reddit", (1, "data", "children", 0, "data", "id"), "'id' of comment #1"),
]


@pytest.mark.parametrize(("fmt", "path", "named"), NAMED)
def test_the_error_names_the_field(fmt: str, path: Path_, named: str) -> None:
    doc = fixture(fmt)
    if fmt == "native" and "text" not in doc:
        doc["text"] = "The post."
    if fmt == "native" and path[-1] == "id" and len(path) == 1:
        doc["id"] = "x"
    if fmt == "reddit" and path[-1] == "title":
        named = f"'title' of post {doc[0]['data']['children'][0]['data']['id']}"
    with pytest.raises(FormatError, match="not valid Unicode") as caught:
        read_thread(with_surrogate(doc, path), fmt)
    assert named in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(CASES),
    st.integers(0xD800, 0xDFFF),
    st.integers(0, 40),
)
def test_any_lone_surrogate_anywhere(case: tuple[str, Path_], code: int, at: int) -> None:
    fmt, path = case
    doc = fixture(fmt)
    node = doc
    for step in path:
        node = node[step]
    check(path, with_surrogate(doc, path, chr(code), min(at, len(node))), "auto")


def test_a_valid_surrogate_pair_is_one_character() -> None:
    doc = fixture("native")
    doc["title"] = "smile \U0001f600"
    thread = read_thread(json.dumps(doc).encode())  # escaped as "\ud83d\ude00"
    assert thread.title == "smile \U0001f600"


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2000), st.integers(0xD800, 0xDFFF))
def test_text_given_as_str_must_be_valid_unicode(at: int, code: int) -> None:
    page = EXAMPLE_PAGE.read_text(encoding="utf-8")
    at = min(at, len(page))
    with pytest.raises(FormatError, match=rf"input is not valid Unicode: .*\\u{code:04x}.* {at}$"):
        read_thread(page[:at] + chr(code) + page[at:])


def test_json_given_as_str_with_a_raw_surrogate() -> None:
    text = json.dumps(fixture("native"), ensure_ascii=False).replace("Show HN", "Show \udc80HN")
    with pytest.raises(FormatError, match="input is not valid Unicode"):
        read_thread(text, "native")


def test_unknown_keys_with_a_surrogate_are_quoted_escaped() -> None:
    with pytest.raises(FormatError, match=r"keys \\ud800x") as caught:
        read_thread(b'{"\\ud800x": 1}')
    str(caught.value).encode("utf-8")


# --- end to end ------------------------------------------------------------------------------


def test_cli_prints_one_error_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(
        '{"id":"t","title":"\\ud800","comments":[{"id":"1","parent_id":null,"text":"Hi."}]}'
    )
    for output in ("json", "markdown", "html"):
        code = main(["summarize", str(path), "--engine", "extractive", "--output", output])
        out, err = capsys.readouterr()
        assert code == 1 and out == ""
        lines = err.strip().splitlines()
        assert lines == [
            "error: native: 'title' of the thread is not valid Unicode: it holds a lone "
            "surrogate (\\ud800) at character 0"
        ], err


def test_batch_line_gets_an_error_record(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = {"id": "t", "url": "\ud800", "comments": [{"id": "1", "text": "Hi."}]}
    good = {"id": "u", "comments": [{"id": "1", "text": "Hi. Yes."}]}
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps(bad) + "\n" + json.dumps({"thread": good}) + "\n")
    code = main(["batch", str(src), "-o", str(out), "--engine", "extractive"])
    capsys.readouterr()
    assert code == 3
    first, second = (json.loads(line) for line in out.read_text().splitlines())
    assert (first["status"], first["error"]["type"], first["error"]["status"]) == (
        "error",
        "FormatError",
        422,
    )
    assert "'url' of the thread is not valid Unicode" in first["error"]["detail"]
    assert second["status"] == "ok"
