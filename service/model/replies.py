"""Reading what a model server sends back: answers, error bodies and ``/models`` listings.

:func:`read_completion` turns a decoded chat-completions body into a :class:`Completion` (in
``tools`` mode the tool call's arguments; ``finish_reason == "length"`` is a
:class:`~service.errors.TruncatedError`, never an answer); :func:`error_detail` finds the
readable message in an error body; :func:`context_length` reads a model's context window from a
``GET /models`` body. Pure: no I/O. Messages name the server (``where``) and pass anything the
server wrote through the caller's ``redact``, so an echoed API key never leaves.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

from ..errors import ModelRequestError, TruncatedError
from ..text.wording import one_line
from .modes import OutputMode
from .refusals import NoToolCall

__all__ = [
    "EXCERPT_CHARS",
    "Completion",
    "context_length",
    "error_detail",
    "json_body",
    "read_completion",
]

EXCERPT_CHARS: Final = 300
"""The longest excerpt of a server's body that an error carries."""
_MESSAGE_CHARS: Final = 200


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


def json_body(response: httpx.Response, *, where: str, redact: Callable[[str], str]) -> Any:
    """The decoded JSON of a 2xx response; a body that is not JSON is a request error."""
    try:
        return response.json()
    except ValueError:
        raise ModelRequestError(
            f"{where} answered with something that is not JSON (HTTP {response.status_code})",
            status_code=response.status_code,
            body=one_line(redact(response.text), EXCERPT_CHARS),
        ) from None


def read_completion(
    body: Any,
    *,
    mode: OutputMode,
    schema_name: str,
    max_tokens: int,
    model: str,
    where: str,
    redact: Callable[[str], str],
) -> Completion:
    """The answer in a chat-completions ``body`` asked for in ``mode``.

    ``model`` is the configured model, reported when the body names none. Raises
    :class:`~.refusals.NoToolCall` when a ``tools`` answer calls no tool,
    :class:`~service.errors.TruncatedError` on ``finish_reason == "length"`` and
    :class:`~service.errors.ModelRequestError` for a body that holds no answer.
    """
    if not isinstance(body, Mapping):
        raise ModelRequestError(f"{where} answered with JSON that is not an object")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        error = body.get("error")
        if error is not None:
            text = error.get("message", error) if isinstance(error, Mapping) else error
            raise ModelRequestError(
                f"{where} answered with an error: {one_line(redact(str(text)), _MESSAGE_CHARS)}"
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
            raise NoToolCall(schema_name)
    else:
        raw_content = message.get("content")
        if not isinstance(raw_content, str):
            refusal = message.get("refusal")
            why = f": {one_line(redact(str(refusal)), _MESSAGE_CHARS)}" if refusal else ""
            raise ModelRequestError(f"{where} answered with no content{why}")
        content = raw_content
    usage = body.get("usage")
    usage = usage if isinstance(usage, Mapping) else {}
    reported = body.get("model")
    return Completion(
        content=content,
        finish_reason=finish_reason,
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        mode=mode,
        model=reported if isinstance(reported, str) and reported else model,
    )


def error_detail(response: httpx.Response) -> str:
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


def context_length(body: Any, model: str) -> int | None:
    """``model``'s context window in a ``GET /models`` body, where the server reports one.

    Reads vLLM's ``max_model_len``, llama.cpp's ``meta.n_ctx`` (else ``meta.n_ctx_train``),
    LM Studio's ``loaded_context_length`` / ``max_context_length`` and the ``context_length``
    some gateways report. OpenAI and Ollama report none.
    """
    entry = _models_entry(body, model)
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


def _models_entry(body: Any, model: str) -> Mapping[str, Any] | None:
    """``model``'s entry in a ``/models`` list: by id or alias, else the only entry."""
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, list):
        return None
    entries = [item for item in data if isinstance(item, Mapping)]
    for item in entries:
        aliases = item.get("aliases")
        names = {item.get("id"), *(aliases if isinstance(aliases, list) else [])}
        if model in names:
            return item
    return entries[0] if len(entries) == 1 else None


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
