"""Hardening: no accepted input poisons the log, no derived file is trusted, no traceback.

One regression test per defect found by the adversarial campaign (numbered as found), each
run the way it was found: the shipped CLI in a real process, on real files, with real file
systems for the operating-system faults (a 1 MB tmpfs for "no space", a read-only remount).
Every rejection must leave the log byte for byte as it was.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from conftest import ROOT, snapshot
from drafts import building, moved_in, tax, uscc

from louyu_research.log import catalogue as ev
from louyu_research.log.store import EventLog

T1 = "91350100M000100Y43"  # a valid unified social credit code (see test_log)
T2 = uscc("91330402MA2B00000")
ERROR_LINE = 700  # the longest line any error may print (the CLI bounds its lines at 600)


def louyu(
    *args: str, stdin: str | bytes | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """The shipped CLI in its own process, as a user runs it."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    r = subprocess.run(
        [sys.executable, "-m", "louyu_research.cli", *args],
        input=data,
        capture_output=True,
        timeout=timeout,
        cwd=ROOT,
    )
    return subprocess.CompletedProcess(
        r.args,
        r.returncode,
        r.stdout.decode("utf-8", "replace"),
        r.stderr.decode("utf-8", "replace"),
    )


def one_line_error(r: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The command failed with `code` and said why on one bounded line, without a traceback."""
    assert r.returncode == code, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr and "Aborted" not in r.stderr, r.stderr[-3000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr[-3000:]
    assert len(lines[0]) <= ERROR_LINE, len(lines[0])
    return lines[0]


def jsonl(*drafts: dict) -> str:
    return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in drafts)


def new_log(tmp_path: Path, plain: bool = False) -> Path:
    """A small log on disk: a sealed month (2015-02, compressed unless `plain`) and a head month."""
    path = tmp_path / "ev"
    log = EventLog.init(path, compress_sealed=not plain)
    log.append(
        [
            building("B1", rec="2015-02-01T09:00:00+08:00"),
            moved_in(T1, "B1", "2015-02-01", "2015-02-05T09:00:00+08:00", headcount=40),
            tax(T1, "B1", "2015-02", 12345.67, "2015-02-20T09:00:00+08:00"),
        ]
    )
    log.append([tax(T1, "B1", "2015-03", 2000.0, "2015-03-20T09:00:00+08:00")])
    log.append([tax(T1, "B1", "2015-04", 3000.0, "2015-04-20T09:00:00+08:00")])
    return path


def rejected_unchanged(log: Path, *drafts: dict | str) -> list[str]:
    """Append through the CLI, expect a rejection, and that the log did not change by a byte."""
    before = snapshot(log)
    body = "".join(d if isinstance(d, str) else jsonl(d) for d in drafts)
    r = louyu("append", "--log", str(log), "-", stdin=body)
    assert r.returncode == 1, (r.stdout, r.stderr[-2000:])
    assert "Traceback" not in r.stderr
    assert snapshot(log) == before
    lines = r.stderr.splitlines()
    assert lines[-1].startswith("rejected:") and "nothing was appended" in lines[-1]
    assert all(len(line) <= ERROR_LINE for line in lines)
    return lines[:-1]


# --- 1. an integer beyond Int64 -----------------------------------------------------------------


def test_1_a_headcount_beyond_int64_is_refused_and_every_command_still_works(tmp_path):
    log = new_log(tmp_path)
    big = moved_in(T2, "B1", "2015-04-01", None, headcount=2**63)
    problems = rejected_unchanged(log, big)
    assert problems == ["-:line 1: data.headcount: Input should be less than or equal to 1000000"]
    # the largest headcount accepted reads back as Int64 through every later command
    ok = moved_in(T2, "B1", "2015-04-01", None, headcount=ev.MAX_HEADCOUNT)
    assert louyu("append", "--log", str(log), "-", stdin=jsonl(ok)).returncode == 0
    stats = json.loads(louyu("stats", "--log", str(log)).stdout)
    assert stats["events"] == 6
    r = louyu(
        "state",
        "--log",
        str(log),
        "--as-of",
        "2015-05-01",
        "--frame",
        "tenants",
        "--format",
        "json",
    )
    assert r.returncode == 0, r.stderr
    assert sorted(t["headcount"] for t in json.loads(r.stdout)["rows"]) == [40, 1_000_000]
    assert (
        louyu("append", "--log", str(log), "-", stdin=jsonl(building("B2", rec=None))).returncode
        == 0
    )


# --- 2. Unicode digits --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"data": {"period": "２０２０-01"}}, "data.period"),  # full-width digits
        ({"data": {"period": "٢٠٢٠-01"}}, "data.period"),  # Arabic-Indic digits
        ({"occurred_on": "２０１６-01-31"}, "occurred_on"),
        ({"recorded_at": "２０１６-02-01T00:00:00Z"}, "recorded_at"),
    ],
)
def test_2_unicode_digits_are_refused_in_periods_dates_and_timestamps(tmp_path, patch, field):
    log = new_log(tmp_path)
    draft = tax(T1, "B1", "2015-04", 1.0, None, eid="t-unicode")
    draft = {**draft, **{k: v for k, v in patch.items() if k != "data"}}
    draft["data"] = {**draft["data"], **patch.get("data", {})}
    problems = rejected_unchanged(log, draft)
    assert len(problems) == 1 and problems[0].startswith(f"-:line 1: {field}: "), problems
    assert "ASCII digits" in problems[0]


def test_2_unicode_digits_in_a_month_or_quarter_argument_are_a_usage_error(tmp_path):
    log = new_log(tmp_path)
    r = louyu("indicators", "--log", str(log), "--month", "２０１５-04", "--level", "city")
    assert "not a month YYYY-MM" in one_line_error(r, 2)
    r = louyu("report", "--log", str(log), "--quarter", "２０１７Q4", "--out", str(tmp_path / "r"))
    one_line_error(r, 2)
    assert not (tmp_path / "r").exists()


# --- 3. repair trusts HEAD's offset -------------------------------------------------------------


def lower_head_offset(log: Path, lines: int) -> dict:
    head = json.loads((log / "HEAD").read_text())
    data = (log / head["segment"]).read_bytes()
    tail = b"".join(data.splitlines(keepends=True)[-lines:])
    head["offset"] -= len(tail)
    (log / "HEAD").write_text(json.dumps(head, sort_keys=True) + "\n")
    return head


def test_3_a_lowered_head_offset_never_costs_an_acknowledged_event(tmp_path):
    log = new_log(tmp_path)
    louyu(
        "append",
        "--log",
        str(log),
        "-",
        stdin=jsonl(
            *(
                tax(T1, "B1", "2015-04", float(i), f"2015-04-2{i}T10:00:00+08:00", eid=f"x{i}")
                for i in range(3)
            )
        ),
    )
    before = EventLog(log).read()
    assert before.height == 8
    lower_head_offset(log, 3)
    # verify names HEAD, precisely, and not the three acknowledged events as a tail
    r = louyu("verify", "--log", str(log))
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        f"HEAD:seq 8: offset {json.loads((log / 'HEAD').read_text())['offset']} is not where "
        f"seq 8's line ends ({(log / '2015-04.jsonl').stat().st_size}): HEAD was altered; "
        "`louyu repair` rewrites it from the chain"
    ]
    # a reader or writer refuses rather than trusting it (a writer would have cut the events)
    one_line_error(louyu("stats", "--log", str(log)))
    r = louyu("append", "--log", str(log), "-", stdin=jsonl(building("B2", rec=None)))
    assert "HEAD" in one_line_error(r) and (log / "2015-04.jsonl").stat().st_size > 0
    # repair rewrites HEAD from the chain and removes nothing
    r = louyu("repair", "--log", str(log))
    assert r.returncode == 0, r.stderr
    assert "removed" not in r.stdout and r.stdout.startswith("rewrote HEAD (seq 8): offset")
    assert louyu("verify", "--log", str(log)).returncode == 0
    assert EventLog(log).read().equals(before)
    assert (
        louyu("append", "--log", str(log), "-", stdin=jsonl(building("B2", rec=None))).returncode
        == 0
    )


# --- 4. verify against a live writer -----------------------------------------------------------

PAUSED_WRITER = """
import os, sys
from louyu_research.log.store import EventLog
real, paused = os.fsync, []
def fsync(fd):
    if not paused:  # the batch's lines are written (not yet synced), HEAD not yet replaced
        paused.append(1)
        print("WRITTEN", flush=True)
        sys.stdin.readline()
    real(fd)
os.fsync = fsync
drafts = [
    {"event_id": f"live-{i}", "type": "CityTaxReported", "occurred_on": "2015-04-30",
     "recorded_at": "2015-04-30T10:00:00+08:00",
     "data": {"period": "2015-04", "amount_yuan": 1000.0 + i, "district": f"区{i}"}}
    for i in range(5000)
]
result = EventLog(sys.argv[1]).append(drafts)
print("ACK", result.head.seq, flush=True)
"""


def test_4_verify_reads_a_snapshot_and_never_calls_a_live_writers_batch_damage(tmp_path):
    log = new_log(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, "-c", PAUSED_WRITER, str(log)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert writer.stdout.readline().strip() == "WRITTEN"
        assert (log / "2015-04.jsonl").stat().st_size > 5000 * 100  # the live batch is on disk
        r = louyu("verify", "--log", str(log))
        assert r.returncode == 0, r.stdout[-2000:]
        assert r.stdout.startswith(f"ok: {log} verifies up to head seq 5 (what HEAD acknowledged")
        assert (
            r.stderr.strip()
            == "note: a writer is appending: what it wrote after seq 5 was not checked"
        )
    finally:
        out, _ = writer.communicate("\n", timeout=120)
    assert out.strip().endswith("ACK 5005")
    r = louyu("verify", "--log", str(log))
    assert r.returncode == 0 and "up to head seq 5005" in r.stdout and not r.stderr


def test_4_a_dead_writers_tail_is_still_named_when_nobody_holds_the_lock(tmp_path):
    log = new_log(tmp_path)
    with open(log / "2015-04.jsonl", "ab") as f:
        f.write(b'{"seq":6,"torn')
    r = louyu("verify", "--log", str(log))
    assert r.returncode == 1
    assert "2015-04.jsonl:line 2: torn (no newline) line after HEAD (seq 5)" in r.stdout


# --- 5. the Parquet cache is trusted -----------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The shipped sample log, copied (without its cache) and read once to build the cache."""
    dst = tmp_path_factory.mktemp("sample") / "events"
    shutil.copytree(ROOT / "events", dst, ignore=shutil.ignore_patterns(".cache", ".lock"))
    EventLog(dst).read()
    return dst


def city_line(log: Path) -> str:
    r = louyu(
        "indicators", "--log", str(log), "--month", "2017-12", "--level", "city", "--format", "csv"
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def cache_files(log: Path, segment: str) -> list[Path]:
    return sorted((log / ".cache").glob(f"{segment}.*.parquet"))


def test_5_a_tampered_swapped_or_truncated_cache_copy_is_rebuilt_never_read(sample, tmp_path):
    truth = city_line(sample)
    reference = EventLog(sample).read()
    log = tmp_path / "events"
    shutil.copytree(sample, log)
    # another month's copy under this month's name
    a, b = cache_files(log, "2017-06.jsonl")[0], cache_files(log, "2016-03.jsonl")[0]
    shutil.copyfile(b, a)
    # one amount multiplied by 1,000 in a copy
    c = cache_files(log, "2017-09.jsonl")[0]
    frame = pl.read_parquet(c)
    first = frame["amount_yuan"].is_not_null().arg_true()[0]
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == first)
        .then(pl.col("amount_yuan") * 1000)
        .otherwise(pl.col("amount_yuan"))
        .alias("amount_yuan")
    )
    frame.write_parquet(c, compression="lz4", statistics=True)
    # a truncated copy
    d = cache_files(log, "2017-03.jsonl")[0]
    d.write_bytes(d.read_bytes()[: d.stat().st_size // 2])
    assert EventLog(log).read().equals(reference)
    assert city_line(log) == truth.replace(str(sample), str(log))
    assert louyu("verify", "--log", str(log)).returncode == 0
    # each bad copy was replaced by a good one, named after its content
    for seg in ("2017-06.jsonl", "2017-09.jsonl", "2017-03.jsonl"):
        (copy,) = cache_files(log, seg)
        assert (
            copy.name.split(".")[-2]
            == __import__("hashlib").sha256(copy.read_bytes()).hexdigest()[:32]
        )


def test_5_a_copied_log_keeps_using_its_cache(sample, tmp_path):
    log = tmp_path / "events"
    shutil.copytree(sample, log, copy_function=shutil.copyfile)  # new mtimes, same bytes
    before = {p.name: p.stat().st_ino for p in (log / ".cache").glob("*.parquet")}
    assert len(before) == len([n for n in os.listdir(log) if n.endswith(".gz")])
    EventLog(log).read()
    after = {p.name: p.stat().st_ino for p in (log / ".cache").glob("*.parquet")}
    assert after == before  # not rebuilt


def test_5_an_edited_segment_does_not_use_the_copy_of_its_old_content(tmp_path):
    log = new_log(tmp_path, plain=True)
    el = EventLog(log)
    el.read()
    seg = log / "2015-03.jsonl"
    seg.write_bytes(seg.read_bytes().replace(b'"amount_yuan":2000.0', b'"amount_yuan":2999.0'))
    assert 2999.0 in EventLog(log).read()["amount_yuan"].to_list()  # the segment, not the copy
    assert louyu("verify", "--log", str(log)).returncode == 1  # and verify names the edit


# --- 6. readers while a writer rolls over months -----------------------------------------------


def test_6_another_reader_storing_copies_cannot_break_a_reader_that_already_planned_its_scan(
    tmp_path, monkeypatch
):
    log = new_log(tmp_path)
    lazy = EventLog(log).scan().select("seq", "amount_yuan")
    cache = log / ".cache"
    planned = sorted(p.name for p in cache.glob("*.parquet"))
    assert len(planned) == 2  # the two sealed months, scanned from these files
    # copies of an older content of each segment (another segment hash): stale
    stale = [cache / ".".join([*n.split(".")[:2], "0" * 32, *n.split(".")[3:]]) for n in planned]
    for path, name in zip(stale, planned, strict=True):
        shutil.copyfile(cache / name, path)
    # another reader, whose Parquet writer makes other bytes (another library version), parses
    # the segments at the same moment and stores its own copies of the same content
    other = EventLog(log)
    write = pl.DataFrame.write_parquet
    monkeypatch.setattr(
        pl.DataFrame,
        "write_parquet",
        lambda self, f, **kw: write(self, f, **{**kw, "compression": "zstd"}),
    )
    for copy in planned:  # <segment>.jsonl.<content digest>.…
        segment, source = ".".join(copy.split(".")[:2]), copy.split(".")[2]
        other._cache.store(segment, source, pl.read_parquet(cache / copy))
    kept = {p.name for p in cache.glob("*.parquet")}
    assert set(planned) < kept and len(kept) == 4  # both readers' copies, and no stale one
    assert not any(p.exists() for p in stale)
    assert lazy.collect()["seq"].to_list() == [1, 2, 3, 4, 5]


ROLLING_WRITER = """
import sys
from louyu_research.log.store import EventLog
log = EventLog(sys.argv[1])
for m in range(60):
    y, mo = 2016 + m // 12, m % 12 + 1
    log.append([{"event_id": f"roll-{m}-{i}", "type": "CityTaxReported",
                 "occurred_on": f"{y}-{mo:02d}-28", "recorded_at": f"{y}-{mo:02d}-28T10:{i:02d}:00Z",
                 "data": {"period": f"{y}-{mo:02d}", "amount_yuan": 1.0 + i, "district": f"区{i}"}}
                for i in range(20)])
"""

READER = """
import sys
from louyu_research.log.store import EventLog
n = 0
while True:
    frame = EventLog(sys.argv[1]).scan().select("seq").collect()
    assert frame["seq"].to_list() == list(range(1, frame.height + 1))
    n += 1
    if open(sys.argv[2]).read():
        break
print(n)
"""


@pytest.mark.timeout(600)
def test_6_readers_never_crash_while_a_writer_rolls_over_months(tmp_path):
    log = new_log(tmp_path)
    stop = tmp_path / "stop"
    stop.write_text("")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(log), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    w = subprocess.run(
        [sys.executable, "-c", ROLLING_WRITER, str(log)],
        capture_output=True,
        text=True,
        env=env,
        timeout=500,
    )
    stop.write_text("stop")
    assert w.returncode == 0, w.stderr[-2000:]
    scans = 0
    for r in readers:
        out, err = r.communicate(timeout=120)
        assert r.returncode == 0, err[-3000:]
        scans += int(out)
    assert scans > 10
    assert EventLog(log).verify() == []
    assert len(list((log / ".cache").glob("*.parquet"))) == len(list(log.glob("*.gz")))


# --- 8. repeated keys ---------------------------------------------------------------------------


def test_8_a_key_given_twice_is_refused_not_last_one_wins(tmp_path):
    log = new_log(tmp_path)
    line = (
        '{"event_id":"dup","type":"TaxReported","occurred_on":"2015-04-28",'
        f'"data":{{"tenant_id":"{T1}","building_id":"B1","period":"2015-04",'
        '"amount_yuan":1.0,"amount_yuan":999.0}}\n'
    )
    assert rejected_unchanged(log, line) == ["-:line 1: data.amount_yuan: key given more than once"]
    twice = '{"event_id":"a","event_id":"b","type":"BuildingCompleted","occurred_on":"2015-04-28","data":{"building_id":"B1"}}\n'
    assert rejected_unchanged(log, twice) == ["-:line 1: event_id: key given more than once"]


# --- 9. timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recorded_at", "message"),
    [
        ("1580601600", "RFC 3339"),  # a Unix time in a string
        ("2016-01-01 10:00:00+08:00", "RFC 3339"),  # a space for the T
        ("2016-01-01T10:00+08:00", "RFC 3339"),  # no seconds
        ("2016-01-01T10:00:00.1234567Z", "RFC 3339"),  # below microseconds
        ("9999-12-31T23:59:59Z", "must lie in 1970"),
        ("9999-12-31T23:59:59-23:59", "must lie in 1970"),  # once an OverflowError
        ("1969-12-31T23:59:59Z", "must lie in 1970"),
    ],
)
def test_9_recorded_at_is_rfc3339_in_a_window(tmp_path, recorded_at, message):
    log = new_log(tmp_path)
    draft = building("B9", rec=recorded_at)
    (problem,) = rejected_unchanged(log, draft)
    assert problem.startswith("-:line 1: recorded_at: ") and message in problem, problem


def test_9_the_future_is_refused_beyond_the_tolerance_and_the_log_keeps_taking_appends(tmp_path):
    log = new_log(tmp_path)
    far = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    (problem,) = rejected_unchanged(log, building("B9", rec=far))
    assert "is in the future" in problem and "0:10:00 of skew is allowed" in problem
    # a writer whose clock runs 5 minutes ahead: accepted, and a later append without a
    # recorded_at (this machine's clock) is recorded at that instant rather than refused
    ahead = (datetime.now(UTC) + timedelta(minutes=5)).replace(microsecond=0)
    assert (
        louyu(
            "append", "--log", str(log), "-", stdin=jsonl(building("B9", rec=ahead.isoformat()))
        ).returncode
        == 0
    )
    r = louyu("append", "--log", str(log), "-", stdin=jsonl(building("B10", rec=None)))
    assert r.returncode == 0, r.stderr
    last = list(EventLog(log).iter_records())[-1]
    assert datetime.fromisoformat(last["recorded_at"]) == ahead
    assert louyu("verify", "--log", str(log)).returncode == 0


# --- 10. tracebacks instead of one-line errors --------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real small file system at `path` (needs root to mount; skipped otherwise)."""
    path.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(fs: Path) -> None:
    """Use up every free block of a file system."""
    fd = os.open(fs / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def test_10_no_space_during_append_is_one_line_and_appends_nothing(tmp_path):
    with tmpfs(tmp_path / "fs", "2m") as fs:
        log = new_log(fs)
        shutil.rmtree(log / ".cache")
        before = snapshot(log)
        fill(fs)
        # a reader on a full disk reads without keeping a cache
        assert json.loads(louyu("stats", "--log", str(log)).stdout)["events"] == 5
        many = [building(f"N{i}", rec=None, name="楼" * 200) for i in range(200)]  # ~200 KB
        line = one_line_error(louyu("append", "--log", str(log), "-", stdin=jsonl(*many)))
        assert "No space left on device" in line and "free disk space" in line
        assert "nothing was appended" in line and str(log) in line
        assert snapshot(log) == before
        (fs / "filler").unlink()
        assert louyu("verify", "--log", str(log)).returncode == 0
        assert louyu("append", "--log", str(log), "-", stdin=jsonl(*many)).returncode == 0


def test_10_no_space_for_head_rolls_the_written_lines_back(tmp_path):
    """The lines fit into the segment's last block, HEAD's temporary file does not."""
    with tmpfs(tmp_path / "fs", "2m") as fs:
        log = new_log(fs, plain=True)
        before = snapshot(log)
        seg = log / "2015-04.jsonl"
        slack = 4096 - seg.stat().st_size % 4096
        draft = jsonl(tax(T1, "B1", "2015-04", 1.5, "2015-04-25T09:00:00+08:00", eid="h"))
        assert len(draft.encode()) + 200 < slack  # the stored line fits in the slack
        fill(fs)
        line = one_line_error(louyu("append", "--log", str(log), "-", stdin=draft))
        assert "HEAD" in line and "nothing was appended" in line
        assert snapshot(log) == before
        assert not (log / "HEAD.tmp").exists()


def test_10_a_read_only_log_is_read_without_a_cache_and_refuses_writes_in_one_line(tmp_path):
    with tmpfs(tmp_path / "fs", "4m") as fs:
        log = new_log(fs)
        shutil.rmtree(log / ".cache", ignore_errors=True)
        subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
        before = snapshot(log)
        assert json.loads(louyu("stats", "--log", str(log)).stdout)["events"] == 5
        r = louyu(
            "indicators",
            "--log",
            str(log),
            "--month",
            "2015-04",
            "--level",
            "city",
            "--format",
            "csv",
        )
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
        assert louyu("verify", "--log", str(log)).returncode == 0
        for cmd in (["append", "--log", str(log), "-"], ["repair", "--log", str(log)]):
            line = one_line_error(louyu(*cmd, stdin=jsonl(building("B2", rec=None))))
            assert "Read-only file system" in line and ".lock" in line and "read-write" in line
        assert snapshot(log) == before


@pytest.mark.parametrize("damage", ["missing", "empty", "garbled", "fields", "folder"])
def test_10_a_missing_empty_or_garbled_head_is_named_and_repair_rebuilds_it(tmp_path, damage):
    log = new_log(tmp_path)
    good = snapshot(log)
    head = log / "HEAD"
    if damage == "missing":
        head.unlink()
    elif damage == "empty":
        head.write_bytes(b"")
    elif damage == "garbled":
        head.write_bytes(b'{"seq": 5, "hash": "ab')
    elif damage == "fields":
        head.write_text(json.dumps({"seq": "5", "hash": "x"}))
    else:
        head.unlink()
        head.mkdir()
    for cmd in ("stats", "log"):
        assert "HEAD" in one_line_error(louyu(cmd, "--log", str(log)))
    line = one_line_error(
        louyu("append", "--log", str(log), "-", stdin=jsonl(building("B2", rec=None)))
    )
    assert "HEAD" in line
    r = louyu("verify", "--log", str(log))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stdout.splitlines()[0].startswith("HEAD: ")
    if damage == "folder":  # not ours to remove: repair says so, in one line
        assert "move that folder away" in one_line_error(louyu("repair", "--log", str(log)))
        head.rmdir()
    r = louyu("repair", "--log", str(log))
    assert r.returncode == 0, r.stderr
    said = {
        "missing": "missing",
        "empty": "empty",
        "garbled": "garbled: not JSON",
        "fields": "garbled: expected the fields",
        "folder": "missing",
    }[damage]
    assert r.stdout.strip().startswith(f"rebuilt HEAD from the chain at seq 5 (HEAD: {said}")
    assert snapshot(log) == good
    assert louyu("verify", "--log", str(log)).returncode == 0


def test_10_a_lock_that_is_a_folder_is_one_line(tmp_path):
    log = new_log(tmp_path)
    (log / ".lock").unlink()
    (log / ".lock").mkdir()
    before = snapshot(log)
    for cmd in (["append", "--log", str(log), "-"], ["repair", "--log", str(log)]):
        line = one_line_error(louyu(*cmd, stdin=jsonl(building("B2", rec=None))))
        assert ".lock" in line and "Is a directory" in line and "move that folder away" in line
    assert snapshot(log) == before


def test_10_a_file_where_a_folder_should_be(tmp_path):
    (tmp_path / "taken").write_text("a file")
    line = one_line_error(louyu("init", str(tmp_path / "taken")))
    assert "taken" in line and "File exists" in line and "move it away" in line
    log = new_log(tmp_path)
    shutil.rmtree(log / ".cache")
    (log / ".cache").write_text("not a folder")
    assert json.loads(louyu("stats", "--log", str(log)).stdout)["events"] == 5  # no cache, fine
    assert "not an event log" in one_line_error(louyu("stats", "--log", str(log / "HEAD")), 2)


def test_10_a_truncated_compressed_segment_is_named_and_repair_refuses_to_guess(tmp_path):
    log = new_log(tmp_path)
    gz = log / "2015-02.jsonl.gz"
    gz.write_bytes(gz.read_bytes()[:-30])
    shutil.rmtree(log / ".cache")
    before = snapshot(log)
    line = one_line_error(louyu("stats", "--log", str(log)))
    assert str(gz) in line and "truncated compressed file" in line and "backup" in line
    r = louyu("verify", "--log", str(log))
    assert r.returncode == 1 and r.stdout.splitlines()[0].startswith("2015-02.jsonl.gz:line ")
    line = one_line_error(louyu("repair", "--log", str(log)))
    assert (
        line.startswith("louyu: error: cannot repair") and "restore the log from a backup" in line
    )
    assert snapshot(log) == before


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("a.json", "[]", "not an array"),
        ("b.json", '"x"', "not a string"),
        ("c.json", "42", "not a number"),
        ("d.json", "null", "not null"),
        ("e.json", "[" * 100_000 + "]" * 100_000, "nested more than"),
        ("f.json", '{"featured": {"measures": []}}', "featured.measures"),
        ("g.json", '{"ranking_weights": {"occupancy_rate": Infinity}}', "Infinity"),
        ("h.toml", "[ranking_weights]\noccupancy_rate = inf\n", "ranking_weights.occupancy_rate"),
        ("i.toml", "a = " + "[" * 5000 + "]" * 5000, "nested more than"),
        ("j.json", '{"vacancy_min_rate": 0.3, "vacancy_min_rate": 0.9}', "more than once"),
        ("k.json", b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_10_bad_settings_files_are_one_line_usage_errors(tmp_path, name, text, says):
    log = new_log(tmp_path)
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    r = louyu(
        "indicators",
        "--log",
        str(log),
        "--month",
        "2015-04",
        "--level",
        "city",
        "--settings",
        str(path),
    )
    line = one_line_error(r, 2)
    assert str(path) in line and says in line, line


# --- 11. unbounded error output -----------------------------------------------------------------


def test_11_a_50_mb_value_is_described_not_echoed(tmp_path):
    log = new_log(tmp_path)
    huge = "X" * 50_000_000
    line = json.dumps({"event_id": "h", "type": huge, "occurred_on": "2015-04-01", "data": {}})
    problems = rejected_unchanged(
        log, line + "\n" + line.replace('"event_id": "h"', '"' + huge + '": 1') + "\n"
    )
    assert (
        problems[0]
        == "-:line 1: type: unknown event type 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX'… (50,000,000 characters)"
    )
    assert all(len(p) <= 400 for p in problems)


def test_11_a_batch_of_a_million_bad_lines_lists_a_bounded_number(tmp_path):
    log = new_log(tmp_path)
    r = louyu("append", "--log", str(log), "-", stdin="{oops\n" * 100_000)
    lines = r.stderr.splitlines()
    assert r.returncode == 1 and len(lines) == 202
    assert lines[-2] == "… and 99800 more problem(s)"
    assert lines[-1] == "rejected: 100000 problem(s); nothing was appended"


# --- 12. settings coerce types ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("disclosure_min_tenants", True),
        ("disclosure_min_tenants", "3"),
        ("disclosure_min_tenants", 3.0),
        ("vacancy_min_rate", "0.3"),
        ("scope_standalone_only", "yes"),
        ("scope_standalone_only", 1),
        ("key_building_tax_yuan", 1e300),
        ("vacancy_min_area_m2", -1),
    ],
)
def test_12_settings_are_not_coerced(tmp_path, setting, value):
    log = new_log(tmp_path)
    path = tmp_path / "s.json"
    path.write_text(json.dumps({setting: value}))
    r = louyu(
        "indicators",
        "--log",
        str(log),
        "--month",
        "2015-04",
        "--level",
        "city",
        "--settings",
        str(path),
    )
    assert f"{path}: {setting}: " in one_line_error(r, 2)


def test_12_settings_in_the_right_types_are_taken(tmp_path):
    log = new_log(tmp_path)
    path = tmp_path / "s.toml"
    path.write_text(
        "disclosure_min_tenants = 4\nvacancy_min_rate = 0.25\n[featured]\nmeasures = ['area']\n"
    )
    r = louyu(
        "indicators",
        "--log",
        str(log),
        "--month",
        "2015-04",
        "--level",
        "city",
        "--settings",
        str(path),
        "--format",
        "csv",
    )
    assert r.returncode == 0, r.stderr
    echoed = json.loads(
        r.stderr.splitlines()[0].removeprefix("# settings: ")
    )  # CSV: stdout is data
    assert (echoed["disclosure_min_tenants"], echoed["vacancy_min_rate"]) == (4, 0.25)
    assert echoed["featured"]["measures"] == ["area"]


# --- 13. tamper locations -----------------------------------------------------------------------


def test_13_a_sealed_segment_cut_at_a_line_boundary_is_named_where_it_was_cut(tmp_path):
    log = new_log(tmp_path)
    gz = log / "2015-02.jsonl.gz"
    lines = gzip.decompress(gz.read_bytes()).splitlines(keepends=True)
    assert len(lines) == 3
    gz.write_bytes(gzip.compress(b"".join(lines[:2]), mtime=0))
    r = louyu("verify", "--log", str(log))
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        "2015-02.jsonl:line 3: seq 3 is missing: this segment ends at seq 2 and 2015-03.jsonl "
        "starts at seq 4 (cut at a line boundary, lines removed, or a segment removed); restore it from a backup"
    ]


