"""The exception tree of threadsum, and the one place an error is described for a user.

Every error a user can cause or meet is one of these; each maps to one HTTP status and one
CLI message, in exactly one place (``status`` here, the message is ``str(error)``), and
:func:`describe` turns any exception into the name, status and detail that problem+json
responses, batch error records and the CLI's ``error:`` line all show::

    ThreadsumError                      (500) base; never raised directly
    ├── InputError                      (422) the input thread is unusable
    │   ├── FormatError                 (422) not JSON / unknown or wrong format / malformed fields
    │   ├── ThreadStructureError        (422) duplicate ids, cycles, unknown parents under --strict
    │   ├── EmptyThreadError            (422) no comments at all
    │   ├── EvalDataError               (422) a labelled pairs file or gold thread is unusable
    │   └── LimitError                  (422) over max comments / depth / batch items
    │       └── TooLargeError           (413) over max bytes
    │           └── BodyTooLargeError   (413) an HTTP request body over max bytes
    ├── FetchError                      (502) a live fetch (HN, Reddit) failed
    │   └── NotFoundError               (404) the item does not exist upstream
    ├── ModelError                      (502) the model server failed us
    │   ├── ModelUnavailableError       (503) unreachable, timing out, 429/5xx after all retries
    │   ├── ModelAuthError              (502) 401/403: the server refused the credentials
    │   ├── ModelRequestError           (502) another 4xx: the server refused the request
    │   ├── ModelOutputError            (502) invalid after the re-asks, or too many failed chunks
    │   ├── PromptTruncatedError        (502) the server read far fewer prompt tokens than sent
    │   └── TruncatedError              (502) the answer hit max tokens (finish_reason length)
    ├── CacheMissError                  (409) replay mode and no cached answer
    ├── CacheError                      (500) the cache folder cannot be used
    │   └── SharedStoreError            (503) the shared store (Redis) does not answer
    ├── JobNotFoundError                (404) no batch job has this id
    │   └── JobElsewhereError           (404) another replica holds the job (its own state dir)
    ├── JobBusyError                    (409) another live process runs the job
    ├── JobStateError                   (409) not allowed in the job's state (retry a cancelled job)
    ├── GaveUpError                     (500) a batch item was in flight each time its run stopped
    ├── UsageError                      (400) a bad option or argument combination
    ├── OutputError                     (500) the result could not be written
    ├── PromptError                     (500) a prompt template is missing or malformed
    ├── StanceModelError                (500) the shipped stance model is missing or malformed
    ├── ClaimModelError                 (500) the shipped claim model is missing or malformed
    ├── ServeError                      (500) a server cannot listen on its address
    ├── ServiceBusyError                (503) the HTTP service's CPU lanes are full (Retry-After)
    ├── DeadlineError                   (504) an HTTP request ran past its deadline
    └── GroundingError                  (500) a summary cites text that is not in the thread (a bug)

    Internal signals (caught where they are raised; they never reach a user):
    ReplyError      a model reply that is unusable as a whole; its errors go back in a re-ask
    Transient       a failure an outbound client may retry (carries Retry-After)

Anything else that escapes is described as ``InternalError`` (500). Messages never contain
API keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


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


class EvalDataError(InputError):
    """A file of labelled reply pairs or an annotated gold thread cannot be used as given."""


class LimitError(InputError):
    """The input is over a configured count limit (comments, depth, batch items)."""


class TooLargeError(LimitError):
    """The input is over the configured size limit in bytes."""

    status = 413


class BodyTooLargeError(TooLargeError):
    """An HTTP request body is over ``max_bytes``."""


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
    """The model's answers stayed invalid after the allowed re-asks.

    Raised for one call under ``on_invalid = "fail"``, and for a whole run when more of its
    chunks than ``max_failed_share`` allows got no usable answer (``errors`` then holds why, one
    entry per failed chunk or piece of one).
    """

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


class SharedStoreError(CacheError):
    """The shared store (Redis or Valkey: the answer cache, rate limits) does not answer."""

    status = 503


class JobNotFoundError(ThreadsumError):
    """No batch job has this id."""

    status = 404


class JobElsewhereError(JobNotFoundError):
    """Another replica, with its own state dir, holds the batch job; only it answers for it."""


class JobBusyError(ThreadsumError):
    """Another live process holds the job's lease."""

    status = 409


class JobStateError(ThreadsumError):
    """The batch job is in a state that does not allow what was asked (retrying a cancelled job)."""

    status = 409


class GaveUpError(ThreadsumError):
    """A batch item was in flight every time its process stopped, so it is no longer retried.

    The thread may be what stops the process (a poison input), so resuming skips it; the user
    can still ask for it again (``threadsum batch --retry-failed``, ``POST …/retry``).
    """

    status = 500


class PromptTruncatedError(ModelError):
    """The server reported far fewer prompt tokens than were sent: it cut the prompt silently."""


class ServeError(ThreadsumError):
    """A server cannot listen on the address it was given (in use, not local, no permission)."""

    status = 500


class ServiceBusyError(ThreadsumError):
    """The HTTP service has admitted all the CPU-heavy requests it may; retry later."""

    status = 503

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DeadlineError(ThreadsumError):
    """An HTTP request did not finish within the service's request deadline."""

    status = 504


class PromptError(ThreadsumError):
    """A prompt file is missing or malformed."""

    status = 500


class StanceModelError(ThreadsumError):
    """The stance model file shipped in the package is missing or malformed."""

    status = 500


class ClaimModelError(ThreadsumError):
    """The claim model file shipped in the package is missing or malformed."""

    status = 500


class ReplyError(Exception):
    """A model reply that is not usable at all; ``errors`` go back to the model (internal)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class Transient(Exception):
    """A failure that may pass if the request is tried again (internal; never escapes)."""

    def __init__(self, problem: str, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after


DETAIL_CHARS: Final = 500
"""The longest detail :func:`describe` gives."""


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """An error as a user sees it: its name, HTTP status, one-line detail, and when to retry."""

    name: str
    status: int
    detail: str
    retry_after: float | None = None

    @property
    def slug(self) -> str:
        """The name in kebab case (``FormatError`` → ``format-error``), for URNs."""
        return re.sub(r"(?<!^)(?=[A-Z])", "-", self.name).lower()


def describe(error: BaseException) -> ErrorInfo:
    """The one description of ``error`` that every face shows.

    A :class:`ThreadsumError` keeps its class name, status and message; anything else is an
    ``InternalError`` (500) whose detail names the exception type and its message.
    """
    if isinstance(error, ThreadsumError):
        name, status, detail = type(error).__name__, error.status, str(error)
        if isinstance(error, BodyTooLargeError):
            name = TooLargeError.__name__
    else:
        name, status = "InternalError", 500
        detail = f"internal error: {type(error).__name__}: {error}"
    retry = None
    if isinstance(error, ModelUnavailableError | ServiceBusyError):
        retry = error.retry_after
    flat = " ".join(detail.split())
    if len(flat) > DETAIL_CHARS:
        flat = flat[: DETAIL_CHARS - 1] + "…"
    return ErrorInfo(name=name, status=status, detail=flat or name, retry_after=retry)
