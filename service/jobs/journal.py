"""A batch journal: the records a run has finished, appended one line each as they arrive.

The Ray runner (:mod:`.ray_batch`) keeps its progress here, beside the output, until the output
is written; then the journal is removed, so a journal means an unfinished run. The first line
names the job (its input and options digest); each further line is one result record, exactly
as it goes into the output. A record is flushed to disk before the next one is taken, so a run
stopped at any moment (Ctrl-C, ``kill -9``) loses at most the line it was writing, and a line
cut short is dropped when the journal is read back (and cut off before appending goes on).

Pure file handling over the standard library: no Ray here, so it is tested without the extra.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Self

from ..errors import OutputError, UsageError

__all__ = ["JOURNAL_VERSION", "Journal", "JournalState", "journal_path", "read_journal"]

JOURNAL_VERSION: Final = 1


def journal_path(out_path: Path) -> Path:
    """Where the journal of a Ray batch writing ``out_path`` lives."""
    return out_path.with_name(out_path.name + ".ray-state.jsonl")


@dataclass
class JournalState:
    """What a journal holds: its job id, the last record of each line, and where it ends whole.

    ``records`` maps a line number to its record and ``states`` to ``"ok"`` or ``"error"``; a
    line written twice (an error record retried) counts once, by its last record.
    """

    job_id: str
    records: dict[int, str] = field(default_factory=dict)
    states: dict[int, str] = field(default_factory=dict)
    size: int = 0


def _header(job_id: str) -> str:
    return json.dumps({"journal": JOURNAL_VERSION, "job": job_id}, separators=(",", ":"))


def read_journal(path: Path) -> JournalState | None:
    """The journal at ``path`` (None when there is none).

    Raises :class:`UsageError` when the file is not a batch journal (it is never overwritten).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise OutputError(f"cannot read {path}: {e.strerror or e}") from None
    end = data.rfind(b"\n") + 1  # bytes after the last newline are a line cut short
    lines = data[:end].split(b"\n")[:-1]
    try:
        head = json.loads(lines[0]) if lines else None
    except ValueError:
        head = None
    if not isinstance(head, dict) or head.get("journal") != JOURNAL_VERSION:
        raise UsageError(f"{path} is not a threadsum batch journal; move it away to start over")
    state = JournalState(str(head.get("job")), size=end)
    for n, raw in enumerate(lines[1:], start=2):
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        line = doc.get("line") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or not isinstance(line, int) or "status" not in doc:
            raise UsageError(f"{path} line {n} is not a batch record; delete it to start over")
        state.records[line] = raw.decode("utf-8")
        state.states[line] = str(doc["status"])
    return state


class Journal:
    """An open journal, appended to; :meth:`open` starts one or continues ``state``'s."""

    def __init__(self, path: Path, stream: IO[bytes]) -> None:
        self.path = path
        self._stream = stream

    @classmethod
    def open(cls, path: Path, job_id: str, state: JournalState | None = None) -> Journal:
        """A journal to append to: a new one for ``job_id``, or ``state``'s, cut where it ends
        whole (so a line cut short by a stopped run is not glued to the next record)."""
        stream: IO[bytes]
        try:
            if state is None:
                stream = path.open("xb")
                stream.write((_header(job_id) + "\n").encode())
            else:
                stream = path.open("r+b")
                stream.truncate(state.size)
                stream.seek(state.size)
            journal = cls(path, stream)
            journal._sync()
        except FileExistsError:
            raise UsageError(f"{path} exists already; pass --resume to continue it") from None
        except OSError as e:
            raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
        return journal

    def _sync(self) -> None:
        self._stream.flush()
        os.fsync(self._stream.fileno())

    def append(self, record: str) -> None:
        """Add one record and flush it to disk before returning."""
        try:
            self._stream.write(record.encode("utf-8") + b"\n")
            self._sync()
        except OSError as e:
            raise OutputError(f"cannot write {self.path}: {e.strerror or e}") from None

    def close(self) -> None:
        """Close the file (the journal stays until :meth:`remove`)."""
        self._stream.close()

    def remove(self) -> None:
        """Close and delete the journal: its run's output is written."""
        self.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
