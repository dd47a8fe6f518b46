"""Owner tokens for locks and leases shared between processes (the cache lock, the job lease).

A token is ``host:pid:nonce``. A holder on this host whose process no longer exists is dead, so
whoever finds its lock or lease may take it over at once instead of waiting for it to expire.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Final

HOST: Final = socket.gethostname()


def new_owner_token() -> str:
    """A fresh token naming this process (and a nonce, so two holders in it differ)."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def is_owner_token(value: object) -> bool:
    """True when ``value`` has the shape of a token from :func:`new_owner_token`."""
    if not isinstance(value, str):
        return False
    parts = value.split(":")
    if len(parts) < 3 or not ":".join(parts[:-2]):
        return False
    pid, nonce = parts[-2], parts[-1]
    hex_digits = "0123456789abcdef"
    return (
        pid.isascii() and pid.isdigit() and len(nonce) == 12 and all(c in hex_digits for c in nonce)
    )


def holder_died(token: object) -> bool:
    """True when ``token`` names a process on this host that no longer exists.

    Anything that is not a well-formed token (another host's, or garbage) is not known to be
    dead: the caller falls back on expiry.
    """
    if not isinstance(token, str):
        return False
    parts = token.split(":")
    if len(parts) < 3 or ":".join(parts[:-2]) != HOST:
        return False
    try:
        os.kill(int(parts[-2]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, OverflowError):
        return False
    return False