def test_13_a_removed_sealed_segment_is_named_and_never_read_around(tmp_path):
    log = new_log(tmp_path)
    (log / "2015-03.jsonl.gz").unlink()
    shutil.rmtree(log / ".cache")
    line = one_line_error(louyu("stats", "--log", str(log)))
    assert "2015-04.jsonl: starts at seq 5, but the segments before it end at seq 3" in line
    r = louyu("verify", "--log", str(log))
    assert r.returncode == 1
    assert r.stdout.splitlines()[0].startswith(
        "2015-02.jsonl:line 4: seq 4 is missing: this segment ends at seq 3 and 2015-04.jsonl "
        "starts at seq 5"
    )
    assert "restore the log from a backup" in one_line_error(louyu("repair", "--log", str(log)))


def test_13_a_raised_head_offset_is_detected(tmp_path):
    log = new_log(tmp_path, plain=True)
    with open(log / "2015-04.jsonl", "ab") as f:
        f.write(b'{"seq":6}\n')  # a tail, which a raised offset would swallow
    head = json.loads((log / "HEAD").read_text())
    real = head["offset"]
    head["offset"] += 10
    (log / "HEAD").write_text(json.dumps(head, sort_keys=True) + "\n")
    r = louyu("verify", "--log", str(log))
    assert r.returncode == 1
    assert f"HEAD:seq 5: offset {real + 10} is not where seq 5's line ends ({real})" in r.stdout
    assert "HEAD" in one_line_error(louyu("stats", "--log", str(log)))
    r = louyu("repair", "--log", str(log))
    assert r.stdout.splitlines() == [
        "removed 10 unacknowledged byte(s) from 2015-04.jsonl",
        f"rewrote HEAD (seq 5): offset {real + 10} → {real}",
    ]
    assert louyu("verify", "--log", str(log)).returncode == 0


