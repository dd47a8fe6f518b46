"""Engines turn a checked thread into a ThreadSummary: ``extractive`` (no model) and ``llm``."""
