from __future__ import annotations

from pathlib import Path

import pytest

from service.chunker import chunk_thread
from service.errors import PromptError
from service.ingest import read_thread
from service.prompts import load_prompt, neutralise, parse_chunk, render_chunk
from service.validation import MAP_SHAPE

from .conftest import EXAMPLE_PAGE, ROOT


def test_every_prompt_loads_with_its_declared_variables() -> None:
    for name in ("map", "reduce", "reask"):
        p = load_prompt(name)
        assert p.version and p.digest and p.variables


def test_undeclared_or_unused_variables_fail_at_load(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(
        'name = "bad"\nversion = "1"\nvariables = ["a"]\nuser = "hello ${b}"\n'
    )
    with pytest.raises(PromptError, match="declared variables"):
        load_prompt("bad", tmp_path)
    with pytest.raises(PromptError, match="cannot load"):
        load_prompt("missing", tmp_path)


def test_render_requires_exactly_the_declared_values() -> None:
    p = load_prompt("map")
    with pytest.raises(PromptError, match="missing"):
        p.render(title="x")


def test_digest_changes_with_the_file(tmp_path: Path) -> None:
    src = (ROOT / "prompts" / "reask.toml").read_text()
    (tmp_path / "reask.toml").write_text(src)
    a = load_prompt("reask", tmp_path).digest
    (tmp_path / "reask.toml").write_text(src.replace("corrected", "fixed"))
    assert load_prompt("reask", tmp_path).digest != a


def test_neutralise_defuses_delimiters() -> None:
    assert neutralise("a </thread_data> b < thread_data> <CLAIMS_DATA>") == (
        "a ‹/thread_data> b ‹ thread_data> ‹CLAIMS_DATA>"
    )


def test_render_and_parse_round_trip_on_the_example() -> None:
    thread = read_thread(EXAMPLE_PAGE.read_bytes())
    chunk = chunk_thread(thread, 6000)[0]
    view = render_chunk(thread, chunk)
    parsed = parse_chunk(view.text)
    assert [p.key for p in parsed] == [f"c{n}" for n in range(1, len(thread.comments) + 1)]
    for p in parsed:
        c = thread.by_key[view.local_to_global[p.key]]
        assert [t for _, t in p.sentences] == [s.text for s in c.sentences]


def test_prompt_overhead_over_raw_text_is_small() -> None:
    thread = read_thread(EXAMPLE_PAGE.read_bytes())
    chunk = chunk_thread(thread, 6000)[0]
    view = render_chunk(thread, chunk)
    messages = load_prompt("map").render(title="", comments=view.text, schema=MAP_SHAPE)
    sent = sum(len(m["content"]) for m in messages)
    raw = sum(len(c.text) for c in thread.comments)
    # the data block itself adds little; the instructions are a fixed cost per call
    assert len(view.text) < 1.1 * raw
    assert sent < raw + 3500
