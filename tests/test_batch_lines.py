"""Batch input lines and output records (service.jobs.lines, service.jobs.records)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.errors import BodyTooLargeError, FormatError, LimitError, describe
from service.jobs.lines import parse_body, parse_json_array, parse_jsonl, read_line
from service.jobs.records import error_record

from .conftest import FIXTURES

FORMATS = FIXTURES / "formats"


def _fixture(name: str) -> Any:
    return json.loads((FORMATS / name).read_text(encoding="utf-8"))


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def test_each_line_kind_and_its_key() -> None:
    native = _fixture("native.json")
    lines = [
        _line(native),  # bare native: the thread's id
        _line(_fixture("hn-algolia.json")),  # bare hn-algolia: its id
        _line(_fixture("reddit.json")),  # bare reddit: no top-level id
        "",  # blank: skipped, still counted
        _line(_fixture("hn-firebase.json")),
        _line({"id": 7, "thread": native}),  # the wrapper's id wins
        _line({"thread": native, "format": "native"}),  # else the thread's id
        _line({"id": "page", "text": "a pasted page"}),
        _line({"url": "https://news.ycombinator.com/item?id=1"}),
        "not json {",
        "   ",
    ]
    items = parse_jsonl("\r\n".join(lines))
    got = [(it.line, it.key) for it in items]
    assert got == [
        (1, "38001000"),
        (2, "38001000"),
        (3, "line-3"),
        (5, "line-5"),
        (6, "7"),
        (7, "38001000"),
        (8, "page"),
        (9, "line-9"),
        (10, "line-10"),
    ]
    assert all(isinstance(it.input, str) and not it.input.endswith("\r") for it in items)


def test_bytes_input_bom_and_a_line_that_is_not_utf8() -> None:
    body = b'\xef\xbb\xbf{"id": "a", "text": "x"}\n{"id": "b", "text": "\xff"}\n'
    items = parse_jsonl(body)
    assert [(it.key, type(it.input)) for it in items] == [("a", str), ("line-2", bytes)]


def test_too_many_lines_is_a_limit_error() -> None:
    with pytest.raises(LimitError):
        parse_jsonl("{}\n{}\n{}\n", max_items=2)
    with pytest.raises(LimitError):
        parse_json_array([{}, {}, {}], max_items=2)


def test_json_array_body_and_a_thread_that_is_an_array() -> None:
    body = json.dumps([{"id": "x", "text": "t"}, _fixture("native.json")])
    assert [(it.line, it.key) for it in parse_body(body)] == [(1, "x"), (2, "38001000")]
    # A reddit document is itself a JSON array: a one-line body, not two lines.
    reddit = json.dumps(_fixture("reddit.json"))
    assert [it.line for it in parse_body(reddit)] == [1]
    # JSONL whose first line is an array stays JSONL.
    two = reddit + "\n" + reddit
    assert [it.line for it in parse_body(two.encode())] == [1, 2]


def test_read_line_says_what_a_line_asks_for() -> None:
    source = read_line(_line({"id": 3, "url": "https://news.ycombinator.com/item?id=1"}))
    assert (source.kind, source.key, source.fmt) == ("url", "3", "auto")
    with pytest.raises(FormatError, match="exactly one of thread, text, url"):
        read_line(_line({"text": "a", "url": "b"}))
    with pytest.raises(FormatError, match="UTF-8"):
        read_line(b'{"text": "\xff"}')


# --- records -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        FormatError("not\njson   at all"),
        BodyTooLargeError("over the limit"),
        RuntimeError("boom"),
        FormatError("x" * 2000),
    ],
)
def test_an_error_record_names_the_error_as_describe_does(error: Exception) -> None:
    record = json.loads(error_record("k", 4, error))
    info = describe(error)
    assert record == {
        "key": "k",
        "line": 4,
        "status": "error",
        "error": {"type": info.name, "status": info.status, "detail": info.detail},
    }
    assert "\n" not in record["error"]["detail"] and len(record["error"]["detail"]) <= 500


def test_an_unexpected_error_is_an_internal_error() -> None:
    record = json.loads(error_record("k", 1, KeyError("x")))
    assert record["error"] == {
        "type": "InternalError",
        "status": 500,
        "detail": "internal error: KeyError: 'x'",
    }


# --- the fetch budget of a body ------------------------------------------------------------------


def test_url_lines_are_marked_and_counted_against_the_budget() -> None:
    url = _line({"id": "u", "url": "https://news.ycombinator.com/item?id=1"})
    thread = _line(_fixture("native.json"))
    body = "\n".join([url, thread, url, "not json {"])
    items = parse_body(body, max_urls=2)
    assert [it.url for it in items] == [True, False, True, False]
    # One URL line over: the whole body is refused before anything is fetched, naming the limit.
    with pytest.raises(LimitError, match="3 URL lines, over the limit of 2 per batch"):
        parse_body(body + "\n" + url, max_urls=2)
    # A JSON array body is counted the same way; threads never count, however many.
    array = json.dumps([{"url": "https://news.ycombinator.com/item?id=1"}] + [{"text": "x"}] * 5)
    assert sum(it.url for it in parse_body(array, max_urls=1)) == 1
    with pytest.raises(LimitError, match="1 URL lines, over the limit of 0"):
        parse_body(array, max_urls=0)
    assert describe(LimitError("x")).status == 422
