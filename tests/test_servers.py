"""Server helpers: a uvicorn app in a thread, readiness by polling, a foreground server process
that the signals sent to its parent reach."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Literal

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from service.devtools.servers import free_port, in_thread, run_foreground, wait_healthy

from .conftest import ROOT


def app() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def quiet(app: FastAPI, lifespan: Literal["on", "off"]) -> uvicorn.Config:
    return uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan=lifespan)


def refused(url: str) -> bool:
    try:
        httpx.get(url, timeout=5)
    except httpx.ConnectError:
        return True
    return False


def test_in_thread_serves_until_the_block_ends() -> None:
    with in_thread(quiet(app(), lifespan="off"), name="test-server") as url:
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(url + "/health").json() == {"status": "ok"}
        assert wait_healthy(url + "/health", timeout=5)
    assert refused(url + "/health")


def test_in_thread_says_when_the_server_did_not_start() -> None:
    @contextlib.asynccontextmanager
    async def failing(_: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield  # pragma: no cover

    config = quiet(FastAPI(lifespan=failing), lifespan="on")
    with (
        pytest.raises(RuntimeError, match="test-server did not start"),
        in_thread(config, name="test-server"),
    ):
        pass  # pragma: no cover


def test_wait_healthy_gives_up() -> None:
    url = f"http://127.0.0.1:{free_port()}/health"  # nothing listens there
    assert not wait_healthy(url, timeout=0)
    calls: list[int] = []

    def alive() -> bool:
        calls.append(1)
        return len(calls) < 3

    assert not wait_healthy(url, timeout=60, alive=alive, interval=0)
    assert len(calls) == 3  # it stopped as soon as the process was gone


def test_free_port_can_be_bound() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", free_port()))


# --- run_foreground: the parent of a server process -------------------------------------------

PARENT = """
import sys
from service.devtools.servers import run_foreground
sys.exit(run_foreground([sys.executable, "-c", sys.argv[1]]))
"""

# A stand-in server: says it is ready, then waits for signals; with "handle" it reports them.
CHILD = """
import os, signal, sys
def stop(signum, frame):
    print(f"child got {signal.Signals(signum).name}", flush=True)
    sys.exit(0)
if sys.argv[1:] == ["handle"]:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
print(f"ready {os.getpid()}", flush=True)
while True:
    signal.pause()
"""


@dataclass
class Parent:
    proc: subprocess.Popen[str]  # the process running run_foreground
    child: int  # the stand-in server's pid


@contextlib.contextmanager
def parent_of_stand_in(*child_args: str) -> Iterator[Parent]:
    """``run_foreground`` in a process of its own, over the stand-in; yields once it is ready."""
    child = "import sys; sys.argv[1:] = " + repr(list(child_args)) + "\n" + CHILD
    proc = subprocess.Popen(
        [sys.executable, "-c", PARENT, child],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    pid = 0
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()  # the stand-in prints this once it runs
        assert ready.startswith("ready "), ready
        pid = int(ready.split()[1])
        yield Parent(proc, pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # only if a test failed: an orphaned stand-in
        if proc.stdout is not None:
            proc.stdout.close()


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signals_reach_the_server_and_it_is_waited_for(sig: signal.Signals) -> None:
    with parent_of_stand_in("handle") as parent:
        proc, child = parent.proc, parent.child
        assert os.getpgid(child) == child  # its own group: a terminal's Ctrl-C comes once, via us
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 0  # the server's own exit code
        assert gone(child)  # before reading: an orphan would hold the pipe open
        assert proc.stdout is not None and proc.stdout.read() == f"child got {sig.name}\n"


def test_a_server_killed_by_the_signal_gives_128_plus_n() -> None:
    with parent_of_stand_in() as parent:
        proc, child = parent.proc, parent.child
        proc.terminate()
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
        assert gone(child)


def test_run_foreground_returns_the_exit_code_and_restores_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM)
    assert run_foreground([sys.executable, "-c", "raise SystemExit(7)"]) == 7
    assert signal.getsignal(signal.SIGTERM) is before
