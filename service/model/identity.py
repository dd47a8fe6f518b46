"""Which server a model answer came from: :func:`server_identity`, and the answer cache's scope.

A base URL names a server in many spellings (``HTTP://Host:80/v1/``, ``http://host/v1``), may
carry credentials (``user:key@``, ``?token=…``) and is missing when the SDK default is meant.
:func:`server_identity` reduces it to one spelling without credentials, query or fragment, so
it can be part of a cache key. :func:`cache_scope` is what the answer cache keys an answer on:
that identity, or a namespace the operator gives to servers whose answers are interchangeable.
Pure: no I/O, and no ``openai`` import.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit, urlunsplit

__all__ = ["DEFAULT_BASE_URL", "cache_scope", "server_identity"]

DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
"""Where requests go when no base URL is configured (the SDK is never left to read the env)."""

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def server_identity(base_url: str | None) -> str:
    """``base_url`` (default :data:`DEFAULT_BASE_URL`) in one spelling, without credentials.

    Scheme and host lower-cased, the scheme's default port dropped, user info, query, fragment
    and trailing slashes removed. A URL without a host is only trimmed.
    """
    url = (base_url or DEFAULT_BASE_URL).strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number: keep the URL as written, less credentials
        return url.rstrip("/")
    host = parts.hostname
    if not host:
        return url.rstrip("/")
    scheme = parts.scheme.lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def cache_scope(base_url: str | None, namespace: str | None) -> str:
    """What a cached answer is scoped to: ``namespace`` when one is set, else the server.

    Answers are shared between runs with the same scope: by default only runs against the same
    server (:func:`server_identity`); with a namespace, every server given that namespace.
    """
    if namespace:
        return f"namespace:{namespace}"
    return f"server:{server_identity(base_url)}"
