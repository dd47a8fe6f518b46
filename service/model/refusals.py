"""Which replies mean "this server will not take this output mode", as opposed to a failure.

A *refusal* is an HTTP 400/422 (or 404/501) whose body names the mode's request field
(``response_format``, ``json_schema``, ``tools``, ``tool_choice`` …), or a 5xx whose body is a
validation complaint about such a field (llama-cpp-python wraps request validation errors in a
500; old llama-server builds answered 500 "response_format type must be one of …"). A reply in
``tools`` mode that calls no tool is a refusal too. ``auto`` then tries the next mode; a 400 that
is not about the mode is a :class:`~service.errors.ModelRequestError`, never a fallback.
"""

from __future__ import annotations

import re
from typing import Final

from .modes import OutputMode

__all__ = ["ModeRefused", "NoToolCall", "refuses_mode"]

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


class ModeRefused(Exception):
    """The server refused the output mode of the request (internal to the model package)."""

    def __init__(self, status: int | None, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class NoToolCall(ModeRefused):
    """A ``tools`` reply that calls no tool ``tool``: the server ignores ``tool_choice``."""

    def __init__(self, tool: str) -> None:
        super().__init__(None, "answered without calling the tool")
        self.tool = tool


def refuses_mode(mode: OutputMode, status: int, body: str, detail: str) -> bool:
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
