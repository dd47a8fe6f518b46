"""What one app shares across requests (:class:`Service`): its runtime, its CPU threads, the
batch job store and the job tasks, and readiness.

Batches run as asyncio tasks in this process with the durable runner of ``service.jobs``, their
state in ``state_dir/jobs.sqlite``. Unfinished jobs are resumed at startup and picked up every
:data:`RESUME_EVERY_S` seconds from processes that died (the runner's lease keeps a job to one
runner), so they survive a restart. Replicas that share the state dir share the jobs; with a
shared Redis (``cache_url``) each replica also notes there which jobs it holds, so one with its
own state dir can name the replica to ask (:mod:`service.http.replicas`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Final

from fastapi import Request

from ..errors import JobBusyError, ThreadsumError, UsageError
from ..jobs.runner import JobStatus, JobStore, run_job
from ..runtime import Runtime
from ..settings import Settings
from ..summarizer import resolve_engine
from .cpu import CpuPool
from .security import Limiter

__all__ = ["Service", "service_of"]

log = logging.getLogger("threadsum.api")

READY_CACHE_S: Final = 5.0
"""Seconds a readiness answer is reused."""
READY_TIMEOUT_S: Final = 3.0
"""Seconds the readiness probe waits for the model server."""
RESUME_EVERY_S: Final = 30.0
"""How often unfinished batch jobs with no live runner are looked for and resumed."""


@dataclass
class _Ready:
    at: float = -math.inf
    problem: str | None = None


@dataclass
class Service:
    """The app's shared state. ``injected_model``: the runtime's model is not a server to probe.

    ``cpu`` runs the requests' CPU-heavy steps; the runtime's executor is its batch lane.
    """

    settings: Settings
    runtime: Runtime
    cpu: CpuPool
    injected_model: bool = False
    store: JobStore | None = None
    tasks: dict[str, asyncio.Task[JobStatus]] = field(default_factory=dict)
    ready: _Ready = field(default_factory=_Ready)
    ready_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    sweeper: asyncio.Task[None] | None = None
    limiter: Limiter | None = None

    # -- lifespan --

    async def start(self) -> None:
        """Open the job store; resume unfinished jobs, now and every :data:`RESUME_EVERY_S`."""
        self.store = await asyncio.to_thread(JobStore, self.settings.state_dir / "jobs.sqlite")
        await self.resume()
        self.sweeper = asyncio.create_task(self._resume_forever(), name="threadsum-batch-resume")

    async def stop(self) -> None:
        """Stop the batch tasks (their jobs stay resumable), then close what was opened."""
        if self.sweeper is not None:
            self.sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.sweeper
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.runtime.aclose()
        if self.limiter is not None:
            await self.limiter.aclose()
        self.cpu.shutdown()
        if self.store is not None:
            self.store.close()

    async def readiness(self) -> str | None:
        """``None`` when ready, else why not.

        Not while a CPU lane is full (requests of its size would be refused), nor while the
        shared Redis of the answer cache or of the rate limits does not answer. With the LLM
        engine as the default, the model server must answer (probed at most every
        :data:`READY_CACHE_S` seconds); a model setting that cannot run is never ready.
        """
        busy = self.cpu.saturation()
        if busy is not None:
            return busy
        shared = await self.runtime.shared_problem(self.settings)
        if shared is None and self.limiter is not None:
            shared = await self.limiter.problem()
        if shared is not None:
            return shared
        try:
            engine = resolve_engine(self.settings).kind
        except UsageError as e:
            return str(e)
        if engine != "llm" or self.injected_model:
            return None
        async with self.ready_lock:
            now = time.monotonic()
            if now - self.ready.at < READY_CACHE_S:
                return self.ready.problem
            problem = await self.runtime.client(self.settings).ping(READY_TIMEOUT_S)
            self.ready = _Ready(time.monotonic(), problem)
            return problem

    # -- batches --

    @property
    def jobs(self) -> JobStore:
        """The job store (open between startup and shutdown)."""
        if self.store is None:
            raise RuntimeError("the app has not started (its lifespan did not run)")
        return self.store

    async def register(self, job_id: str) -> None:
        """Note in the shared Redis (when there is one) that this replica holds ``job_id``."""
        owners = self.runtime.job_owners(self.settings)
        if owners is not None:
            await owners.record(job_id, self.settings.replica)

    async def owner(self, job_id: str) -> str | None:
        """The replica the shared Redis names as holding ``job_id`` (``None``: none noted)."""
        owners = self.runtime.job_owners(self.settings)
        return await owners.owner(job_id) if owners is not None else None

    def launch(self, job_id: str) -> None:
        """Run a job, with the options stored with it, as a task of this process (once)."""
        if job_id in self.tasks:
            return
        task = asyncio.create_task(
            run_job(
                self.jobs,
                job_id,
                self.settings,
                concurrency=self.settings.batch_concurrency,
                runtime=self.runtime,
            ),
            name=f"threadsum-batch-{job_id}",
        )
        self.tasks[job_id] = task
        task.add_done_callback(lambda t: self._finished(job_id, t))

    async def cancel(self, job_id: str) -> JobStatus:
        """Cancel a job and stop its task here; its status after."""
        await asyncio.to_thread(self.jobs.cancel, job_id)
        task = self.tasks.get(job_id)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return await asyncio.to_thread(self.jobs.get, job_id)

    def _finished(self, job_id: str, task: asyncio.Task[Any]) -> None:
        self.tasks.pop(job_id, None)
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, JobBusyError):
            log.debug("batch %s: %s", job_id, error)
        elif isinstance(error, ThreadsumError):
            log.warning("batch %s failed: %s", job_id, error)
        elif error is not None:
            log.error("batch %s failed", job_id, exc_info=error)

    async def resume(self) -> None:
        """Start every unfinished job no task of this process runs."""
        for job_id in await asyncio.to_thread(self.jobs.unfinished_jobs):
            if job_id not in self.tasks:
                log.info("resuming batch %s", job_id)
                self.launch(job_id)

    async def _resume_forever(self) -> None:
        while True:
            await asyncio.sleep(RESUME_EVERY_S)
            try:
                await self.resume()
            except ThreadsumError as e:
                log.warning("resuming batches: %s", e)


def service_of(request: Request) -> Service:
    """The :class:`Service` of the app serving ``request``."""
    service: Service = request.app.state.threadsum
    return service
