"""Running development servers: an ASGI app in a background thread, a server process waited on
until it answers, and a server process in the foreground that signals reach.

The mock model server (:func:`service.devtools.mockllm.running`), the local model server
(:mod:`service.devtools.local`), tests and benchmarks start their servers through these, so
readiness is waited for one way — an event, or polling a health URL up to a deadline, never a
fixed sleep — and a server is always stopped with whoever started it.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

import httpx
import uvicorn

from ..serving import listen

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 10.0
"""Seconds an in-process server gets to start, and then to stop."""
STOP_GRACE = 20.0
"""Seconds a server process gets to exit after SIGTERM before it is killed."""
FORWARDED_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
    if hasattr(signal, name)
)
"""The signals :func:`run_foreground` passes on to its server process."""


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on ``host`` just now, for a server process that binds it itself."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def base_url(host: str, port: int) -> str:
    """``http://host:port`` (an IPv6 host in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """A uvicorn server that says when its startup is over, however it ended."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.settled = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.settled.set()


@contextlib.contextmanager
def in_thread(
    config: uvicorn.Config, *, name: str, timeout: float = START_TIMEOUT
) -> Iterator[str]:
    """Serve ``config``'s app from a background thread; yield its base URL; stop it after.

    The socket is bound first (:func:`~service.serving.listen`; port 0 picks a free one), and
    the URL is yielded once the server is accepting connections.
    """
    sock = listen(config.host, config.port)
    sock.set_inheritable(False)  # a server in this process: child processes need not hold it
    server = _Server(config)

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except SystemExit:  # how uvicorn ends a failed startup; the waiter reports it
            pass
        finally:
            server.settled.set()  # also when it failed before its startup began

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        if not server.settled.wait(timeout) or not server.started:
            raise RuntimeError(f"{name} did not start")
        yield base_url(config.host, int(sock.getsockname()[1]))
    finally:
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():  # open connections keep a graceful shutdown waiting
            server.force_exit = True
            thread.join(timeout)
        sock.close()


def wait_healthy(
    url: str,
    *,
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
    interval: float = 0.25,
) -> bool:
    """Poll ``GET url`` until it answers 200 (True), ``alive()`` turns false or ``timeout``
    seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while alive():
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return False


def stop_process(proc: subprocess.Popen[bytes], *, grace: float = STOP_GRACE) -> None:
    """Stop a server process: SIGTERM, then SIGKILL when it has not exited after ``grace``."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_foreground(command: Sequence[str]) -> int:
    """Run ``command`` (a server) until it exits; its exit code, 128 + N when signal N ended it.

    Every signal in :data:`FORWARDED_SIGNALS` this process gets is passed on to the server and
    the server waited for, so stopping this process (a supervisor's SIGTERM, a closed terminal)
    stops the server instead of leaving it running without a parent. The server runs in its own
    process group so that a terminal's Ctrl-C reaches it once, through this process, not twice
    (uvicorn reads a second SIGINT as "exit now, skip the graceful shutdown").
    Call it from the main thread (signal handlers can only be set there).
    """
    pending: list[int] = []  # signals that came before the server process existed
    started: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        if started:
            started[0].send_signal(signum)
        else:
            pending.append(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED_SIGNALS}
    try:
        with subprocess.Popen(command, stdin=subprocess.DEVNULL, process_group=0) as proc:
            started.append(proc)
            for signum in pending:
                proc.send_signal(signum)
            code = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code
