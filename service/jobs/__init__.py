"""Batch jobs: input lines, result records, options, the durable store and the runner.

Modules by concern: :mod:`.lines` (input lines and bodies → items), :mod:`.records` (one output
record per line), :mod:`.options` (the settings a job stores), :mod:`.database` (the SQLite
file, its schema version and migrations), :mod:`.store` (jobs, items and leases),
:mod:`.runner` (running a job). The names faces use are exported here.
"""

from ..errors import JobBusyError, JobNotFoundError
from .lines import BatchItem, parse_body, parse_json_array, parse_jsonl
from .options import JobOptions
from .records import error_record, ok_record
from .runner import run_job, summarize_item
from .store import JobStatus, JobStore

__all__ = [
    "BatchItem",
    "JobBusyError",
    "JobNotFoundError",
    "JobOptions",
    "JobStatus",
    "JobStore",
    "error_record",
    "ok_record",
    "parse_body",
    "parse_json_array",
    "parse_jsonl",
    "run_job",
    "summarize_item",
]
