"""The exception tree of threadsum.

Every error a user can cause or meet is one of these; each maps to one HTTP status and one
CLI message, in exactly one place (``status`` here, the message is ``str(error)``)::

    ThreadsumError                      (500) base; never raised directly
    ├── InputError                      (422) the input thread is unusable
    │   ├── FormatError                 (422) not JSON / unknown or wrong format / malformed fields
    │   ├── ThreadStructureError        (422) duplicate ids, cycles, unknown parents under --strict
    │   ├── EmptyThreadError            (422) no comments at all
    │   └── LimitError                  (413) over max bytes / comments / depth
    ├── FetchError                      (502) a live fetch (HN, Reddit) failed
    │   └── NotFoundError               (404) the item does not exist upstream
    ├── UsageError                      (400) a bad option or argument combination
    ├── OutputError                     (500) the result could not be written
    └── GroundingError                  (500) a summary cites text that is not in the thread (a bug)

Model, cache and batch errors join this tree as those parts arrive.
"""

from __future__ import annotations


class ThreadsumError(Exception):
    """Base of every error threadsum raises on purpose."""

    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(ThreadsumError):
    """The input thread cannot be used as given."""

    status = 422


class FormatError(InputError):
    """The input is not in a format threadsum reads, or is malformed for its format."""


class ThreadStructureError(InputError):
    """The reply tree is broken: duplicate ids, cycles, or parents that do not exist."""


class EmptyThreadError(InputError):
    """The thread has no comments."""


class LimitError(InputError):
    """The input is over a configured size limit."""

    status = 413


class FetchError(ThreadsumError):
    """Fetching a thread from its source failed."""

    status = 502


class NotFoundError(FetchError):
    """The requested item does not exist at its source."""

    status = 404


class UsageError(ThreadsumError):
    """A bad option, argument or combination of them."""

    status = 400


class OutputError(ThreadsumError):
    """The result could not be written where it was asked to go."""

    status = 500


class GroundingError(ThreadsumError):
    """A finished summary cites something that is not verbatim in the thread: always a bug."""

    status = 500
