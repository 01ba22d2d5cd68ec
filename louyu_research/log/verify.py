"""`verify` (check everything HEAD acknowledged) and the plan of `repair` (what may be cut).

Verify reads a consistent snapshot: HEAD as it was when verify started, and the events up to
the one it acknowledges. Bytes after that event are an unacknowledged tail only when no
writer holds the lock (a live writer's batch in progress is not damage): verify takes the
lock without waiting, and if a writer has it, says what it did not check instead.

Repair walks the chain from the first event, deciding from each line's bytes whether it
chains (`chain.line_link`), and finds the event HEAD acknowledges by its seq and hash.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from . import catalogue as ev
from .chain import (
    Head,
    HeadDamaged,
    gunzip_partial,
    line_link,
    line_mark,
    line_recorded_at,
    read_head,
    read_segment,
    segment_names,
)
from .faults import LogDamaged, StorageFault

if TYPE_CHECKING:
    from .store import EventLog, Finding


class Findings(list["Finding"]):
    """What verify found; `head` is the snapshot it verified, `notes` what it did not check."""

    head: Head | None = None
    notes: list[str]

    def __init__(self) -> None:
        super().__init__()
        self.notes = []


def _lenient(log: EventLog, name: str) -> tuple[bytes, str | None, str]:
    """A segment's content as far as it can be read, what is wrong with it, and its file."""
    plain, packed = log.path / name, log.path / (name + ".gz")
    try:
        return plain.read_bytes(), None, name
    except FileNotFoundError:
        pass
    except OSError as err:
        return b"", f"unreadable: {err.strerror}", name
    try:
        raw = packed.read_bytes()
    except FileNotFoundError:
        try:
            return plain.read_bytes(), None, name  # compressed meanwhile, then plain removed
        except OSError:
            return b"", "segment missing", name
    except OSError as err:
        return b"", f"unreadable: {err.strerror}", name + ".gz"
    data, problem = gunzip_partial(raw)
    return data, problem, name + ".gz"


