"""HEAD and the segments as bytes: reading them strictly, and checking HEAD against the chain.

HEAD is never trusted alone. Its `seq` and `hash` name the acknowledged event; its `segment`
and `offset` say where that event's line ends. A reader or writer checks, before using it,
that the line ending at `offset` is that event (one small read); `verify` and `repair` walk
the chain itself. A stored line is canonical JSON with `hash` as its only `"hash"` key, so
whether a line chains is decided from its bytes alone: the line without its hash field,
prefixed by the previous hash, must hash to it (no JSON parsing needed).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import zlib
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import catalogue as ev
from .faults import LogDamaged, fault

#: Segment files: the UTC month of `recorded_at`, plain or gzip-compressed.
SEGMENT_NAME = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])\.jsonl")
_SEGMENT_FILE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])\.jsonl(\.gz)?")
_HASH_FIELD = re.compile(rb',"hash":"([0-9a-f]{64})"')
_SEQ_FIELD = re.compile(rb',"seq":([0-9]{1,19})[,}]')
_RECORDED_FIELD = re.compile(rb',"recorded_at":"([^"\\]{1,64})"')
_HEX64 = re.compile(r"[0-9a-f]{64}")
REPAIR = "`louyu repair` rebuilds it from the chain"


@dataclass(frozen=True)
class Head:
    """The acknowledged end of the log."""

    seq: int = 0
    hash: str = ev.GENESIS_HASH
    recorded_at: str | None = None
    segment: str | None = None
    offset: int = 0


def head_bytes(head: Head) -> bytes:
    return (json.dumps(asdict(head), sort_keys=True) + "\n").encode()


class HeadDamaged(LogDamaged):
    """HEAD is missing, garbled or inconsistent; `problem` says how, without the path."""

    def __init__(self, path: Path, problem: str, then: str = REPAIR):
        super().__init__(f"{path}: {problem}; {then}")
        self.problem = problem


def read_head(folder: Path) -> Head:
    """HEAD as written, checked for shape (not yet against the chain: see `check_head`)."""
    path = folder / "HEAD"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise HeadDamaged(path, "missing") from None
    except OSError as err:
        raise fault(err, path, "read HEAD") from None
    if not raw.strip():
        raise HeadDamaged(path, "empty")
    if len(raw) > 4096:
        raise HeadDamaged(path, f"{len(raw):,} bytes, not a HEAD (at most a few hundred)")
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        raise HeadDamaged(path, "garbled: not JSON") from None
    return Head(**_head_fields(path, obj))


def _head_fields(path: Path, obj: Any) -> dict[str, Any]:
    want = {"seq", "hash", "recorded_at", "segment", "offset"}
    if not isinstance(obj, dict) or set(obj) != want:
        got = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise HeadDamaged(path, f"garbled: expected the fields {sorted(want)}, found {got}")
    seq, hash_, at, seg, offset = (
        obj[k] for k in ("seq", "hash", "recorded_at", "segment", "offset")
    )
    if type(seq) is not int or not 0 <= seq <= ev.MAX_SEQ:
        raise HeadDamaged(path, f"seq: not a sequence number: {ev.shown(seq)}")
    if not isinstance(hash_, str) or not _HEX64.fullmatch(hash_):
        raise HeadDamaged(path, f"hash: not 64 hex digits: {ev.shown(hash_)}")
    if type(offset) is not int or offset < 0:
        raise HeadDamaged(path, f"offset: not a byte offset: {ev.shown(offset)}")
    if seq == 0:
        if (hash_, at, seg, offset) != (ev.GENESIS_HASH, None, None, 0):
            raise HeadDamaged(path, "seq 0 (an empty log) with a hash, segment or offset")
    else:
        if not isinstance(seg, str) or not SEGMENT_NAME.fullmatch(seg):
            raise HeadDamaged(path, f"segment: not a segment name: {ev.shown(seg)}")
        if not isinstance(at, str) or not ev._RFC3339.fullmatch(at):
            raise HeadDamaged(path, f"recorded_at: not an RFC 3339 timestamp: {ev.shown(at)}")
        if offset == 0:
            raise HeadDamaged(path, f"offset 0 for seq {seq}")
    return {"seq": seq, "hash": hash_, "recorded_at": at, "segment": seg, "offset": offset}


# --- segments as bytes -------------------------------------------------------------------------


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_replacing(path: Path, data: bytes) -> None:
    """Write a temporary file beside `path`, fsync it and rename it over `path` (the folder is
    not fsynced: the caller does, once for several files). Before the rename nothing changed:
    on an error then, the temporary file is removed and the error raised."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def segment_names(folder: Path) -> list[str]:
    """Segment names (without `.gz`) in order; other files in the folder are not segments."""
    try:
        names = {
            p.name.removesuffix(".gz") for p in folder.iterdir() if _SEGMENT_FILE.fullmatch(p.name)
        }
    except OSError as err:
        raise fault(err, folder, "list the log folder") from None
    return sorted(names)


