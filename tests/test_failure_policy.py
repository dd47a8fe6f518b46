"""A run whose chunks got no usable answer is an error on every face, not an empty success.

The engine-level policy (shares, partial runs) is tested in test_engine_llm.py; here each face
shows the same error: HTTP a 502 problem, the CLI exit 1 with one ``error:`` line, a batch an
error record.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.cli import main
from service.devtools.fake import FakeModel
from service.devtools.mockllm import MockConfig, running
from service.http import create_app
from service.settings import Settings

ONE_COMMENT = {"id": "t", "comments": [{"id": "1", "parent_id": None, "text": "One claim here."}]}
FAILED = "no usable summary: 1 of 1 chunk failed"


def test_http_answers_502_when_every_chunk_failed() -> None:
    settings = Settings(engine="llm", model="m", cache="off")
    model = FakeModel(script=["garbage 1", "garbage 2", "garbage 3"])

    async def go() -> httpx.Response:
        app = create_app(settings, model=model)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.post("/v1/summaries", json=ONE_COMMENT)

    r = asyncio.run(go())
    assert r.status_code == 502, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    doc = r.json()
    assert doc["error"] == "ModelOutputError" and doc["detail"].startswith(FAILED)
    assert "the reply is not valid JSON" in doc["detail"] and len(model.calls) == 3


@pytest.fixture(scope="module")
def garbage_server() -> Iterator[str]:
    with running(MockConfig(fail_rate=1.0, faults=("garbage",))) as url:
        yield url


def _model_flags(url: str) -> list[str]:
    return ["--engine", "llm", "--base-url", url, "--model", "threadsum-mock"]


def test_the_cli_exits_1_with_one_error_line(
    garbage_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "thread.json"
    path.write_text(json.dumps(ONE_COMMENT))
    code = main(["summarize", str(path), *_model_flags(garbage_server), "--cache", "off"])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 1 and out == ""
    assert lines[-1].startswith(f"error: {FAILED}") and "Traceback" not in err


def test_a_batch_gets_an_error_record(
    garbage_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(json.dumps({"id": "a", "thread": ONE_COMMENT}) + "\n")
    code = main(["batch", str(source), "-o", str(target), *_model_flags(garbage_server)])
    capsys.readouterr()
    (record,) = [json.loads(line) for line in target.read_text().splitlines()]
    assert code == 3 and record["status"] == "error"
    assert record["error"]["type"] == "ModelOutputError" and record["error"]["status"] == 502
    assert record["error"]["detail"].startswith(FAILED)
