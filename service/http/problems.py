"""Errors as ``application/problem+json`` (RFC 9457): the body, the app's exception handlers, and
the error responses the OpenAPI document lists.

A :class:`~service.errors.ThreadsumError` is described by :func:`service.errors.describe`, so an
HTTP problem and a batch error record name an error the same way: ``type`` is
``urn:threadsum:error:{slug}``, ``status`` and ``detail`` are the description's, and the
extension member ``error`` carries its name. Problems of HTTP itself (auth, rate limit, content
type, readiness) are :class:`ApiProblem`; request validation and routing errors keep FastAPI's
and Starlette's statuses.
"""

from __future__ import annotations

import http
import logging
import math
from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import ThreadsumError, describe

__all__ = [
    "PROBLEM",
    "ApiProblem",
    "Problem",
    "error_problem",
    "error_responses",
    "install_error_handlers",
    "problem_response",
]

log = logging.getLogger("threadsum.api")

PROBLEM: Final = "application/problem+json"
"""The media type of every error response."""
URN: Final = "urn:threadsum:error:"
"""The prefix of the ``type`` of threadsum's own problems."""


class Problem(BaseModel):
    """An error, as RFC 9457 ``application/problem+json``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        "about:blank", description="A URI naming the kind of problem.", examples=["about:blank"]
    )
    title: str = Field(description="The HTTP status phrase.", examples=["Unprocessable Content"])
    status: int = Field(description="The HTTP status code.", examples=[422])
    detail: str = Field(description="What went wrong, for a person to read.")
    instance: str = Field(description="The path of the request that failed.")


class ApiProblem(Exception):
    """A problem of HTTP itself that the app raises (auth, rate limit, content type, …)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str = "about:blank",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = headers or {}


def problem_response(
    status: int,
    detail: str,
    instance: str,
    *,
    kind: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """An ``application/problem+json`` response."""
    body = Problem(
        type=kind,
        title=http.HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        **(extra or {}),
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status, headers=headers, media_type=PROBLEM
    )


def error_problem(error: ThreadsumError, instance: str) -> JSONResponse:
    """The problem response of a threadsum error, from its one description."""
    info = describe(error)
    headers: dict[str, str] = {}
    if info.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(info.retry_after)))
    if info.status == 413:
        headers["Connection"] = "close"  # the rest of the body is never read
    return problem_response(
        info.status,
        info.detail,
        instance,
        kind=URN + info.slug,
        headers=headers,
        extra={"error": info.name},
    )


def _problem_for(request: Request, exc: Exception) -> JSONResponse:
    """The problem response of an exception the app's handlers see."""
    path = request.url.path
    if isinstance(exc, ApiProblem):
        return problem_response(exc.status, exc.detail, path, kind=exc.kind, headers=exc.headers)
    if isinstance(exc, RequestValidationError):
        errors = [
            {"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg")), "type": e["type"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
        return problem_response(
            422,
            detail or "invalid request",
            path,
            kind=URN + "validation-error",
            extra={"errors": errors},
        )
    if isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        phrase = exc.detail if isinstance(exc.detail, str) and exc.detail else None
        return problem_response(
            status, phrase or http.HTTPStatus(status).phrase, path, headers=exc.headers
        )
    assert isinstance(exc, ThreadsumError)
    response = error_problem(exc, path)
    if response.status_code >= 500:
        log.warning(
            "%s %s: %s (%d)", request.method, path, type(exc).__name__, response.status_code
        )
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error the app knows of as a problem."""

    async def handler(request: Request, exc: Exception) -> Response:
        return _problem_for(request, exc)

    for kind in (ThreadsumError, RequestValidationError, StarletteHTTPException, ApiProblem):
        app.add_exception_handler(kind, handler)


_ERRORS: Final[dict[int, dict[str, Any]]] = {
    400: {"model": Problem, "description": "A bad option or combination of options."},
    401: {"model": Problem, "description": "An API key is required and was missing or wrong."},
    404: {"model": Problem, "description": "No batch job has this id."},
    409: {"model": Problem, "description": "Cache mode replay and no recorded answer."},
    413: {"model": Problem, "description": "The request body is over the byte limit."},
    415: {"model": Problem, "description": "The Content-Type is not one this route reads."},
    422: {
        "model": Problem,
        "description": "The thread is unusable (malformed, empty, cyclic, over the comment or "
        "depth limit) or a parameter is invalid.",
    },
    429: {"model": Problem, "description": "Rate limit reached; see Retry-After."},
    500: {"model": Problem, "description": "An internal error (logged)."},
    502: {"model": Problem, "description": "The model server failed or refused the request."},
    503: {
        "model": Problem,
        "description": "The service is busy, or the model server is unavailable or overloaded; "
        "see Retry-After.",
    },
    504: {"model": Problem, "description": "The request ran past the service's deadline."},
}


_EXAMPLE_DETAILS: Final[dict[int, tuple[str, str]]] = {
    400: (
        "usage-error",
        "unsupported URL: https://example.com/ (supported: news.ycombinator.com "
        "item URLs, reddit comment URLs)",
    ),
    401: (
        "unauthorized",
        "an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>",
    ),
    404: ("job-not-found-error", "no batch job 3f1c…"),
    409: ("cache-miss-error", "cache mode replay and no recorded answer for this call"),
    413: ("body-too-large-error", "the request body is over the limit of 20000000 bytes"),
    415: ("about:blank", "cannot read a body of type 'application/xml'"),
    422: ("format-error", "reply cycle: c3 → c5 → c3"),
    429: ("rate-limited", "rate limit of 120 requests per minute reached; retry in 2 s"),
    500: ("about:blank", "internal error (logged)"),
    502: ("model-request-error", "the model server refused the request (HTTP 400)"),
    503: (
        "service-busy-error",
        "the service is busy: 6 large requests are being worked on or "
        "waiting, its limit; retry in 2 s",
    ),
    504: (
        "deadline-error",
        "the request did not finish within the deadline of 300 s (THREADSUM_REQUEST_TIMEOUT)",
    ),
}


def _example(code: int) -> dict[str, Any]:
    """An example problem of status ``code``, for the OpenAPI document."""
    slug, detail = _EXAMPLE_DETAILS[code]
    return {
        "type": slug if slug == "about:blank" else URN + slug,
        "title": http.HTTPStatus(code).phrase,
        "status": code,
        "detail": detail,
        "instance": "/v1/summaries",
    }


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entries of these error statuses, each with an example."""
    return {
        code: {**_ERRORS[code], "content": {"application/json": {"example": _example(code)}}}
        for code in codes
    }
