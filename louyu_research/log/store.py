"""The append-only event log: append (atomic batches), verify (hash chain), read (columnar).

Layout of a log folder (`events/` by default)::

    log.json            format and options, written once by `init`
    HEAD                the acknowledged end of the log: seq, hash, recorded_at, segment, offset
    2016-04.jsonl       one segment per UTC month of `recorded_at`, one canonical event a line
    2016-03.jsonl.gz    a sealed segment (every one but the newest), optionally gzip-compressed
    .lock  .cache/      writer lock; disposable Parquet copies of sealed segments

Why a HEAD file: a batch is written to the segments first, fsynced, and only then HEAD is
replaced atomically (write, fsync, rename). Readers read no further than HEAD, so a writer
killed mid-batch leaves at most an *unacknowledged tail*: never half a batch in anyone's view.
The next writer (holding the lock, so the tail's writer is dead) or `louyu repair` cuts it off.
Nothing before HEAD is ever rewritten; sealing only changes how a segment is stored.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from filelock import FileLock

from louyu_research.city.profile import City, default_city

from . import catalogue as ev

FORMAT = "louyu-log/1"
DEFAULT_LOG = Path("events")
# The flat frame's columns, in the Parquet cache's name: a cache written before a field was
# added to the catalogue is rebuilt rather than read with a missing column.
_FRAME_TAG = hashlib.sha256(repr(list(ev.EVENT_FRAME_SCHEMA.items())).encode()).hexdigest()[:8]


class LogError(Exception):
    """The log cannot be used as asked (missing, wrong format, moved under an expectation)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a draft: its input line (1-based), the field, and why."""

    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "batch"
        return f"{where}: {self.field}: {self.message}"


class AppendRejected(LogError):
    """A batch that fails appends nothing; every problem is listed."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(map(str, problems)))
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
        return f"{':'.join(parts)}: {self.problem}"


@dataclass(frozen=True)
class Head:
    """The acknowledged end of the log."""

    seq: int = 0
    hash: str = ev.GENESIS_HASH
    recorded_at: str | None = None
    segment: str | None = None
    offset: int = 0


@dataclass
class AppendResult:
    appended: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # event_ids already in the log, identical
    head: Head = field(default_factory=Head)


