"""The chat-completions protocol as the mock speaks it: reading a request, shaping its answer.

A request is read into a :class:`ChatRequest` (messages, output mode, tool name, token cap) or
refused with a :class:`BadRequest`; answers are OpenAI-shaped bodies (:func:`completion_body`,
:func:`error_body`), cut to a token cap by :func:`truncate` where the cap is hit.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from ...text.tokens import estimate_tokens
from ..prompt_data import content_text

MESSAGE_OVERHEAD = 4
"""Tokens per message, as chat templates add."""


class BadRequest(Exception):
    """A request the mock refuses with a 400, as an OpenAI-compatible server would."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


@dataclass(frozen=True)
class ChatRequest:
    """A ``POST /v1/chat/completions`` body, checked."""

    messages: list[dict[str, Any]]
    mode: str  # one of config.MODES
    tool: str | None  # the function to call, in tools mode
    max_tokens: int | None
    model: str | None


def read_request(body: Any) -> ChatRequest:
    """The request in ``body`` (parsed JSON); :class:`BadRequest` when it is not a valid one."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    messages = _messages(body)
    mode, tool = _mode(body)
    max_tokens = _max_tokens(body)
    if body.get("stream"):
        raise BadRequest("streaming is not supported by this server", "stream")
    return ChatRequest(messages, mode, tool, max_tokens, str(body.get("model") or "") or None)


def message_text(message: dict[str, Any]) -> str:
    """All the text of a message: its content and the arguments of its tool calls."""
    parts = [content_text(message.get("content"))]
    for call in message.get("tool_calls") or ():
        if isinstance(call, dict) and isinstance(call.get("function"), dict):
            parts.append(str(call["function"].get("arguments", "")))
    return "\n".join(p for p in parts if p)


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """The estimated prompt tokens of ``messages``, per-message overhead included."""
    return sum(estimate_tokens(message_text(m)) + MESSAGE_OVERHEAD for m in messages)


def truncate(text: str, limit: int) -> str:
    """The longest prefix of ``text`` estimated at ``limit`` tokens or fewer."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate_tokens(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty array", "messages")
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        raise BadRequest("each message must be an object with a 'role'", "messages")
    return messages


def _mode(body: dict[str, Any]) -> tuple[str, str | None]:
    """The output mode a request asks for, and the tool name in tools mode."""
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if tools is not None and choice != "none":
        if not isinstance(tools, list) or not tools:
            raise BadRequest("'tools' must be a non-empty array", "tools")
        names = [
            t["function"]["name"]
            for t in tools
            if isinstance(t, dict)
            and isinstance(t.get("function"), dict)
            and isinstance(t["function"].get("name"), str)
        ]
        if len(names) != len(tools):
            raise BadRequest("each tool must be a function with a name", "tools")
        name = names[0]
        if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
            name = str(choice["function"].get("name", name))
            if name not in names:
                raise BadRequest(f"tool_choice names an unknown tool {name!r}", "tool_choice")
        return "tools", name
    fmt = body.get("response_format")
    if fmt is None:
        return "text", None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return "text", None
    if kind == "json_object":
        return "json_object", None
    if kind == "json_schema":
        spec = fmt.get("json_schema") if isinstance(fmt, dict) else None
        if not isinstance(spec, dict) or not isinstance(spec.get("schema", {}), dict):
            raise BadRequest("response_format.json_schema must be an object", "response_format")
        return "json_schema", None
    raise BadRequest(f"response_format type {kind!r} is not supported", "response_format")


def _max_tokens(body: dict[str, Any]) -> int | None:
    value = body.get("max_completion_tokens")
    if value is None:
        value = body.get("max_tokens")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest("max_tokens must be a positive integer", "max_tokens")
    return value


def error_body(
    message: str, kind: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """An OpenAI-shaped error body."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


@dataclass(frozen=True)
class Answer:
    """What the mock answers one request with, before it becomes a completion body."""

    number: int  # the request's number since the server started or was reset
    model: str
    tool: str | None  # in tools mode the answer is the call's arguments
    text: str
    finish: str  # "stop" or "length"
    prompt_tokens: int
    completion_tokens: int


def completion_body(answer: Answer) -> dict[str, Any]:
    """A ``chat.completion`` body; in tools mode (``answer.tool`` set) a call to that tool."""
    digest = hashlib.sha256(f"{answer.number}\n{answer.text}".encode()).hexdigest()
    finish = answer.finish
    message: dict[str, Any] = {"role": "assistant", "content": answer.text}
    if answer.tool is not None:
        call_id = "call_" + hashlib.sha256(answer.text.encode()).hexdigest()[:24]
        function = {"name": answer.tool, "arguments": answer.text}
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call_id, "type": "function", "function": function}],
        }
        finish = "tool_calls" if finish == "stop" else finish
    return {
        "id": "chatcmpl-" + digest[:24],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": answer.model,
        "system_fingerprint": "threadsum-mock",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens,
        },
    }
