"""``threadsum summarize --estimate``: what the LLM engine would spend, printed, no model called.

The thread is read (a URL is fetched, as for a summary); the plan and its figures come from
:func:`service.estimate.estimate_llm`, which says what is counted and what is assumed.
"""

from __future__ import annotations

import argparse
import sys

from ..estimate import estimate_llm
from ..ingest import load_thread_async
from ..model.identity import server_identity
from ..runtime import Runtime
from ..settings import Settings

__all__ = ["estimate_command"]


async def estimate_command(args: argparse.Namespace, settings: Settings, runtime: Runtime) -> int:
    """Print the estimate for ``args.target``; exit code 0."""
    if settings.engine == "extractive":
        sys.stdout.write("the extractive engine calls no model: 0 calls, 0 tokens, $0\n")
        return 0
    thread = await load_thread_async(args.target, args.format, settings, retry=runtime.fetch_retry)
    est = estimate_llm(thread, settings, runtime.prompts(settings))
    model = est.model or "(no model named: pass --model to price it)"
    reasks = (
        f"; re-asks of invalid answers not counted (up to {est.max_reasks} per call)"
        if est.max_reasks
        else ""
    )
    lines = [
        f"estimate for the llm engine, model {model} at {server_identity(settings.base_url)} "
        "(no model was called):",
        f"  chunks             {est.chunks:,}",
        f"  model calls        {est.calls:,} ({est.map_calls:,} map + {est.reduce_calls:,} "
        f"reduce{reasks})",
        f"  prompt tokens      {est.prompt_tokens:,} (the prompts as they would be sent, counted "
        "offline; errs about 10% high)",
        f"  completion tokens  ~{est.completion_tokens:,} (an estimate from the answer format; "
        f"at most {est.max_completion_tokens:,} = {est.calls:,} calls x {settings.max_tokens:,} "
        "max tokens)",
    ]
    if est.cost.usd is not None and est.max_cost.usd is not None:
        lines.append(
            f"  cost               ~${est.cost.usd:.4f} (at most ${est.max_cost.usd:.4f} if "
            "every answer used max tokens; cached answers would cost nothing)"
        )
    else:
        lines.append(f"  cost               unknown ({est.cost.note})")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
