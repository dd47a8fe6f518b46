"""The exception tree of threadsum.

Every error a user can cause or meet is one of these; each maps to one HTTP status and one
CLI message, in exactly one place (``status`` here, the message is ``str(error)``)::

    ThreadsumError                      (500) base; never raised directly
    ├── InputError                      (422) the input thread is unusable
    │   ├── FormatError                 (422) not JSON / unknown or wrong format / malformed fields
    │   ├── ThreadStructureError        (422) duplicate ids, cycles, unknown parents under --strict
    │   ├── EmptyThreadError            (422) no comments at all
    │   └── LimitError                  (422) over max comments / depth / batch items
    │       └── TooLargeError           (413) over max bytes
    ├── FetchError                      (502) a live fetch (HN, Reddit) failed
    │   └── NotFoundError               (404) the item does not exist upstream
    ├── ModelError                      (502) the model server failed us
    │   ├── ModelUnavailableError       (503) unreachable, timing out, 429/5xx after all retries
    │   ├── ModelAuthError              (502) 401/403: the server refused the credentials
    │   ├── ModelRequestError           (502) another 4xx: the server refused the request
    │   ├── ModelOutputError            (502) no usable answer after the re-asks
    │   ├── PromptTruncatedError        (502) the server read far fewer prompt tokens than sent
    │   └── TruncatedError              (502) the answer hit max tokens (finish_reason length)
    ├── CacheMissError                  (409) replay mode and no cached answer
    ├── CacheError                      (500) the cache folder cannot be used
    ├── JobNotFoundError                (404) no batch job has this id
    ├── JobBusyError                    (409) another live process runs the job
    ├── UsageError                      (400) a bad option or argument combination
    ├── OutputError                     (500) the result could not be written
    └── GroundingError                  (500) a summary cites text that is not in the thread (a bug)

Messages never contain API keys.
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
    """The input is over a configured count limit (comments, depth, batch items)."""


class TooLargeError(LimitError):
    """The input is over the configured size limit in bytes."""

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


class ModelError(ThreadsumError):
    """The model server did not give a usable answer."""

    status = 502


class ModelUnavailableError(ModelError):
    """The model server is unreachable, timing out or overloaded, after every retry."""

    status = 503

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelAuthError(ModelError):
    """The model server refused the credentials (401/403)."""


class ModelRequestError(ModelError):
    """The model server refused the request (a 4xx other than 401/403/408/409/429)."""

    def __init__(self, message: str, status_code: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class ModelOutputError(ModelError):
    """The model's answers stayed invalid after the allowed re-asks."""

    def __init__(
        self, message: str, attempts: int = 0, last_reply: str = "", errors: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_reply = last_reply
        self.errors = errors or []


class TruncatedError(ModelError):
    """The answer was cut off at the token limit (finish_reason == "length")."""


class CacheMissError(ThreadsumError):
    """Replay mode found no cached answer; nothing was sent to a model."""

    status = 409


class CacheError(ThreadsumError):
    """The answer cache folder cannot be opened, read or written."""

    status = 500


class JobNotFoundError(ThreadsumError):
    """No batch job has this id."""

    status = 404


class JobBusyError(ThreadsumError):
    """Another live process holds the job's lease."""

    status = 409


class PromptTruncatedError(ModelError):
    """The server reported far fewer prompt tokens than were sent: it cut the prompt silently."""
