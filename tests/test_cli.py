"""The command line (service.cli): exit codes, one-line errors, every command's output."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from service.cli import main
from service.models import ThreadSummary

from .conftest import EXAMPLE_PAGE, ROOT


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "inspect", str(EXAMPLE_PAGE), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) >= {"thread", "comments", "chunks", "warnings"}
    assert doc["thread"]["source"] == "text"
    assert {"id", "title", "comments", "authors", "max_depth"} <= set(doc["thread"])
    first = doc["comments"][0]
    assert {"id", "key", "parent_id", "author", "depth", "text", "sentences"} <= set(first)
    assert first["key"] == "c1" and first["sentences"][0]["id"] == "c1.1"
    listed = [cid for ch in doc["chunks"] for cid in ch["comment_ids"]]
    assert sorted(listed) == sorted(c["id"] for c in doc["comments"])
    assert all(ch["tokens"] <= 6000 for ch in doc["chunks"])
    assert doc["warnings"]


def test_inspect_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", str(EXAMPLE_PAGE), "--chunk-tokens", "1000")
    assert code == 0
    assert "comments  10" in out and "chunks" in out and "warnings" in out


def test_inspect_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    doc = {"id": "x", "comments": [{"id": "1", "parent_id": None, "author": "a", "text": "Hi."}]}
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(doc).encode())))
    code, out, _ = run(capsys, "inspect", "-", "--json")
    assert code == 0 and json.loads(out)["thread"]["comments"] == 1


@pytest.mark.parametrize("output", ["json", "markdown", "html"])
def test_summarize_outputs(capsys: pytest.CaptureFixture[str], tmp_path: Path, output: str) -> None:
    target = tmp_path / f"out.{output}"
    code, out, err = run(
        capsys, "summarize", str(EXAMPLE_PAGE), "--output", output, "-o", str(target)
    )
    assert code == 0, err
    assert out == ""
    assert "using the extractive engine (no model is configured)" in err
    text = target.read_text()
    if output == "json":
        summary = ThreadSummary.model_validate_json(text)
        assert summary.engine.kind == "extractive" and summary.claims
    elif output == "markdown":
        assert re.search(r"^#{2,3} K[0-9a-z]{6} · ", text, re.M)
    else:
        assert text.lstrip().lower().startswith("<!doctype html>")


def test_summarize_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "summarize", str(EXAMPLE_PAGE), "--engine", "extractive")
    assert code == 0
    assert json.loads(out)["schema_version"] == "1.1"


def test_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["title"] == "ThreadSummary" and "claims" in schema["properties"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty input"),
        (b"{not json", "not valid"),
        (b'{"foo": 1}', "unknown format"),
        (b'{"id": "x", "comments": []}', "empty thread"),
        (
            b'{"id":"x","comments":[{"id":"1","parent_id":null,"text":"a"},{"id":"1","parent_id":null,"text":"b"}]}',
            "duplicate comment id",
        ),
        (
            b'{"id":"x","comments":[{"id":"1","parent_id":"2","text":"a"},{"id":"2","parent_id":"1","text":"b"}]}',
            "reply cycle",
        ),
        (b"\x00\x01\x02binary", "binary"),
        (b"\xff\xfe\xfa", "not UTF-8"),
    ],
)
def test_bad_input_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    for command in ("inspect", "summarize"):
        code, out, err = run(capsys, command, str(path))
        lines = err.strip().splitlines()
        assert code == 1, err
        assert lines[-1].startswith("error: ") and message in lines[-1]
        assert "Traceback" not in err and out == ""


def test_unknown_parent_strict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"id":"x","comments":[{"id":"1","parent_id":"nope","text":"a"}]}')
    code, _, err = run(capsys, "inspect", str(path), "--strict")
    assert code == 1 and "unknown parent" in err
    code, out, _ = run(capsys, "inspect", str(path), "--json")
    assert code == 0 and "attached at the top level" in json.loads(out)["warnings"][0]


def test_limits_from_settings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADSUM_MAX_BYTES", "100")
    code, _, err = run(capsys, "inspect", str(EXAMPLE_PAGE))
    assert code == 1 and "over the limit of 100" in err
    monkeypatch.setenv("THREADSUM_MAX_BYTES", "lots")
    code, _, err = run(capsys, "inspect", str(EXAMPLE_PAGE))
    assert code == 2 and "THREADSUM_MAX_BYTES" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["inspect"],
        ["inspect", "x", "--format", "yaml"],
        ["inspect", str(EXAMPLE_PAGE), "--chunk-tokens", "10"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.startswith("error: ")


def test_an_invalid_flag_value_names_the_flag_as_typed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, "batch", str(EXAMPLE_PAGE), "-o", str(tmp_path / "o.jsonl"), "--concurrency", "0"
    )
    assert code == 2 and err.startswith("error: --concurrency: ")
    code, _, err = run(capsys, "summarize", str(EXAMPLE_PAGE), "--max-reasks", "-1")
    assert code == 2 and err.startswith("error: --max-reasks: ")


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "summarize", "/nonexistent/thread.json")
    assert code == 1 and "no such file" in err


def test_console_script_runs_the_readme_example() -> None:
    exe = shutil.which("threadsum")
    if exe is None:
        pytest.skip("console script not installed (pip install -e .)")
    result = subprocess.run(
        [exe, "summarize", "fixtures/threads/hn-comment-page.txt", "--output", "markdown"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^#{2,3} K[0-9a-z]{6} · ", result.stdout, re.M)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "too deeply nested"),
        (b'{"id":"t","comments":[{"id":' + b"9" * 5000 + b"}]}", "oversized number"),
        (b"[null, null]", "only nulls"),
        (
            b'[{"kind":"Listing","data":{"children":[{"kind":"t3","data":{"id":"p","title":"T"}}]}},'
            b'{"kind":"Listing","data":{"children":[{"kind":"more","data":{"id":"x","count":7,'
            b'"children":["a","b"],"parent_id":"t3_p"}}]}}]',
            "did not send",
        ),
    ],
)
def test_hostile_json_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    code, _, err = run(capsys, "inspect", str(path))
    assert code == 1, err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_lone_surrogates_are_one_clear_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"id":"t","comments":[{"id":"1","parent_id":null,"text":"\\ud800 hi. Yes."}]}')
    for command in ("inspect", "summarize"):
        code, out, err = run(capsys, command, str(path))
        assert (code, out) == (1, ""), err
        assert err.strip().splitlines()[-1] == (
            "error: native: 'text' of comment 1 is not valid Unicode: it holds a lone "
            "surrogate (\\ud800) at character 0"
        )


@pytest.mark.parametrize("target", ["a" * 300, ""])
def test_unreadable_or_empty_target(capsys: pytest.CaptureFixture[str], target: str) -> None:
    code, _, err = run(capsys, "inspect", target)
    assert code in (1, 2) and err.startswith("error: ") and "Traceback" not in err


@pytest.mark.parametrize("out", [".", "", "/nonexistent-dir/x.json"])
def test_unwritable_output(capsys: pytest.CaptureFixture[str], out: str) -> None:
    code, stdout, err = run(capsys, "summarize", str(EXAMPLE_PAGE), "-o", out)
    assert code == 1 and err.strip().splitlines()[-1].startswith("error: cannot write")
    assert stdout == ""


def test_output_file_is_replaced_whole(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "s.json"
    target.write_text("old")
    code, _, _ = run(capsys, "summarize", str(EXAMPLE_PAGE), "-o", str(target))
    assert code == 0 and json.loads(target.read_text())["schema_version"] == "1.1"
    # No temporary file is left beside it (the answer cache, under tmp_path here, holds the
    # thread's stances).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "s.json"]


def test_llm_engine_without_a_model_fails_before_any_work(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = str(tmp_path / "no-such-thread.json")  # reading it would fail: "no such file"
    out = str(tmp_path / "out.jsonl")
    for argv in (["summarize", missing], ["batch", missing, "-o", out]):
        code, _, err = run(capsys, *argv, "--engine", "llm")
        assert code == 2 and "needs a model name" in err and "no such file" not in err
        monkeypatch.setenv("THREADSUM_BASE_URL", "http://127.0.0.1:9/v1")
        code, _, err = run(capsys, *argv)
        assert code == 2 and "no model is named" in err and "no such file" not in err
        monkeypatch.delenv("THREADSUM_BASE_URL")
    assert list(tmp_path.iterdir()) == []  # no state file, no output


def test_output_file_gets_normal_permissions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import os
    import stat

    target = tmp_path / "new.json"
    assert main(["summarize", str(EXAMPLE_PAGE), "-o", str(target)]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    target.chmod(0o640)
    assert main(["summarize", str(EXAMPLE_PAGE), "-o", str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    capsys.readouterr()


def test_batch_command_one_record_per_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from service.devtools.synthetic import synthetic_thread

    lines = [
        json.dumps({"id": "a", "thread": synthetic_thread(20, 1, thread_id="a")}),
        "not json",
        json.dumps({"text": EXAMPLE_PAGE.read_text()}),
        "",
        json.dumps(synthetic_thread(5, 2, thread_id="b")),
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    code, stdout, err = run(capsys, "batch", str(src), "-o", str(out), "--concurrency", "2")
    assert stdout == ""
    assert code == 3, err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["line"], r["key"], r["status"]) for r in records] == [
        (1, "a", "ok"),
        (2, "line-2", "error"),
        (3, "line-3", "ok"),
        (5, "b", "ok"),
    ]
    assert records[1]["error"]["status"] == 422
    assert "batch: 4/4 done, 1 failed" in err
    assert not list(tmp_path.glob("*.state.sqlite"))  # a finished run leaves no state behind


def test_local_server_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "local-server", "--model-path", str(tmp_path / "none.gguf"))
    assert code == 1 and "no GGUF model file" in err
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name)
    )
    code, _, err = run(capsys, "local-server", "--model-path", str(gguf))
    assert code == 2 and "pip install -e '.[local]'" in err


# --- one line per error, nothing after it ---------------------------------------------------------

_CONSOLE_SCRIPT = "import sys; from service.cli import main; sys.exit(main())"
"""What the ``threadsum`` console script runs (``[project.scripts]``), wherever it is installed."""


def _console(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-W", "default", "-c", _CONSOLE_SCRIPT, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize(
    ("faults", "env", "message"),
    [
        # Every call fails: the first failure ends the run while the other chunks' calls are
        # still opening connections (this printed two RuntimeWarning lines after the error).
        ("500", {"THREADSUM_LLM_ATTEMPTS": "1"}, "is unavailable"),
        ("garbage", {"THREADSUM_ON_INVALID": "fail", "THREADSUM_MAX_REASKS": "0"}, "invalid"),
    ],
)
def test_a_failed_model_run_prints_one_line_and_no_warnings(
    tmp_path: Path, faults: str, env: dict[str, str], message: str
) -> None:
    from service.devtools.mockllm import MockConfig, running
    from service.devtools.synthetic import synthetic_thread

    thread = tmp_path / "t.json"
    thread.write_text(json.dumps(synthetic_thread(20, 1, thread_id="t")))
    with running(MockConfig(fail_rate=1.0, faults=(faults,))) as url:
        result = _console(
            "summarize",
            str(thread),
            "--engine",
            "llm",
            "--base-url",
            url,
            "--model",
            "threadsum-mock",
            "--chunk-tokens",
            "1000",  # three chunks
            "--cache",
            "off",
            env=env,
        )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0]


def test_batch_retry_failed_flag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from service.devtools.fake import FakeModel
    from service.errors import ModelUnavailableError
    from service.runtime import Runtime

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text('{"id": "a", "text": "One. Two."}\n{"id": "b", "text": "Three. Four."}\n')
    argv = ["batch", str(src), "-o", str(out), "--engine", "llm", "--model", "m"]
    down = FakeModel(script=[ModelUnavailableError("the model server is unavailable")])
    code, _, err = run_with(capsys, Runtime(model=down), *argv, "--concurrency", "1")
    assert code == 3, err
    assert [json.loads(x)["status"] for x in out.read_text().splitlines()] == ["error", "ok"]
    model = FakeModel()
    code, _, err = run_with(capsys, Runtime(model=model), *argv, "--retry-failed")
    assert code == 0, err
    assert [json.loads(x)["status"] for x in out.read_text().splitlines()] == ["ok", "ok"]
    assert len(model.calls) == 1  # only the failed line ran again


def run_with(capsys: pytest.CaptureFixture[str], runtime: Any, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), runtime=runtime)
    out, err = capsys.readouterr()
    return code, out, err