def test_13_a_stale_head_restored_by_hand_is_not_taken_for_a_crash(tmp_path):
    log = new_log(tmp_path)
    old = (log / "HEAD").read_bytes()
    EventLog(log).append([tax(T1, "B1", "2015-05", 1.0, "2015-05-20T09:00:00+08:00")])
    EventLog(log).append([tax(T1, "B1", "2015-06", 1.0, "2015-06-20T09:00:00+08:00")])
    events = EventLog(log).read()
    (log / "HEAD").write_bytes(old)  # consistent with the chain, but older than the log
    line = one_line_error(
        louyu("append", "--log", str(log), "-", stdin=jsonl(building("B2", rec=None)))
    )
    assert "older than the log" in line
    r = louyu("repair", "--log", str(log))
    assert r.returncode == 0 and "removed" not in r.stdout and "older than the log" in r.stdout
    assert EventLog(log).read().equals(events)


# --- also accepted though nobody would mean them ------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "field", "says"),
    [
        ({"event_id": "   "}, "event_id", "must not be empty or blank"),
        ({"event_id": "\u3000"}, "event_id", "must not be empty or blank"),  # ideographic space
        ({"data": {"name": "  "}}, "data.name", "must not be empty or blank"),
        ({"data": {"name": "大\x00厦"}}, "data.name", "control character U+0000 at position 2"),
        ({"data": {"name": "大\u2028厦"}}, "data.name", "control character U+2028"),
        ({"data": {"street": "新兴\n街道"}}, "data.street", "control character U+000A"),
        ({"source": "\t"}, "source", "control character U+0009"),
        (
            {"data": {"gross_floor_area_m2": 1e308}},
            "data.gross_floor_area_m2",
            "less than or equal to 10000000",
        ),
        ({"occurred_on": "0001-01-01"}, "occurred_on", "must lie in 1900-01-01"),
        ({"occurred_on": "9999-12-31"}, "occurred_on", "must lie in 1900-01-01"),
        ({"data": {"completed_on": "1580601600"}}, "data.completed_on", "YYYY-MM-DD"),
    ],
)
def test_nonsense_nobody_would_mean_is_refused(tmp_path, patch, field, says):
    log = new_log(tmp_path)
    draft = building("B9", rec=None)
    draft = {**draft, **{k: v for k, v in patch.items() if k != "data"}}
    draft["data"] = {**draft["data"], **patch.get("data", {})}
    problems = rejected_unchanged(log, draft)
    assert len(problems) == 1 and problems[0].startswith(f"-:line 1: {field}: "), problems
    assert says in problems[0], problems


