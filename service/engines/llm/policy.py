"""The failure policy: how much of a run may fail before the run is an error, not a summary.

A chunk *fails* when no usable answer came back for it (or for a piece of it, once split) after
the re-asks: its comments are not in the map. A run whose share of failed chunks is over
``max_failed_share`` raises :class:`~service.errors.ModelOutputError` (502) naming how many
failed and why; a run within the share returns a partial summary that says how partial in
``stats.failed_chunks`` and in ``warnings``. ``0`` fails the run on any failed chunk; ``1``
never fails it.

A failed reduce call does not fail the run: every chunk claim it was given is kept, unmerged, so
nothing the map found is lost; it is counted in ``stats.failed_reduces`` and warned about.
Errors the model client raises (unavailable, refused, replay miss) are not chunk failures: they
end the run at once, as they would every other chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import ModelOutputError
from ...text.wording import count

#: At most this many chunk failures are named in the error.
NAMED_FAILURES = 3


@dataclass
class Failures:
    """The chunks of one run that got no usable answer, and why."""

    reasons: dict[int, list[str]] = field(default_factory=dict)  # chunk index -> reasons
    comments: int = 0  # comments left out of the map

    def add(self, index: int, reason: str, comments: int) -> None:
        """Chunk ``index`` (or a piece of it) got no usable answer for ``comments`` comments."""
        self.reasons.setdefault(index, []).append(reason)
        self.comments += comments

    @property
    def chunks(self) -> int:
        """Chunks with at least one failed piece."""
        return len(self.reasons)


def judge(failures: Failures, chunks: int, max_share: float) -> str | None:
    """The warning of a partial run, None when nothing failed.

    Raises :class:`ModelOutputError` when more than ``max_share`` of the ``chunks`` failed.
    """
    failed = failures.chunks
    if not failed or not chunks:
        return None
    head = f"{failed} of {count(chunks, 'chunk')} failed"
    allowed = f"the {max_share:.0%} THREADSUM_MAX_FAILED_SHARE allows"
    if failed / chunks > max_share:
        reasons = [r for index in sorted(failures.reasons) for r in failures.reasons[index]]
        named = "; ".join(reasons[:NAMED_FAILURES])
        more = len(reasons) - NAMED_FAILURES
        raise ModelOutputError(
            f"no usable summary: {head}, over {allowed}: {named}"
            + (f"; and {more} more" if more > 0 else ""),
            errors=reasons,
        )
    return (
        f"partial map: {head} ({count(failures.comments, 'comment')} not in the map), "
        f"within {allowed}"
    )
