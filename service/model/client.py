"""The model client: the one place that talks to a model server, through ``openai``.

:class:`ModelClient` speaks the OpenAI chat-completions protocol to any base URL (OpenAI, vLLM,
llama.cpp's ``llama-server``, llama-cpp-python's server, Ollama, LM Studio) and returns a
:class:`~.replies.Completion`. Every SDK or HTTP failure leaves this module as one of the
project's errors; nothing else catches ``openai.*``. What each output mode sends is in
:mod:`.modes`, which error bodies refuse a mode in :mod:`.refusals`, how answers are read in
:mod:`.replies`.

``auto`` tries the modes strongest first, steps past a refusal, and remembers the mode that
worked per ``(base_url, model)`` in the :class:`~.modes.ModeMemory` it is given, so later calls
and later clients go straight to it. While the mode is unknown, one call at a time tries the
modes, and the first answer (a truncated one too) settles it; a second call made meanwhile sends
its request cut to one answer token, which settles a ``response_format`` mode in the server's
fixed latency, so the calls waiting behind wait for the mode, not for a whole answer. They then
run in parallel, up to ``concurrency``.

Retries: :func:`~service.retrying.call_with_retries` is the one retry owner (the SDK's
``max_retries=0``). Connection errors, timeouts, 408, 409, 429 and 5xx are retried,
:attr:`RetryPolicy.attempts` tries in all, waiting the server's ``retry-after-ms`` /
``Retry-After`` (seconds or an HTTP date) capped at :attr:`RetryPolicy.max_wait`, else jittered
exponential backoff. Tests inject ``RetryPolicy(wait=tenacity.wait_none())`` and never sleep.
Each HTTP attempt holds one slot of a semaphore of ``concurrency`` slots; waits hold none.

Error mapping: exhausted retries become :class:`~service.errors.ModelUnavailableError` (with the
server's ``retry_after`` when it gave one); 401/403 :class:`~service.errors.ModelAuthError`;
other 4xx and malformed answers :class:`~service.errors.ModelRequestError`; ``finish_reason ==
"length"`` :class:`~service.errors.TruncatedError`, never an answer. Messages name the server URL
(without user info or query) and the status, never the API key (it is scrubbed from any echoed
body too). The logger ``threadsum.llm`` logs at debug/info only, never the key or message
contents.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Final, Literal

import httpx
import openai
from pydantic import SecretStr

from .. import events
from ..errors import (
    ModelAuthError,
    ModelError,
    ModelRequestError,
    ModelUnavailableError,
    Transient,
    TruncatedError,
)
from ..retrying import RetryPolicy, call_with_retries, retry_after
from ..text.wording import one_line, public_url
from .identity import DEFAULT_BASE_URL
from .modes import MODE_ORDER, ModeMemory, OutputMode, mode_fields
from .refusals import ModeRefused, NoToolCall, refuses_mode
from .replies import (
    EXCERPT_CHARS,
    Completion,
    _count,
    context_length,
    error_detail,
    json_body,
    read_completion,
)

__all__ = ["DEFAULT_BASE_URL", "Completion", "ModelClient"]

log = logging.getLogger("threadsum.llm")

_RETRY_STATUSES: Final = frozenset({408, 409, 429})
#: What the mode probe sends: the request's output mode and schema, with this prompt.
PROBE_MESSAGES: Final = [{"role": "user", "content": "Reply with a JSON object."}]
#: How many modes of MODE_ORDER the mode probe tries (the ``response_format`` ones).
_PROBED_MODES: Final = 2


class ModelClient:
    """An async client for one model on one OpenAI-compatible server.

    ``output_mode="auto"`` finds the strongest mode the server takes and remembers it; a fixed
    mode is used as given (a refusal is then a :class:`~service.errors.ModelRequestError`). The
    client owns the HTTP client it creates; one passed in stays the caller's to close.
    """

    def __init__(
        self,
        *,
        base_url: str | None,
        model: str,
        api_key: SecretStr | None,
        output_mode: OutputMode | Literal["auto"] = "auto",
        timeout: float = 120.0,
        concurrency: int = 4,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        modes: ModeMemory | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.model = model
        self.output_mode: OutputMode | Literal["auto"] = output_mode
        self.retry = retry or RetryPolicy()
        url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        # What messages and logs name: no credentials or query that a URL may carry.
        self.base_url = public_url(url) or url
        self._where = f"the model server at {self.base_url}"
        key = api_key.get_secret_value() if api_key is not None else ""
        self._secret = key
        self._owns_http_client = http_client is None
        self._client = openai.AsyncOpenAI(
            base_url=url,
            api_key=key or "not-needed",
            max_retries=0,
            timeout=timeout,
            http_client=http_client,
        )
        self._semaphore = asyncio.Semaphore(concurrency)
        self._modes = modes if modes is not None else ModeMemory()
        self._server = str(self._client.base_url).rstrip("/")
        self._finding = False  # a call is finding the output mode with its answer
        self._probed = False  # the one-token probe for the output mode was sent
        self._changed = asyncio.Event()  # set (and replaced) when the mode search moves on
        self._context_length: int | None = None
        self._context_asked = False

    def __repr__(self) -> str:
        return f"ModelClient(base_url={self.base_url!r}, model={self.model!r})"

    def resolved_mode(self) -> OutputMode | None:
        """The output mode in use for this server and model, if known yet."""
        if self.output_mode != "auto":
            return self.output_mode
        return self._modes.get(self._server, self.model)

    async def aclose(self) -> None:
        """Close the HTTP client, if this client created it."""
        if self._owns_http_client:
            await self._client.close()

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema_name: str,
        schema: dict[str, Any],
        max_tokens: int,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> Completion:
        """Ask the model for one answer shaped by ``schema``.

        Raises :class:`~service.errors.TruncatedError` when the answer hit ``max_tokens``, and
        the other :class:`~service.errors.ModelError` kinds as described in the module docstring.
        """
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if seed is not None:
            request["seed"] = seed
        if self.output_mode != "auto":
            try:
                return await self._complete_in(self.output_mode, request, schema_name, schema)
            except NoToolCall as refused:
                raise ModelRequestError(
                    f"{self._where} answered without calling the {refused.tool} tool "
                    "(tools mode needs a server that honours tool_choice; try another mode)"
                ) from None
            except ModeRefused as refused:
                raise ModelRequestError(
                    f"{self._where} refused output mode {self.output_mode} ({refused.status}: "
                    f"{self._excerpt(refused.detail, 200)}); try another output mode, or auto",
                    status_code=refused.status,
                    body=self._excerpt(refused.detail),
                ) from None
        if self._modes.get(self._server, self.model) is None:
            return await self._complete_unknown(request, schema_name, schema)
        return await self._complete_auto(request, schema_name, schema)

    async def _complete_unknown(
        self, request: dict[str, Any], schema_name: str, schema: dict[str, Any]
    ) -> Completion:
        """A call made while the output mode is unknown.

        The first call finds the mode with its whole answer. A second call arriving while it
        runs probes instead, once per client: its request cut to one answer token, which costs
        the server's fixed latency rather than an answer's decoding, and settles the mode long
        before the first answer is in. The calls after those wait for the mode, not for either
        answer; once it is known (or the finder fails, when the next one takes over) they go
        in parallel, up to ``concurrency``.
        """
        while self._modes.get(self._server, self.model) is None:
            if not self._finding:
                self._finding = True
                try:
                    return await self._complete_auto(request, schema_name, schema)
                finally:
                    self._finding = False
                    self._news()
            if not self._probed:
                self._probed = True
                try:
                    await self._probe(request, schema_name, schema)
                finally:
                    self._news()
                continue
            await self._changed.wait()
        return await self._complete_auto(request, schema_name, schema)

    def _news(self) -> None:
        """Wake the calls waiting for the mode: it is known, or the finder stopped."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _probe(
        self, request: dict[str, Any], schema_name: str, schema: dict[str, Any]
    ) -> None:
        """Find the output mode with ``request`` cut to one answer token, its prompt replaced by
        :data:`PROBE_MESSAGES`.

        Only the ``response_format`` modes are probed: a server that takes one answers (cut
        off at ``max_tokens``) and one that does not refuses it, whatever the answer's length.
        A ``tools`` answer cut after one token cannot show whether the server honoured
        ``tool_choice``, so when both are refused the first full answer settles the mode, as
        it does when the probe fails in any other way.
        """
        # The mode is a property of the server and the schema, not of the prompt: a one-line
        # prompt asks the same question without paying for the chunk's tokens again.
        probe = request | {"max_tokens": 1, "messages": PROBE_MESSAGES}
        for mode in MODE_ORDER[:_PROBED_MODES]:
            if self._modes.get(self._server, self.model) is not None:
                return  # the first answer was quicker
            try:
                await self._complete_in(mode, probe, schema_name, schema)
            except TruncatedError:
                pass
            except ModeRefused:
                continue
            except ModelError as exc:
                log.debug("the output mode probe to %s failed: %s", self.base_url, exc)
                return
            self._settle(mode)
            return

    async def _complete_auto(
        self, request: dict[str, Any], schema_name: str, schema: dict[str, Any]
    ) -> Completion:
        start = self._modes.get(self._server, self.model) or MODE_ORDER[0]
        modes = MODE_ORDER[MODE_ORDER.index(start) :]
        for index, mode in enumerate(modes):
            try:
                completion = await self._complete_in(mode, request, schema_name, schema)
            except TruncatedError:
                self._settle(mode)  # cut at max_tokens, but an answer: the server takes the mode
                raise
            except ModeRefused as refused:
                following = modes[index + 1]  # text is never refused, so there is one
                log.info(
                    "the model server at %s refused output mode %s for %s (%s); trying %s",
                    self.base_url,
                    mode,
                    self.model,
                    refused.status if refused.status is not None else "no tool call",
                    following,
                )
                continue
            self._settle(mode)
            return completion
        raise AssertionError("unreachable: text mode is never refused")  # pragma: no cover

    def _settle(self, mode: OutputMode) -> None:
        """Remember that the server answered in ``mode``."""
        if self._modes.remember(self._server, self.model, mode):
            log.info("output mode for %s at %s: %s", self.model, self.base_url, mode)

    async def ping(self, timeout: float = 3.0) -> str | None:
        """``None`` when the server answers ``GET /models`` with a 2xx; else why not.

        The readiness probe: one try, a short timeout, no retries. The reason names neither
        the URL nor the key (``/readyz`` is open); the log names the URL without credentials.
        """
        try:
            await self._client.with_options(timeout=timeout).models.with_raw_response.list()
        except openai.APIStatusError as exc:
            problem = f"the model server answered HTTP {exc.status_code}"
        except openai.APIConnectionError as exc:  # timeouts included
            problem = f"the model server does not answer ({type(exc.__cause__ or exc).__name__})"
        else:
            return None
        log.warning("not ready: GET %s/models: %s", self.base_url, problem)
        return problem

    async def context_length(self) -> int | None:
        """The model's context window in tokens, as ``GET /models`` reports it; else ``None``.

        Best effort and never raises for the server's sake (the fields read are listed in
        :func:`~.replies.context_length`). One attempt, no retries; the answer, a found length or
        none, is remembered for the life of the client (so a server that reports none is not
        asked again before every summary); a failed request is asked again next time.
        """
        if self._context_asked:
            return self._context_length
        found, answered = await self._read_context_length()
        self._context_length = found
        self._context_asked = answered
        return found

    async def _read_context_length(self) -> tuple[int | None, bool]:
        """The length ``GET /models`` reports, and whether the server answered at all."""
        try:
            async with self._semaphore:
                raw = await self._client.models.with_raw_response.list()
        except openai.APIStatusError as exc:  # a 4xx is the server's answer; a 5xx may pass
            log.debug("GET %s/models gave no context length: %s", self.base_url, exc.status_code)
            return None, exc.status_code < 500
        except openai.OpenAIError as exc:
            log.debug("GET %s/models gave no context length: %s", self.base_url, type(exc).__name__)
            return None, False
        try:
            body = raw.http_response.json()
        except ValueError:
            return None, True
        return context_length(body, self.model), True

    # --- one mode ------------------------------------------------------------------------------

    async def _complete_in(
        self, mode: OutputMode, request: dict[str, Any], schema_name: str, schema: dict[str, Any]
    ) -> Completion:
        kwargs = request | mode_fields(mode, schema_name, schema)
        body = await call_with_retries(
            lambda: self._post_once(mode, kwargs),
            self.retry,
            target=self._where,
            log=log,
            on_exhausted=self._unavailable,
            client="model",
        )
        try:
            completion = read_completion(
                body,
                mode=mode,
                schema_name=schema_name,
                max_tokens=request["max_tokens"],
                model=self.model,
                where=self._where,
                redact=self._redact,
            )
        except TruncatedError:
            usage = body.get("usage") if isinstance(body, dict) else None
            if isinstance(usage, dict):  # cut off, but the tokens were spent
                events.model_tokens(
                    self.model,
                    _count(usage.get("prompt_tokens")),
                    _count(usage.get("completion_tokens")),
                )
            raise
        events.model_tokens(self.model, completion.prompt_tokens, completion.completion_tokens)
        return completion

    def _unavailable(self, last: Transient, tries: int) -> ModelUnavailableError:
        suffix = f" after {tries} attempts" if tries > 1 else ""
        return ModelUnavailableError(
            f"{self._where} is unavailable{suffix}: {last.problem}", retry_after=last.retry_after
        )

    async def _post_once(self, mode: OutputMode, kwargs: dict[str, Any]) -> Any:
        """One HTTP attempt, its failures sorted into retry, refusal or a project error."""
        log.debug("POST %s/chat/completions model=%s mode=%s", self.base_url, self.model, mode)
        status, started = "error", 0.0
        try:
            async with self._semaphore:
                started = time.perf_counter()
                # The SDK's generic POST (its documented way to any endpoint): the body is plain
                # JSON already, so the typed create()'s per-call walk of the messages and schema
                # (a few ms of CPU per call) and its pydantic parse of the answer are skipped.
                response = await self._client.post(
                    "/chat/completions", cast_to=httpx.Response, body=kwargs
                )
                status = str(response.status_code)
        except openai.APITimeoutError:
            status = "timeout"
            raise Transient("timed out") from None
        except openai.APIConnectionError as exc:
            status = "connection"
            cause = exc.__cause__
            reason = f" ({type(cause).__name__})" if cause is not None else ""
            raise Transient(f"connection failed{reason}") from None
        except openai.APIStatusError as exc:
            status = str(exc.status_code)
            raise self._status_error(mode, exc.response) from None
        except openai.OpenAIError as exc:  # anything else the SDK may raise before sending
            raise ModelError(
                f"the model client for {self.base_url} failed: {type(exc).__name__}"
            ) from None
        finally:
            if started:  # an attempt was made (not cancelled waiting for a slot)
                events.model_request(self.model, status, time.perf_counter() - started)
        if self._semaphore.locked():
            # A call waits for the slot this one freed: let it be sent before this answer is
            # read and worked on, so the server's slot is not idle behind this process's CPU.
            await asyncio.sleep(0)
        return json_body(response, where=self._where, redact=self._redact)

    def _status_error(self, mode: OutputMode, response: httpx.Response) -> Exception:
        """What an HTTP error status means: a refusal, a retry, or a project error."""
        status = response.status_code
        detail = self._redact(error_detail(response))
        if refuses_mode(mode, status, response.text, detail):
            return ModeRefused(status, detail)
        if status in _RETRY_STATUSES or status >= 500:
            problem = f"HTTP {status} {response.reason_phrase}".rstrip()
            if detail.strip():
                problem += f" ({one_line(detail, 120)})"
            return Transient(problem, retry_after(response.headers))
        if status in (401, 403):
            return ModelAuthError(f"{self._where} refused the credentials ({status})")
        hint = " (is the base URL right? it usually ends in /v1)" if status == 404 else ""
        return ModelRequestError(
            f"{self._where} refused the request ({status}): {one_line(detail, 200)}{hint}",
            status_code=status,
            body=self._excerpt(response.text),
        )

    def _redact(self, text: str) -> str:
        """``text`` with the API key, should a server echo it, replaced by ``***``."""
        return text.replace(self._secret, "***") if self._secret else text

    def _excerpt(self, text: str, limit: int = EXCERPT_CHARS) -> str:
        return one_line(self._redact(text), limit)
