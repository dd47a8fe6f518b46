"""What a request brings: the run options a client may choose, and its body.

A body sent as JSON must be a thread, a JSON object or array: a JSON string, number or null is
refused (422) before anything is parsed, never summarized as if it were a pasted page.

Clients may pick the engine, output mode and chunk budget, never the model server (``base_url``)
or the model name, so only the operator's configured server is ever called (no SSRF). The
options are applied to the server's settings once per request, by :func:`run_settings`.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from fastapi import Depends, Query, Request

from ..errors import FormatError
from ..settings import EngineName, OutputModeName, Settings
from .supervisor import service_of

__all__ = [
    "MAX_CHUNK_TOKENS",
    "InputFormat",
    "RunSettings",
    "is_json",
    "is_jsonl",
    "is_text",
    "json_thread_start",
    "link",
    "media_type",
    "not_json_thread",
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


async def run_settings(
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
    """The server's settings with the request's options (query parameters) applied.

    A coroutine, so FastAPI runs it on the event loop: as a plain function it would take a
    worker-thread hop per request for what is, without options, a lookup.
    """
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


_SCALARS: Final = {
    ord('"'): "a JSON string",
    ord("t"): "a JSON boolean",
    ord("f"): "a JSON boolean",
    ord("n"): "JSON null",
    **{ord(c): "a JSON number" for c in "-0123456789"},
}


def json_thread_start(body: bytes) -> None:
    """Refuse a JSON body that cannot be a thread, from its first character.

    Raises :class:`~service.errors.FormatError` (422) unless the body starts (after a BOM and
    whitespace) with ``{`` or ``[``; an empty body is left to the parser's own error.
    """
    start = body.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    if not start or start in b"{[":
        return
    what = _SCALARS.get(start[0], "not JSON")
    raise FormatError(
        f"the application/json body is {what}, not a thread: send a thread as a JSON object or "
        "array, or a pasted page as text/plain"
    )


def not_json_thread() -> FormatError:
    """The error for a JSON body that only the text reader could read."""
    return FormatError(
        "the application/json body is not valid JSON (it reads only as a pasted page): fix the "
        "JSON, or send the page as text/plain"
    )


def link(request: Request, settings: Settings, route: str, **params: str) -> str:
    """The URL of ``route`` to hand a client: under ``settings.public_url``, else relative.

    Never built from the request's ``Host`` header, which the client chooses.
    """
    path = str(request.app.url_path_for(route, **params))
    if settings.public_url:
        return settings.public_url + path  # the public URL holds any path prefix
    return str(request.scope.get("root_path", "")) + path
