"""Disposable Parquet copies of sealed segments, used only when they match their segment.

A copy is named after what it was made from and what it holds::

    .cache/2016-04.jsonl.<segment sha256>.<frame tag>.<first seq>-<last seq>.<copy sha256>.parquet

(the first 32 hex digits of each hash; the seqs let a reader check that the segments it reads
follow each other without a gap, without opening the copies). It is used only when the segment's stored bytes
hash to the name's segment hash (content, not mtime: a copied log keeps using its cache, an
edited or replaced segment does not), the flat frame's columns are this version's (`frame
tag`), and the copy's own bytes hash to the name's copy hash (a copy edited, truncated or
swapped with another month's is rebuilt, never read). Anything else is rebuilt from the
segment. A copy's bytes are hashed once; the stat they had is recorded beside it and trusted
while unchanged, and the copy is then scanned from its file. A copy of a segment's current
content is removed only when it fails its check, so a reader's planned scan is never pulled
from under it by another process (stale copies, of another content or layout, are). A copy that
cannot be written (read-only folder, no space, a file where `.cache` should be) is simply not
kept: the segment is parsed each time instead.

A copy is written when its segment is sealed (by the append that starts the next month), so
readers parse only the growing head segment. Which copy belongs to a segment needs the
segment's digest; hashing every sealed segment on every open would read the whole log, so
the digest is recorded beside the copies (`<segment file>.digest`) with the file's stat
(device, inode, size, mtime, ctime) and trusted while the stat is unchanged — the check git
makes of its index. A write to the segment changes mtime and ctime (ctime cannot be set back
by hand), so an edited segment is hashed again and finds no copy; a copied folder (`cp -r`,
another machine) has new stats, so its segments are hashed once — hashed, not parsed — and
their copies used.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from . import catalogue as ev

#: The flat frame's columns: a copy written before a field was added is rebuilt, not misread.
FRAME_TAG = hashlib.sha256(repr(list(ev.EVENT_FRAME_SCHEMA.items())).encode()).hexdigest()[:8]
_DIGITS = 32
#: A temporary file this old was left by a killed process (a younger one may be being
#: written right now).
STALE_TMP_SECONDS = 3600.0
#: A segment file's recorded digest, beside the copies: `.cache/2016-04.jsonl.gz.digest`.
DIGEST_SUFFIX = ".digest"
#: A copy's checked stat, beside it: `<copy file>.checked`.
CHECKED_SUFFIX = ".checked"
_HEX = re.compile(f"[0-9a-f]{{{_DIGITS}}}")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:_DIGITS]


@dataclass(frozen=True)
class Part:
    """A segment as a frame, and the seqs it holds (0, 0 when it holds none)."""

    frame: pl.LazyFrame
    first: int
    last: int

    @classmethod
    def of(cls, frame: pl.DataFrame) -> Part:
        if frame.is_empty():
            return cls(frame.lazy(), 0, 0)
        return cls(frame.lazy(), int(frame["seq"][0]), int(frame["seq"][-1]))


class SegmentCache:
    """The `.cache/` folder of one log."""

    def __init__(self, folder: Path):
        self.folder = folder / ".cache"
        # the digest of a stored segment, per file identity (device, inode, size, mtime,
        # ctime): a second scan in the same process does not hash an unchanged file again
        self._digests: dict[_Identity, str] = {}

    def source_digest(self, stored: Path, read: Callable[[], bytes]) -> tuple[str, bytes | None]:
        """The content digest of a stored segment file (`read` gives its content: its lines,
        uncompressed), and that content when it was read now.

        A digest recorded beside the copies (`<segment file>.digest`) is trusted while the
        file's stat is the recorded one (device, inode, size, mtime, ctime — the check git
        makes of its index): any write to the file, a rename over it or a copy of the folder
        changes it, and the file is then hashed again (hashed, not parsed)."""
        key = _identity(stored, missing_ok=False)
        assert key is not None
        known = self._digests.get(key)
        if known is not None:
            return known, None
        stat = list(key[1:])
        known = self._recorded(stored.name, stat)
        if known is not None:
            self._digests[key] = known
            return known, None
        data = read()
        value = digest(data)
        self._digests[key] = value
        self._record(stored.name, stat, value)
        return value, data

    def know(self, stored: Path, value: str) -> None:
        """Record the content digest of a segment file just written with known content."""
        key = _identity(stored)
        if key is not None:
            self._digests[key] = value
            self._record(stored.name, list(key[1:]), value)

    def _recorded(self, stored_name: str, stat: list[int]) -> str | None:
        try:
            obj = json.loads((self.folder / (stored_name + DIGEST_SUFFIX)).read_bytes())
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(obj, dict) or obj.get("stat") != stat:
            return None
        value = obj.get("digest")
        return value if isinstance(value, str) and _HEX.fullmatch(value) else None

    def _record(self, stored_name: str, stat: list[int], value: str) -> None:
        """Record a digest with the stat it holds for (best effort: never an error)."""
        final = self.folder / (stored_name + DIGEST_SUFFIX)
        write_best_effort(final, json.dumps({"stat": stat, "digest": value}).encode())

    def load(self, name: str, source: str) -> Part | None:
        """The checked copy of segment `name` with content digest `source`, or None.

        A copy is scanned from its file, so that a replay holds only what its queries keep,
        not every copy's bytes. Its bytes are hashed against its name once, and the stat they
        had is recorded beside it (`<copy>.checked`) and trusted while it is unchanged, as
        for segments: a copy edited, truncated or swapped for another changes its stat, is
        hashed again, and is rebuilt from its segment when it fails."""
        prefix = f"{name}.{source}.{FRAME_TAG}."
        try:
            candidates = sorted(self.folder.glob(prefix + "*.parquet"))
        except OSError:
            return None
        for path in candidates:
            # <first>-<last>.<copy digest>.parquet; any other name is not a copy of ours
            rest = path.name[len(prefix) :].split(".")
            if len(rest) != 3:
                continue
            first, _, last = rest[0].partition("-")
            expected = rest[1]
            if not (first.isdigit() and last.isdigit() and len(expected) == _DIGITS):
                continue
            if self._checked(path, expected):
                return Part(pl.scan_parquet(path), int(first), int(last))
        return None

    def _checked(self, path: Path, expected: str) -> bool:
        """Whether a copy's bytes hash to `expected`: by its recorded stat, or hashed now."""
        key = _identity(path)
        if key is None:
            return False
        if self._digests.get(key) == expected:
            return True
        mark = path.with_name(path.name + CHECKED_SUFFIX)
        try:
            if json.loads(mark.read_bytes()) == {"stat": list(key[1:]), "digest": expected}:
                self._digests[key] = expected
                return True
        except (OSError, ValueError, RecursionError):
            pass
        try:
            data = path.read_bytes()
        except OSError:  # removed meanwhile by another reader, or unreadable: not used
            return False
        if digest(data) != expected:
            self._discard(path)
            return False
        self._mark(key, expected)
        return True

    def _mark(self, key: _Identity, expected: str) -> None:
        """Record that a copy with this identity (the stat taken before its bytes were read)
        hashes to `expected`."""
        self._digests[key] = expected
        path = Path(key[0])
        mark = path.with_name(path.name + CHECKED_SUFFIX)
        write_best_effort(mark, json.dumps({"stat": list(key[1:]), "digest": expected}).encode())

    def store(self, name: str, source: str, frame: pl.DataFrame) -> Part:
        """Keep a copy of a parsed segment (best effort) and remove stale copies of it."""
        return self.keep(name, source, Part.of(frame), self.encode(frame))

    @staticmethod
    def encode(frame: pl.DataFrame) -> bytes:
        """A segment's frame as the bytes of its copy."""
        buf = io.BytesIO()
        # lz4: the cache is disposable, so it is written fast rather than small
        frame.write_parquet(buf, compression="lz4", statistics=True)
        return buf.getvalue()

    def keep(self, name: str, source: str, part: Part, data: bytes) -> Part:
        """`store` of a frame already encoded (`encode`) into `data`; `part`: its seqs."""
        seqs, own = f"{part.first}-{part.last}", digest(data)
        final = self.folder / f"{name}.{source}.{FRAME_TAG}.{seqs}.{own}.parquet"
        tmp = final.with_name(f"{final.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            self.folder.mkdir(exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, final)
        except OSError:  # read-only, no space, `.cache` not a folder: run without a copy
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            return part
        self._remove_stale(name, source)
        key = _identity(final)
        if key is None:
            return part
        self._mark(key, own)
        # the frame is let go: the replay scans the file, as the next process will
        return Part(pl.scan_parquet(final), part.first, part.last)

    def _remove_stale(self, name: str, source: str) -> None:
        """Copies of this segment's other contents or of another frame layout, and temporary
        files left by killed processes.

        Safe against concurrent readers: a reader scans a copy of the segment's current
        content in this layout, and such a copy is never removed here (two processes may both
        have written one; both are good), only when it fails its check (`_discard`).
        """
        now = time.time()
        current = f"{name}.{source}.{FRAME_TAG}."
        try:
            for path in self.folder.glob(f"{name}.*"):
                if path.name.endswith(".tmp"):
                    if now - path.stat().st_mtime >= STALE_TMP_SECONDS:  # else perhaps being
                        path.unlink(missing_ok=True)  # written by another process right now
                elif not path.name.startswith(current) and not path.name.endswith(DIGEST_SUFFIX):
                    path.unlink(missing_ok=True)
        except OSError:
            pass

    @staticmethod
    def _discard(path: Path) -> None:
        """A copy whose bytes fail their name's hash: no reader can use it (each checks)."""
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
            path.with_name(path.name + CHECKED_SUFFIX).unlink(missing_ok=True)


#: A file's path and stat (device, inode, size, mtime, ctime): what a recorded digest holds for.
_Identity = tuple[str, int, int, int, int, int]


def file_stat(path: Path) -> list[int]:
    """A file's device, inode, size, mtime and ctime (ns): what a recorded digest holds for."""
    st = path.stat()
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def file_digest(path: Path) -> str:
    """`digest` of a file's bytes, read in chunks (never held whole)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()[:_DIGITS]


class DigestingWriter(io.RawIOBase):
    """A binary file that also hashes what is written to it: `digest()` of those bytes."""

    def __init__(self, file: BinaryIO):
        self.file, self._hash = file, hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._hash.update(data)
        return self.file.write(data)

    def digest(self) -> str:
        return self._hash.hexdigest()[:_DIGITS]


def _identity(path: Path, *, missing_ok: bool = True) -> _Identity | None:
    try:
        dev, ino, size, mtime, ctime = file_stat(path)
    except OSError:
        if not missing_ok:
            raise
        return None
    return (str(path), dev, ino, size, mtime, ctime)


def write_best_effort(final: Path, data: bytes) -> None:
    """Write a small record file atomically, or not at all (never an error)."""
    tmp = final.with_name(f"{final.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        final.parent.mkdir(exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, final)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
