"""The model boundary: the only module that imports ``openai``.

:class:`ModelClient` speaks the OpenAI chat-completions protocol to any base URL (OpenAI, vLLM,
llama.cpp's ``llama-server``, llama-cpp-python's server, Ollama, LM Studio) and returns a
:class:`Completion`: the JSON text of the answer plus its finish reason, token counts and the
output mode that produced it. Every SDK or HTTP failure leaves this module as one of the
project's errors; nothing else catches ``openai.*``.

Output modes, strongest first (``auto`` tries them in :data:`MODE_ORDER`):

``json_schema``
    ``response_format={"type": "json_schema", "json_schema": {"name", "schema", "strict"}}``:
    OpenAI's structured outputs. vLLM, Ollama (>= 0.5), LM Studio and llama-server all take this
    wrapped shape and constrain decoding with the schema. (llama-server reads only
    ``json_schema.schema``; the unwrapped ``{"type": "json_schema", "schema": ...}`` shown in its
    README is accepted and silently not enforced, so it is never sent.) llama-cpp-python's server
    and llama-server builds from before September 2024 refuse it, with an HTTP 500.
``json_object``
    ``response_format={"type": "json_object", "schema": schema}``. llama-cpp-python's server and
    llama-server constrain the output with that ``schema`` (both document this shape); vLLM
    ignores the extra field (with a warning) and gives plain JSON mode, as does Ollama. LM Studio
    refuses ``json_object`` outright (400 "'response_format.type' must be 'json_schema' or
    'text'"), OpenAI may refuse the unknown ``schema`` field: both are refusals ``auto`` steps
    past.
``tools``
    One function tool named after the schema with ``parameters=schema`` and a ``tool_choice``
    naming it; the answer is the tool call's ``arguments``. vLLM supports named tool choice
    without ``--enable-auto-tool-choice``; llama-server needs ``--jinja``. A server that ignores
    ``tool_choice`` and answers in prose (Ollama may) counts as refusing the mode.
``text``
    No ``response_format``; the prompt already describes the JSON and the reply is returned as
    the server sent it, for the validator to parse.

A *refusal* is an HTTP 400/422 (or 404/501) whose body names the mode's request field
(``response_format``, ``json_schema``, ``tools``, ``tool_choice`` …), or a 5xx whose body is a
validation complaint about such a field (llama-cpp-python wraps request validation errors in a
500; old llama-server builds answered 500 "response_format type must be one of …"). ``auto``
then tries the next mode and remembers the mode that worked per ``(base_url, model)`` for the
life of the process, so later calls and later clients go straight to it. A 400 that is not about
the mode is a :class:`~service.errors.ModelRequestError`, never a fallback.

Retries: tenacity is the one retry owner (the SDK's ``max_retries=0``). Connection errors,
timeouts, 408, 409, 429 and 5xx are retried, :attr:`RetryPolicy.attempts` tries in all, waiting
the server's ``retry-after-ms`` / ``Retry-After`` (seconds or an HTTP date) capped at
:attr:`RetryPolicy.max_wait`, else jittered exponential backoff. Tests inject
``RetryPolicy(wait=tenacity.wait_none())`` and never sleep. Each HTTP attempt holds one slot of
a semaphore of ``concurrency`` slots; waits between attempts hold none.

Error mapping: exhausted retries become :class:`~service.errors.ModelUnavailableError` (with the
server's ``retry_after`` when it gave one); 401/403 :class:`~service.errors.ModelAuthError`;
other 4xx and malformed answers :class:`~service.errors.ModelRequestError`; ``finish_reason ==
"length"`` :class:`~service.errors.TruncatedError`, never an answer. Messages name the server URL
and the status, never the API key (it is scrubbed from any echoed body too). The logger
``threadsum.llm`` logs at debug/info only, never the key or message contents.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
import openai
import tenacity
from pydantic import SecretStr

from ..errors import (
    ModelAuthError,
    ModelError,
    ModelRequestError,
    ModelUnavailableError,
    Transient,
    TruncatedError,
)
from ..retrying import RetryAfterWait, RetryPolicy, retry_after
from .modes import MODE_ORDER, ModeMemory, OutputMode

__all__ = [
    "DEFAULT_BASE_URL",
    "MODE_ORDER",
    "Completion",
    "ModelClient",
    "OutputMode",
    "RetryAfterWait",
]

log = logging.getLogger("threadsum.llm")

"""The order ``auto`` tries the output modes in, strongest first."""

DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
"""Where requests go when no base URL is configured (the SDK is never left to read the env)."""

_RETRY_STATUSES: Final = frozenset({408, 409, 429})
_EXCERPT_CHARS: Final = 300
_TOOL_DESCRIPTION: Final = "Return the answer, as structured data matching the parameters."

# (normalised base URL, model) -> the mode ``auto`` settled on, for the life of the process.

# What an error body says when it refuses a mode's request fields rather than the request.
_FORMAT_CUES: Final = (
    r"response_format|response format|json_schema|json schema|json_object|json object|"
    r"guided_json|grammar|structured output|\bschema\b"
)
_MODE_CUES: Final[dict[OutputMode, re.Pattern[str]]] = {
    "json_schema": re.compile(_FORMAT_CUES, re.IGNORECASE),
    "json_object": re.compile(_FORMAT_CUES, re.IGNORECASE),
    "tools": re.compile(
        r"tool_choice|tool choice|\btools?\b|tool call|tool_call|function call|function_call|"
        r"\bfunctions?\b|grammar|\bschema\b",
        re.IGNORECASE,
    ),
}
_VALIDATION_WORDS: Final = re.compile(
    r"not supported|unsupported|unknown|unrecognized|must be one of|must be '|invalid|"
    r"input should be|literal_error|extra_forbidden|not permitted|not allowed|validation",
    re.IGNORECASE,
)


# --- results and policy ------------------------------------------------------------------------


@dataclass(frozen=True)
class Completion:
    """One answer from the model server."""

    content: str
    """The JSON text of the answer (in ``tools`` mode: the tool call's arguments)."""
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    mode: OutputMode
    """The output mode that produced this answer."""
    model: str
    """The model name the server reported (the configured one when it reported none)."""


# --- internal failures -------------------------------------------------------------------------


class _ModeRefused(Exception):
    """The server refused the output mode of the request (internal; never escapes)."""

    def __init__(self, status: int | None, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _one_line(text: str, limit: int = _EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_detail(response: httpx.Response) -> str:
    """The readable part of an error body: its message when it has one, else the raw text."""
    try:
        body = response.json()
    except ValueError:
        return response.text
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, str):
            return error
        if isinstance(error, Mapping):
            message = error.get("message")
            if isinstance(message, str) and message.strip():
                return message
            detail = error.get("detail")
            if detail is not None:
                return detail if isinstance(detail, str) else json.dumps(detail)
    return response.text


def _refuses_mode(mode: OutputMode, status: int, body: str, detail: str) -> bool:
    """Does an error response say the server will not take this output mode?

    ``body`` is the whole error body (an OpenAI error's ``param`` names the field too),
    ``detail`` its message alone: a 5xx counts only when its message is a validation complaint.
    """
    cues = _MODE_CUES.get(mode)  # text mode sends no mode fields: nothing to refuse
    if cues is None or not cues.search(body):
        return False
    if status in (400, 422, 404, 501):
        return True
    return status >= 500 and bool(cues.search(detail) and _VALIDATION_WORDS.search(detail))


# --- the client --------------------------------------------------------------------------------


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
        self._url = url
        # What messages and logs name: no credentials or query that a URL may carry.
        self.base_url = _display_url(url)
        key = api_key.get_secret_value() if api_key is not None else ""
        self._secret = key
        self._owns_http_client = http_client is None
        self._client = openai.AsyncOpenAI(
            base_url=self._url,
            api_key=key or "not-needed",
            max_retries=0,
            timeout=timeout,
            http_client=http_client,
        )
        self._semaphore = asyncio.Semaphore(concurrency)
        self._modes = modes if modes is not None else ModeMemory()
        self._server = str(self._client.base_url).rstrip("/")
        self._resolving: asyncio.Lock | None = None
        self._context_length: int | None = None

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
        request = {
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
            except _ModeRefused as refused:
                raise ModelRequestError(
                    f"the model server at {self.base_url} refused output mode "
                    f"{self.output_mode} ({refused.status}: "
                    f"{_one_line(self._redact(refused.detail), 200)}); "
                    "try another output mode, or auto",
                    status_code=refused.status,
                    body=_one_line(self._redact(refused.detail)),
                ) from None
        if self._modes.get(self._server, self.model) is not None:
            return await self._complete_auto(request, schema_name, schema)
        # The first calls to a server find its mode one at a time, not all probing at once.
        if self._resolving is None:
            self._resolving = asyncio.Lock()
        async with self._resolving:
            return await self._complete_auto(request, schema_name, schema)

    async def _complete_auto(
        self, request: dict[str, Any], schema_name: str, schema: dict[str, Any]
    ) -> Completion:
        start = self._modes.get(self._server, self.model) or MODE_ORDER[0]
        modes = MODE_ORDER[MODE_ORDER.index(start) :]
        for index, mode in enumerate(modes):
            try:
                completion = await self._complete_in(mode, request, schema_name, schema)
            except _ModeRefused as refused:
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
            if self._modes.remember(self._server, self.model, mode):
                log.info("output mode for %s at %s: %s", self.model, self.base_url, mode)
            return completion
        raise AssertionError("unreachable: text mode is never refused")  # pragma: no cover

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

        Best effort and never raises for the server's sake: reads vLLM's ``max_model_len``,
        llama.cpp's ``meta.n_ctx`` (else ``meta.n_ctx_train``), LM Studio's
        ``loaded_context_length`` / ``max_context_length`` and the ``context_length`` some
        gateways report. OpenAI and Ollama report none. One attempt, no retries; a found length
        is remembered for the life of the client.
        """
        if self._context_length is not None:
            return self._context_length
        found = await self._read_context_length()
        self._context_length = found
        return found

    async def _read_context_length(self) -> int | None:
        try:
            async with self._semaphore:
                raw = await self._client.models.with_raw_response.list()
            body = raw.http_response.json()
        except (openai.OpenAIError, ValueError) as exc:
            log.debug("GET %s/models gave no context length: %s", self.base_url, type(exc).__name__)
            return None
        entry = self._models_entry(body)
        if entry is None:
            return None
        for field in ("max_model_len", "loaded_context_length", "max_context_length"):
            if (value := _positive_int(entry.get(field))) is not None:
                return value
        meta = entry.get("meta")
        if isinstance(meta, Mapping):
            for field in ("n_ctx", "n_ctx_train"):
                if (value := _positive_int(meta.get(field))) is not None:
                    return value
        for field in ("context_length", "context_window"):
            if (value := _positive_int(entry.get(field))) is not None:
                return value
        return None

    # --- one mode ------------------------------------------------------------------------------

    async def _complete_in(
        self, mode: OutputMode, request: dict[str, Any], schema_name: str, schema: dict[str, Any]
    ) -> Completion:
        kwargs = dict(request)
        if mode == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": True},
            }
        elif mode == "json_object":
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        elif mode == "tools":
            kwargs["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": schema_name,
                        "description": _TOOL_DESCRIPTION,
                        "parameters": schema,
                    },
                }
            ]
            kwargs["tool_choice"] = {"type": "function", "function": {"name": schema_name}}
        body = await self._with_retries(mode, kwargs)
        return self._completion(mode, body, schema_name, request["max_tokens"])

    async def _with_retries(self, mode: OutputMode, kwargs: dict[str, Any]) -> Any:
        """POST the request, retrying what may pass; return the decoded JSON body."""

        def log_retry(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            log.info(
                "retrying the model server at %s in %.1fs after attempt %d: %s",
                self.base_url,
                state.upcoming_sleep,
                state.attempt_number,
                exc,
            )

        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(max(1, self.retry.attempts)),
            wait=self.retry.wait_strategy(),
            retry=tenacity.retry_if_exception_type(Transient),
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._post_once(mode, kwargs)
        except Transient as exc:
            tries = retrying.statistics.get("attempt_number", 1)
            suffix = f" after {tries} attempts" if tries > 1 else ""
            raise ModelUnavailableError(
                f"the model server at {self.base_url} is unavailable{suffix}: {exc.problem}",
                retry_after=exc.retry_after,
            ) from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def _post_once(self, mode: OutputMode, kwargs: dict[str, Any]) -> Any:
        """One HTTP attempt, its failures sorted into retry, refusal or a project error."""
        log.debug("POST %s/chat/completions model=%s mode=%s", self.base_url, self.model, mode)
        try:
            async with self._semaphore:
                raw = await self._client.chat.completions.with_raw_response.create(**kwargs)
        except openai.APITimeoutError:
            raise Transient("timed out") from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__
            reason = f" ({type(cause).__name__})" if cause is not None else ""
            raise Transient(f"connection failed{reason}") from None
        except openai.APIStatusError as exc:
            self._raise_for_status(mode, exc.response)
            raise  # pragma: no cover (_raise_for_status always raises)
        except openai.OpenAIError as exc:  # anything else the SDK may raise before sending
            raise ModelError(
                f"the model client for {self.base_url} failed: {type(exc).__name__}"
            ) from None
        response = raw.http_response
        try:
            return response.json()
        except ValueError:
            raise ModelRequestError(
                f"the model server at {self.base_url} answered with something that is not JSON "
                f"(HTTP {response.status_code})",
                status_code=response.status_code,
                body=_one_line(self._redact(response.text)),
            ) from None

    def _raise_for_status(self, mode: OutputMode, response: httpx.Response) -> None:
        status = response.status_code
        detail = self._redact(_error_detail(response))
        if _refuses_mode(mode, status, response.text, detail):
            raise _ModeRefused(status, detail)
        if status in _RETRY_STATUSES or status >= 500:
            problem = f"HTTP {status} {response.reason_phrase}".rstrip()
            if detail.strip():
                problem += f" ({_one_line(detail, 120)})"
            raise Transient(problem, retry_after(response.headers))
        if status in (401, 403):
            raise ModelAuthError(
                f"the model server at {self.base_url} refused the credentials ({status})"
            )
        hint = " (is the base URL right? it usually ends in /v1)" if status == 404 else ""
        raise ModelRequestError(
            f"the model server at {self.base_url} refused the request ({status}): "
            f"{_one_line(detail, 200)}{hint}",
            status_code=status,
            body=_one_line(self._redact(response.text)),
        )

    # --- reading answers -----------------------------------------------------------------------

    def _completion(
        self, mode: OutputMode, body: Any, schema_name: str, max_tokens: int
    ) -> Completion:
        where = f"the model server at {self.base_url}"
        if not isinstance(body, Mapping):
            raise ModelRequestError(f"{where} answered with JSON that is not an object")
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            error = body.get("error")
            if error is not None:
                text = error.get("message", error) if isinstance(error, Mapping) else error
                raise ModelRequestError(
                    f"{where} answered with an error: {_one_line(self._redact(str(text)), 200)}"
                )
            raise ModelRequestError(f"{where} answered with no choices")
        choice = choices[0]
        finish_reason = str(choice.get("finish_reason") or "")
        if finish_reason == "length":
            raise TruncatedError(
                f"the answer from {where} hit max_tokens={max_tokens} (finish_reason length)"
            )
        message = choice.get("message")
        if not isinstance(message, Mapping):
            raise ModelRequestError(f"{where} answered with no message")
        if mode == "tools":
            content = _tool_arguments(message, schema_name)
            if content is None:
                if self.output_mode == "auto":
                    raise _ModeRefused(None, "answered without calling the tool")
                raise ModelRequestError(
                    f"{where} answered without calling the {schema_name} tool "
                    "(tools mode needs a server that honours tool_choice; try another mode)"
                )
        else:
            raw_content = message.get("content")
            if not isinstance(raw_content, str):
                refusal = message.get("refusal")
                why = f": {_one_line(self._redact(str(refusal)), 200)}" if refusal else ""
                raise ModelRequestError(f"{where} answered with no content{why}")
            content = raw_content
        usage = body.get("usage")
        usage = usage if isinstance(usage, Mapping) else {}
        model = body.get("model")
        return Completion(
            content=content,
            finish_reason=finish_reason,
            prompt_tokens=_count(usage.get("prompt_tokens")),
            completion_tokens=_count(usage.get("completion_tokens")),
            mode=mode,
            model=model if isinstance(model, str) and model else self.model,
        )

    def _models_entry(self, body: Any) -> Mapping[str, Any] | None:
        """This model's entry in a ``/models`` list: by id or alias, else the only entry."""
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            return None
        entries = [item for item in data if isinstance(item, Mapping)]
        for item in entries:
            aliases = item.get("aliases")
            names = {item.get("id"), *(aliases if isinstance(aliases, list) else [])}
            if self.model in names:
                return item
        return entries[0] if len(entries) == 1 else None

    def _redact(self, text: str) -> str:
        """``text`` with the API key, should a server echo it, replaced by ``***``."""
        return text.replace(self._secret, "***") if self._secret else text


def _display_url(url: str) -> str:
    """``url`` without user info, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", "")) if parts.scheme else url


def _tool_arguments(message: Mapping[str, Any], name: str) -> str | None:
    """The arguments of the message's call to tool ``name`` (else its first call), if any."""
    calls = message.get("tool_calls")
    if not isinstance(calls, list):
        return None
    functions = [
        call["function"]
        for call in calls
        if isinstance(call, Mapping) and isinstance(call.get("function"), Mapping)
    ]
    if not functions:
        return None
    function = next((f for f in functions if f.get("name") == name), functions[0])
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        return arguments
    if isinstance(arguments, Mapping):  # some servers send the object itself
        return json.dumps(arguments)
    return None


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _positive_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value <= 0 or value != int(value):
        return None
    return int(value)
