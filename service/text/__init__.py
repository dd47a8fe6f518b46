"""Pure text helpers: sentences, token estimates, and the small wording helpers every face uses."""

from .wording import count, one_line, public_url

__all__ = ["count", "one_line", "public_url"]
