"""The append-only event log: append (atomic batches), verify (hash chain), read (columnar).

Layout of a log folder (`events/` by default)::

    log.json            format and options, written once by `init`
    HEAD                the acknowledged end of the log: seq, hash, recorded_at, segment, offset
    2016-04.jsonl       one segment per UTC month of `recorded_at`, one canonical event a line
    2016-03.jsonl.gz    a sealed segment (every one but the newest), optionally gzip-compressed
    .lock  .cache/      writer lock; disposable Parquet copies of sealed segments (`cache`)
    .index/             the append index: what a batch is checked against (`index`)

Why a HEAD file: a batch is written to the segments first, fsynced, and only then HEAD is
replaced atomically (write, fsync, rename). Readers read no further than HEAD, so a writer
killed mid-batch leaves at most an *unacknowledged tail*: never half a batch in anyone's view.
The next writer (holding the lock, so the tail's writer is dead) or `louyu repair` cuts it off.
Nothing before HEAD is ever rewritten; sealing only changes how a segment is stored.

HEAD is never trusted alone (`chain`): every reader and writer first checks that the line
ending at HEAD's offset is the event HEAD names; a mismatch is a one-line error pointing to
`louyu repair`, which locates the acknowledged event by its seq and hash in the chain itself,
cuts only what lies after it, and rebuilds a missing or garbled HEAD from the chain.

What the log accepts is strict (`catalogue`): a batch with any bad line appends nothing, and
every problem is reported on one bounded line naming the input line and the field. An
operating-system fault (no space, read-only, permission) is one line naming the path and
what to do (`faults`); a failed append is rolled back to HEAD, so nothing is lost or half done.
"""

from __future__ import annotations

import difflib
import functools
import gc
import gzip
import io
import json
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from filelock import FileLock, Timeout

from louyu_research.city.profile import City, default_city

from . import catalogue as ev
from . import index as ix
from .cache import Part, SegmentCache, digest
from .chain import (
    Head,
    HeadDamaged,
    check_head,
    fsync_dir,
    gunzip,
    head_bytes,
    read_head,
    read_segment,
    segment_names,
    write_replacing,
)
from .faults import LogDamaged, LogError, StorageFault, fault, storage
from .index import FOLDER as INDEX_FOLDER
from .index import AppendIndex, IndexInvalid

if TYPE_CHECKING:
    from .verify import Findings

__all__ = [
    "DEFAULT_LOG",
    "AppendRejected",
    "AppendResult",
    "EventLog",
    "Finding",
    "Head",
    "LogDamaged",
    "LogError",
    "Problem",
    "StorageFault",
    "segment_of",
]

FORMAT = "louyu-log/1"
DEFAULT_LOG = Path("events")
#: What the append index reads of an event.
_INDEX_SCHEMA = {
    "seq": pl.Int64(),
    "event_id": pl.String(),
    "type": pl.String(),
    "building_id": pl.String(),
    "tenant_id": pl.String(),
}
_INDEX_COLUMNS = list(_INDEX_SCHEMA)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a draft: its input line (1-based), the field, and why."""

    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "batch"
        return f"{where}: {ev.one_line(self.field, ev.FIELD_CHARS)}: {ev.one_line(self.message)}"


class AppendRejected(LogError):
    """A batch that fails appends nothing; every problem is listed."""

    def __init__(self, problems: list[Problem]):
        Exception.__init__(self, "\n".join(map(str, problems)))
        self.problems = problems


@dataclass(frozen=True)
class Finding:
    """One problem `verify` found: where it is (segment, line, seq) and what it is."""

    segment: str
    line: int | None
    seq: int | None
    problem: str

    def __str__(self) -> str:
        parts = [self.segment]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.seq is not None:
            parts.append(f"seq {self.seq}")
        return f"{':'.join(parts)}: {ev.one_line(self.problem, 400)}"


@dataclass
class AppendResult:
    appended: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # event_ids already in the log, identical
    head: Head = field(default_factory=Head)
    warnings: list[str] = field(default_factory=list)  # after the batch was acknowledged
    lines: list[tuple[str, bytes]] = field(default_factory=list, repr=False)  # (segment, line)

    def warn(self, err: OSError, path: Path, doing: str, outcome: str) -> None:
        """Note a storage fault met after the batch was acknowledged (`faults.fault`'s line)."""
        self.warnings.append(str(fault(err, path, doing, outcome)))


class Repaired(list[tuple[str, int]]):
    """What `repair` cut: (segment, bytes) per segment; `head` says how HEAD was rewritten."""

    head: str | None = None
    index: str | None = None


@functools.lru_cache(maxsize=1 << 12)
def segment_of(recorded_at: datetime) -> str:
    """Segment name of an event: the UTC month of its `recorded_at` (instants never go back).
    Memoised: a batch's events share a few hundred instants."""
    utc = recorded_at.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}.jsonl"


def _write_atomic(path: Path, data: bytes) -> None:
    """Write, fsync, rename over `path`, fsync the folder."""
    write_replacing(path, data)
    fsync_dir(path.parent)


def _quietly(fn: Any, *args: Any, **kwargs: Any) -> None:
    """Best-effort clean-up after a fault: its own failure must not hide the first error."""
    with suppress(OSError):
        fn(*args, **kwargs)


@dataclass
class _Sealed:
    """The segments a batch seals, for their Parquet copies (`EventLog._copy_sealed`).

    A backfill batch seals a segment per month it spans. Those it writes whole (every one
    after HEAD's but its last) are parsed together by a worker thread, in one read of their
    lines one after the other (a parse has a fixed cost, a few times a month's worth of
    lines), and cut into one encoded copy each, while the batch is written and indexed (the
    parser and the encoder run outside the GIL). The copies are written once HEAD
    acknowledges the batch."""

    names: list[str] = field(default_factory=list)  # every segment sealed, in order
    content: dict[str, bytes] = field(default_factory=dict)  # those written whole: their lines
    copies: Future[list[_Copy]] | None = None  # theirs, encoded by the worker


