"""What a batch job and its items report: states, the job's status, a started item."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

JobState = Literal["queued", "running", "done", "cancelled", "failed"]
ItemState = Literal["pending", "ok", "error"]


class JobStatus(BaseModel):
    """Where a job stands. ``done`` counts finished items, ok or not; ``failed`` the errors."""

    id: str
    status: JobState
    total: int
    done: int
    failed: int
    progress: float
    created_at: datetime
    updated_at: datetime
    error: str | None = None
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    cost_usd: float | None = Field(
        None, description="Cost of the model calls so far, when the model's price is known."
    )


@dataclass(frozen=True, slots=True)
class Claim:
    """A started item: its key and its input line."""

    key: str
    input: str | bytes


Stop = Literal["stop", "skip"]


def stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def seeded(record: str | None) -> tuple[ItemState, str | None]:
    return ("pending", None) if record is None else ("ok", record)


def status_of(row: tuple[Any, ...]) -> JobStatus:
    job_id, state, total, done, failed, created, updated, error, *spent = row
    calls, prompt, completion, hits, cost = spent
    return JobStatus(
        id=job_id,
        status=state,
        total=total,
        done=done,
        failed=failed,
        progress=round(done / total, 4) if total else 1.0,
        created_at=datetime.fromisoformat(created),
        updated_at=datetime.fromisoformat(updated),
        error=error,
        llm_calls=calls,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cache_hits=hits,
        cost_usd=None if cost is None else round(cost, 6),
    )
