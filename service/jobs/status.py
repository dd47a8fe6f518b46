"""What a batch job and its items report: states, the job's status, a started item."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel

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
    job_id, state, total, done, failed, created, updated, error = row
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
    )