@dataclass(frozen=True)
class _Copy:
    """A sealed segment's Parquet copy, encoded: its content digest, seqs and bytes."""

    name: str
    source: str
    part: Part
    data: bytes


def _encode_copies(segments: dict[str, bytes], log: Path) -> list[_Copy]:
    """Segments (name → lines) that follow each other, parsed at once and cut into a copy each."""
    whole = _parse_ndjson(b"".join(segments.values()), log)
    out, start = [], 0
    for name, content in segments.items():
        rows = content.count(b"\n")
        frame = whole.slice(start, rows)
        start += rows
        out.append(_Copy(name, digest(content), Part.of(frame), SegmentCache.encode(frame)))
    return out


class EventLog:
    """An event log folder. Reading needs no lock; writing takes `.lock`."""

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_LOG, *, city: City | None = None):
        self.path = Path(path)
        meta = self.path / "log.json"
        try:
            text = meta.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise LogError(
                f"{self.path}: not an event log (no log.json); create one with `louyu init {self.path}`"
            ) from None
        except OSError as err:
            raise fault(err, meta, "read the log's options") from None
        try:
            self.options = json.loads(text)
            fmt = self.options.get("format")
        except (ValueError, AttributeError, RecursionError):
            raise LogDamaged(
                f"{meta}: garbled (not a JSON object); restore it: {json.dumps({'format': FORMAT})}"
            ) from None
        if fmt != FORMAT:
            raise LogError(f"{meta}: unknown format {ev.shown(fmt)}, expected {FORMAT!r}")
        self._cache = SegmentCache(self.path)
        self.city = self._city(city)

    def _city(self, given: City | None) -> City:
        """The city the log is about: `given` (checked against the city the log records), or
        the recorded one when it is the shipped profile; a log without a record is Jiaxing's."""
        recorded = self.options.get("city")
        key = recorded.get("key") if isinstance(recorded, dict) else None
        if given is not None:
            if key is not None and given.key != key:
                raise LogError(
                    f"{self.path}: this log is about city {key!r}, not {given.key!r} (--city)"
                )
            return given
        shipped = default_city()
        if key is not None and key != shipped.key:
            raise LogError(
                f"{self.path}: this log is about city {key!r}: pass its profile folder (--city DIR)"
            )
        return shipped

    # --- creation ------------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        path: str | os.PathLike[str] = DEFAULT_LOG,
        *,
        compress_sealed: bool = True,
        city: City | None = None,
    ) -> EventLog:
        """Create an empty log about `city` (default: the shipped profile), recorded with its
        digest in `log.json`; refuses a folder that already holds a log."""
        p = Path(path)
        with storage(p, "create the log folder"):
            p.mkdir(parents=True, exist_ok=True)
        if (p / "log.json").exists():
            raise LogError(f"{p}: already an event log")
        options = {
            "format": FORMAT,
            "segments": "utc-month-of-recorded_at",
            "compress_sealed": compress_sealed,
            "city": (city or default_city()).as_record(),
        }
        with storage(p, "create the log"):
            _write_atomic(p / "HEAD", head_bytes(Head()))
            _write_atomic(
                p / "log.json", (json.dumps(options, indent=2, ensure_ascii=False) + "\n").encode()
            )
            AppendIndex.empty(p).commit(Head())  # an empty log's index: nothing to rebuild
        return cls(p, city=city)

    # --- HEAD and segments -----------------------------------------------------------------------

    @property
    def head(self) -> Head:
        """HEAD as written (shape checked; `checked_head` also checks it against the chain)."""
        return read_head(self.path)

    def checked_head(self) -> Head:
        """HEAD, after checking that the line ending at its offset is the event it names."""
        head = read_head(self.path)
        check_head(self.path, head)
        return head

    def segments(self) -> list[str]:
        """Segment names (without `.gz`) in order."""
        return segment_names(self.path)

    def _segment_bytes(self, name: str) -> bytes:
        return read_segment(self.path, name)

    def _acknowledged_segments(self, head: Head) -> list[str]:
        if head.segment is None:
            return []
        return [s for s in self.segments() if s <= head.segment]

    # --- reading ------------------------------------------------------------------------------------

    def iter_records(self) -> Iterator[dict[str, Any]]:
        """Every acknowledged event as a dict, in `seq` order (plain Python: for tools and tests)."""
        head = self.checked_head()
        for name in self._acknowledged_segments(head):
            data = self._segment_bytes(name)
            if name == head.segment:
                data = data[: head.offset]
            for raw in data.splitlines():
                yield json.loads(raw)

    def scan(
        self,
        *,
        upto_seq: int | None = None,
        recorded_by: datetime | None = None,
        head: Head | None = None,
    ) -> pl.LazyFrame:
        """The acknowledged events as a flat, typed LazyFrame (`events.EVENT_FRAME_SCHEMA`).

        Sealed segments are read from their checked Parquet copies (`cache`); the head
        segment is parsed each time, up to HEAD's offset. `head`: a HEAD already read (and
        checked) by the caller, so that one snapshot serves several reads.
        """
        if head is None:
            head = self.checked_head()
        parts: list[pl.LazyFrame] = []
        expected = 1
        names = self._acknowledged_segments(head)
        sealed = self._sealed_frames([n for n in names if n != head.segment])
        for name in names:
            if name == head.segment:
                data = self._segment_bytes(name)[: head.offset]
                part = Part.of(_parse_ndjson(data, self.path / name))
            else:
                part = sealed[name]
            if part.first and part.first != expected:
                # the segments must follow each other: a sealed segment removed, or one cut at
                # a line boundary, would otherwise go unnoticed by a reader
                raise LogDamaged(
                    f"{self.path / name}: starts at seq {part.first}, but the segments before it "
                    f"end at seq {expected - 1}: events are missing; run `louyu verify`"
                )
            expected = part.last + 1 if part.first else expected
            parts.append(part.frame)
        if expected - 1 != head.seq:
            raise LogDamaged(
                f"{self.path / 'HEAD'}: acknowledges seq {head.seq}, but the segments hold events "
                f"up to seq {expected - 1}; run `louyu verify`"
            )
        if not parts:
            return ev.empty_event_frame().lazy()
        lf = pl.concat(parts, how="vertical")
        if upto_seq is not None:
            lf = lf.filter(pl.col("seq") <= upto_seq)
        if recorded_by is not None:
            lf = lf.filter(pl.col("recorded_at") <= recorded_by.astimezone(UTC))
        return lf

    def read(self, **kwargs: Any) -> pl.DataFrame:
        return self.scan(**kwargs).collect()

    def _sealed_frames(self, names: list[str]) -> dict[str, Part]:
        """`_sealed_frame` of each name, side by side on every core: a log without copies (a
        fresh clone) parses its sealed segments in parallel (DuckDB and Polars release the
        GIL); with copies, each is a stat and a small read."""
        if len(names) < 2:
            return {n: self._sealed_frame(n) for n in names}
        with ThreadPoolExecutor(min(len(names), os.cpu_count() or 1)) as pool:
            return dict(zip(names, pool.map(self._sealed_frame, names), strict=True))

    def _sealed_frame(self, name: str) -> Part:
        """A sealed segment as a frame: its checked Parquet copy, or parsed (and copied) now.

        The copy is keyed by the segment's content (its lines, uncompressed), so that
        compressing a sealed segment leaves its copy in use."""
        for _ in range(3):  # the file may be compressed (renamed) between looking and reading
            stored = self.path / name
            if not stored.exists():
                stored = self.path / (name + ".gz")
            try:
                source, content = self._cache.source_digest(
                    stored, functools.partial(_content, stored)
                )
            except FileNotFoundError:
                continue
            except OSError as err:
                raise fault(err, stored, "read a segment") from None
            cached = self._cache.load(name, source)
            if cached is not None:
                return cached
            if content is None:
                try:
                    content = _content(stored)
                except FileNotFoundError:
                    continue
                except OSError as err:
                    raise fault(err, stored, "read a segment") from None
                if digest(content) != source:
                    continue  # replaced meanwhile: look again
            return self._cache.store(name, source, _parse_ndjson(content, stored))
        raise LogDamaged(f"{self.path / name}: segment missing; restore it from a backup")

    def position(self, seq: int | None = None) -> dict[str, Any]:
        """`seq`, `recorded_at` (RFC 3339, UTC) and chain `hash` of an event (default: HEAD).

        The one form of a log position that reports and manifests pin, whichever way it is
        looked up (HEAD or the columnar frame).
        """
        head = self.checked_head()
        if seq == 0 or head.recorded_at is None:
            return {"seq": 0, "recorded_at": None, "hash": ev.GENESIS_HASH}
        if seq is None or seq == head.seq:
            at = datetime.fromisoformat(head.recorded_at)
            return {"seq": head.seq, "recorded_at": _utc(at), "hash": head.hash}
        row = (
            self.scan(head=head)
            .filter(pl.col("seq") == seq)
            .select("seq", "recorded_at", "hash")
            .collect()
        )
        if row.is_empty():
            raise LogError(f"seq {seq} is not in the log (head is {head.seq})")
        r = row.row(0, named=True)
        return {"seq": r["seq"], "recorded_at": _utc(r["recorded_at"]), "hash": r["hash"]}

    # --- appending ---------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the writer lock; a lock that cannot be taken is one line naming `.lock`."""
        path = self.path / ".lock"
        lock = FileLock(str(path))
        try:
            lock.acquire()
        except OSError as err:
            raise fault(err, path, "take the writer lock", "nothing was changed") from None
        try:
            yield
        finally:
            _quietly(lock.release)

    @staticmethod
    @contextmanager
    def _acyclic_batch() -> Iterator[None]:
        """Pause Python's cycle collector while a batch is prepared and written. A batch makes
        a few objects per draft (the validated model, its record, its line), none in a cycle,
        all alive until the batch is written: the collector would traverse them again and again
        as they accumulate (most of a 100,000-event append's time) and free nothing. Its state
        is restored afterwards, whatever happens."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            if enabled:
                gc.enable()

    def append(
        self,
        drafts: Iterable[str | bytes | dict[str, Any]],
        *,
        expect_seq: int | None = None,
        now: datetime | None = None,
    ) -> AppendResult:
        """Append a batch of drafts atomically: all are valid and written, or nothing changes.

        A draft identical to an event already in the log (same `event_id` and content) is a
        no-op; the same `event_id` with other content is a problem. `expect_seq` is the head
        seq the writer last saw (optimistic concurrency): if the log moved, nothing is written.
        """
        with self._acyclic_batch():
            return self._append(drafts, expect_seq, now)

    def _append(
        self,
        drafts: Iterable[str | bytes | dict[str, Any]],
        expect_seq: int | None,
        now: datetime | None,
    ) -> AppendResult:
        lines = [
            d if isinstance(d, str | bytes) else json.dumps(d, ensure_ascii=False) for d in drafts
        ]
        with self._locked():
            head = self.checked_head()
            self._refuse_stale_head(head)
            if expect_seq is not None and expect_seq != head.seq:
                raise AppendRejected(
                    [
                        Problem(
                            None,
                            "expect_seq",
                            f"the log moved: expected head seq {expect_seq}, it is {head.seq}",
                        )
                    ]
                )
            with storage(
                self.path / INDEX_FOLDER, "prepare the append index", "nothing was appended"
            ):
                index, _ = self._append_index(head)
            try:
                result = self._prepare(lines, head, now or datetime.now(UTC), index)
            except IndexInvalid:  # the index points where the log does not agree: rebuild it
                with storage(
                    self.path / INDEX_FOLDER, "rebuild the append index", "nothing was appended"
                ):
                    index = self._rebuild_index(head)
                result = self._prepare(lines, head, now or datetime.now(UTC), index)
            if result.appended:
                # only now, with a batch to write: a rejected batch leaves every byte as it was
                self._cut_unacknowledged_tail(head, warn=True)
                sealed = _Sealed()
                with ThreadPoolExecutor(1) as worker:  # the sealed segments' copies (`_Sealed`)
                    result.head = self._write(result, head, sealed, worker)
                    try:
                        self._index_batch(result, index)
                    except OSError as err:
                        result.warn(
                            err,
                            self.path / INDEX_FOLDER,
                            "update the append index",
                            "the batch was appended; the next append catches the index up",
                        )
                    # sealed now: their columnar copies are written with them, so no reader
                    # parses them again
                    self._copy_sealed(sealed)
            else:
                result.head = head
            return result

    def _prepare(
        self, lines: list[str | bytes], head: Head, now: datetime, index: AppendIndex
    ) -> AppendResult:
        problems: list[Problem] = []
        drafts: list[tuple[int, Any]] = []
        parse = ev.parse_draft
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                drafts.append((n, parse(line)))
            except ev.InvalidEvent as err:
                problems.extend(Problem(n, f, m) for f, m in err.pairs)

        known = self._known(drafts, index)
        prev_seq, prev_hash = head.seq, head.hash
        prev_time = datetime.fromisoformat(head.recorded_at) if head.recorded_at else None
        latest = datetime.now(UTC) + ev.FUTURE_TOLERANCE
        result = AppendResult()
        appended, stored_lines = result.appended, result.lines
        batch: dict[str, dict[str, Any]] = {}  # event_id → its record, in this batch
        dump, seal, check, learn = ev.to_record, ev.sealed_bytes, known.check, known.learn
        tenancy_events, tenancies = ev.TENANCY_EVENTS, known.tenancies
        # the instant given by the last draft that passed the clock checks, and its segment: the
        # next draft giving the same instant passes them too (a batch's drafts share a few
        # hundred instants, each validated once into one object)
        passed: datetime | None = None
        segment = ""
        for n, draft in drafts:
            record = dump(draft)
            event_id = draft.event_id
            if event_id in batch:
                if ev.content_key(batch[event_id]) != ev.content_key(record):
                    problems.append(
                        Problem(
                            n,
                            "event_id",
                            f"{event_id!r} appears twice in the batch with other content",
                        )
                    )
                continue
            if event_id in known.event_ids:
                stored = known.event_ids[event_id]
                same = stored["key"] == ev.content_key(record) and (
                    draft.recorded_at is None or draft.recorded_at == stored["recorded_at"]
                )
                if same:
                    result.unchanged.append(event_id)
                else:
                    problems.append(
                        Problem(
                            n,
                            "event_id",
                            f"{event_id!r} is already in the log (seq {stored['seq']}) with other content",
                        )
                    )
                continue
            batch[event_id] = record
            type_, data = draft.type, draft.data
            if type_ not in tenancy_events:
                problems.extend(Problem(n, f, m) for f, m in check(type_, data, batch))
                learn(type_, data)
            elif (data.tenant_id, data.building_id) not in tenancies:  # most of a batch
                problems.extend(Problem(n, f, m) for f, m in check(type_, data, batch))
            given = draft.recorded_at
            if given is None or given is not passed:
                recorded, late = self._clock(n, given, now, prev_time, latest, problems)
                prev_time = max(prev_time, recorded) if prev_time else recorded
                passed = None if late else given
                segment = segment_of(recorded)
            else:
                recorded = given
            if problems:
                continue
            prev_seq += 1
            record["seq"] = prev_seq
            if recorded is not given:  # else the record holds it, written alike
                record["recorded_at"] = _rfc3339(recorded)
            prev_hash, line = seal(prev_hash, record)
            record["hash"] = prev_hash
            appended.append(record)
            stored_lines.append((segment, line))
        if problems:
            raise AppendRejected(problems)
        return result

    @staticmethod
    def _clock(
        n: int,
        given: datetime | None,
        now: datetime,
        prev_time: datetime | None,
        latest: datetime,
        problems: list[Problem],
    ) -> tuple[datetime, bool]:
        """The instant a draft is recorded at, and whether it failed a clock check (each
        failure added to `problems`): not in the future beyond the tolerance, never before the
        previous event's."""
        recorded = given or now
        if given is None and prev_time is not None and now < prev_time <= latest:
            # the previous event was recorded on a clock slightly ahead of this one (within
            # the tolerance): record this one at that instant, never before it
            recorded = prev_time
        fld = "recorded_at" if given else "recorded_at (defaulted to now)"
        late = False
        if recorded > latest:
            late = True
            problems.append(
                Problem(
                    n,
                    fld,
                    f"{recorded.isoformat()} is in the future (this machine's clock says "
                    f"{_utc(latest - ev.FUTURE_TOLERANCE)}; {ev.FUTURE_TOLERANCE} of skew is allowed)",
                )
            )
        if prev_time is not None and recorded < prev_time:
            late = True
            problems.append(
                Problem(
                    n,
                    fld,
                    f"{recorded.isoformat()} is earlier than the previous event's {prev_time.isoformat()}",
                )
            )
        return recorded, late

    def _write(
        self, result: AppendResult, head: Head, sealed: _Sealed, worker: ThreadPoolExecutor
    ) -> Head:
        """Write the batch's lines, then HEAD (the acknowledgement); on a fault before HEAD,
        roll the segments back to what HEAD acknowledges and raise a one-line error.

        `sealed` learns the segments the batch seals, and `worker` encodes the copies of
        those the batch writes whole (`_Sealed`) meanwhile."""
        by_segment: dict[str, list[bytes]] = {}
        for seg, line in result.lines:
            by_segment.setdefault(seg, []).append(line)
        last_segment = next(reversed(by_segment))
        for seg, chunk in by_segment.items():
            if seg != last_segment and (head.segment is None or seg > head.segment):
                sealed.content[seg] = b"".join(chunk)
        if sealed.content:
            sealed.copies = worker.submit(_encode_copies, sealed.content, self.path)
        touched: list[tuple[Path, int | None]] = []
        new_file = acknowledged = False
        offset = 0
        doing = self.path
        head_path = self.path / "HEAD"
        tmp = self.path / "HEAD.tmp"
        try:
            if head.segment in by_segment and not (self.path / head.segment).exists():
                self._unseal(head.segment)
            for seg, chunk in by_segment.items():
                path = doing = self.path / seg
                try:
                    before: int | None = path.stat().st_size
                except FileNotFoundError:
                    before = None
                touched.append((path, before))
                new_file |= before is None
                data = sealed.content.get(seg) or b"".join(chunk)
                with open(path, "ab") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                    offset = f.tell()
            if new_file:
                doing = self.path
                fsync_dir(self.path)
            last = result.appended[-1]
            new_head = Head(last["seq"], last["hash"], last["recorded_at"], seg, offset)
            doing = head_path
            with open(tmp, "wb") as f:
                f.write(head_bytes(new_head))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, head_path)  # the acknowledgement
            acknowledged = True
            fsync_dir(self.path)
        except OSError as err:
            if acknowledged:
                result.warn(err, self.path, "sync the log folder", "the batch was appended")
                return new_head
            _quietly(tmp.unlink, missing_ok=True)
            for path, before in touched:
                if before is None:
                    _quietly(path.unlink, missing_ok=True)
                else:
                    _quietly(os.truncate, path, before)
            raise fault(err, doing, "append", "nothing was appended") from None
        if self.options.get("compress_sealed"):
            try:
                self._compress_sealed(new_head)
            except OSError as err:
                result.warn(
                    err,
                    self.path,
                    "compress a sealed segment",
                    "it stays plain; the batch was appended",
                )
        sealed.names = sorted(
            {n for n in [*by_segment, head.segment] if n is not None and n < new_head.segment}
        )
        return new_head

    def _copy_sealed(self, sealed: _Sealed) -> None:
        """Write the Parquet copies of the segments a batch sealed (best effort, as any copy):
        those the worker encoded, and each other one parsed alone, as a reader would (a
        segment the batch did not write whole, or should the worker's parse have failed)."""
        copies: dict[str, _Copy] = {}
        if sealed.copies is not None:
            with suppress(OSError, LogError):
                copies = {c.name: c for c in sealed.copies.result()}
        for name in sealed.names:
            with suppress(OSError, LogError):
                copy = copies.get(name)
                if copy is None:
                    self._sealed_frame(name)
                    continue
                stored = self.path / name
                if stored.exists():  # a compressed one was recorded when it was compressed
                    self._cache.know(stored, copy.source)
                if self._cache.load(name, copy.source) is None:
                    self._cache.keep(name, copy.source, copy.part, copy.data)

    def _unseal(self, name: str) -> None:
        """Make a compressed segment plain again so that it can grow (HEAD rebuilt into it)."""
        packed = self.path / (name + ".gz")
        _write_atomic(self.path / name, gunzip(packed.read_bytes(), packed))
        packed.unlink()

    def _compress_sealed(self, head: Head) -> None:
        """Store every plain segment older than HEAD's gzip-compressed (deterministic bytes)."""
        for name in self.segments():
            plain = self.path / name
            if name >= (head.segment or "") or not plain.exists():
                continue
            data = plain.read_bytes()
            buf = io.BytesIO()
            with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
                gz.write(data)
            packed = self.path / (name + ".gz")
            _write_atomic(packed, buf.getvalue())
            self._cache.know(packed, digest(data))  # the same content: its copy stays in use
            plain.unlink()

    # --- the append index ---------------------------------------------------------------------

    def _append_index(self, head: Head, *, deep: bool = False) -> tuple[AppendIndex, str | None]:
        """The append index at `head` (the lock held): loaded and checked, caught up when
        behind, rebuilt from the log when unusable; and why it was rebuilt (None if it was not)."""
        try:
            index = AppendIndex.load(self.path, deep=deep)
            if index.position(self.path, head) == "behind":
                self._catch_up(index, head)
            elif index.restated:
                index.commit(head)
            return index, None
        except IndexInvalid as err:
            reason = str(err)
        return self._rebuild_index(head), reason

    def _index_frame(self, frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
        return frame.lazy().select(_INDEX_COLUMNS).collect()

    def _catch_up(self, index: AppendIndex, head: Head) -> None:
        """Index the acknowledged events after the index's position (the gap a crash left)."""
        start_seg, start = index.head["segment"], int(index.head["offset"])
        for name in self._acknowledged_segments(head):
            if start_seg is not None and name < start_seg:
                continue
            data = self._segment_bytes(name)
            if name == head.segment:
                data = data[: head.offset]
            if name == start_seg:
                data = data[start:]
            frame = self._index_frame(_parse_ndjson(data, self.path / name))
            if frame.height:
                index.add(frame, {name: [int(frame["seq"][0]), int(frame["seq"][-1])]})
        index.commit(head)

    def _rebuild_index(self, head: Head) -> AppendIndex:
        """A new index of every acknowledged event, one segment at a time (memory: a segment)."""
        folder = self.path / INDEX_FOLDER
        if folder.is_dir():
            (folder / "MANIFEST.json").unlink(missing_ok=True)
            for path in folder.iterdir():
                path.unlink(missing_ok=True)
        elif folder.exists():
            folder.unlink()
        index = AppendIndex.empty(self.path)
        expected = 1
        for name in self._acknowledged_segments(head):
            if name == head.segment:
                part = Part.of(
                    _parse_ndjson(self._segment_bytes(name)[: head.offset], self.path / name)
                )
            else:
                part = self._sealed_frame(name)
            if part.first and part.first != expected:  # as `scan`: no segment may be missing
                raise LogDamaged(
                    f"{self.path / name}: starts at seq {part.first}, but the segments before it "
                    f"end at seq {expected - 1}: events are missing; run `louyu verify`"
                )
            if part.first:
                index.add(self._index_frame(part.frame), {name: [part.first, part.last]})
                expected = part.last + 1
        if expected - 1 != head.seq:
            raise LogDamaged(
                f"{self.path / 'HEAD'}: acknowledges seq {head.seq}, but the segments hold events "
                f"up to seq {expected - 1}; run `louyu verify`"
            )
        index.commit(head)
        return index

    def _stored_records(self, index: AppendIndex, seqs: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The stored events with these seqs, read from their lines (segments named by the
        index); an index that points elsewhere is `IndexInvalid`."""
        by_segment: dict[str, list[tuple[int, int]]] = {}
        for seq in seqs:
            where = index.segment_of_seq(seq)
            if where is None:
                raise IndexInvalid(f"seq {seq} is in no segment the index knows")
            by_segment.setdefault(where[0], []).append((seq, where[1]))
        out: dict[int, dict[str, Any]] = {}
        for name, wanted in by_segment.items():
            data = self._segment_bytes(name)
            ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
            for seq, first in wanted:
                k = seq - first
                if k >= len(ends):
                    raise IndexInvalid(f"seq {seq} is not in {name}")
                begin = int(ends[k - 1]) + 1 if k else 0
                record = json.loads(data[begin : int(ends[k])])
                if record.get("seq") != seq:
                    raise IndexInvalid(f"seq {seq} is not line {k + 1} of {name}")
                out[seq] = record
        return out

    def _known(self, drafts: list[tuple[int, Any]], index: AppendIndex) -> _Known:
        """What the log knows about the facts a batch mentions, asked of the index."""
        known = _Known(
            key_industries=self.city.key_industry_codes,
            streets=self.city.street_names,
            all_ids=set(),
        )
        if not index.runs:  # an index of no event (a new log): nothing to ask
            return known
        ids: dict[str, str] = {}
        texts: set[str] = set()
        for _, d in drafts:
            ids[ix.event_text(d.event_id)] = d.event_id
            data = d.data
            bid = getattr(data, "building_id", None)
            tid = getattr(data, "tenant_id", None)
            if bid is not None:
                texts.add(ix.building_text(bid))
            if tid is not None:
                texts.add(ix.tenant_text(tid))
                if bid is not None:
                    texts.add(ix.tenancy_text(tid, bid))
            if d.type == "EventRetracted":
                ids[ix.event_text(data.event_id)] = data.event_id
        found = index.find([*ids, *texts])
        hit_seqs: dict[int, str] = {}
        for text, seq in found.items():
            kind, _, rest = text.partition(ix.SEP)
            if kind == ix.KIND_EVENT:
                known.all_ids.add(rest)
                hit_seqs[seq] = rest
            elif kind == ix.KIND_BUILDING:
                known.buildings.add(rest)
            elif kind == ix.KIND_TENANT:
                known.tenants.add(rest)
            elif kind == ix.KIND_TENANCY:
                tenant, _, building = rest.partition(ix.SEP)
                known.tenancies.add((tenant, building))
        draft_ids = {d.event_id for _, d in drafts}
        wanted = [s for s, e in hit_seqs.items() if e in draft_ids]
        for seq, record in self._stored_records(index, wanted).items():
            if record.get("event_id") != hit_seqs[seq]:
                raise IndexInvalid(f"seq {seq} is not event {hit_seqs[seq]!r}")
            known.event_ids[record["event_id"]] = {
                "seq": seq,
                "key": ev.content_key(record),
                "recorded_at": datetime.fromisoformat(record["recorded_at"]),
            }
        return known

    def _index_batch(self, result: AppendResult, index: AppendIndex) -> None:
        """Add an acknowledged batch to the index (after HEAD: the index is never ahead)."""
        appended = result.appended
        datas = [r["data"] for r in appended]
        columns = {
            "seq": [r["seq"] for r in appended],
            "event_id": [r["event_id"] for r in appended],
            "type": [r["type"] for r in appended],
            "building_id": [d.get("building_id") for d in datas],
            "tenant_id": [d.get("tenant_id") for d in datas],
        }
        segments: dict[str, list[int]] = {}
        for (seg, _), seq in zip(result.lines, columns["seq"], strict=True):
            have = segments.get(seg)
            segments[seg] = [have[0] if have else seq, seq]
        index.add(pl.DataFrame(columns, schema=_INDEX_SCHEMA), segments)
        index.commit(result.head)

    # --- tail, repair, verify ---------------------------------------------------------------------

    def unacknowledged_tail(self, head: Head | None = None) -> list[tuple[str, int]]:
        """(segment, bytes) written after HEAD by a writer that never acknowledged them."""
        head = head or self.checked_head()
        tail = []
        for name in self.segments():
            if head.segment is not None and name < head.segment:
                continue
            size = len(self._segment_bytes(name))
            extra = size - head.offset if name == head.segment else size
            if extra > 0:
                tail.append((name, extra))
        return tail

    def _refuse_stale_head(self, head: Head) -> None:
        """A segment after HEAD's that was sealed means a later HEAD existed: this one is old
        (restored by hand?) and what follows it is acknowledged, not a dead writer's tail."""
        for name in self.segments():
            if (head.segment is None or name > head.segment) and (
                self.path / (name + ".gz")
            ).exists():
                raise HeadDamaged(
                    self.path / "HEAD",
                    f"older than the log: {name} was sealed after the event it acknowledges "
                    f"(seq {head.seq})",
                )

    def _cut_unacknowledged_tail(self, head: Head, *, warn: bool) -> list[tuple[str, int]]:
        tail = self.unacknowledged_tail(head)
        for name, nbytes in tail:
            path = self.path / name
            with storage(path, "cut an unacknowledged tail", "nothing else was changed"):
                if name == head.segment:
                    with open(path, "r+b") as f:
                        f.truncate(head.offset)
                        f.flush()
                        os.fsync(f.fileno())
                else:
                    path.unlink(missing_ok=True)
                    (self.path / (name + ".gz")).unlink(missing_ok=True)
            if warn:
                print(
                    f"louyu: dropped an unacknowledged tail of {nbytes} bytes in {name} (a writer died mid-batch)",
                    file=sys.stderr,
                )
        if tail:
            with storage(self.path, "sync the log folder"):
                fsync_dir(self.path)
        return tail

    def repair(self) -> Repaired:
        """Cut only what lies after the acknowledged event; rebuild a damaged HEAD from the chain.

        The acknowledged event is found by HEAD's seq and hash in the chain itself, never by
        HEAD's byte offset alone, so no event that HEAD acknowledges is ever removed. A HEAD that
        is missing, garbled, names no event of the chain or is older than the log is rebuilt at
        the chain's last complete event (a torn last line, what a crash leaves, is cut). Damage
        inside acknowledged events (a line that does not chain, a truncated sealed segment)
        cannot be repaired without losing events: `repair` refuses, changes nothing, and says so.
        """
        from .verify import plan_repair

        with self._locked():
            plan = plan_repair(self)
            done = Repaired()
            for name, keep, nbytes in plan.cuts:
                path = self.path / name
                with storage(path, "cut an unacknowledged tail", "nothing else was changed"):
                    if keep == 0 and name != plan.head.segment:
                        path.unlink(missing_ok=True)
                        (self.path / (name + ".gz")).unlink(missing_ok=True)
                    else:
                        if not path.exists():
                            self._unseal(name)
                        with open(path, "r+b") as f:
                            f.truncate(keep)
                            f.flush()
                            os.fsync(f.fileno())
                done.append((name, nbytes))
            if plan.rewrite_head is not None:
                with storage(self.path / "HEAD", "rewrite HEAD", "no event was changed"):
                    _write_atomic(self.path / "HEAD", head_bytes(plan.head))
                done.head = plan.rewrite_head
            elif done:
                with storage(self.path, "sync the log folder"):
                    fsync_dir(self.path)
            with storage(
                self.path / INDEX_FOLDER, "rebuild the append index", "the log is repaired"
            ):
                _, reason = self._append_index(self.checked_head(), deep=True)
            if reason is not None and reason != "missing":
                done.index = f"rebuilt the append index from the log ({reason})"
            return done

    def verify(self) -> Findings:
        """Check everything up to what HEAD acknowledged when verify started (a snapshot):
        canonical lines, schema, gapless seq, hash chain, clock, ids, references, HEAD itself.

        Returns the findings (a list; `.head` is the snapshot verified, `.notes` what was not
        checked and why, e.g. a writer appending meanwhile)."""
        from .verify import verify_log

        findings = verify_log(self)
        if not findings:
            note = self._refresh_index()
            if note:
                findings.notes.append(note)
        return findings

    def _refresh_index(self) -> str | None:
        """Check the append index deeply (every run re-hashed) and rebuild it if it is unusable,
        when no writer holds the lock; what was done, when worth saying."""
        lock = FileLock(str(self.path / ".lock"), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            return None  # a writer is at work: it checks the index itself
        except OSError:
            return None  # no lock can be taken (a read-only log): nobody appends to it here
        try:
            _, reason = self._append_index(self.checked_head(), deep=True)
        except (OSError, LogError) as err:
            return f"the append index could not be rebuilt ({ev.one_line(str(err))})"
        finally:
            _quietly(lock.release)
        if reason is None or reason == "missing":
            return None
        return f"the append index was rebuilt from the log ({reason})"

    def stats(self) -> dict[str, Any]:
        head = self.checked_head()
        frame = self.read(head=head)
        counts = frame.group_by("type").len().sort("type")
        files = [self.path / n for n in self.segments()]
        on_disk = 0
        for p in files:
            for f in (p, p.with_name(p.name + ".gz")):
                with suppress(FileNotFoundError):
                    on_disk += f.stat().st_size
        return {
            "path": str(self.path),
            "head": asdict(head),
            "events": frame.height,
            "segments": len(files),
            "bytes_on_disk": on_disk,
            "occurred_on": [str(frame["occurred_on"].min()), str(frame["occurred_on"].max())]
            if frame.height
            else None,
            "recorded_at": [str(frame["recorded_at"].min()), str(frame["recorded_at"].max())]
            if frame.height
            else None,
            "by_type": dict(counts.iter_rows()),
        }


@dataclass
class _Known:
    """What the log knows, for referential checks on append and verify."""

    buildings: set[str] = field(default_factory=set)
    tenancies: set[tuple[str, str]] = field(default_factory=set)
    tenants: set[str] = field(default_factory=set)
    all_ids: set[str] | None = None  # the stored event ids a batch names (retraction targets)
    event_ids: dict[str, dict[str, Any]] = field(default_factory=dict)
    key_industries: tuple[str, ...] | None = None  # the city's; None: not checked
    streets: frozenset[str] | None = None  # the city's streets and towns; None: not checked

    def check(self, type_: str, data: Any, batch_ids: Any) -> list[tuple[str, str]]:
        out = []
        if type_ == "BuildingRegistered" and data.building_id in self.buildings:
            out.append(("data.building_id", f"building {data.building_id!r} is already registered"))
        if (
            type_ in ev.BUILDING_EVENTS or type_ == "TenantMovedIn"
        ) and data.building_id not in self.buildings:
            out.append(
                (
                    "data.building_id",
                    f"unknown building {data.building_id!r} (no BuildingRegistered)",
                )
            )
        if (
            type_ in ("BuildingRegistered", "BuildingUpdated")
            and self.streets is not None
            and data.street is not None
            and data.street not in self.streets
        ):
            near = difflib.get_close_matches(data.street, sorted(self.streets), n=3, cutoff=0.4)
            hint = f" (closest: {', '.join(near)})" if near else ""
            out.append(
                (
                    "data.street",
                    f"{data.street!r} is not a street or town of this city's divisions{hint}",
                )
            )
        if type_ in ev.TENANCY_EVENTS and (data.tenant_id, data.building_id) not in self.tenancies:
            out.append(
                (
                    "data.tenant_id",
                    f"unknown tenancy ({data.tenant_id!r}, {data.building_id!r}) (no TenantMovedIn)",
                )
            )
        if (
            type_ == "BuildingFeaturedDesignated"
            and self.key_industries is not None
            and data.industry not in self.key_industries
        ):
            out.append(
                (
                    "data.industry",
                    f"{data.industry!r} is not a key industry of this city "
                    f"({', '.join(self.key_industries)})",
                )
            )
        if type_ == "TenantUpdated" and data.tenant_id not in self.tenants:
            out.append(("data.tenant_id", f"unknown tenant {data.tenant_id!r} (no TenantMovedIn)"))
        if (
            type_ == "EventRetracted"
            and data.event_id not in batch_ids
            and not self._has_id(data.event_id)
        ):
            out.append(("data.event_id", f"cannot retract unknown event {data.event_id!r}"))
        return out

    def _has_id(self, event_id: str) -> bool:
        if self.all_ids is None:
            return event_id in self.event_ids
        return event_id in self.all_ids

    def learn(self, type_: str, data: Any) -> None:
        if type_ == "BuildingRegistered":
            self.buildings.add(data.building_id)
        elif type_ == "TenantMovedIn":
            self.tenancies.add((data.tenant_id, data.building_id))
            self.tenants.add(data.tenant_id)


def _rfc3339(ts: datetime) -> str:
    return ev.to_record_time(ts)


def _utc(ts: datetime) -> str:
    return ev.to_record_time(ts.astimezone(UTC))


def _duckdb_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Struct):
        return (
            "STRUCT(" + ", ".join(f'"{f.name}" {_duckdb_type(f.dtype)}' for f in dtype.fields) + ")"
        )
    names = {pl.Int64: "BIGINT", pl.Float64: "DOUBLE", pl.Boolean: "BOOLEAN", pl.String: "VARCHAR"}
    return names[dtype.base_type()]


#: `NDJSON_SCHEMA` in DuckDB's type names: the same known schema for either reader.
DUCKDB_COLUMNS: dict[str, str] = {k: _duckdb_type(v) for k, v in ev.NDJSON_SCHEMA.items()}
_duckdb: tuple[int, Any] | None = None  # (process id, connection): one per process
_DUCKDB_LOCK = threading.Lock()


def _read_json_lines(data: bytes) -> pl.DataFrame:
    """Stored lines → the nested frame of `NDJSON_SCHEMA`, parsed by DuckDB's `read_json`.

    DuckDB parses the log's JSON Lines about 2.5 times faster than Polars' `read_ndjson` with
    the same schema (`make bench`: phases read_duckdb and read_ndjson), and hands the columns
    over as Arrow. It reads files, so the bytes (already read and checked by the caller) go to a
    private temporary file first: a copy in the page cache, cheap beside the parsing."""
    import tempfile

    import duckdb

    global _duckdb
    with _DUCKDB_LOCK:  # segments are parsed side by side: one cursor per call
        if _duckdb is None or _duckdb[0] != os.getpid():
            _duckdb = (os.getpid(), duckdb.connect())
        con = _duckdb[1].cursor()
    with tempfile.NamedTemporaryFile(prefix="louyu-segment-", suffix=".jsonl") as f:
        f.write(data)
        f.flush()
        try:
            rel = con.read_json(f.name, columns=DUCKDB_COLUMNS, format="newline_delimited")
            table = rel.to_arrow_table()
        except duckdb.Error as err:
            raise _Unreadable(str(err).replace(f.name, "the segment")) from None
        finally:
            con.close()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _content(stored: Path) -> bytes:
    """A segment file's lines, uncompressed."""
    data = stored.read_bytes()
    return gunzip(data, stored) if stored.name.endswith(".gz") else data


class _Unreadable(Exception):
    """A segment DuckDB cannot parse (its message, without the temporary file's name)."""


def _parse_ndjson(data: bytes, where: Path) -> pl.DataFrame:
    """Stored lines as the flat frame, parsed now, so that a line no reader can take (edited by
    hand) is a one-line error naming the segment rather than a failure in a later query."""
    if not data:
        return ev.empty_event_frame()
    try:
        frame = ev.flatten(_read_json_lines(data)).collect()
    except (pl.exceptions.PolarsError, _Unreadable) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise LogDamaged(
            f"{where}: cannot be read as events ({first}); `louyu verify` names the line"
        ) from None
    bad = ev.frame_problem(frame)
    if bad is not None:
        row, seq, fld = bad
        raise LogDamaged(
            f"{where}: line {row + 1}"
            + (f" (seq {seq})" if seq is not None else "")
            + f": {fld}: not what a stored event holds (edited or damaged); "
            "`louyu verify` names every problem"
        )
    return frame
