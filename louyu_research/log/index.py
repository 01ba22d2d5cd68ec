"""The append index: what `append` must know about the log, kept on disk beside HEAD.

Appending checks each draft against the whole log: its `event_id` must be new (or name an
identical stored event), a retraction must name a stored event, and the buildings, tenancies
and tenants it refers to must have been registered. Scanning the log for that on every append
costs time and memory in proportion to the log; this index answers the same questions in
proportion to the batch. It is derived and disposable, never the source of truth: it is
rebuilt from the chain whenever it is missing, stale, damaged or from another log.

Layout (`.index/` in the log folder)::

    MANIFEST.json   the head it was built at (seq, hash, segment, offset), the first and last
                    seq of each segment, its runs (entries, sha256, stat), its own checksum
    run-000007.bin  a run: sorted 64-bit keys, seqs, and the exact text of every entry

Each entry is a text naming one fact, `E␀event_id`, `B␀building_id` (registered),
`T␀tenant_id␀building_id` (a tenancy began) or `N␀tenant_id` (a tenant moved in somewhere),
with the seq of the event that stated it (ids hold no control character, so the text is
unambiguous). Its key is the first 64 bits of the text's BLAKE2b digest (stable across
versions and platforms); a run holds its entries sorted by key, so a batch's questions are
`numpy.searchsorted` over memory-mapped files: only the pages probed are read, whatever the
log's size. A key match is confirmed against the entry's stored text, so a collision of two
64-bit keys can never answer wrongly.

Why sorted runs rather than SQLite (in the standard library too): the index must be checked
before it is trusted, and SQLite has no checksum of its pages, so a flipped byte inside a key
would silently turn a duplicate into a new id. A run is written once and never changed; its
sha256 is recorded in the manifest, and it is re-hashed whenever its stat (size, mtime, ctime,
inode) differs from the recorded one — the trust git gives its index — which includes any
write to it and any copy of the folder. New entries become a new run; runs are merged when
the newest grows to half its predecessor (so there are about log₂ of them), never beyond
`MAX_RUN` entries, so a merge's memory is bounded by that cap rather than by the log. Past the
cap, full runs accumulate: one per `MAX_RUN` entries, a handful for a hundred million events.
A batch's questions are asked of each run with its keys sorted, so that each binary search
starts where the last one ended and a run's pages are read in order.

Order of writes: a batch's lines, then HEAD (the acknowledgement), then a new run, then the
manifest (atomically). The index is therefore never ahead of HEAD: after a crash it is either
at HEAD or behind it. Behind, it is *caught up*: the event at the manifest's position is
looked up in the chain (its seq and hash must be the line ending at its offset: the hash chain
then vouches for everything before it), and the lines from there to HEAD are indexed — in time
proportional to the gap. Anything else (missing, garbled, wrong checksum, a run whose bytes
changed, a position not in this chain) is rebuilt from the log. `louyu verify` re-hashes every
run regardless of stat and rebuilds a bad index; `louyu repair` does the same after repairing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .chain import Head, fsync_dir, last_line, line_mark, write_replacing
from .faults import LogError

FORMAT = "louyu-append-index/1"
FOLDER = ".index"
MANIFEST = "MANIFEST.json"
#: The most entries a merged run may hold: a merge's memory (about 1 GB at this cap) is bounded
#: by it, not by the log; a lookup costs one binary search per run, so fewer, larger runs.
MAX_RUN = 1 << 24
_CHUNK = 1 << 22

KIND_EVENT, KIND_BUILDING, KIND_TENANCY, KIND_TENANT = "E", "B", "T", "N"
SEP = "\x00"


class IndexInvalid(Exception):
    """Why the index on disk cannot be used (it is then rebuilt from the log)."""


def event_text(event_id: str) -> str:
    return KIND_EVENT + SEP + event_id


def building_text(building_id: str) -> str:
    return KIND_BUILDING + SEP + building_id


def tenancy_text(tenant_id: str, building_id: str) -> str:
    return KIND_TENANCY + SEP + tenant_id + SEP + building_id


def tenant_text(tenant_id: str) -> str:
    return KIND_TENANT + SEP + tenant_id


def keys_of(texts: list[bytes]) -> np.ndarray:
    """The 64-bit key of each entry text: the first 8 bytes of its BLAKE2b digest."""
    if not texts:
        return np.zeros(0, dtype="<u8")
    blob = b"".join(hashlib.blake2b(t, digest_size=8).digest() for t in texts)
    return np.frombuffer(blob, dtype="<u8")


def entries_of(frame: pl.DataFrame) -> tuple[list[str], np.ndarray]:
    """The entry texts of events (columns seq, event_id, type, building_id, tenant_id), with
    the seq of the event stating each."""
    moved_in = pl.col("type") == "TenantMovedIn"
    parts = frame.lazy().select(
        pl.concat_str(pl.lit(KIND_EVENT + SEP), pl.col("event_id")).alias("text"), "seq"
    )
    buildings = (
        frame.lazy()
        .filter(pl.col("type") == "BuildingRegistered")
        .select(pl.concat_str(pl.lit(KIND_BUILDING + SEP), "building_id").alias("text"), "seq")
    )
    tenancies = (
        frame.lazy()
        .filter(moved_in)
        .select(
            pl.concat_str(
                pl.lit(KIND_TENANCY + SEP), "tenant_id", pl.lit(SEP), "building_id"
            ).alias("text"),
            "seq",
        )
    )
    tenants = (
        frame.lazy()
        .filter(moved_in)
        .select(pl.concat_str(pl.lit(KIND_TENANT + SEP), "tenant_id").alias("text"), "seq")
    )
    out = pl.concat([parts, buildings, tenancies, tenants]).collect()
    return out["text"].to_list(), out["seq"].to_numpy().astype("<i8")


# --- runs ------------------------------------------------------------------------------------


@dataclass
class RunInfo:
    """A run as the manifest records it."""

    name: str
    entries: int
    text_bytes: int
    digest: str
    stat: list[int] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entries": self.entries,
            "text_bytes": self.text_bytes,
            "digest": self.digest,
            "stat": self.stat,
        }


def _stat_of(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class Run:
    """A run's arrays, memory-mapped: keys (sorted), seqs, text starts and ends, text."""

    def __init__(self, path: Path, info: RunInfo):
        n = info.entries
        mm = np.memmap(path, dtype=np.uint8, mode="r")
        if mm.size != 32 * n + info.text_bytes:
            raise IndexInvalid(f"{path.name}: {mm.size} bytes, expected {32 * n + info.text_bytes}")
        self.keys = mm[: 8 * n].view("<u8")
        self.seqs = mm[8 * n : 16 * n].view("<i8")
        self.starts = mm[16 * n : 24 * n].view("<i8")
        self.ends = mm[24 * n : 32 * n].view("<i8")
        self.text = mm[32 * n :]

    def find(self, keys: np.ndarray, texts: list[bytes], found: dict[int, int]) -> None:
        """For each query i not yet in `found`, the seq of an entry with exactly its text.

        `keys` are sorted: numpy's binary search then starts each search where the last one
        ended, so the run's pages are walked in order rather than at random."""
        own = self.keys.view(np.ndarray)
        n = own.size
        if not n:
            return
        lo = np.searchsorted(own, keys, side="left")
        inside = lo < n
        hit = np.zeros(keys.size, dtype=bool)
        hit[inside] = own[lo[inside]] == keys[inside]
        rows = np.flatnonzero(hit)
        if not rows.size:
            return
        starts = self.starts.view(np.ndarray)
        ends = self.ends.view(np.ndarray)
        seqs = self.seqs.view(np.ndarray)
        text = memoryview(self.text.view(np.ndarray))
        for i, j in zip(rows.tolist(), lo[rows].tolist(), strict=True):
            if i in found:
                continue
            want = keys[i]
            while j < n and own[j] == want:  # more than one entry per key: a 64-bit collision
                if text[starts[j] : ends[j]] == texts[i]:
                    found[i] = int(seqs[j])
                    break
                j += 1


