"""Output modes: what each one adds to a request, and the memory of which one a server accepts.

Strongest first (``auto`` tries them in :data:`MODE_ORDER`):

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

``auto`` falls back when a server refuses a mode (see :mod:`service.model.refusals`); the answer
is kept in a :class:`ModeMemory`, which the :class:`~service.runtime.Runtime` owns and hands to
every client it builds, so one process (or one test) asks each server once and two runtimes
never share what they learned by accident.
"""

from __future__ import annotations

import threading
from typing import Any, Final, Literal

OutputMode = Literal["json_schema", "json_object", "tools", "text"]
MODE_ORDER: Final[tuple[OutputMode, ...]] = ("json_schema", "json_object", "tools", "text")
"""The order ``auto`` tries the output modes in, strongest first."""

TOOL_DESCRIPTION: Final = "Return the answer, as structured data matching the parameters."
"""The description of the one tool sent in ``tools`` mode."""


def mode_fields(mode: OutputMode, schema_name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The request fields that ask for an answer shaped by ``schema`` in ``mode``."""
    if mode == "json_schema":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": is_strict(schema)},
            }
        }
    if mode == "json_object":
        return {"response_format": {"type": "json_object", "schema": schema}}
    if mode == "tools":
        function = {"name": schema_name, "description": TOOL_DESCRIPTION, "parameters": schema}
        return {
            "tools": [{"type": "function", "function": function}],
            "tool_choice": {"type": "function", "function": {"name": schema_name}},
        }
    return {}


def is_strict(schema: Any) -> bool:
    """Whether ``schema`` fits strict structured output: every object closed and requiring all
    its properties. A schema with optional fields (so the model may leave empty ones out) is
    sent unflagged, which OpenAI takes as guidance and other servers enforce all the same."""
    if isinstance(schema, list):
        return all(is_strict(node) for node in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object":
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return False
        if set(schema.get("required", [])) != set(properties):
            return False
    return all(is_strict(value) for key, value in schema.items() if key != "required")


class ModeMemory:
    """Which output mode each (server URL, model) accepts, once known. Thread-safe."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], OutputMode] = {}
        self._lock = threading.Lock()

    def get(self, server: str, model: str) -> OutputMode | None:
        """The mode ``server`` accepts for ``model``, if known."""
        with self._lock:
            return self._known.get((server, model))

    def remember(self, server: str, model: str, mode: OutputMode) -> bool:
        """Record the accepted mode; ``True`` when that is news."""
        with self._lock:
            if self._known.get((server, model)) == mode:
                return False
            self._known[(server, model)] = mode
            return True

    def clear(self) -> None:
        """Forget everything (a server was reconfigured)."""
        with self._lock:
            self._known.clear()