def verify_log(log: EventLog) -> Findings:
    from .store import Finding, _Known, segment_of

    out = Findings()
    try:
        head: Head | None = read_head(log.path)
    except (HeadDamaged, StorageFault) as err:
        problem = err.problem if isinstance(err, HeadDamaged) else str(err)
        out.append(
            Finding("HEAD", None, None, f"{problem}; `louyu repair` rebuilds it from the chain")
        )
        head = None
    out.head = head
    names = segment_names(log.path)
    acked = names if head is None else [n for n in names if head.segment and n <= head.segment]
    now = datetime.now(UTC) + ev.FUTURE_TOLERANCE
    prev_seq, prev_hash, prev_time = 0, ev.GENESIS_HASH, None
    known = _Known(key_industries=log.city.key_industry_codes, streets=log.city.street_names)
    seen: dict[str, int] = {}
    found: tuple[str, int] | None = None  # (segment, end offset) of HEAD's event
    last_where: tuple[str, int] | None = None  # (segment, line count) of the previous segment
    reported_cut = False
    tails: list[tuple[str, int, bytes]] = []  # (segment, first line number, bytes) after HEAD
    for name in acked:
        plain, packed = log.path / name, log.path / (name + ".gz")
        if plain.exists() and packed.exists():
            try:
                differ = plain.read_bytes() != gzip.decompress(packed.read_bytes())
            except (OSError, EOFError, gzip.BadGzipFile):
                differ = True
            if differ:
                out.append(
                    Finding(name, None, None, "plain and compressed copies of the segment differ")
                )
        data, problem, stored = _lenient(log, name)
        lines = data.splitlines(keepends=True)
        if problem:
            if lines and not lines[-1].endswith(b"\n"):
                lines.pop()
            last = line_mark(lines[-1])[0] if lines else None
            out.append(
                Finding(
                    stored,
                    len(lines) + 1,
                    None,
                    f"{problem}: readable up to line {len(lines)}"
                    + (f" (seq {last})" if last is not None else "")
                    + "; restore this file from a backup",
                )
            )
        acked_end = len(data)
        if head is not None and name == head.segment:
            acked_end = min(head.offset, len(data))
            pos = 0
            for i, raw in enumerate(lines):
                pos += len(raw)
                if raw.endswith(b"\n") and line_mark(raw) == (head.seq, head.hash):
                    found = (name, pos)
                    # acknowledged: up to HEAD's event, and lines before the offset that state
                    # an earlier seq (reordered); a later seq is a tail (an offset raised)
                    acked_end = pos
                    for later in lines[i + 1 :]:
                        seq = line_mark(later)[0]
                        if acked_end >= head.offset or seq is None or seq > head.seq:
                            break
                        acked_end += len(later)
                    break
        pos = walked = 0
        # the seqs this segment states: a gap at its start whose seqs come later in it is a
        # reordering, not a truncation
        stated = {line_mark(raw)[0] for raw in lines}
        for lineno, raw in enumerate(lines, start=1):
            start, pos = pos, pos + len(raw)
            if start >= acked_end:
                tails.append((name, lineno, data[start:]))
                break
            if not raw.endswith(b"\n"):
                out.append(Finding(name, lineno, None, "line has no newline"))
            walked = lineno
            text = raw.rstrip(b"\n")
            try:
                event = ev.parse_event(text)
            except ev.InvalidEvent as err:
                seq = line_mark(text)[0]
                out.extend(Finding(name, lineno, seq, p) for p in err.problems)
                prev_seq = seq if seq is not None else prev_seq + 1
                prev_hash = line_mark(text)[1] or prev_hash
                continue
            record = ev.to_record(event)
            seq = event.seq
            if ev.canonical_json(record).encode("utf-8") != text:
                out.append(
                    Finding(name, lineno, seq, "line is not in canonical form (edited by hand?)")
                )
            if lineno == 1 and seq > prev_seq + 1 and prev_seq + 1 not in stated:
                # a gap at a segment boundary: the earlier segment lost its end (or this one
                # its start); named where the events are missing, not as a broken chain here
                if not reported_cut:
                    out.append(_gap(name, last_where, prev_seq, seq))
            else:
                if seq != prev_seq + 1:
                    out.append(
                        Finding(
                            name,
                            lineno,
                            seq,
                            f"seq {seq} follows seq {prev_seq}: expected {prev_seq + 1}",
                        )
                    )
                body = {k: v for k, v in record.items() if k != "hash"}
                if ev.chain_hash(prev_hash, body) != event.hash:
                    out.append(
                        Finding(
                            name,
                            lineno,
                            seq,
                            "hash does not chain to the previous event (altered, removed or reordered)",
                        )
                    )
            reported_cut = False
            if prev_time is not None and event.recorded_at < prev_time:
                out.append(
                    Finding(name, lineno, seq, "recorded_at is earlier than the previous event's")
                )
            if event.recorded_at > now:
                out.append(
                    Finding(
                        name,
                        lineno,
                        seq,
                        "recorded_at is in the future (after this machine's clock)",
                    )
                )
            if segment_of(event.recorded_at) != name:
                out.append(
                    Finding(
                        name,
                        lineno,
                        seq,
                        f"recorded_at belongs in segment {segment_of(event.recorded_at)}",
                    )
                )
            if event.event_id in seen:
                out.append(
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
                out.append(Finding(name, lineno, seq, f"{fld}: {msg}"))
            known.learn(event.type, event.data)
            prev_seq, prev_hash, prev_time = seq, event.hash, event.recorded_at
        last_where = (name, walked)
        reported_cut = bool(problem)
    if head is None:
        out.append(
            Finding(
                "HEAD",
                None,
                None,
                f"the chain ends at seq {prev_seq}; `louyu repair` rebuilds HEAD there",
            )
        )
        return out
    if not out:  # HEAD is judged against a sound chain; a broken chain is the finding itself
        _check_head_against(out, head, names, found, prev_seq, prev_hash, last_where)
    tails.extend((n, 1, b"") for n in names if head.segment is None or n > head.segment)
    _tail(log, out, head, tails)
    return out


def _missing(first: int, last: int) -> str:
    return f"seq {first} is missing" if first == last else f"seq {first}…{last} are missing"


def _gap(name: str, before: tuple[str, int] | None, prev_seq: int, seq: int) -> Finding:
    from .store import Finding

    if before is None:
        return Finding(
            name,
            1,
            seq,
            f"the log starts at seq {seq}: {_missing(1, seq - 1)}; restore them from a backup",
        )
    return Finding(
        before[0],
        before[1] + 1,
        None,
        f"{_missing(prev_seq + 1, seq - 1)}: this segment ends at seq {prev_seq} and "
        f"{name} starts at seq {seq} (cut at a line boundary, lines removed, or a segment removed); "
        "restore it from a backup",
    )


def _check_head_against(
    out: Findings,
    head: Head,
    names: list[str],
    found: tuple[str, int] | None,
    prev_seq: int,
    prev_hash: str,
    last_where: tuple[str, int] | None,
) -> None:
    from .store import Finding

    if head.seq == 0:
        return
    if found is not None:
        if found != (head.segment, head.offset):
            out.append(
                Finding(
                    "HEAD",
                    None,
                    head.seq,
                    f"offset {head.offset} is not where seq {head.seq}'s line ends ({found[1]}): "
                    "HEAD was altered; `louyu repair` rewrites it from the chain",
                )
            )
        return
    if head.segment not in names:
        out.append(
            Finding(
                head.segment or "HEAD",
                None,
                None,
                f"missing: HEAD acknowledges seq {head.seq} in it; restore it from a backup",
            )
        )
    elif prev_seq < head.seq and last_where is not None and last_where[0] == head.segment:
        out.append(
            Finding(
                head.segment,
                last_where[1] + 1,
                None,
                f"truncated: HEAD acknowledges seq {head.seq} (offset {head.offset}), but the "
                f"segment ends at seq {prev_seq}: {_missing(prev_seq + 1, head.seq)}; "
                "restore it from a backup",
            )
        )
    elif prev_hash != head.hash:
        out.append(
            Finding(
                "HEAD",
                None,
                head.seq,
                f"HEAD says seq {head.seq}, but the acknowledged log ends at seq {prev_seq} with another hash",
            )
        )
    else:
        out.append(
            Finding("HEAD", None, head.seq, f"HEAD says seq {head.seq}, the log ends at {prev_seq}")
        )


def _tail(log: EventLog, out: Findings, head: Head, tails: list[tuple[str, int, bytes]]) -> None:
    """Name the bytes after HEAD's event as an unacknowledged tail, unless a writer is at work."""
    from .store import Finding

    pending: list[tuple[str, int, bytes]] = []
    for name, first, data in tails:
        if not data and first == 1:
            try:
                data = read_segment(log.path, name)
            except LogDamaged as err:
                out.append(Finding(name, None, None, str(err)))
                continue
        if data:
            pending.append((name, first, data))
    if not pending:
        return
    lock = FileLock(str(log.path / ".lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        out.notes.append(
            f"a writer is appending: what it wrote after seq {head.seq} was not checked"
        )
        return
    except OSError:
        lock = None  # cannot even create the lock (read-only): no writer can be at work
    try:
        try:
            now = read_head(log.path)
        except LogDamaged:
            now = head
        if (now.seq, now.hash) != (head.seq, head.hash):
            out.notes.append(
                f"{now.seq - head.seq} event(s) were appended while verify ran (after seq {head.seq}); "
                "run verify again to check them"
            )
            return
        for name, first, data in pending:
            for lineno, raw in enumerate(data.splitlines(keepends=True), start=first):
                torn = "torn (no newline) " if not raw.endswith(b"\n") else ""
                out.append(
                    Finding(
                        name,
                        lineno,
                        None,
                        f"{torn}line after HEAD (seq {head.seq}): an unacknowledged tail; `louyu repair` removes it",
                    )
                )
    finally:
        if lock is not None:
            lock.release()


# --- repair's plan ---------------------------------------------------------------------------------


@dataclass
class RepairPlan:
    head: Head
    cuts: list[tuple[str, int, int]] = field(default_factory=list)  # (segment, keep, cut bytes)
    rewrite_head: str | None = None


@dataclass
class _End:
    segment: str | None = None
    offset: int = 0
    seq: int = 0
    hash: str = ev.GENESIS_HASH
    line: bytes = b""


def plan_repair(log: EventLog) -> RepairPlan:
    path = log.path / "HEAD"
    problem: str | None = None
    try:
        head: Head | None = read_head(log.path)
    except HeadDamaged as err:
        head, problem = None, err.problem
    names = segment_names(log.path)
    if head is not None:
        sealed_after = [
            n
            for n in names
            if (head.segment is None or n > head.segment) and (log.path / (n + ".gz")).exists()
        ]
        if sealed_after:
            problem = f"older than the log ({sealed_after[0]} was sealed after seq {head.seq})"
            head = None
    sizes: dict[str, int] = {}
    end = _End()
    found: _End | None = _End() if head is not None and head.seq == 0 else None
    broke: tuple[str, int, str] | None = None  # (segment, line, why)
    for name in names:
        if found is not None:
            break
        try:
            data = read_segment(log.path, name)
        except LogDamaged:
            broke = (name + ".gz", 0, "the compressed file is truncated or corrupt")
            break
        sizes[name] = len(data)
        pos = 0
        for lineno, raw in enumerate(data.splitlines(keepends=True), start=1):
            pos += len(raw)
            if not raw.endswith(b"\n"):
                broke = (name, lineno, "torn")
                break
            link = line_link(end.hash, raw[:-1])
            if link is None or link[0] != end.seq + 1:
                broke = (name, lineno, "does not chain to the line before it")
                break
            end = _End(name, pos, link[0], link[1], raw[:-1])
            if head is not None and (end.seq, end.hash) == (head.seq, head.hash):
                found = end
                break
        if broke:
            break
    if head is not None and found is None:
        if end.seq >= head.seq:
            problem = f"names seq {head.seq} with a hash that event does not have"
            head = None
        else:
            where = (
                f"{broke[0]}:line {broke[1]} {broke[2]}"
                if broke
                else f"the log ends at seq {end.seq}"
            )
            raise LogDamaged(
                f"cannot repair {log.path}: HEAD acknowledges seq {head.seq}, but {where}: "
                "acknowledged events are damaged or missing; restore the log from a backup "
                "(`louyu verify` names every problem; nothing was changed)"
            )
    if head is not None and found is not None:
        return _cut_after(log, names, sizes, found, head)
    # HEAD is missing or damaged: rebuild it at the end of the chain, cutting only a torn line
    if broke is not None and not (broke[2] == "torn" and broke[0] == names[-1]):
        raise LogDamaged(
            f"cannot rebuild {path} ({problem}): {broke[0]}:line {broke[1]} {broke[2]}, so the "
            "log is damaged, not just cut short; restore it from a backup (nothing was changed)"
        )
    plan = _cut_after(log, names, sizes, end, None)
    plan.rewrite_head = f"rebuilt HEAD from the chain at seq {end.seq} (HEAD: {problem})"
    return plan


def _cut_after(
    log: EventLog, names: list[str], sizes: dict[str, int], end: _End, head: Head | None
) -> RepairPlan:
    new = (
        Head()
        if end.segment is None
        else Head(end.seq, end.hash, line_recorded_at(end.line), end.segment, end.offset)
    )
    plan = RepairPlan(new)
    for name in names:
        if end.segment is not None and name < end.segment:
            continue
        size = sizes.get(name)
        if size is None:
            try:
                size = len(read_segment(log.path, name))
            except LogDamaged:
                size = (log.path / (name + ".gz")).stat().st_size
        keep = end.offset if name == end.segment else 0
        if size > keep:
            plan.cuts.append((name, keep, size - keep))
    if head is not None and head != new:
        changes = [
            f"{k} {getattr(head, k)} → {getattr(new, k)}"
            for k in ("segment", "offset", "recorded_at")
            if getattr(head, k) != getattr(new, k)
        ]
        plan.rewrite_head = f"rewrote HEAD (seq {new.seq}): " + ", ".join(changes)
    return plan