def _run_bytes(
    keys: np.ndarray, seqs: np.ndarray, starts: np.ndarray, ends: np.ndarray, text: bytes
) -> bytes:
    order = np.argsort(keys, kind="stable")
    return b"".join(
        (
            keys[order].astype("<u8").tobytes(),
            seqs[order].astype("<i8").tobytes(),
            starts[order].astype("<i8").tobytes(),
            ends[order].astype("<i8").tobytes(),
            text,
        )
    )


def _encode(texts: list[str], seqs: np.ndarray) -> tuple[bytes, int, int]:
    enc = [t.encode("utf-8") for t in texts]
    lens = np.fromiter(map(len, enc), dtype=np.int64, count=len(enc))
    ends = np.cumsum(lens, dtype=np.int64)
    text = b"".join(enc)
    return _run_bytes(keys_of(enc), seqs, ends - lens, ends, text), len(enc), len(text)


# --- the index -------------------------------------------------------------------------------


def _head_record(head: Head) -> dict[str, Any]:
    return {"seq": head.seq, "hash": head.hash, "segment": head.segment, "offset": head.offset}


def _checksum(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass
class AppendIndex:
    """The index of one log folder, as loaded (and checked) from its manifest."""

    folder: Path
    head: dict[str, Any] = field(default_factory=lambda: _head_record(Head()))
    segments: dict[str, list[int]] = field(default_factory=dict)  # name → [first, last] seq
    runs: list[RunInfo] = field(default_factory=list)
    counter: int = 0
    restated: bool = False  # a run's stat changed but its bytes did not: rewrite the manifest

    # --- loading and checking ---

    @classmethod
    def load(cls, log_folder: Path, *, deep: bool = False) -> AppendIndex:
        """The index on disk, checked: manifest checksum and format, and each run's sha256
        when its stat differs from the recorded one (`deep`: always). `IndexInvalid` says why
        it cannot be used."""
        folder = log_folder / FOLDER
        path = folder / MANIFEST
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise IndexInvalid("missing") from None
        except OSError as err:
            raise IndexInvalid(f"unreadable ({err.strerror})") from None
        try:
            obj = json.loads(raw)
            body, check = obj["body"], obj["check"]
        except (ValueError, TypeError, KeyError, RecursionError):
            raise IndexInvalid("manifest garbled") from None
        if not isinstance(body, dict) or _checksum(body) != check:
            raise IndexInvalid("manifest checksum mismatch")
        if body.get("format") != FORMAT:
            raise IndexInvalid(f"format {body.get('format')!r}, not {FORMAT!r}")
        try:
            index = cls(
                folder,
                head=dict(body["head"]),
                segments={k: [int(a), int(b)] for k, (a, b) in body["segments"].items()},
                runs=[RunInfo(**r) for r in body["runs"]],
                counter=int(body["counter"]),
            )
        except (KeyError, TypeError, ValueError):
            raise IndexInvalid("manifest garbled") from None
        for run in index.runs:
            rpath = folder / run.name
            try:
                stat = _stat_of(rpath)
            except OSError:
                raise IndexInvalid(f"{run.name} missing") from None
            if deep or stat != run.stat:
                if stat[0] != 32 * run.entries + run.text_bytes:
                    raise IndexInvalid(f"{run.name}: size changed")
                if _file_digest(rpath) != run.digest:
                    raise IndexInvalid(f"{run.name}: content changed (sha256 mismatch)")
                if stat != run.stat:
                    run.stat = stat
                    index.restated = True
        return index

    def position(self, log_folder: Path, head: Head) -> str:
        """How the index stands to HEAD: "current", "behind" (its position is an event of
        this chain before HEAD: catch up from it), or raises `IndexInvalid`."""
        mine = self.head
        if (mine["seq"], mine["hash"]) == (head.seq, head.hash):
            return "current"
        if mine["seq"] == 0 and mine["segment"] is None:
            return "behind"
        if mine["seq"] > head.seq or not isinstance(mine["segment"], str):
            raise IndexInvalid(f"built at seq {mine['seq']}, after HEAD's {head.seq}")
        try:
            line = last_line(log_folder, mine["segment"], int(mine["offset"]))
        except (LogError, OSError, ValueError):  # the position is not in this log
            line = None
        if line is None or line_mark(line) != (mine["seq"], mine["hash"]):
            raise IndexInvalid(f"built at seq {mine['seq']}, an event not in this log's chain")
        return "behind"

    # --- questions ---

    def find(self, texts: Iterable[str]) -> dict[str, int]:
        """The seq stating each entry text that the index holds (texts it lacks are absent)."""
        wanted = sorted(set(texts))
        if not wanted or not self.runs:
            return {}
        enc = [t.encode("utf-8") for t in wanted]
        keys = keys_of(enc)
        order = np.argsort(keys, kind="stable").tolist()
        wanted, enc, keys = [wanted[i] for i in order], [enc[i] for i in order], keys[order]
        found: dict[int, int] = {}
        for info in reversed(self.runs):
            Run(self.folder / info.name, info).find(keys, enc, found)
            if len(found) == len(wanted):
                break
        return {wanted[i]: seq for i, seq in found.items()}

    def segment_of_seq(self, seq: int) -> tuple[str, int] | None:
        """(segment, first seq of it) of the segment holding `seq`."""
        for name, (first, last) in self.segments.items():
            if first <= seq <= last:
                return name, first
        return None

    # --- writing ---

    @classmethod
    def empty(cls, log_folder: Path) -> AppendIndex:
        return cls(log_folder / FOLDER)

    def add(self, frame: pl.DataFrame, segments: dict[str, list[int]]) -> None:
        """Index events (a frame of seq, event_id, type, building_id, tenant_id) as a new run,
        then merge runs as the size rule asks. Nothing is acknowledged until `commit`."""
        for name, (first, last) in segments.items():
            have = self.segments.get(name)
            self.segments[name] = [have[0] if have else first, last]
        texts, seqs = entries_of(frame)
        if texts:
            data, n, tb = _encode(texts, seqs)
            self._write_run(data, n, tb)
        while (
            len(self.runs) >= 2
            and self.runs[-2].entries <= 2 * self.runs[-1].entries
            and self.runs[-2].entries + self.runs[-1].entries <= MAX_RUN
        ):
            self._merge_last_two()

    def _write_run(self, data: bytes, entries: int, text_bytes: int) -> None:
        self.folder.mkdir(exist_ok=True)
        self.counter += 1
        name = f"run-{self.counter:06d}.bin"
        path = self.folder / name
        write_replacing(path, data)
        self.runs.append(
            RunInfo(name, entries, text_bytes, hashlib.sha256(data).hexdigest(), _stat_of(path))
        )

    def _merge_last_two(self) -> None:
        a_info, b_info = self.runs[-2], self.runs[-1]
        a = Run(self.folder / a_info.name, a_info)
        b = Run(self.folder / b_info.name, b_info)
        shift = a_info.text_bytes
        data = _run_bytes(
            np.concatenate([a.keys, b.keys]),
            np.concatenate([a.seqs, b.seqs]),
            np.concatenate([a.starts, b.starts + shift]),
            np.concatenate([a.ends, b.ends + shift]),
            a.text.tobytes() + b.text.tobytes(),
        )
        del a, b
        self.runs = self.runs[:-2]
        self._write_run(
            data, a_info.entries + b_info.entries, a_info.text_bytes + b_info.text_bytes
        )

    def commit(self, head: Head) -> None:
        """Record the index as built at `head` (atomically), then remove files no longer used."""
        self.folder.mkdir(exist_ok=True)
        self.head = _head_record(head)
        body = {
            "format": FORMAT,
            "head": self.head,
            "segments": self.segments,
            "runs": [r.record() for r in self.runs],
            "counter": self.counter,
        }
        fsync_dir(self.folder)  # the runs' names are durable before the manifest names them
        data = json.dumps({"body": body, "check": _checksum(body)}, indent=1).encode() + b"\n"
        write_replacing(self.folder / MANIFEST, data)
        fsync_dir(self.folder)
        self.restated = False
        keep = {r.name for r in self.runs} | {MANIFEST}
        for path in self.folder.iterdir():
            if path.name not in keep:
                path.unlink(missing_ok=True)
