"""Writing result files so that a failure never leaves half a file behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import OutputError


def file_mode(path: Path) -> int:
    """The mode a new file gets (the umask applied), or the mode of the file it replaces."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: Path, parts: Iterable[str]) -> None:
    """Write ``parts`` to ``path`` through a temporary file in its folder, then rename it.

    Raises :class:`OutputError` with a one-line message when the file cannot be written.
    """
    if not str(path) or path.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: not a file path")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for part in parts:
                f.write(part)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode(path))
        os.replace(tmp, path)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
