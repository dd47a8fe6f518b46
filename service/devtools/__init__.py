"""Tools for developing against threadsum offline: a mock model server, synthetic threads, a
local model server, server helpers, and a fake model for tests of code built on threadsum.

:class:`FakeModel` is importable from here; the rest from its module (``mockllm``, ``synthetic``,
``local``, ``servers``), so importing the package loads no web server.
"""

from .fake import FakeModel

__all__ = ["FakeModel"]
