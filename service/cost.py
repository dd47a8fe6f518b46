"""What model tokens cost in money, from the price table of ``genai-prices``, read offline.

genai-prices (maintained with pydantic) ships its table inside the package and looks prices
up in it without the network; it fetches a newer table only when asked to
(``genai_prices.UpdatePrices``), which threadsum never does, so a run's cost is the same offline
and on CI. A newer threadsum install picks up newer prices with the package.

The provider is told by the server's URL: the default (OpenAI's API) or a hosted API the table
knows (OpenRouter, Groq, Together, …). Any other server, a local one say, has no known price,
and neither has a model the table does not list: the cost is then ``None`` and :attr:`Cost.note`
says why. Prices are in US dollars and, as the table's authors warn, not exact.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from .model.identity import server_identity

__all__ = ["Cost", "price"]

PRICE_DIGITS: Final = 6
"""Dollars are rounded to this many decimals (a millionth of a dollar)."""


@dataclass(frozen=True, slots=True)
class Cost:
    """The price of some tokens: ``usd`` when the model's price is known, else ``None`` and
    ``note`` saying why."""

    usd: float | None
    note: str = ""

    def __str__(self) -> str:
        return f"${self.usd:.4f}" if self.usd is not None else f"cost unknown ({self.note})"


def price(model: str, base_url: str | None, prompt_tokens: int, completion_tokens: int) -> Cost:
    """What ``prompt_tokens`` and ``completion_tokens`` of ``model`` at ``base_url`` (``None``:
    OpenAI's API) cost."""
    from genai_prices import Usage, calc_price  # 0.6 s to import: only when a price is asked

    server = server_identity(base_url)  # no credentials, one spelling
    if not model:
        return Cost(None, "no model named")
    unknown = Cost(None, f"no price known for model {model} at {server}")
    if _unpriced(model, server):
        return unknown
    try:
        found = calc_price(
            Usage(input_tokens=max(0, prompt_tokens), output_tokens=max(0, completion_tokens)),
            model_ref=model,
            provider_api_url=server,
        )
    except LookupError:
        return unknown
    return Cost(float(round(Decimal(found.total_price), PRICE_DIGITS)))


@functools.lru_cache(maxsize=256)
def _unpriced(model: str, server: str) -> bool:
    """Whether the table has no price for ``model`` at ``server``, looked up once per pair (a
    miss scans the whole table: a millisecond per summary of a batch on a local server)."""
    from genai_prices import Usage, calc_price

    try:
        calc_price(Usage(input_tokens=0, output_tokens=0), model_ref=model, provider_api_url=server)
    except LookupError:
        return True
    return False
