"""threadsum: turn discussion threads into grounded argument maps.

The public Python API::

    import asyncio
    from service import Settings, load_thread, summarize

    thread = load_thread("thread.json")
    summary = asyncio.run(summarize(thread, Settings()))
"""

from .chunker import chunk_thread
from .errors import ThreadsumError
from .ingest import load_thread, load_thread_async, read_thread
from .models import Chunk, Comment, Sentence, Thread, ThreadSummary
from .runtime import Runtime
from .settings import Settings
from .summarizer import summarize

__all__ = [
    "Chunk",
    "Comment",
    "Runtime",
    "Sentence",
    "Settings",
    "Thread",
    "ThreadSummary",
    "ThreadsumError",
    "chunk_thread",
    "load_thread",
    "load_thread_async",
    "read_thread",
    "summarize",
]
