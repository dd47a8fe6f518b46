from __future__ import annotations

import asyncio
import json

import pytest

from service import Settings, read_thread, summarize
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
