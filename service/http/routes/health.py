"""``/healthz`` (the process is up) and ``/readyz`` (ready to serve); open to every client."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from ..problems import URN, ApiProblem, Problem
from ..supervisor import service_of

__all__ = ["Health", "router"]

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """``/healthz`` and ``/readyz``."""

    status: Literal["ok", "ready"]


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={
        503: {
            "model": Problem,
            "description": "Not ready: a CPU lane is full (busy), or the model server does not "
            "answer.",
            "content": {
                "application/json": {
                    "example": {
                        "type": URN + "not-ready",
                        "title": "Service Unavailable",
                        "status": 503,
                        "detail": "busy: the CPU lanes are full (6 large requests admitted, "
                        "the limit)",
                        "instance": "/readyz",
                    }
                }
            },
        }
    },
)
async def readyz(request: Request) -> Health:
    """Ready to serve: no CPU lane is full, and the model server (when one is configured)
    answers ``GET /models``."""
    problem = await service_of(request).readiness()
    if problem is not None:
        raise ApiProblem(503, problem, kind=URN + "not-ready")
    return Health(status="ready")
