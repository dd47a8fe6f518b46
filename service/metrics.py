"""Prometheus metrics of the HTTP service: what they are, and the listener that counts them.

The metrics are defined here, once per process, on prometheus_client's default registry. The
model client, the retry loop and the core do not import this module: they report to
:mod:`service.events`, and :data:`LISTENER` (subscribed by the HTTP app while it runs) turns
those reports into the counters below. The HTTP face adds the request metrics
(:mod:`service.http.metrics` counts each request) and the batch gauges, which it reads from
the job store at each scrape.

Several worker processes (``serve --workers N``): prometheus_client's multiprocess mode. The
server points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before the workers start; each
worker then writes its counters and histograms to files there and ``/metrics``, whichever
worker answers it, adds up every worker's. The default process metrics
(``process_cpu_seconds_total``, …) are left out in that mode (they would describe only the
worker that answered).
"""

from __future__ import annotations

import os
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.registry import REGISTRY

from .models import Stats

__all__ = [
    "HTTP_LATENCY",
    "HTTP_REQUESTS",
    "LISTENER",
    "MULTIPROC_ENV",
    "exposition",
    "multiprocess_mode",
]

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
"""The environment variable that puts prometheus_client in multiprocess mode."""

_LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

HTTP_REQUESTS: Final = Counter(
    "threadsum_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY: Final = Histogram(
    "threadsum_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route and status code.",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
MODEL_REQUESTS: Final = Counter(
    "threadsum_model_requests",
    "HTTP attempts to the model server, by model and outcome (status code, timeout, "
    "connection or error); retries are attempts too.",
    ["model", "status"],
)
MODEL_LATENCY: Final = Histogram(
    "threadsum_model_request_duration_seconds",
    "Time of one HTTP attempt to the model server.",
    ["model"],
    buckets=_LATENCY_BUCKETS,
)
MODEL_TOKENS: Final = Counter(
    "threadsum_model_tokens",
    "Tokens the model server reported using, by model and kind (prompt or completion).",
    ["model", "kind"],
)
RETRIES: Final = Counter(
    "threadsum_retries",
    "Calls tried again after a transient failure, by client (model or fetch).",
    ["client"],
)
SUMMARIES: Final = Counter(
    "threadsum_summaries",
    "Summaries the core finished, by engine.",
    ["engine"],
)
MODEL_CALLS: Final = Counter(
    "threadsum_model_calls",
    "Answers the summaries asked the model for (each may take several HTTP attempts).",
)
SUMMARY_HITS: Final = Counter(
    "threadsum_summary_cache_hits",
    "Summaries served whole from the summary cache (counted in threadsum_summaries too).",
    ["engine"],
)
CACHE_HITS: Final = Counter(
    "threadsum_cache_hits",
    "Answers the summaries took from the answer cache instead of asking the model.",
)


class _Listener:
    """Counts :mod:`service.events` reports into the metrics above."""

    def model_request(self, model: str, status: str, seconds: float) -> None:
        MODEL_REQUESTS.labels(model, status).inc()
        MODEL_LATENCY.labels(model).observe(seconds)

    def model_tokens(self, model: str, prompt: int, completion: int) -> None:
        MODEL_TOKENS.labels(model, "prompt").inc(prompt)
        MODEL_TOKENS.labels(model, "completion").inc(completion)

    def retry(self, client: str, target: str) -> None:
        RETRIES.labels(client).inc()

    def summary_done(self, engine: str, stats: Stats) -> None:
        SUMMARIES.labels(engine).inc()
        MODEL_CALLS.inc(stats.llm_calls)
        CACHE_HITS.inc(stats.cache_hits)

    def summary_cached(self, engine: str) -> None:
        SUMMARIES.labels(engine).inc()
        SUMMARY_HITS.labels(engine).inc()


LISTENER: Final = _Listener()
"""The listener the HTTP app subscribes (:func:`service.events.listening`) while it runs."""


def multiprocess_mode() -> bool:
    """True when this process writes its metrics for several workers to add up."""
    return bool(os.environ.get(MULTIPROC_ENV))


def exposition(*extra: CollectorRegistry) -> bytes:
    """The metrics in Prometheus' text format: this process's (or, in multiprocess mode, every
    worker's), then those of the ``extra`` registries (collectors read at scrape time)."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    return text + b"".join(generate_latest(r) for r in extra)
