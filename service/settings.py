"""Typed settings, read from ``THREADSUM_*`` environment variables and overridable by flags.

Nothing else in the package reads the environment: faces build one :class:`Settings` and pass it
down. Constructing it has no side effects beyond reading the environment.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import UsageError

ParentPolicy = Literal["attach", "reject"]
EngineName = Literal["auto", "extractive", "llm"]
OutputModeName = Literal["auto", "json_schema", "json_object", "tools", "text"]
CacheMode = Literal["use", "refresh", "off", "replay"]
InvalidPolicy = Literal["keep", "fail"]
LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["text", "json"]


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "threadsum"


def _default_state_dir() -> Path:
    return Path.home() / ".local" / "state" / "threadsum"


def _checked_base_url(value: str | None) -> str | None:
    """An http(s) URL with a host and a valid port, checked now rather than retried later.

    The message never repeats the value: a base URL may carry credentials.
    """
    if value is None or not value.strip():
        return None
    url = value.strip()
    example = "an http(s) URL such as http://127.0.0.1:8000/v1"
    if any(c.isspace() for c in url):
        raise ValueError(f"must not contain spaces ({example})")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not url[: len(scheme) + 3].lower() == scheme + "://":
        raise ValueError(f"must start with http:// or https:// ({example})")
    if not parts.hostname:
        raise ValueError(f"names no host ({example})")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError("has an invalid port (a number from 1 to 65535)")
    return url


def _default_replica() -> str:
    return socket.gethostname() or "threadsum"


SHARED_SCHEMES = ("redis", "rediss", "unix", "valkey", "valkeys")
"""URL schemes of a shared store (Redis, or Valkey, which speaks its protocol)."""


class Settings(BaseSettings):
    """Every knob threadsum has. Field ``x`` is read from ``THREADSUM_X``."""

    model_config = SettingsConfigDict(
        env_prefix="THREADSUM_", extra="ignore", frozen=True, populate_by_name=True
    )

    # Input limits and tree policy.
    max_bytes: int = Field(20_000_000, gt=0, description="Largest accepted input, in bytes.")
    max_comments: int = Field(50_000, gt=0, description="Most comments in one thread.")
    max_depth: int = Field(500, gt=0, description="Deepest reply nesting accepted.")
    strict: bool = Field(
        False, description="Reject comments whose parent is missing instead of attaching them."
    )

    # Chunking.
    chunk_tokens: int = Field(6000, ge=1000, description="Token budget of one chunk.")

    # What a summary shows.
    max_claims: int | None = Field(
        None,
        ge=0,
        description="Most claims a summary shows; unset: max(20, 2·√comments); 0: every claim.",
    )

    # Live fetching.
    fetch_timeout: float = Field(30.0, gt=0, description="Seconds per HTTP request when fetching.")
    fetch_concurrency: int = Field(8, ge=1, description="Parallel item requests (HN Firebase).")
    user_agent: str = "threadsum/0.1 (+https://github.com/threadsum/threadsum)"

    # Engines and the model (used by the LLM engine).
    engine: EngineName = "auto"
    base_url: str | None = Field(
        None,
        description="The model server; THREADSUM_BASE_URL, falling back to OPENAI_BASE_URL.",
    )
    openai_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url"),
        description="OPENAI_BASE_URL: the model server when THREADSUM_BASE_URL is unset; "
        "where a model is, not a sign that one is configured.",
    )
    model: str | None = None
    api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("THREADSUM_API_KEY", "OPENAI_API_KEY"),
        description="API key; THREADSUM_API_KEY, falling back to OPENAI_API_KEY.",
    )
    output_mode: OutputModeName = "auto"
    concurrency: int = Field(4, ge=1, le=256, description="Model calls in flight at once.")
    max_reasks: int = Field(2, ge=0, le=10, description="Re-asks of an invalid answer.")
    on_invalid: InvalidPolicy = Field(
        "keep", description="After the re-asks: keep the valid part with warnings, or fail."
    )
    max_failed_share: float = Field(
        0.5,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description=(
            "Largest share of chunks whose answers may be unusable before the run is an error; "
            "0: any failed chunk fails the run, 1: never."
        ),
    )
    max_tokens: int = Field(4096, ge=64, description="Most tokens one model answer may use.")
    temperature: float = Field(0.0, ge=0, le=2)
    seed: int | None = 0
    llm_timeout: float = Field(120.0, gt=0, description="Seconds per model request.")
    llm_attempts: int = Field(5, ge=1, le=20, description="Tries per model request.")
    cache: CacheMode = "use"
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    cache_namespace: str | None = Field(
        None,
        description="Share cached answers among servers given this name; unset: per server.",
    )
    prompts_dir: Path | None = Field(
        None, description="Prompt templates; default: prompts/ of the checkout or the install."
    )

    # Shared state for several replicas (Redis or Valkey).
    cache_url: SecretStr | None = Field(
        None,
        description="The answer cache in Redis or Valkey (redis://, rediss://, unix://, "
        "valkey://), shared by replicas; unset: the folder cache_dir.",
    )
    cache_prefix: str = Field(
        "threadsum:",
        min_length=1,
        max_length=100,
        description="Prefix of every key threadsum writes to Redis (answers, locks, rate limits, "
        "batch owners).",
    )
    cache_ttl: float = Field(
        2_592_000.0,
        ge=0,
        allow_inf_nan=False,
        description="Seconds an answer lives in the Redis cache; 0: until Redis evicts it.",
    )
    rate_limit_url: SecretStr | None = Field(
        None,
        description="Redis or Valkey where rate limits are counted across replicas; unset: "
        "cache_url when set, else each process counts its own.",
    )
    replica: str = Field(
        default_factory=_default_replica,
        min_length=1,
        max_length=200,
        description="This replica's name: a replica asked for another's batch job names it.",
    )

    # The HTTP service and batch jobs.
    state_dir: Path = Field(
        default_factory=_default_state_dir, description="Durable job state (SQLite)."
    )
    api_keys: SecretStr = Field(
        SecretStr(""),
        description="Comma-separated API keys the HTTP service accepts; empty: no auth.",
    )
    rate_limit: int = Field(
        120, ge=0, description="Requests per minute per API key (or client address); 0: none."
    )
    batch_concurrency: int = Field(
        4,
        ge=1,
        le=256,
        description="Threads summarized at once (a quarter more read meanwhile, see README).",
    )
    max_batch_items: int = Field(10_000, ge=1, description="Most threads in one batch.")
    max_batch_urls: int = Field(
        100,
        ge=0,
        description="Most URL lines (each a live fetch) in one HTTP batch; 0: none accepted.",
    )
    request_timeout: float = Field(
        300.0, ge=0, description="Seconds one summary or batch request may take (504); 0: none."
    )
    cpu_workers: int = Field(
        2, ge=1, le=64, description="Threads for CPU-heavy request work (parsing, extractive)."
    )
    cpu_queue: int = Field(
        4, ge=0, description="Requests that may wait for a CPU thread; beyond that, 503 busy."
    )
    shutdown_timeout: float = Field(
        10.0, gt=0, description="Seconds a stopping server waits for requests in flight."
    )
    forwarded_allow_ips: str = Field(
        "",
        description="Proxy addresses or networks (comma-separated, * for any) whose "
        "X-Forwarded-For and X-Forwarded-Proto are trusted; empty: none.",
    )
    public_url: str | None = Field(
        None, description="The service's public base URL for the links it returns; unset: relative."
    )

    # Operations.
    log_level: LogLevel | None = Field(
        None, description="Least severe log records shown; unset: info for serve, else warning."
    )
    log_format: LogFormat = Field("text", description="Log lines as text or one JSON object each.")

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("openai_base_url")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return (value.strip() or None) if value is not None else None

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        return _checked_base_url(value)

    @model_validator(mode="after")
    def _openai_fallback(self) -> Self:
        """``OPENAI_BASE_URL`` stands in for an unset base URL, checked as it would be."""
        if self.base_url is None and self.openai_base_url is not None:
            try:
                url = _checked_base_url(self.openai_base_url)
            except ValueError as e:
                raise ValueError(f"OPENAI_BASE_URL: {e}") from None
            object.__setattr__(self, "base_url", url)  # frozen: set once, while validating
        return self

        if any(c.isspace() for c in url):
            raise ValueError("must not contain spaces (an http(s) URL such as http://host:8000/v1)")
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not url.lower().startswith(
            parts.scheme.lower() + "://"
        ):
            raise ValueError("must start with http:// or https:// (such as http://host:8000/v1)")
        if not parts.hostname:
            raise ValueError("names no host (an http(s) URL such as http://host:8000/v1)")

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = value.strip().rstrip("/")
        parts = urlsplit(url)
        plain = parts.netloc and not (parts.query or parts.fragment)
        if parts.scheme not in ("http", "https") or not plain:
            raise ValueError("must be an http(s) URL such as https://threadsum.example.com")
        return url

    @field_validator("cache_url", "rate_limit_url")
    @classmethod
    def _check_shared_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        url = value.get_secret_value().strip()
        if urlsplit(url).scheme not in SHARED_SCHEMES or "://" not in url:
            raise ValueError(
                "must be a Redis or Valkey URL such as redis://redis:6379/0 (schemes: "
                + ", ".join(SHARED_SCHEMES)
                + ")"
            )
        return SecretStr(url)

    def override(
        self, changes: Mapping[str, object], *, name_of: Callable[[str], str] = str
    ) -> Settings:
        """These settings with ``changes`` applied and validated; ``None`` means "not given".

        The one way faces apply CLI flags, query parameters and job options. Raises
        :class:`~service.errors.UsageError` naming the first invalid value as ``name_of`` spells
        the field (``--chunk-tokens`` for the CLI, say).
        """
        given = {k: v for k, v in changes.items() if v is not None}
        unknown = sorted(set(given) - set(type(self).model_fields))
        if unknown:
            raise UsageError(f"unknown setting(s): {', '.join(unknown)}")
        if not given:
            return self
        try:
            return type(self).model_validate({**self.model_dump(), **given})
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(x) for x in first.get("loc", ()))
            message = first.get("msg", "").removeprefix("Value error, ")
            raise UsageError(f"{name_of(where)}: {message}" if where else message) from None

    @property
    def api_key_set(self) -> frozenset[str]:
        """The accepted API keys."""
        raw = self.api_keys.get_secret_value()
        return frozenset(k.strip() for k in raw.split(",") if k.strip())

    @property
    def shared_cache_url(self) -> str | None:
        """The Redis URL of the answer cache, or ``None`` for the local folder."""
        return self.cache_url.get_secret_value() if self.cache_url is not None else None

    @property
    def shared_rate_limit_url(self) -> str | None:
        """The Redis URL rate limits are counted in, or ``None`` to count in the process."""
        url = self.rate_limit_url or self.cache_url
        return url.get_secret_value() if url is not None else None

    @property
    def parent_policy(self) -> ParentPolicy:
        """What to do with a comment whose parent is not in the thread."""
        return "reject" if self.strict else "attach"

    @property
    def model_configured(self) -> bool:
        """True when a model is configured, so ``auto`` picks the LLM engine.

        ``OPENAI_BASE_URL`` alone does not count (as ``OPENAI_API_KEY`` alone does not): it says
        where a model is when one is used, and is often set for other tools.
        """
        return bool(self.model or (self.base_url and self.base_url != self.openai_base_url))
