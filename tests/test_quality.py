"""The linters are part of the suite: ruff (lint and format) over everything, mypy --strict over
the package."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "ruff", "check", "service", "tests", "bench"],
        [sys.executable, "-m", "ruff", "format", "--check", "service", "tests", "bench"],
        [sys.executable, "-m", "mypy"],
    ],
    ids=["ruff", "ruff-format", "mypy"],
)
def test_linters_pass(command: list[str]) -> None:
    if shutil.which(command[0]) is None:  # pragma: no cover - the interpreter always exists
        pytest.skip("no interpreter")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