def test_negative_city_tax_and_periods_out_of_the_window_are_refused(tmp_path):
    log = new_log(tmp_path)
    city = {
        "event_id": "c",
        "type": "CityTaxReported",
        "occurred_on": "2015-04-30",
        "data": {"period": "2015-04", "amount_yuan": -5.0},
    }
    (p,) = rejected_unchanged(log, city)
    assert p == "-:line 1: data.amount_yuan: Input should be greater than or equal to 0"
    (p,) = rejected_unchanged(
        log, {**tax(T1, "B1", "1899-12", 5.0, None, eid="old"), "occurred_on": "2015-04-28"}
    )
    assert p.startswith("-:line 1: data.period: ") and "1900-01" in p
    (p,) = rejected_unchanged(log, tax(T1, "B1", "2015-04", -2e12, None, eid="huge"))
    assert (
        p == "-:line 1: data.amount_yuan: Input should be greater than or equal to -1000000000000"
    )


def test_a_tenants_refund_is_a_negative_month_and_replays(tmp_path):
    """A tenant's month may be negative (refunds larger than its payments, 退税)."""
    log = new_log(tmp_path)
    refund = tax(T1, "B1", "2015-04", -1234.5, "2015-04-25T09:00:00+08:00", eid="refund")
    assert louyu("append", "--log", str(log), "-", stdin=jsonl(refund)).returncode == 0
    r = louyu(
        "state", "--log", str(log), "--as-of", "2015-04-30", "--frame", "tax", "--format", "json"
    )
    assert r.returncode == 0, r.stderr
    rows = {row["period"]: row["amount_yuan"] for row in json.loads(r.stdout)["rows"]}
    assert rows["2015-04"] == -1234.5  # the latest report of the month replaces the 3,000
    assert louyu("verify", "--log", str(log)).returncode == 0


def test_every_problem_of_a_batch_is_reported_at_once(tmp_path):
    log = new_log(tmp_path)
    bad = [
        building("B7", rec=None, name=" "),
        {**tax(T1, "B1", "２０１５-04", 1.0, None, eid="p"), "occurred_on": "2015-04-28"},
        moved_in(T2, "B1", "2015-04-01", None, headcount=-1),
    ]
    problems = rejected_unchanged(log, *bad)
    assert [p.split(": ")[0:2] for p in problems] == [
        ["-:line 1", "data.name"],
        ["-:line 2", "data.period"],
        ["-:line 3", "data.headcount"],
    ]