def stored_file(folder: Path, name: str) -> Path:
    """The file a segment is stored in: plain while it grows, `.gz` once sealed."""
    plain = folder / name
    return plain if plain.exists() else folder / (name + ".gz")


def gunzip(data: bytes, where: Path) -> bytes:
    """A compressed segment's content; a truncated or corrupt one is `LogDamaged`, named."""
    content, problem = gunzip_partial(data)
    if problem:
        raise LogDamaged(
            f"{where}: {problem}: acknowledged events are unreadable; restore this file from a "
            "backup (`louyu verify` names what follows from it)"
        )
    return content


def gunzip_partial(data: bytes) -> tuple[bytes, str | None]:
    """As much of a gzip stream as can be read, and what is wrong with the rest (or None)."""
    d = zlib.decompressobj(wbits=31)
    try:
        out = d.decompress(data)
    except zlib.error as err:
        return b"", f"corrupt compressed data ({err})"
    if not d.eof:
        return out, "truncated compressed file (it ends before its end-of-stream marker)"
    if d.unused_data:  # a second member: what `gzip` writes when files are concatenated
        try:
            return out + gzip.decompress(d.unused_data), None
        except (OSError, EOFError, zlib.error) as err:
            return out, f"corrupt data after the compressed stream ({err})"
    return out, None


def read_segment(folder: Path, name: str) -> bytes:
    """A segment's content (decompressed when sealed), or a one-line error naming the file."""
    plain = folder / name
    try:
        return plain.read_bytes()
    except FileNotFoundError:
        pass
    except OSError as err:
        raise fault(err, plain, "read a segment") from None
    packed = folder / (name + ".gz")
    try:
        data = packed.read_bytes()
    except FileNotFoundError:
        try:  # sealed meanwhile: compressed, then the plain file removed
            return plain.read_bytes()
        except FileNotFoundError:
            raise LogDamaged(
                f"{folder / name}: segment missing; restore it from a backup"
            ) from None
        except OSError as err:
            raise fault(err, plain, "read a segment") from None
    except OSError as err:
        raise fault(err, packed, "read a segment") from None
    return gunzip(data, packed)


# --- lines and the chain ------------------------------------------------------------------------


def line_link(prev_hash: str, line: bytes) -> tuple[int, str] | None:
    """(seq, hash) of a stored line (without its newline) if it chains to `prev_hash`, else None."""
    m = _HASH_FIELD.search(line)
    if m is None:
        return None
    body = line[: m.start()] + line[m.end() :]
    got = m.group(1).decode()
    if hashlib.sha256(prev_hash.encode() + body).hexdigest() != got:
        return None
    s = _SEQ_FIELD.search(body)
    return (int(s.group(1)), got) if s else None


def line_mark(line: bytes) -> tuple[int | None, str | None]:
    """(seq, hash) as a stored line states them, without checking the chain."""
    s, h = _SEQ_FIELD.search(line), _HASH_FIELD.search(line)
    return (int(s.group(1)) if s else None, h.group(1).decode() if h else None)


def line_recorded_at(line: bytes) -> str | None:
    m = _RECORDED_FIELD.search(line)
    return m.group(1).decode() if m else None


def last_line(folder: Path, name: str, end: int) -> bytes | None:
    """The complete line ending exactly at byte `end` of a segment (None if `end` is not a line end)."""
    plain = folder / name
    try:
        with open(plain, "rb") as f:
            size = f.seek(0, 2)
            if end > size:
                return None
            back = 4096
            while True:
                start = max(0, end - back)
                f.seek(start)
                chunk = f.read(end - start)
                if not chunk.endswith(b"\n"):
                    return None
                cut = chunk.rfind(b"\n", 0, len(chunk) - 1)
                if cut >= 0 or start == 0:
                    return chunk[cut + 1 : -1]
                back *= 4
    except FileNotFoundError:
        data = read_segment(folder, name)  # sealed: only the compressed copy
        if end > len(data) or not data[:end].endswith(b"\n"):
            return None
        return data[data.rfind(b"\n", 0, end - 1) + 1 : end - 1]
    except OSError as err:
        raise fault(err, plain, "read a segment") from None


def check_head(folder: Path, head: Head) -> None:
    """HEAD agrees with the log: the line ending at its offset is the event it acknowledges."""
    if head.seq == 0 or head.segment is None:
        return
    line = last_line(folder, head.segment, head.offset)
    then = "run `louyu verify` to see the damage, then `louyu repair`"
    path = folder / "HEAD"
    if line is None:
        raise HeadDamaged(
            path,
            f"offset {head.offset} is not the end of a line of {head.segment} "
            "(HEAD or the segment was altered, or the segment was truncated)",
            then,
        )
    seq, hash_ = line_mark(line)
    if (seq, hash_) != (head.seq, head.hash):
        raise HeadDamaged(
            path,
            f"acknowledges seq {head.seq}, but the line ending at offset {head.offset} of "
            f"{head.segment} is seq {seq}" + (" with another hash" if seq == head.seq else ""),
            then,
        )
