"""Saved preparations: what `prepare` derived from one cut-off of a log, kept beside its copies.

A preparation (`Prepared`) is a pure function of the events inside a cut-off, the city's key
industries and the code that prepares them. Preparing a large log is most of a replay (at
13,600 buildings and 6.8 million events, about three seconds of the five a replay and a panel
take), and a month's research replays the same log again and again, in notebooks, in each
report's cells and in every process. So a preparation of a large log is saved once, in
`.cache/prepared.<key>/` (one Parquet file per frame and `prepared.json`), and read back by the
next process that asks for the same cut-off.

The key is a hash of everything the preparation depends on:

- the cut-off: HEAD's `seq` and chain hash (the hash of the last event covers every event
  before it) and the `recorded_by` or `upto_seq` asked for;
- the city's profile (its digest: the industry codes and the key industries);
- the code: the bytes of the modules that read and prepare events (`log`, `replay`, `city`,
  `core`), the Polars version and the flat frame's layout. Any change to them is another key;
  a preparation is never read by code that did not write it.

A saved file is checked like a Parquet copy of a segment: its bytes hash to the digest
recorded in `prepared.json`, checked once and then trusted while the file's stat (device,
inode, size, mtime, ctime) is the recorded one; a folder copied elsewhere is hashed once more.
A preparation that fails its check, or cannot be read, is removed and prepared again; one that
cannot be written (a read-only folder, no space) is not kept. Only the `KEEP` most recently
used preparations of a log are kept.

A replay served by a saved preparation reads no segment, yet still notices a damaged log: the
segment files (with their stat) that were checked when it was saved are recorded with it, and
when the files differ (one removed, compressed, the folder copied) the segments are checked
as a replay checks them (`EventLog.scan`) before the preparation is used, and recorded again.

Logs below `Log.save_from_events` events are not saved: they prepare in a fraction of a
second.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Any

import polars as pl

from louyu_research.log.cache import (
    FRAME_TAG,
    STALE_TMP_SECONDS,
    DigestingWriter,
    digest,
    file_digest,
    file_stat,
    write_best_effort,
)

from .log import Prepared

__all__ = ["KEEP", "load", "preparation_key", "record_segments", "save"]

#: How many saved preparations a log keeps (the most recently used).
KEEP = 4
_PREFIX = "prepared."
_META = "prepared.json"
_FORMAT = 1
#: The subpackages whose code decides what a preparation holds.
_CODE = ("core", "city", "log", "replay")
_FRAMES = tuple(
    f.name for f in fields(Prepared) if f.name not in ("position", "key_industries", "_tax")
)


@functools.cache
def code_tag() -> str:
    """A hash of the code that prepares events: every file of the subpackages that read and
    prepare them (sources and the city's reference tables), the Polars version and the flat
    frame's layout."""
    root = Path(__file__).resolve().parents[1]  # the package: louyu_research/
    h = hashlib.sha256(f"{_FORMAT}\0{pl.__version__}\0{FRAME_TAG}\0".encode())
    for sub in _CODE:
        for path in sorted((root / sub).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                h.update(path.relative_to(root).as_posix().encode() + b"\0")
                h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def preparation_key(cut_off: tuple[Any, ...], city_digest: str) -> str:
    """The name of a preparation: its cut-off (HEAD's seq and hash, `recorded_by`,
    `upto_seq`), the city's profile (its digest: industry codes and key industries) and
    `code_tag()`."""
    text = json.dumps([code_tag(), [str(v) for v in cut_off], city_digest])
    return digest(text.encode())


def load(cache: Path, key: str) -> tuple[Prepared, dict[str, list[int]]] | None:
    """The preparation saved under `key` in the log's `.cache/` folder, checked, or None; with
    the segment files (name → stat) that were last checked against the log with it."""
    folder = cache / f"{_PREFIX}{key}"
    meta = _read_meta(folder)
    if meta is None:
        # none saved, or damaged: a saved folder is renamed into place with its record, and the
        # record is rewritten atomically; removed, so that it is saved anew
        if folder.exists():
            _remove(folder)
        return None
    try:
        files: dict[str, dict[str, Any]] = meta["files"]
        if meta.get("key") != key or set(files) != set(_FRAMES):
            raise ValueError(folder)
        changed = False
        for name, record in files.items():
            path = folder / f"{name}.parquet"
            stat = file_stat(path)
            if stat != record["stat"]:
                if file_digest(path) != record["digest"]:
                    raise ValueError(path)
                record["stat"], changed = stat, True
        with ThreadPoolExecutor(4) as pool:  # small files read beside the large ones
            read = pool.map(pl.read_parquet, [folder / f"{name}.parquet" for name in _FRAMES])
            frames = dict(zip(_FRAMES, read, strict=True))
        prepared = Prepared(
            position=meta["position"],
            key_industries=tuple(meta["key_industries"]),
            **frames,
        )
    except (OSError, KeyError, TypeError, ValueError, pl.exceptions.PolarsError):
        _remove(folder)  # damaged or partly removed: prepared again and saved anew
        return None
    if changed:  # checked once more (a copied folder): trusted by stat from now on
        _write_meta(folder, meta)
    with contextlib.suppress(OSError):
        os.utime(folder / _META)  # most recently used
    segments = meta.get("segments")
    return prepared, segments if isinstance(segments, dict) else {}


def record_segments(cache: Path, key: str, segments: dict[str, list[int]]) -> None:
    """Record the segment files (name → stat) just checked against the log with the
    preparation saved under `key` (best effort)."""
    folder = cache / f"{_PREFIX}{key}"
    meta = _read_meta(folder)
    if meta is not None and meta.get("key") == key:
        meta["segments"] = segments
        _write_meta(folder, meta)


def save(
    cache: Path, key: str, prepared: Prepared, segments: dict[str, list[int]] | None = None
) -> None:
    """Save a preparation under `key` (best effort: never an error), keeping the `KEEP` most
    recently used ones. `segments`: the segment files (name → stat) checked against the log
    while it was prepared (`record_segments`)."""
    final = cache / f"{_PREFIX}{key}"
    if (final / _META).exists():
        return
    tmp = cache / f"{_PREFIX}{key}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        tmp.mkdir(parents=True)
        files = {}
        for name in _FRAMES:
            path = tmp / f"{name}.parquet"
            # a file's stat outlives its folder's rename: recorded here, it holds in `final`
            files[name] = {"digest": _write(getattr(prepared, name), path), "stat": file_stat(path)}
        meta = {
            "key": key,
            "position": prepared.position,
            "key_industries": list(prepared.key_industries),
            "files": files,
            "segments": segments or {},
        }
        (tmp / _META).write_bytes(_encode_meta(meta))
        try:
            os.rename(tmp, final)  # whole, with its record: a reader never sees it half made
        except OSError:  # another process saved it meanwhile (or left a broken one)
            _remove(tmp)
            return
    except OSError:
        _remove(tmp)
        return
    _prune(cache)


def _write(frame: pl.DataFrame, path: Path) -> str:
    """Write a frame as Parquet (lz4: fast rather than small), hashing the bytes as they are
    written (a preparation of a large log is gigabytes: never held twice); returns the digest."""
    with open(path, "wb") as f:
        sink = DigestingWriter(f)
        frame.write_parquet(sink, compression="lz4", statistics=False)
    return sink.digest()


def _read_meta(folder: Path) -> dict[str, Any] | None:
    """A preparation's record (`prepared.json`), or None when it is missing or unreadable."""
    try:
        meta = json.loads((folder / _META).read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return meta if isinstance(meta, dict) else None


def _encode_meta(meta: dict[str, Any]) -> bytes:
    return json.dumps(meta, ensure_ascii=False).encode()


def _write_meta(folder: Path, meta: dict[str, Any]) -> None:
    write_best_effort(folder / _META, _encode_meta(meta))


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _prune(cache: Path) -> None:
    """Keep the `KEEP` most recently used preparations; remove temporary folders left by a
    killed process (an hour old: a younger one may be being written right now)."""
    now = time.time()
    kept: list[tuple[float, Path]] = []
    try:
        for path in cache.glob(f"{_PREFIX}*"):
            if path.name.endswith(".tmp"):
                if now - path.stat().st_mtime >= STALE_TMP_SECONDS:
                    _remove(path)
                continue
            try:
                kept.append(((path / _META).stat().st_mtime_ns, path))
            except OSError:  # no record: damaged (saved folders arrive with theirs)
                _remove(path)
    except OSError:
        return
    for _, path in sorted(kept, reverse=True)[KEEP:]:
        _remove(path)
