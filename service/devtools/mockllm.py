"""A mock OpenAI-compatible model server that answers threadsum's own prompts, offline.

For development, demos, end-to-end tests and benchmarks: it speaks the chat-completions protocol
(``GET /v1/models``, ``POST /v1/chat/completions``) and answers the prompts threadsum sends —
deterministically, from the extractive engine, with no model and no network.

* **Map** calls (the last user message holding ``<thread_data>``): the chunk's claims from the
  extractive engine, citing the chunk-local sentence ids exactly as rendered, never a context
  comment (:mod:`~service.devtools.mock.mapping`).
* **Reduce** calls (``<claims_data>``): near-duplicate statements merge and are put in topics;
  **overview** calls (the same lines, asking for ``{o}``) get a neutral template naming the
  thread's title and the claims most rebutted (:mod:`~service.devtools.mock.reducing`). The
  title is read from the prompt's own title line (:func:`~service.prompts.parse_title`).
* A re-ask (a later user message without data) is answered for the data earlier in the
  conversation.
* Any other prompt is a 400 — unless it asks for one token (a probe of the output mode, which
  gets its token) or :attr:`MockConfig.answer_any` is set (benchmarks that run
  other pipelines against the same server): then it gets a deterministic plain-text answer of
  realistic length, see :func:`generic_answer`.

It behaves like a real server where clients have to cope: output modes (``json_schema``,
``json_object``, ``tools``, plain text with a fenced JSON block), modes it refuses (400),
a context limit on every prompt (400), ``max_tokens`` (truncation, ``finish_reason:
"length"``), latency per call and per token, bounded concurrency (requests queue), and
injected transient faults (429, 500, 503, a garbage answer, a dropped connection) drawn
deterministically from the seed.
``GET /mock/stats`` counts what it was asked; ``POST /mock/reset`` zeroes the counts.

This module is the public face of :mod:`service.devtools.mock`, where each concern has its module.
"""

from __future__ import annotations

from .mock.config import FAULT_KINDS, MODES, MockConfig
from .mock.generic import GENERIC_TOKENS, generic_answer
from .mock.mapping import map_answer
from .mock.reducing import overview_answer, reduce_answer
from .mock.server import create_app, running, serve, serve_on

__all__ = [
    "FAULT_KINDS",
    "GENERIC_TOKENS",
    "MODES",
    "MockConfig",
    "create_app",
    "generic_answer",
    "map_answer",
    "overview_answer",
    "reduce_answer",
    "running",
    "serve",
    "serve_on",
]
