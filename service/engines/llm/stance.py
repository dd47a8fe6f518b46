"""The stance of a reply toward its parent comment, asked of the model (``prompts/stance.toml``).

One validated call per pair through :func:`~.calls.ask_validated`, so it goes through the answer
cache, re-asks an invalid answer with its errors (``max_reasks``) and honours ``on_invalid``.
The pair is rendered between ``<pair_data>`` tags as two blocks, ``comment:`` and ``reply:``,
every line of each text indented by two spaces so no text can start a line of its own (and so
forge the other block); delimiter look-alikes are neutralised as in every prompt. Texts longer
than :data:`MAX_CHARS` are cut there, so one long comment cannot overflow a small context.

The answer is ``{"stance": "agree" | "disagree" | "other", "confidence": 0..1}``.
:func:`render_pair` and :func:`parse_pair` are inverses, so the mock server reads back exactly
what the engine sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ...cache import Cache
from ...errors import ReplyError
from ...model.protocol import ChatModel
from ...models import Thread
from ...prompts import Prompt, default_prompts_dir, load_prompt, neutralise
from ...settings import Settings
from ...validation import Checked, strict_schema
from .calls import Run, Step, ask_validated

__all__ = [
    "MAX_CHARS",
    "STANCE_SHAPE",
    "LlmStance",
    "StanceAnswer",
    "StanceReply",
    "check_stance",
    "load_stance_prompts",
    "parse_pair",
    "render_pair",
]

MAX_CHARS: Final = 4000
"""The longest text of a pair the prompt shows; the rest is cut."""
STANCE_SHAPE: Final = '{"stance": "agree" | "disagree" | "other", "confidence": number 0..1}'
_INDENT = "  "
_COMMENT, _REPLY = "comment:", "reply:"


class StanceReply(BaseModel):
    """What the stance prompt asks for."""

    model_config = ConfigDict(extra="forbid")

    stance: Literal["agree", "disagree", "other"]
    confidence: float


STANCE = Step(prompt="stance", schema_name="reply_stance", schema=strict_schema(StanceReply))
# Run wants a thread (its title goes into map prompts); a pair has none.
_NO_THREAD = Thread(id="pairs", source="native", format="pairs", comments=())


def load_stance_prompts(directory: Path | None = None) -> dict[str, Prompt]:
    """The stance prompt and the re-ask prompt, checked."""
    where = directory or default_prompts_dir()
    return {name: load_prompt(name, where) for name in ("stance", "reask")}


def _block(text: str) -> str:
    cut = text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + " ..."
    lines = neutralise(cut).splitlines() or [""]
    return "\n".join(_INDENT + line for line in lines)


def render_pair(parent: str, reply: str) -> dict[str, str]:
    """The prompt variables of one pair (its data block and the answer shape)."""
    return {"parent": _block(parent), "reply": _block(reply), "schema": STANCE_SHAPE}


def parse_pair(data: str) -> tuple[str, str] | None:
    """The (comment, reply) texts of a rendered ``<pair_data>`` block, or None if it is not one."""
    lines = data.split("\n")
    try:
        split = lines.index(_REPLY)
    except ValueError:
        return None
    if not lines or lines[0] != _COMMENT:
        return None

    def text(block: list[str]) -> str:
        return "\n".join(line.removeprefix(_INDENT) for line in block)

    return text(lines[1:split]), text(lines[split + 1 :])


def check_stance(value: Any) -> Checked[StanceReply]:
    """Validate a parsed stance answer; a confidence outside 0..1 is an error to re-ask."""
    try:
        reply = StanceReply.model_validate(value)
    except ValidationError as e:
        raise ReplyError(
            [
                f"{'.'.join(str(x) for x in err['loc']) or '(top level)'}: {err['msg']}"
                for err in e.errors()[:8]
            ]
        ) from None
    if not 0.0 <= reply.confidence <= 1.0:
        return Checked(reply, [f"confidence: {reply.confidence} is not between 0 and 1"])
    return Checked(reply)


@dataclass(frozen=True)
class StanceAnswer:
    """The model's stance of one pair; ``valid`` is False when no valid answer came back."""

    label: Literal["agree", "disagree", "other"]
    confidence: float
    valid: bool


class LlmStance:
    """Asks a model for the stance of reply pairs; one :class:`Run` counts all the calls."""

    def __init__(
        self,
        settings: Settings,
        model: ChatModel,
        cache: Cache,
        prompts: Mapping[str, Prompt] | None = None,
    ) -> None:
        self.run = Run(
            _NO_THREAD,
            settings,
            model,
            cache,
            dict(prompts or load_stance_prompts(settings.prompts_dir)),
        )

    async def classify_pair(self, parent: str, reply: str, where: str = "pair") -> StanceAnswer:
        """The stance of ``reply`` toward ``parent``; "other" with confidence 0 when no answer
        was valid (under ``on_invalid = "keep"``; ``"fail"`` raises instead)."""
        answer = await ask_validated(
            self.run, STANCE, render_pair(parent, reply), check_stance, where=where
        )
        if answer.reply is None or answer.errors:
            return StanceAnswer("other", 0.0, valid=False)
        return StanceAnswer(answer.reply.stance, answer.reply.confidence, valid=True)
