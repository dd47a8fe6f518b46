"""The command-line face: ``threadsum`` is :func:`main`, a function that returns an exit code."""

from .commands import main

__all__ = ["main"]
