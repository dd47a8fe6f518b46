from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from service import Settings, read_thread, summarize
from service.cli import main
from service.errors import EmptyThreadError, FormatError, LimitError, UsageError
from service.grounding import check_summary
from service.ingest import parse_raw
from service.ingest.detect import detect
from service.models import ThreadSummary

from .conftest import EXAMPLE_PAGE, FIXTURES

SAMPLES = {
    "native": FIXTURES / "formats" / "native.json",
    "hn-algolia": FIXTURES / "formats" / "hn-algolia.json",
    "hn-firebase": FIXTURES / "formats" / "hn-firebase.json",
    "reddit": FIXTURES / "formats" / "reddit.json",
    "text": EXAMPLE_PAGE,
}


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_auto_detects_each_format(fmt: str) -> None:
    assert detect(SAMPLES[fmt].read_text())[0] == fmt
    assert parse_raw(SAMPLES[fmt].read_bytes()).format == fmt


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_every_format_summarizes_schema_valid_and_grounded(fmt: str) -> None:
    thread = read_thread(SAMPLES[fmt].read_bytes(), fmt)
    summary = asyncio.run(summarize(thread, Settings(engine="extractive")))
    assert ThreadSummary.model_validate_json(summary.model_dump_json()) == summary
    assert summary.claims
    assert check_summary(summary, thread) == []


def test_firebase_id_map_is_detected() -> None:
    items = json.loads(SAMPLES["hn-firebase"].read_text())
    as_map = {str(i["id"]): i for i in items} if isinstance(items, list) else items
    assert detect(json.dumps(as_map))[0] == "hn-firebase"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("   \n", EmptyThreadError, "empty input"),
        ('{"a": 1', FormatError, "looks like JSON but is not valid"),
        ('{"kind": "Listing", "data": {}}', FormatError, "two-Listing array"),
        ("[1, 2]", FormatError, "neither Reddit Listings nor HN Firebase"),
        ("[]", EmptyThreadError, "empty"),
    ],
)
def test_detection_errors(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        detect(text)


def test_explicit_format_mismatch_is_a_clear_error() -> None:
    with pytest.raises(FormatError, match="reddit"):
        parse_raw(SAMPLES["native"].read_bytes(), "reddit")


def test_unknown_format_name() -> None:
    with pytest.raises(UsageError, match="unknown format 'yaml'"):
        parse_raw(b"{}", "yaml")


def test_size_limit_is_checked_before_parsing() -> None:
    with pytest.raises(LimitError, match="over the limit of 10"):
        parse_raw(b"x" * 11, max_bytes=10)


# --- input that is not what it claims to be is refused, never read as an empty thread ----------

# The smallest form of a real HN client's export: a 'comments' list, but items with 'by',
# 'content' and nested 'kids'. Read as native it gave empty comments and lost every reply.
NESTED_CLIENT = {
    "id": 1,
    "title": "A story",
    "comments": [{"id": 2, "by": "ann", "content": "Top.", "kids": [{"id": 3, "content": "Re."}]}],
}


def test_a_comments_list_that_is_not_native_is_an_error_naming_what_was_found() -> None:
    with pytest.raises(FormatError) as info:
        detect(json.dumps(NESTED_CLIENT))
    message = str(info.value)
    assert "not native" in message
    assert "comment #1 has fields native does not read: by, content, kids" in message
    assert "native, hn-algolia" in message and "reddit" in message  # the formats expected


def test_an_explicit_native_format_is_exact_too() -> None:
    with pytest.raises(FormatError, match="native: not a native thread: comment #1 has fields"):
        parse_raw(json.dumps(NESTED_CLIENT), "native")


def test_an_unknown_thread_field_is_not_native() -> None:
    doc = {"id": 1, "content": "The post.", "comments": [{"id": 2, "text": "Hi."}]}
    with pytest.raises(FormatError, match="the thread has fields native does not read: content"):
        detect(json.dumps(doc))


def test_how_many_comments_are_off_is_counted() -> None:
    doc = {"id": 1, "comments": [{"id": n, "content": "x"} for n in range(3)]}
    with pytest.raises(FormatError, match=r"comment #1 \(and 2 more like it\)"):
        detect(json.dumps(doc))


def test_the_cli_refuses_it_with_one_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "client.json"
    path.write_text(json.dumps(NESTED_CLIENT))
    assert main(["summarize", str(path), "--engine", "extractive"]) == 1
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert out == "" and "Traceback" not in err
    assert len(errors) == 1 and errors[0].startswith("error: unknown format:")


def test_an_array_of_unknown_objects_names_their_keys() -> None:
    with pytest.raises(FormatError, match="an object with keys content, id, user"):
        detect(json.dumps([{"id": 1, "user": "a", "content": "x"}]))


@pytest.mark.parametrize("fmt", sorted(set(SAMPLES) - {"text"}))
def test_every_sample_still_reads_exactly(fmt: str) -> None:
    raw = parse_raw(SAMPLES[fmt].read_bytes())
    assert raw.format == fmt and raw.comments
    assert all(c.text or c.status != "ok" for c in raw.comments)
