"""Job options: the settings that shape a job's answers, stored with the job and applied back.

A job runs with the options it was created with, whatever process resumes it; the settings of
that process supply only what is not stored (secrets, local paths, limits, concurrency). The
stored settings are a subset of :class:`~service.settings.Settings` fields named in
:data:`STORED_SETTINGS`, with Settings' own values and validation: nothing here repeats a default.
Two rewrites keep the state file free of secrets and the job's run exact: the engine is stored
resolved (``llm`` or ``extractive``, never ``auto``), and the base URL without user info, query or
fragment (:func:`~service.text.wording.public_url`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ..errors import OutputError
from ..settings import Settings
from ..summarizer import EngineChoice, resolve_engine
from ..text.wording import public_url

__all__ = ["STORED_SETTINGS", "JobOptions"]

STORED_SETTINGS: Final = (
    "engine",
    "model",
    "base_url",
    "output_mode",
    "cache",
    "chunk_tokens",
    "max_reasks",
    "on_invalid",
    "max_tokens",
    "temperature",
    "seed",
    "strict",
)
"""The Settings fields a job stores (never an API key, never a local path)."""


@dataclass(frozen=True, slots=True)
class JobOptions:
    """The stored settings of one job: field name → JSON value, for names in STORED_SETTINGS.

    A value stored as ``None`` (no model, no base URL, no seed) is "not given" when applied, as
    for every other override: the running settings' own value stands.
    """

    values: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, engine: EngineChoice | None = None) -> JobOptions:
        """The options of a new job; ``engine`` if the caller resolved it already.

        Raises :class:`~service.errors.UsageError` for an engine that cannot run.
        """
        choice = engine or resolve_engine(settings)
        values = settings.model_dump(mode="json", include=set(STORED_SETTINGS))
        values["engine"] = choice.kind
        values["base_url"] = public_url(settings.base_url)
        return cls(values)

    @classmethod
    def from_json(cls, text: str) -> JobOptions:
        """Options as :meth:`to_json` stored them; names no longer stored are ignored."""
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise OutputError("the batch state holds job options that are not a JSON object")
        return cls({k: v for k, v in data.items() if k in STORED_SETTINGS})

    def to_json(self) -> str:
        """The options as stored in the job store."""
        return json.dumps(dict(self.values), sort_keys=True, separators=(",", ":"))

    def apply(self, settings: Settings, also: Mapping[str, object] | None = None) -> Settings:
        """``settings`` with these options in force (secrets and local paths kept).

        ``also`` adds settings of this run that are not the job's (the model concurrency, say).
        Raises :class:`~service.errors.UsageError` for a stored value Settings refuses.
        """
        changes = {**self.values, **(also or {})}
        if settings.base_url and public_url(settings.base_url) == changes.get("base_url"):
            changes["base_url"] = settings.base_url  # the same server, with its credentials
        return settings.override(changes, name_of=lambda name: f"the job's {name}")

    def digest(self) -> str:
        """A short digest of the options (part of a CLI batch's job id)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]
