"""The example page's LLM summary, replayed from recorded answers in fixtures/llm/.

Re-record against a live OpenAI-compatible server (the answers and the expected summary are
rewritten)::

    THREADSUM_RECORD_BASE_URL=http://127.0.0.1:8089/v1 THREADSUM_RECORD_MODEL=threadsum-mock \\
        python3 -m pytest tests/test_replay.py

The recorded file holds response bodies only: no headers, no keys. Cached answers are keyed on
the server too, so the file names the server they were recorded from (``base_url``, without
credentials) and the replay names the same one; replay sends nothing to it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from service.cache import AnswerCache
from service.cli import main
from service.model.identity import server_identity

from .conftest import EXAMPLE_PAGE, FIXTURES

# Read at import: the autouse fixture clears THREADSUM_* before each test runs.
RECORD_BASE_URL = os.environ.get("THREADSUM_RECORD_BASE_URL")
RECORD_MODEL = os.environ.get("THREADSUM_RECORD_MODEL", "threadsum-mock")
ANSWERS = FIXTURES / "llm" / "example-answers.json"
EXPECTED = FIXTURES / "llm" / "example-summary.json"


def _summarize(cache_dir: Path, base_url: str, model: str, mode: str, out: Path) -> int:
    return main(
        [
            "summarize",
            str(EXAMPLE_PAGE),
            "--engine",
            "llm",
            "--base-url",
            base_url,
            "--model",
            model,
            "--cache",
            mode,
            "--cache-dir",
            str(cache_dir),
            "-o",
            str(out),
        ]
    )


@pytest.mark.skipif(
    not os.environ.get("THREADSUM_RECORD_BASE_URL"),
    reason="set THREADSUM_RECORD_BASE_URL to re-record",
)
def test_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # pragma: no cover
    base_url, model = str(RECORD_BASE_URL), RECORD_MODEL
    monkeypatch.setattr("tests.conftest._is_loopback", lambda address: True)
    assert _summarize(tmp_path, base_url, model, "refresh", tmp_path / "live.json") == 0
    cache = AnswerCache(tmp_path, "use")
    answers = cache.export()
    cache.close()
    assert _summarize(tmp_path, base_url, model, "replay", EXPECTED) == 0
    recorded = {"model": model, "base_url": server_identity(base_url), "answers": answers}
    ANSWERS.write_text(json.dumps(recorded, indent=2, ensure_ascii=False) + "\n")


def test_example_summary_replays_byte_identically(tmp_path: Path) -> None:
    recorded = json.loads(ANSWERS.read_text())
    cache = AnswerCache(tmp_path, "use")
    cache.load(recorded["answers"])
    cache.close()
    out = tmp_path / "summary.json"
    # replay never contacts the server it names (the one the answers came from)
    code = _summarize(tmp_path, recorded["base_url"], recorded["model"], "replay", out)
    assert code == 0
    assert out.read_text() == EXPECTED.read_text()