def segment_of(recorded_at: datetime) -> str:
    """Segment name of an event: the UTC month of its `recorded_at` (instants never go back)."""
    return recorded_at.astimezone(UTC).strftime("%Y-%m") + ".jsonl"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class EventLog:
    """An event log folder. Reading needs no lock; writing takes `.lock`."""

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_LOG, *, city: City | None = None):
        self.path = Path(path)
        meta = self.path / "log.json"
        if not meta.exists():
            raise LogError(
                f"{self.path}: not an event log (no log.json); create one with `louyu init {self.path}`"
            )
        self.options = json.loads(meta.read_text("utf-8"))
        if self.options.get("format") != FORMAT:
            raise LogError(
                f"{meta}: unknown format {self.options.get('format')!r}, expected {FORMAT!r}"
            )
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
        p.mkdir(parents=True, exist_ok=True)
        if (p / "log.json").exists():
            raise LogError(f"{p}: already an event log")
        options = {
            "format": FORMAT,
            "segments": "utc-month-of-recorded_at",
            "compress_sealed": compress_sealed,
            "city": (city or default_city()).as_record(),
        }
        _write_atomic(
            p / "log.json", (json.dumps(options, indent=2, ensure_ascii=False) + "\n").encode()
        )
        _write_atomic(p / "HEAD", _head_bytes(Head()))
        return cls(p, city=city)

    # --- HEAD and segments -----------------------------------------------------------------------

    @property
    def head(self) -> Head:
        return Head(**json.loads((self.path / "HEAD").read_text("utf-8")))

    def segments(self) -> list[str]:
        """Segment names (without `.gz`) in order."""
        names = {
            p.name.removesuffix(".gz")
            for p in self.path.glob("*.jsonl*")
            if not p.name.endswith(".tmp")
        }
        return sorted(names)

    def _segment_bytes(self, name: str) -> bytes:
        plain = self.path / name
        try:
            return plain.read_bytes()
        except FileNotFoundError:
            with gzip.open(self.path / (name + ".gz"), "rb") as f:
                return f.read()

    def _acknowledged_segments(self) -> list[str]:
        head = self.head
        if head.segment is None:
            return []
        return [s for s in self.segments() if s <= head.segment]

    # --- reading ------------------------------------------------------------------------------------

    def iter_records(self) -> Iterator[dict[str, Any]]:
        """Every acknowledged event as a dict, in `seq` order (plain Python: for tools and tests)."""
        head = self.head
        for name in self._acknowledged_segments():
            data = self._segment_bytes(name)
            if name == head.segment:
                data = data[: head.offset]
            for raw in data.splitlines():
                yield json.loads(raw)

    def scan(
        self, *, upto_seq: int | None = None, recorded_by: datetime | None = None
    ) -> pl.LazyFrame:
        """The acknowledged events as a flat, typed LazyFrame (`events.EVENT_FRAME_SCHEMA`).

        Sealed segments are read from a Parquet cache (rebuilt when the segment's size or
        mtime differ); the head segment is parsed each time, up to HEAD's offset.
        """
        head = self.head
        parts: list[pl.LazyFrame] = []
        for name in self._acknowledged_segments():
            if name == head.segment:
                data = self._segment_bytes(name)[: head.offset]
                parts.append(_parse_ndjson(data))
            else:
                cache, fresh = self._cached(name)
                # a segment parsed just now is used as parsed, not read back from its cache
                parts.append(fresh.lazy() if fresh is not None else pl.scan_parquet(cache))
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

    def _cached(self, name: str) -> tuple[Path, pl.DataFrame | None]:
        """The Parquet copy of a sealed segment, and the parsed frame when it was (re)built now."""
        src = self.path / name
        if not src.exists():
            src = self.path / (name + ".gz")
        st = src.stat()
        cache = self.path / ".cache" / f"{name}.{st.st_size}.{st.st_mtime_ns}.{_FRAME_TAG}.parquet"
        if not cache.exists():
            cache.parent.mkdir(exist_ok=True)
            for stale in cache.parent.glob(f"{name}.*.parquet"):
                stale.unlink(missing_ok=True)
            frame = self._parse_sealed(name).collect()
            tmp = cache.with_name(cache.name + f".{os.getpid()}.tmp")
            # lz4: the cache is disposable, so it is written fast rather than small
            frame.write_parquet(tmp, compression="lz4", statistics=True)
            os.replace(tmp, cache)
            return cache, frame
        return cache, None

    def _parse_sealed(self, name: str) -> pl.LazyFrame:
        """A sealed segment parsed: a plain file straight from disk (no copy of its bytes in
        Python: faster on the cold read of a large log), a compressed one from its bytes."""
        plain = self.path / name
        try:
            if plain.stat().st_size:
                return ev.flatten(pl.read_ndjson(plain, schema=ev.NDJSON_SCHEMA))
        except FileNotFoundError:
            pass
        return _parse_ndjson(self._segment_bytes(name))

    def position(self, seq: int | None = None) -> dict[str, Any]:
        """`seq`, `recorded_at` (RFC 3339, UTC) and chain `hash` of an event (default: HEAD).

        The one form of a log position that reports and manifests pin, whichever way it is
        looked up (HEAD or the columnar frame).
        """
        head = self.head
        if seq == 0 or head.recorded_at is None:
            return {"seq": 0, "recorded_at": None, "hash": ev.GENESIS_HASH}
        if seq is None or seq == head.seq:
            at = datetime.fromisoformat(head.recorded_at)
            return {"seq": head.seq, "recorded_at": _utc(at), "hash": head.hash}
        row = (
            self.scan().filter(pl.col("seq") == seq).select("seq", "recorded_at", "hash").collect()
        )
        if row.is_empty():
            raise LogError(f"seq {seq} is not in the log (head is {head.seq})")
        r = row.row(0, named=True)
        return {"seq": r["seq"], "recorded_at": _utc(r["recorded_at"]), "hash": r["hash"]}

    # --- appending ---------------------------------------------------------------------------------

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
        lines = [
            d if isinstance(d, str | bytes) else json.dumps(d, ensure_ascii=False) for d in drafts
        ]
        with FileLock(str(self.path / ".lock")):
            self._cut_unacknowledged_tail(warn=True)
            head = self.head
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
            result = self._prepare(lines, head, now or datetime.now(UTC))
            if result.appended:
                self._write(result)
            result.head = self.head
            return result

    def _prepare(self, lines: list[str | bytes], head: Head, now: datetime) -> AppendResult:
        problems: list[Problem] = []
        drafts: list[tuple[int, Any]] = []
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                drafts.append((n, ev.parse_draft(line)))
            except ev.InvalidEvent as err:
                problems.extend(Problem(n, *p.split(": ", 1)) for p in err.problems)

        known = self._index([d.event_id for _, d in drafts])
        prev_seq, prev_hash = head.seq, head.hash
        prev_time = datetime.fromisoformat(head.recorded_at) if head.recorded_at else None
        result = AppendResult()
        batch_ids: dict[str, str] = {}
        for n, draft in drafts:
            record = ev.to_record(draft)
            key = ev.content_key(record)
            if draft.event_id in batch_ids:
                if batch_ids[draft.event_id] != key:
                    problems.append(
                        Problem(
                            n,
                            "event_id",
                            f"{draft.event_id!r} appears twice in the batch with other content",
                        )
                    )
                continue
            if draft.event_id in known.event_ids:
                stored = known.event_ids[draft.event_id]
                same = stored["key"] == key and (
                    draft.recorded_at is None or draft.recorded_at == stored["recorded_at"]
                )
                if same:
                    result.unchanged.append(draft.event_id)
                else:
                    problems.append(
                        Problem(
                            n,
                            "event_id",
                            f"{draft.event_id!r} is already in the log (seq {stored['seq']}) with other content",
                        )
                    )
                continue
            batch_ids[draft.event_id] = key
            for fld, msg in known.check(draft.type, draft.data, batch_ids):
                problems.append(Problem(n, fld, msg))
            recorded = draft.recorded_at or now
            if prev_time is not None and recorded < prev_time:
                fld = "recorded_at" if draft.recorded_at else "recorded_at (defaulted to now)"
                problems.append(
                    Problem(
                        n,
                        fld,
                        f"{recorded.isoformat()} is earlier than the previous event's {prev_time.isoformat()}",
                    )
                )
            prev_time = max(prev_time, recorded) if prev_time else recorded
            known.learn(draft.type, draft.data)
            if problems:
                continue
            prev_seq += 1
            record = {**record, "seq": prev_seq, "recorded_at": _rfc3339(recorded)}
            record["hash"] = prev_hash = ev.chain_hash(prev_hash, record)
            result.appended.append(record)
        if problems:
            raise AppendRejected(problems)
        return result

    def _write(self, result: AppendResult) -> None:
        by_segment: dict[str, list[bytes]] = {}
        for record in result.appended:
            seg = segment_of(datetime.fromisoformat(record["recorded_at"]))
            by_segment.setdefault(seg, []).append(
                (ev.canonical_json(record) + "\n").encode("utf-8")
            )
        new_file = False
        offset = 0
        for seg, chunk in by_segment.items():
            path = self.path / seg
            new_file |= not path.exists()
            with open(path, "ab") as f:
                f.write(b"".join(chunk))
                f.flush()
                os.fsync(f.fileno())
                offset = f.tell()
        if new_file:
            _fsync_dir(self.path)
        last = result.appended[-1]
        new_head = Head(last["seq"], last["hash"], last["recorded_at"], seg, offset)
        _write_atomic(self.path / "HEAD", _head_bytes(new_head))  # the acknowledgement
        if self.options.get("compress_sealed"):
            self._compress_sealed(new_head)

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
            _write_atomic(self.path / (name + ".gz"), buf.getvalue())
            plain.unlink()

    def _index(self, ids: list[str]) -> _Known:
        frame = self.scan().select("seq", "event_id", "type", "building_id", "tenant_id").collect()
        known = _Known(
            key_industries=self.city.key_industry_codes,
            buildings=set(
                frame.filter(pl.col("type") == "BuildingRegistered")["building_id"].to_list()
            ),
            tenancies=set(
                frame.filter(pl.col("type") == "TenantMovedIn")
                .select("tenant_id", "building_id")
                .iter_rows()
            ),
            tenants=set(frame.filter(pl.col("type") == "TenantMovedIn")["tenant_id"].to_list()),
            all_ids=frame["event_id"],
        )
        hits = frame.join(
            pl.DataFrame({"event_id": ids}, schema={"event_id": pl.String}),
            on="event_id",
            how="semi",
        )
        if not hits.is_empty():
            wanted = set(hits["seq"].to_list())
            for record in self.iter_records():
                if record["seq"] in wanted:
                    known.event_ids[record["event_id"]] = {
                        "seq": record["seq"],
                        "key": ev.content_key(record),
                        "recorded_at": datetime.fromisoformat(record["recorded_at"]),
                    }
        return known

    # --- tail, repair, verify ---------------------------------------------------------------------

    def unacknowledged_tail(self) -> list[tuple[str, int]]:
        """(segment, bytes) written after HEAD by a writer that never acknowledged them."""
        head = self.head
        tail = []
        for name in self.segments():
            if head.segment is not None and name < head.segment:
                continue
            size = len(self._segment_bytes(name))
            extra = size - head.offset if name == head.segment else size
            if extra > 0:
                tail.append((name, extra))
        return tail

    def _cut_unacknowledged_tail(self, *, warn: bool) -> list[tuple[str, int]]:
        tail = self.unacknowledged_tail()
        head = self.head
        for name, nbytes in tail:
            path = self.path / name
            if name == head.segment:
                with open(path, "r+b") as f:
                    f.truncate(head.offset)
                    f.flush()
                    os.fsync(f.fileno())
            else:
                path.unlink()
            if warn:
                print(
                    f"louyu: dropped an unacknowledged tail of {nbytes} bytes in {name} (a writer died mid-batch)",
                    file=sys.stderr,
                )
        if tail:
            _fsync_dir(self.path)
        return tail

    def repair(self) -> list[tuple[str, int]]:
        """Remove only the unacknowledged tail (torn or complete lines after HEAD)."""
        with FileLock(str(self.path / ".lock")):
            return self._cut_unacknowledged_tail(warn=False)

    def verify(self) -> list[Finding]:
        """Check everything: canonical lines, schema, gapless seq, hash chain, clock, ids, references."""
        return _verify(self)

    def stats(self) -> dict[str, Any]:
        frame = self.read()
        head = self.head
        counts = frame.group_by("type").len().sort("type")
        return {
            "path": str(self.path),
            "head": asdict(head),
            "events": frame.height,
            "segments": len(self.segments()),
            "bytes_on_disk": sum(p.stat().st_size for p in self.path.glob("*.jsonl*")),
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
    all_ids: Any = None  # a Series of the log's event ids (for retraction targets)
    event_ids: dict[str, dict[str, Any]] = field(default_factory=dict)
    key_industries: tuple[str, ...] | None = None  # the city's; None: not checked

    def check(self, type_: str, data: Any, batch_ids: dict[str, str]) -> list[tuple[str, str]]:
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
        return bool((self.all_ids == event_id).any())

    def learn(self, type_: str, data: Any) -> None:
        if type_ == "BuildingRegistered":
            self.buildings.add(data.building_id)
        elif type_ == "TenantMovedIn":
            self.tenancies.add((data.tenant_id, data.building_id))
            self.tenants.add(data.tenant_id)


def _head_bytes(head: Head) -> bytes:
    return (json.dumps(asdict(head), sort_keys=True) + "\n").encode()


def _rfc3339(ts: datetime) -> str:
    return ev.to_record_time(ts)


def _utc(ts: datetime) -> str:
    return ev.to_record_time(ts.astimezone(UTC))


def _parse_ndjson(data: bytes) -> pl.LazyFrame:
    if not data:
        return ev.empty_event_frame().lazy()
    return ev.flatten(pl.read_ndjson(io.BytesIO(data), schema=ev.NDJSON_SCHEMA))


def _verify(log: EventLog) -> list[Finding]:
    findings: list[Finding] = []
    head = log.head
    prev_seq, prev_hash, prev_time = 0, ev.GENESIS_HASH, None
    known = _Known(key_industries=log.city.key_industry_codes)
    seen: dict[str, int] = {}
    for name in log.segments():
        plain, packed = log.path / name, log.path / (name + ".gz")
        if (
            plain.exists()
            and packed.exists()
            and plain.read_bytes() != gzip.decompress(packed.read_bytes())
        ):
            findings.append(
                Finding(name, None, None, "plain and compressed copies of the segment differ")
            )
        try:
            data = log._segment_bytes(name)
        except (OSError, EOFError) as err:
            findings.append(Finding(name, None, None, f"unreadable segment: {err}"))
            continue
        acked_end = len(data)
        if head.segment is None or name > head.segment:
            acked_end = 0
        elif name == head.segment:
            acked_end = min(head.offset, len(data))
        pos = 0
        for lineno, raw in enumerate(data.splitlines(keepends=True), start=1):
            start, pos = pos, pos + len(raw)
            if start >= acked_end:
                torn = "torn (no newline) " if not raw.endswith(b"\n") else ""
                findings.append(
                    Finding(
                        name,
                        lineno,
                        None,
                        f"{torn}line after HEAD (seq {head.seq}): an unacknowledged tail; `louyu repair` removes it",
                    )
                )
                continue
            if not raw.endswith(b"\n"):
                findings.append(Finding(name, lineno, None, "line has no newline"))
            text = raw.rstrip(b"\n")
            try:
                event = ev.parse_event(text)
            except ev.InvalidEvent as err:
                findings.extend(Finding(name, lineno, _peek_seq(text), p) for p in err.problems)
                prev_seq += 1
                continue
            record = ev.to_record(event)
            seq = event.seq
            if ev.canonical_json(record).encode("utf-8") != text:
                findings.append(
                    Finding(name, lineno, seq, "line is not in canonical form (edited by hand?)")
                )
            if seq != prev_seq + 1:
                findings.append(
                    Finding(
                        name,
                        lineno,
                        seq,
                        f"seq {seq} follows seq {prev_seq}: expected {prev_seq + 1}",
                    )
                )
            body = {k: v for k, v in record.items() if k != "hash"}
            expected = ev.chain_hash(prev_hash, body)
            if expected != event.hash:
                findings.append(
                    Finding(
                        name,
                        lineno,
                        seq,
                        "hash does not chain to the previous event (altered, removed or reordered)",
                    )
                )
            if prev_time is not None and event.recorded_at < prev_time:
                findings.append(
                    Finding(name, lineno, seq, "recorded_at is earlier than the previous event's")
                )
            if segment_of(event.recorded_at) != name:
                findings.append(
                    Finding(
                        name,
                        lineno,
                        seq,
                        f"recorded_at belongs in segment {segment_of(event.recorded_at)}",
                    )
                )
            if event.event_id in seen:
                findings.append(
                    Finding(
                        name,
                        lineno,
                        seq,
                        f"event_id {event.event_id!r} already used by seq {seen[event.event_id]}",
                    )
                )
            seen[event.event_id] = seq
            known.event_ids[event.event_id] = {}
            for fld, msg in known.check(event.type, event.data, {}):
                findings.append(Finding(name, lineno, seq, f"{fld}: {msg}"))
            known.learn(event.type, event.data)
            prev_seq, prev_hash, prev_time = seq, event.hash, event.recorded_at
    if prev_seq != head.seq or prev_hash != head.hash:
        findings.append(
            Finding(
                "HEAD",
                None,
                head.seq,
                f"HEAD says seq {head.seq}, but the acknowledged log ends at seq {prev_seq} with another hash",
            )
            if prev_hash != head.hash
            else Finding(
                "HEAD", None, head.seq, f"HEAD says seq {head.seq}, the log ends at {prev_seq}"
            )
        )
    return findings


def _peek_seq(text: bytes) -> int | None:
    try:
        value = json.loads(text).get("seq")
        return value if isinstance(value, int) else None
    except (ValueError, AttributeError):
        return None
