"""Batches on Ray Data (service.jobs.ray_batch) against mock-llm on loopback, on one local Ray.

The Ray session (2 CPUs, loopback, no dashboard) is shared by the module; the runs here are
real: actors each hold a Runtime and call the mock over HTTP, and the mock counts the calls. The
records are compared with the local runner's for the same input, and a run stopped midway
(a Ctrl-C in the driver) is resumed and checked to repeat no record and no model call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.cli import main
from service.cli.batchfile import run_batch_file
from service.devtools.mockllm import MockConfig, running
from service.devtools.synthetic import synthetic_thread
from service.errors import UsageError
from service.jobs.journal import journal_path, read_journal
from service.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Ray's own import-time deprecations are not ours to fix
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install .[ray])")
    pytest.importorskip("ray.data", reason="the ray extra is not installed (pip install .[ray])")
    pq = pytest.importorskip("pyarrow.parquet", reason="the ray extra is not installed")

from service.jobs import ray_batch

pytestmark = [
    pytest.mark.slow,
    # Ray's background threads and its import of pandas/pyarrow may warn about things of theirs.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

N_THREADS = 54


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        logging_level=logging.WARNING,
    )
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with running(MockConfig(latency_ms=20)) as url:
        yield url


def _mock(url: str, path: str, method: str = "GET") -> Any:
    return httpx.request(method, url.removesuffix("/v1") + path).json()


def _settings(url: str, **more: Any) -> Settings:
    return Settings(
        engine="llm",
        base_url=url,
        model="threadsum-mock",
        cache="off",
        batch_concurrency=4,
        concurrency=4,
        # A fixed mode: in auto, each fresh worker's client may add a one-token probe of it,
        # a model request that belongs to no record.
        output_mode="json_schema",
        **more,
    )


def _thread_line(i: int) -> str:
    thread = synthetic_thread(4 + i % 5, seed=i, thread_id=f"t{i}")
    return json.dumps({"id": f"k{i}", "thread": thread}) if i % 3 else json.dumps(thread)


BAD_LINES = [
    "not json at all",
    "42",
    '{"id": "both", "thread": {}, "text": "a page"}',
    json.dumps(  # a reply cycle
        {
            "id": "cycle",
            "comments": [
                {"id": "a", "parent_id": "b", "author": "x", "text": "One."},
                {"id": "b", "parent_id": "a", "author": "y", "text": "Two."},
            ],
        }
    ),
]


def _write_input(path: Path, n: int) -> None:
    lines: list[bytes] = []
    for i in range(n):
        lines.append(_thread_line(i).encode())
        if i % 13 == 5:
            lines.append(BAD_LINES[(i // 13) % len(BAD_LINES)].encode())
        if i == 20:
            lines.append(b"")  # a blank line: skipped, still counted
            lines.append(b'{"text": "caf\xe9 is not UTF-8"}')
    path.write_bytes(b"\n".join(lines) + b"\n")


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def _timeless(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for record in records:
        if "summary" in record:
            record["summary"]["stats"].pop("elapsed_s")
    return records


def test_ray_gives_the_local_runners_records(
    ray_session: None, mock_url: str, tmp_path: Path
) -> None:
    src = tmp_path / "in.jsonl"
    _write_input(src, N_THREADS)
    local, on_ray = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    settings = _settings(mock_url)

    code = asyncio.run(run_batch_file(src, local, settings, concurrency=4, resume=False))
    assert code == 3  # the bad lines
    _mock(mock_url, "/mock/reset", "POST")
    seen: list[tuple[int, int, int]] = []
    result = ray_batch.run(src, on_ray, settings, actors=2, progress=lambda *a: seen.append(a))
    stats = _mock(mock_url, "/mock/stats")

    expected = _timeless(_records(local))
    got = _timeless(_records(on_ray))
    assert [r["line"] for r in got] == [r["line"] for r in expected]
    assert [r["key"] for r in got] == [r["key"] for r in expected]
    assert got == expected  # same summaries and same error records, line for line
    failed = sum(r["status"] == "error" for r in got)
    assert failed == 5 and {r["error"]["type"] for r in got if "error" in r} >= {"FormatError"}
    assert result == ray_batch.RayBatchResult(len(got), failed, 0, len(got))
    assert result.exit_code == 3
    # Every model call belongs to a record; the bound holds across both actors.
    assert stats["requests"] == sum(
        r["summary"]["stats"]["llm_calls"] for r in got if "summary" in r
    )
    assert stats["max_in_flight"] <= 4
    assert seen[0] == (0, len(got), 0) and seen[-1] == (len(got), len(got), failed)
    assert [done for done, _, _ in seen] == list(range(len(got) + 1))
    assert not journal_path(on_ray).exists()


def test_a_stopped_run_resumes_without_repeating_a_record_or_a_model_call(
    ray_session: None, mock_url: str, tmp_path: Path
) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write_input(src, N_THREADS)
    settings = _settings(mock_url)
    journal = journal_path(out)

    def stop_at_15(done: int, total: int, failed: int) -> None:
        if done >= 15:
            raise KeyboardInterrupt  # a Ctrl-C in the driver, once 15 records are journaled

    with pytest.raises(KeyboardInterrupt):
        ray_batch.run(src, out, settings, actors=2, progress=stop_at_15)
    assert not out.exists()
    first = read_journal(journal)
    assert first is not None and len(first.records) == 15

    with pytest.raises(UsageError, match="--resume"):
        ray_batch.run(src, out, settings, actors=2)

    _mock(mock_url, "/mock/reset", "POST")
    result = ray_batch.run(src, out, settings, actors=2, resume=True)
    requests = _mock(mock_url, "/mock/stats")["requests"]

    records = _records(out)
    lines = [r["line"] for r in records]
    assert lines == sorted(set(lines)) and len(records) == result.total  # nothing written twice
    assert result.skipped == 15 and result.summarized == result.total - 15
    by_line = {
        r["line"]: line for r, line in zip(records, out.read_text().splitlines(), strict=True)
    }
    for line, record in first.records.items():
        assert by_line[line] == record  # the first run's records, kept as they were
    # The resume asked the model only for the threads the first run had not journaled.
    resumed = [r for r in records if r["line"] not in first.records and "summary" in r]
    assert requests == sum(r["summary"]["stats"]["llm_calls"] for r in resumed)
    assert not journal.exists()


def test_the_cli_runs_parquet_in_and_out_with_the_local_runners_records(
    ray_session: None, mock_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa

    n = 8
    threads = [synthetic_thread(5, seed=i, thread_id=f"t{i}") for i in range(n)]
    src_jsonl, src_pq = tmp_path / "in.jsonl", tmp_path / "in.parquet"
    lines = [json.dumps({"id": f"p{i}", "thread": t}) for i, t in enumerate(threads)]
    src_jsonl.write_text("\n".join([*lines, '{"id": "empty"}']) + "\n", encoding="utf-8")
    ids = [f"p{i}" for i in range(n)] + ["empty"]
    pq.write_table(
        pa.table({"id": ids, "thread": [json.dumps(t) for t in threads] + [None]}), src_pq
    )
    local, out = tmp_path / "local.jsonl", tmp_path / "out.parquet"
    settings = _settings(mock_url)
    assert asyncio.run(run_batch_file(src_jsonl, local, settings, concurrency=4, resume=False)) == 3

    # A URI: read through Ray Data (a plain path is read by the driver, as the tests above do).
    uri = src_pq.as_uri()
    ray_flags = ["--ray", "--ray-actors", "2", "--concurrency", "2"]
    model = ["--engine", "llm", "--base-url", mock_url, "--model", "threadsum-mock"]
    argv = ["batch", uri, "-o", str(out), *ray_flags, *model, "--cache", "off"]
    assert main(argv) == 3
    assert f"batch: {n + 1}/{n + 1} done, 1 failed" in capsys.readouterr().err

    records = []
    for row in pq.read_table(out).to_pylist():
        record: dict[str, Any] = {"key": row["key"], "line": row["line"], "status": row["status"]}
        if row["summary"] is not None:
            record["summary"] = json.loads(row["summary"])
        else:
            record["error"] = row["error"]
        records.append(record)
    assert _timeless(records) == _timeless(_records(local))
    assert records[-1]["error"]["type"] == "FormatError"
