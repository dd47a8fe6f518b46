"""What the engines need from a model: the :class:`ChatModel` protocol and its answers.

:class:`~service.model.client.ModelClient` implements it over HTTP;
:class:`~service.devtools.fake.FakeModel` implements it in memory for tests.
"""

from __future__ import annotations

from typing import Any, Protocol


class CompletionLike(Protocol):
    """What the engine needs from a model answer (``service.model.Completion``)."""

    @property
    def content(self) -> str: ...
    @property
    def finish_reason(self) -> str: ...
    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...
    @property
    def mode(self) -> str: ...
    @property
    def model(self) -> str: ...


class ChatModel(Protocol):
    """What the engine needs from a model (``service.model.ModelClient`` or a fake)."""

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema_name: str,
        schema: dict[str, Any],
        max_tokens: int,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> CompletionLike: ...

    async def context_length(self) -> int | None:
        """The server's context length in tokens, where it reports one; else ``None``."""
        ...
