"""Listening sockets for the servers threadsum runs (``serve``, ``mock-llm``).

The socket is bound before uvicorn starts, so a port already in use is one clear error
(:class:`~service.errors.ServeError`, exit 1) instead of uvicorn's startup log and exit code.
"""

from __future__ import annotations

import errno
import socket

from .errors import ServeError

BACKLOG = 2048
"""Pending connections the kernel queues (uvicorn's default)."""


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``, inheritable by worker processes.

    Raises :class:`ServeError` naming the address when it cannot be bound (in use, not a local
    address, no permission).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as e:
        sock.close()
        in_use = e.errno == errno.EADDRINUSE
        reason = "the address is already in use" if in_use else (e.strerror or str(e))
        raise ServeError(f"cannot listen on {host}:{port}: {reason}") from None
    sock.set_inheritable(True)
    return sock
