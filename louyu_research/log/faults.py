"""What can go wrong with a log folder, as one-line errors that name the path and what to do.

`LogError` is a log that cannot be used as asked (missing, not a log, moved under an
expectation). `LogDamaged` is a log whose files do not agree with the hash chain (a garbled
HEAD, a truncated segment): `louyu verify` names the damage, `louyu repair` fixes what can be
fixed without losing an acknowledged event. `StorageFault` is the operating system refusing
(no space, read-only, permission, a file where a folder should be): nothing was lost, and the
message says what to do. No error message holds more than one bounded line.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .catalogue import one_line

__all__ = ["LogDamaged", "LogError", "StorageFault", "storage"]


class LogError(Exception):
    """The log cannot be used as asked (missing, wrong format, moved under an expectation)."""

    def __init__(self, message: str):
        super().__init__(one_line(message, 600))


class LogDamaged(LogError):
    """The log's files do not agree with its hash chain (names the file and the damage)."""


class StorageFault(LogError):
    """The operating system refused a read or write (names the path and what to do)."""

    def __init__(self, message: str, err: OSError | None = None):
        super().__init__(message)
        self.errno = err.errno if err is not None else None


_ADVICE = {
    errno.ENOSPC: "free disk space, then run the command again",
    errno.EDQUOT: "free space within your disk quota, then run the command again",
    errno.EROFS: "the file system is read-only: mount it read-write or copy the log elsewhere",
    errno.EACCES: "permission denied: run as a user who may write there, or fix its permissions",
    errno.EPERM: "not permitted: run as a user who may write there, or fix its permissions",
    errno.ENOTDIR: "a file stands where a folder should be: move that file away",
    errno.EISDIR: "a folder stands where a file should be: move that folder away",
    errno.ENOENT: "it is missing: check the path (and that nothing else removed it)",
    errno.EEXIST: "something else already has that name: choose another path or move it away",
    errno.EIO: "the disk reported an input/output error: check the disk, then retry",
    errno.EMFILE: "too many open files: raise the limit (ulimit -n) and retry",
    errno.ENAMETOOLONG: "the path is too long: use a shorter folder name",
}


def advice(err: OSError) -> str:
    """What a person can do about an operating-system error."""
    return _ADVICE.get(err.errno or 0, "check the disk and the folder, then retry")


def fault(err: OSError, path: str | os.PathLike[str], doing: str, after: str = "") -> StorageFault:
    """A `StorageFault` for `err`: `path: cannot <doing>: <reason>; <advice>[; <after>]`."""
    where = err.filename if isinstance(err.filename, str) and err.filename else os.fspath(path)
    reason = err.strerror or type(err).__name__
    tail = f"; {after}" if after else ""
    return StorageFault(f"{where}: cannot {doing}: {reason}; {advice(err)}{tail}", err)


@contextmanager
def storage(path: str | os.PathLike[str] | Path, doing: str, after: str = "") -> Iterator[None]:
    """Turn an `OSError` inside the block into a one-line `StorageFault` naming `path`."""
    try:
        yield
    except OSError as err:
        raise fault(err, path, doing, after) from None
