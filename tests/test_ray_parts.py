"""The parts of the Ray runner that need no Ray: the pool plan, Parquet rows, the journal, and
the clear errors when Ray is missing or a flag is misused. (test_ray_batch.py runs Ray itself.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from service.cli import main
from service.errors import InputError, UsageError
from service.jobs.journal import Journal, journal_path, read_journal
from service.jobs.ray_batch import parquet_line, plan_pool, run
from service.settings import Settings


def test_the_pool_keeps_the_local_bounds_across_the_cluster() -> None:
    s = Settings(batch_concurrency=8, concurrency=4)
    plan = plan_pool(s, actors=None, cluster_cpus=4, pending=100)
    assert (plan.actors, plan.threads_per_actor, plan.calls_per_actor) == (4, 2, 2)
    assert plan.cpus_per_actor == 1.0
    # Never more actors than threads, nor than lines; calls at least one per thread.
    plan = plan_pool(
        Settings(batch_concurrency=3, concurrency=1), actors=8, cluster_cpus=2, pending=50
    )
    assert (plan.actors, plan.threads_per_actor, plan.calls_per_actor) == (3, 1, 1)
    assert plan.cpus_per_actor == round(2 / 3, 3)  # more actors than CPUs: a share each
    assert plan_pool(s, actors=None, cluster_cpus=16, pending=2).actors == 2
    for plan in (plan_pool(s, actors=a, cluster_cpus=2, pending=99) for a in (1, 2, 3, 5, 8)):
        assert plan.actors * plan.threads_per_actor <= 8
        assert plan.actors * plan.calls_per_actor <= 8  # max(concurrency, batch_concurrency)
    with pytest.raises(UsageError, match="at least 1"):
        plan_pool(s, actors=0, cluster_cpus=2, pending=1)


def test_a_parquet_row_is_the_wrapper_line_it_stands_for() -> None:
    line = parquet_line({"id": "a", "thread": '{"id": "t"}', "text": None, "url": None}, 1)
    assert json.loads(line) == {"id": "a", "thread": '{"id": "t"}'}
    nested = parquet_line({"id": 7, "thread": {"comments": [{"id": "c", "text": "x\ny"}]}}, 2)
    assert "\n" not in nested and json.loads(nested)["thread"]["comments"][0]["text"] == "x\ny"
    with pytest.raises(InputError, match=r"row 3 has column.*body"):
        parquet_line({"id": "a", "body": "x"}, 3)


def test_the_journal_keeps_whole_records_and_drops_a_torn_one(tmp_path: Path) -> None:
    path = journal_path(tmp_path / "out.jsonl")
    assert path.name == "out.jsonl.ray-state.jsonl"
    assert read_journal(path) is None
    with Journal.open(path, "job-1") as journal:
        journal.append('{"key":"a","line":1,"status":"ok","summary":{}}')
        journal.append('{"key":"b","line":3,"status":"error","error":{}}')
    with path.open("ab") as f:
        f.write(b'{"key":"c","line":4,"sta')  # the run stopped mid-write
    state = read_journal(path)
    assert state is not None and state.job_id == "job-1"
    assert sorted(state.records) == [1, 3] and state.states == {1: "ok", 3: "error"}
    with Journal.open(path, "job-1", state) as journal:  # continues after the last whole line
        journal.append('{"key":"b","line":3,"status":"ok","summary":{}}')
    again = read_journal(path)
    assert again is not None and again.states == {1: "ok", 3: "ok"}  # the last record counts
    with pytest.raises(UsageError, match="--resume"):
        Journal.open(path, "job-1")
    path.write_text("something else\n")
    with pytest.raises(UsageError, match="not a threadsum batch journal"):
        read_journal(path)


def test_without_the_extra_the_ray_runner_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ray", "ray.data"):  # importing them fails as if they were not installed
        monkeypatch.setitem(sys.modules, name, None)
    src = tmp_path / "in.jsonl"
    src.write_text("{}\n")
    with pytest.raises(UsageError, match=r"ray extra: pip install \"threadsum\[ray\]\""):
        run(src, tmp_path / "out.jsonl", Settings(engine="extractive"))


def test_ray_flags_are_checked_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("{}\n")
    assert main(["batch", str(src), "-o", str(out), "--ray-actors", "2"]) == 2
    assert "error: --ray-actors needs --ray" in capsys.readouterr().err
    Journal.open(journal_path(out), "another-job").close()
    assert main(["batch", str(src), "-o", str(out), "--ray", "--engine", "extractive"]) == 2
    assert "pass --resume" in capsys.readouterr().err
    journal_path(out).unlink()
    out.write_text("")
    args = ["batch", str(src), "-o", str(out), "--ray", "--retry-failed", "--engine", "extractive"]
    assert main(args) == 2
    assert "finished one" in capsys.readouterr().err
