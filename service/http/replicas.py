"""Batch jobs with several replicas: who answers for a job.

A job lives in the job store (``state_dir/jobs.sqlite``) of the replica that took it, and runs
there. What another replica does when asked for it depends on what the replicas share:

- **one state dir** (replicas on one host with one volume, as ``deploy/compose.yaml`` runs
  them): every replica reads the one store, so any of them answers for any job (status,
  results, retry, cancel); the job keeps running on the replica holding its lease, and another
  replica resumes it when that one dies;
- **their own state dirs, one Redis** (``cache_url``): the job is pinned to the replica that took
  it. Each replica notes the jobs it holds in Redis, so another replica asked for one answers
  404 with the problem ``job-elsewhere-error`` naming the replica (``THREADSUM_REPLICA``) to ask; a
  load balancer routes ``/v1/batches/{id}`` there (or the client asks it directly);
- **neither**: a job asked of another replica is a plain 404 ``job-not-found-error``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from ..errors import JobElsewhereError, JobNotFoundError, SharedStoreError, describe
from .problems import URN, error_problem, problem_response
from .supervisor import service_of

__all__ = ["install_replica_handler"]


def install_replica_handler(app: FastAPI) -> None:
    """Answer a job this replica does not hold with the replica that does, when one is noted."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, JobNotFoundError)
        error: JobNotFoundError = exc
        job_id = request.path_params.get("job_id")
        if isinstance(job_id, str) and not isinstance(exc, JobElsewhereError):
            service = service_of(request)
            try:
                owner = await service.owner(job_id)
            except SharedStoreError as e:
                return error_problem(e, request.url.path)
            if owner is not None and owner != service.settings.replica:
                info = describe(
                    JobElsewhereError(
                        f"batch job {job_id} is held by replica {owner!r}, which alone answers "
                        f"for it (this is {service.settings.replica!r}, with its own state "
                        f"dir); ask {owner!r}"
                    )
                )
                return problem_response(
                    info.status,
                    info.detail,
                    request.url.path,
                    kind=URN + info.slug,
                    extra={"error": info.name, "replica": owner},
                )
        return error_problem(error, request.url.path)

    app.add_exception_handler(JobNotFoundError, handler)
