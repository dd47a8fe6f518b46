"""Issue 12, item 1, on the faces: a run in which every chunk failed is an error everywhere.

The engine decides that such a run fails (another change); these tests hold the faces to it:
a batch line becomes an error record (not ``ok``) whose type and status are
:func:`service.errors.describe`'s, over HTTP as in a file, and ``threadsum summarize`` exits 1
with one ``error:`` line. The model answers nothing but garbage. They fail until the engine
change is in.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from service import errors
from service.cli import main
from service.cli.batchfile import run_batch_file
from service.devtools.fake import FakeCompletion, FakeModel
from service.devtools.synthetic import synthetic_thread
from service.http import create_app
from service.runtime import Runtime
from service.settings import Settings


@dataclass
class GarbageModel(FakeModel):
    """Answers every call, re-asks included, with text that is not JSON at all."""

    async def complete(self, messages: list[dict[str, str]], **kwargs: Any) -> FakeCompletion:
        self.calls.append(messages)
        return FakeCompletion("Sure! Here is a summary of the thread, in my own words.")


def _llm() -> Settings:
    return Settings(engine="llm", model="fake-model", cache="off")


def _thread(i: int) -> dict[str, Any]:
    return synthetic_thread(5, i, thread_id=f"t{i}")


def _assert_failed_run_record(record: dict[str, Any]) -> None:
    assert record["status"] == "error", record.get("summary", {}).get("warnings")
    error = record["error"]
    kind = getattr(errors, error["type"], None)
    # As describe() names it: a threadsum error class, with that class's own status (502:
    # the model server failed us, as HTTP answers it).
    assert isinstance(kind, type) and issubclass(kind, errors.ThreadsumError), error
    assert error["status"] == kind.status == 502
    assert error["detail"] and "\n" not in error["detail"]


def test_a_batch_line_whose_every_chunk_failed_is_an_error_record(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(json.dumps(_thread(i)) for i in range(2)) + "\n", encoding="utf-8")
    code = asyncio.run(
        run_batch_file(
            src, out, _llm(), concurrency=2, resume=False, runtime=Runtime(model=GarbageModel())
        )
    )
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert code == 3 and len(records) == 2
    for record in records:
        _assert_failed_run_record(record)


def test_an_http_batch_line_whose_every_chunk_failed_is_an_error_record() -> None:
    async def go() -> list[dict[str, Any]]:
        app = create_app(_llm(), model=GarbageModel())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                job_id = (await c.post("/v1/batches", json=[_thread(1)])).json()["id"]
                service = app.state.threadsum
                while (task := service.tasks.get(job_id)) is not None:
                    await asyncio.gather(task, return_exceptions=True)
                text = (await c.get(f"/v1/batches/{job_id}/results")).text
        return [json.loads(line) for line in text.splitlines()]

    (record,) = asyncio.run(go())
    _assert_failed_run_record(record)


def test_summarize_whose_every_chunk_failed_exits_1_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(_thread(1)), encoding="utf-8")
    argv = ["summarize", str(path), "--engine", "llm", "--model", "fake-model", "--cache", "off"]
    code = main(argv, runtime=Runtime(model=GarbageModel()))
    out, err = capsys.readouterr()
    assert code == 1, out[:500]
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
