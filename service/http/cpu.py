"""CPU-heavy request work on bounded threads the app owns (:class:`CpuPool`).

Parsing a thread and the extractive engine are CPU-bound. On the event loop they would stall
every request; on asyncio's default executor, which the job store's quick SQLite calls share,
six large requests filled it and batch status timed out. The pool keeps them apart:

- **two lanes** with threads of their own: *large* (``cpu_workers`` threads) and *small* (one
  thread, for request bodies up to :data:`SMALL_BYTES`), so a small request never waits behind
  a large one;
- **admission**: each lane admits at most ``cpu_workers + cpu_queue`` requests, running or
  waiting for a thread; the next is refused at once with :class:`ServiceBusyError` (503,
  ``Retry-After``), and ``/readyz`` reports the saturation (:meth:`CpuPool.saturation`);
- a request holds its admission (a :class:`Ticket`) until it is done with it *and* the last job
  it started has ended: a thread cannot be stopped mid-job, so a cancelled request (deadline,
  disconnect) frees its place only once its CPU is no longer spent. A job still waiting for a
  thread is dropped as soon as its request is cancelled;
- batch jobs run their extractive engine on the large lane's threads (:attr:`CpuPool.batch`)
  without admission: they wait their turn and are never refused;
- the threads are daemon threads and :meth:`CpuPool.shutdown` does not wait for them, so a
  stopping server is not held up by work whose requests it already cancelled.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, ParamSpec, Self, TypeVar

from ..errors import ServiceBusyError

__all__ = ["BUSY_RETRY_AFTER_S", "SMALL_BYTES", "CpuPool", "Ticket"]

P = ParamSpec("P")
T = TypeVar("T")

SMALL_BYTES: Final = 256 * 1024
"""Request bodies up to this size run in the small lane (a thread of their own)."""
BUSY_RETRY_AFTER_S: Final = 2
"""The ``Retry-After`` of a request refused because its lane is full."""


@dataclass(frozen=True, slots=True)
class _Job:
    future: Future[Any]
    call: Callable[[], Any]

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return  # cancelled while it waited for a thread
        try:
            result = self.call()
        except BaseException as e:  # noqa: BLE001 - the job's fault boundary: its caller gets e
            self.future.set_exception(e)
        else:
            self.future.set_result(result)


class _Threads(Executor):
    """A fixed number of daemon threads running submitted calls in the order they came."""

    def __init__(self, workers: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` on the next free thread."""
        if self._closed:
            raise RuntimeError("the CPU pool is shut down")
        future: Future[T] = Future()
        self._jobs.put(_Job(future, functools.partial(fn, *args, **kwargs)))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the threads once their current jobs end (``cancel_futures``: drop waiting ones)."""
        self._closed = True
        if cancel_futures:
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job.future.cancel()
        for _ in self._threads:
            self._jobs.put(None)
        if wait:
            for thread in self._threads:
                thread.join()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            job.run()


@dataclass
class _Lane:
    name: str
    threads: _Threads
    limit: int
    admitted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Ticket(Executor):
    """One request's admission to a lane: an executor running on that lane's threads.

    Use it as a context manager around the request's CPU-heavy steps; the admission ends when
    the block is left and the last job submitted through the ticket has ended.
    """

    def __init__(self, lane: _Lane) -> None:
        self._lane = lane
        self._pending = 0
        self._closed = False
        self._released = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` on the lane's threads, as part of this admission."""
        if self._closed:
            raise RuntimeError("the ticket is closed")
        future = self._lane.threads.submit(fn, *args, **kwargs)
        with self._lane.lock:
            self._pending += 1
        future.add_done_callback(self._ended)  # at once if the job has ended already
        return future

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on the lane's threads, awaited (context variables kept)."""
        call = functools.partial(fn, *args, **kwargs)
        context = contextvars.copy_context()
        return await asyncio.wrap_future(self.submit(context.run, call))

    def close(self) -> None:
        """The request is done with its CPU steps (idempotent)."""
        with self._lane.lock:
            self._closed = True
            self._release()

    def _ended(self, _: Future[Any]) -> None:
        with self._lane.lock:
            self._pending -= 1
            self._release()

    def _release(self) -> None:  # the lane's lock is held
        if self._closed and not self._pending and not self._released:
            self._released = True
            self._lane.admitted -= 1


class CpuPool:
    """The app's CPU threads: a large and a small lane, each admitting a bounded number."""

    def __init__(self, workers: int, waiting: int, *, small_bytes: int = SMALL_BYTES) -> None:
        limit = workers + waiting
        self.small_bytes = small_bytes
        self._large = _Lane("large", _Threads(workers, "threadsum-cpu"), limit)
        self._small = _Lane("small", _Threads(1, "threadsum-cpu-small"), limit)

    @property
    def batch(self) -> Executor:
        """Where batch jobs run CPU work: the large lane's threads, without admission."""
        return self._large.threads

    def admit(self, size: int) -> Ticket:
        """Admit a request whose body is ``size`` bytes to its lane.

        Raises :class:`ServiceBusyError` (503) when the lane already holds its limit.
        """
        lane = self._small if size <= self.small_bytes else self._large
        with lane.lock:
            if lane.admitted >= lane.limit:
                raise ServiceBusyError(
                    f"the service is busy: {lane.admitted} {lane.name} requests are being "
                    f"worked on or waiting, its limit; retry in {BUSY_RETRY_AFTER_S} s",
                    retry_after=BUSY_RETRY_AFTER_S,
                )
            lane.admitted += 1
        return Ticket(lane)

    def saturation(self) -> str | None:
        """Why no further request of some size would be admitted now, or ``None``."""
        full = [lane for lane in (self._large, self._small) if lane.admitted >= lane.limit]
        if not full:
            return None
        lanes = ", ".join(f"{lane.admitted} {lane.name}" for lane in full)
        return f"busy: the CPU lanes are full ({lanes} requests admitted, the limit)"

    def shutdown(self) -> None:
        """Drop waiting jobs and stop the threads, without waiting for running jobs."""
        for lane in (self._large, self._small):
            lane.threads.shutdown(wait=False, cancel_futures=True)
