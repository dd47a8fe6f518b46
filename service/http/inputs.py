"""What a request brings: the run options a client may choose, and its body.

Clients may pick the engine, output mode and chunk budget, never the model server (``base_url``)
or the model name, so only the operator's configured server is ever called (no SSRF). The
options are applied to the server's settings once per request, by :func:`run_settings`.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from fastapi import Depends, Query, Request

from ..settings import EngineName, OutputModeName, Settings
from .supervisor import service_of

__all__ = [
    "MAX_CHUNK_TOKENS",
    "InputFormat",
    "RunSettings",
    "is_json",
    "is_jsonl",
    "is_text",
    "media_type",
    "read_body",
    "run_settings",
]

InputFormat = Literal["auto", "native", "hn-algolia", "hn-firebase", "reddit", "text"]
"""``?format=``: the input formats of ``service.ingest.FORMATS``, or ``auto`` (detect)."""

MAX_CHUNK_TOKENS: Final = 100_000
"""The largest chunk budget a client may ask for."""

_JSONL_TYPES: Final = frozenset(
    {"application/x-ndjson", "application/jsonl", "application/x-jsonlines"}
)


def run_settings(
    request: Request,
    engine: Annotated[
        EngineName | None, Query(description="Engine; default: the server's setting.")
    ] = None,
    output_mode: Annotated[
        OutputModeName | None,
        Query(description="Structured output mode of the LLM engine; default: the server's."),
    ] = None,
    chunk_tokens: Annotated[
        int | None,
        Query(
            ge=1000,
            le=MAX_CHUNK_TOKENS,
            description="Token budget of one chunk; default: the server's.",
        ),
    ] = None,
) -> Settings:
    """The server's settings with the request's options (query parameters) applied."""
    given = {"engine": engine, "output_mode": output_mode, "chunk_tokens": chunk_tokens}
    return service_of(request).settings.override(given, name_of=_query_parameter)


RunSettings = Annotated[Settings, Depends(run_settings)]
"""A route parameter: the settings this request runs with."""


def _query_parameter(field: str) -> str:
    return f"query parameter {field}"


def media_type(request: Request) -> str:
    """The request's media type, lower case, without parameters ("" when none is given)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_json(media: str) -> bool:
    """``application/json`` or a ``+json`` type."""
    return media == "application/json" or media.endswith("+json")


def is_jsonl(media: str) -> bool:
    """One of the JSON lines media types."""
    return media in _JSONL_TYPES


def is_text(media: str) -> bool:
    """``text/plain``."""
    return media == "text/plain"


async def read_body(request: Request) -> bytes:
    """The request body (:class:`~service.http.middleware.BodyLimitMiddleware` caps it)."""
    parts = [chunk async for chunk in request.stream()]
    return b"".join(parts)
