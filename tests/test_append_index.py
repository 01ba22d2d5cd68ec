"""The append index (`log/index.py`) and columnar copies written at seal time.

The index is derived and disposable: whatever happens to it (deleted, left behind by a crash,
byte-flipped, copied from another log), an append must answer exactly as a scan of the log
would — a duplicate id is refused, a known reference accepted, an unknown one refused.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from louyu_research.log import cache as cache_mod
from louyu_research.log import index as ix
from louyu_research.log import store
from louyu_research.log.store import AppendRejected, EventLog
from tests.drafts import building, envelope, moved_in, tax, uscc

T1 = uscc("91330402MA2B00001")
T2 = uscc("91330402MA2B00002")


def month(n: int) -> str:
    """The n-th month from 2015-01 as YYYY-MM."""
    return f"{2015 + (n - 1) // 12}-{(n - 1) % 12 + 1:02d}"


def small_log(tmp_path: Path, months: int = 5, name: str = "ev", plain: bool = False) -> Path:
    """Two buildings, two tenancies, and a tax report per tenancy in each of `months` months,
    one batch per recorded month (so every month but the last is a sealed segment)."""
    path = tmp_path / name
    log = EventLog.init(path, compress_sealed=not plain)
    log.append(
        [
            building("B1", rec="2015-01-02T09:00:00+00:00"),
            building("B2", rec="2015-01-02T09:01:00+00:00"),
            moved_in(T1, "B1", "2015-01-03", "2015-01-03T09:00:00+00:00"),
            moved_in(T2, "B2", "2015-01-03", "2015-01-03T09:01:00+00:00"),
        ]
    )
    for n in range(1, months + 1):
        m = month(n)
        log.append(
            [
                tax(T1, "B1", m, 1000.0 + n, f"{m}-20T09:00:00+00:00"),
                tax(T2, "B2", m, 2000.0 + n, f"{m}-20T09:01:00+00:00"),
            ]
        )
    return path


def completed(bid: str) -> dict:
    return envelope(
        f"done-{bid}-{os.urandom(4).hex()}",
        "BuildingCompleted",
        "2030-01-01",
        None,
        {"building_id": bid},
    )


def manifest(path: Path) -> dict:
    return json.loads((path / ".index" / "MANIFEST.json").read_text())["body"]


def head_of(path: Path) -> dict:
    return json.loads((path / "HEAD").read_text())


def indexed_at_head(path: Path) -> bool:
    h, m = head_of(path), manifest(path)["head"]
    return (m["seq"], m["hash"]) == (h["seq"], h["hash"])


def problems(path: Path, *drafts: dict) -> list[str]:
    with pytest.raises(AppendRejected) as err:
        EventLog(path).append(list(drafts))
    return [str(p) for p in err.value.problems]


def assert_answers_like_the_log(path: Path) -> None:
    """What only the whole log knows: the first month's tax id is taken, its building and
    tenancy are known, a building never registered is not."""
    first = tax(T1, "B1", "2015-01", 1001.0, "2015-01-20T09:00:00+00:00")
    other = dict(first, data={**first["data"], "amount_yuan": 5.0})
    (msg,) = problems(path, other)
    assert "is already in the log (seq 5) with other content" in msg
    assert EventLog(path).append([first]).unchanged == [first["event_id"]]
    (msg,) = problems(path, completed("B9"))
    assert "unknown building 'B9'" in msg
    r = EventLog(path).append(
        [tax(T1, "B1", "2030-02", 7.0, None, eid=f"probe-{os.urandom(4).hex()}")]
    )
    assert len(r.appended) == 1
    assert indexed_at_head(path)


# --- the index is maintained, and rebuilt when it cannot be used -------------------------------


def test_each_append_leaves_the_index_at_head(tmp_path):
    path = small_log(tmp_path)
    assert indexed_at_head(path)
    body = manifest(path)
    # every event id, both buildings, both tenancies, both tenants: by hand, 4 + 5*2 events
    assert sum(r["entries"] for r in body["runs"]) == 14 + 2 + 2 + 2
    assert body["segments"]["2015-01.jsonl"] == [1, 6]
    assert body["segments"]["2015-05.jsonl"] == [13, 14]
    assert_answers_like_the_log(path)


def test_a_deleted_index_is_rebuilt(tmp_path):
    path = small_log(tmp_path)
    shutil.rmtree(path / ".index")
    assert_answers_like_the_log(path)


def test_a_stale_index_is_caught_up_from_the_chain(tmp_path):
    path = small_log(tmp_path, months=2)
    old = tmp_path / "old-index"
    shutil.copytree(path / ".index", old)
    log = EventLog(path)
    for n in range(3, 6):  # three more months, the old index knows none of them
        m = month(n)
        log.append([tax(T1, "B1", m, 1000.0 + n, f"{m}-20T09:00:00+00:00")])
    shutil.rmtree(path / ".index")
    shutil.copytree(old, path / ".index")
    assert manifest(path)["head"]["seq"] == 8 < head_of(path)["seq"] == 11
    rebuilt = []
    orig = EventLog._rebuild_index
    EventLog._rebuild_index = lambda self, head: rebuilt.append(1) or orig(self, head)
    try:
        late = tax(T1, "B1", "2015-04", 1004.0, "2015-04-20T09:00:00+00:00")
        (msg,) = problems(path, dict(late, data={**late["data"], "amount_yuan": 1.0}))
    finally:
        EventLog._rebuild_index = orig
    assert "is already in the log (seq 10)" in msg
    assert rebuilt == []  # caught up, not rebuilt
    assert indexed_at_head(path)
    assert_answers_like_the_log(path)


@pytest.mark.parametrize("restore_mtime", [False, True])
def test_a_byte_flipped_run_is_rebuilt(tmp_path, restore_mtime):
    path = small_log(tmp_path)
    body = manifest(path)
    (run,) = [r for r in body["runs"] if r["entries"] >= 4][:1]
    run_path = path / ".index" / run["name"]
    st = run_path.stat()
    data = bytearray(run_path.read_bytes())
    # flip a byte of the text of the entry `E␀tax-…-2015-01`: that id would look new
    at = data.index(b"E\x00tax-" + T1.encode() + b"-B1-2015-01") + 3
    data[at] ^= 0x01
    with open(run_path, "r+b") as f:
        f.write(bytes(data))
    if restore_mtime:  # a tampering that restores mtime still changes ctime
        os.utime(run_path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert_answers_like_the_log(path)


def test_a_byte_flipped_manifest_is_rebuilt(tmp_path):
    path = small_log(tmp_path)
    m = path / ".index" / "MANIFEST.json"
    text = m.read_text()
    m.write_text(text.replace('"entries": ', '"entries": 1', 1))
    assert_answers_like_the_log(path)
    m.write_bytes(b"\x00garbage")
    assert_answers_like_the_log(path)


def test_an_index_from_another_log_is_rebuilt(tmp_path):
    path = small_log(tmp_path, months=5)
    other = small_log(tmp_path, months=2, name="other")
    EventLog(other).append([building("B7", rec="2015-02-25T09:00:00+00:00")])
    shutil.rmtree(path / ".index")
    shutil.copytree(other / ".index", path / ".index")
    # B7 is registered in the other log only: here it is unknown
    (msg,) = problems(path, completed("B7"))
    assert "unknown building 'B7'" in msg
    assert_answers_like_the_log(path)


def test_verify_rebuilds_a_damaged_index_and_says_so(tmp_path):
    path = small_log(tmp_path)
    for run in (path / ".index").glob("run-*.bin"):
        with open(run, "r+b") as f:
            f.seek(3)
            f.write(b"\xff")
    findings = EventLog(path).verify()
    assert list(findings) == []
    assert any("append index was rebuilt" in n and "sha256" in n for n in findings.notes)
    assert indexed_at_head(path)
    ix.AppendIndex.load(path, deep=True)  # now sound


def test_repair_rebuilds_a_damaged_index(tmp_path):
    path = small_log(tmp_path)
    (path / ".index" / "MANIFEST.json").write_text("{}")
    done = EventLog(path).repair()
    assert done.index is not None and "rebuilt" in done.index
    assert indexed_at_head(path)


# --- crashes -----------------------------------------------------------------------------------


class Crash(BaseException):
    """A process dying at a chosen point (nothing after it runs, no clean-up)."""


def test_an_append_after_a_crash_between_head_and_index(tmp_path, monkeypatch):
    path = small_log(tmp_path, months=2)
    before = manifest(path)["head"]

    def die(self, result, index):
        raise Crash

    monkeypatch.setattr(EventLog, "_index_batch", die)
    batch = [tax(T1, "B1", "2015-03", 77.0, "2015-03-20T09:00:00+00:00")]
    with pytest.raises(Crash):
        EventLog(path).append(batch)
    monkeypatch.undo()
    assert head_of(path)["seq"] == 9  # acknowledged
    assert manifest(path)["head"] == before  # the index is behind, never ahead
    assert EventLog(path).append(batch).unchanged == [batch[0]["event_id"]]
    other = dict(batch[0], data={**batch[0]["data"], "amount_yuan": 1.0})
    (msg,) = problems(path, other)
    assert "already in the log (seq 9)" in msg
    assert indexed_at_head(path)


def test_an_append_after_a_crash_between_segment_and_head(tmp_path, monkeypatch):
    path = small_log(tmp_path, months=2)
    before = manifest(path)

    real_replace = os.replace

    def replace(src, dst, *a, **k):
        if Path(dst).name == "HEAD":
            raise Crash
        return real_replace(src, dst, *a, **k)

    monkeypatch.setattr(store.os, "replace", replace)
    batch = [tax(T1, "B1", "2015-03", 77.0, "2015-03-20T09:00:00+00:00")]
    with pytest.raises(Crash):
        EventLog(path).append(batch)
    monkeypatch.undo()
    assert head_of(path)["seq"] == 8 and (path / "2015-03.jsonl").exists()  # a tail
    assert manifest(path) == before
    r = EventLog(path).append(batch)  # the tail is cut; the event is new
    assert [e["seq"] for e in r.appended] == [9]
    assert indexed_at_head(path)


def test_a_crash_while_writing_the_index_leaves_the_old_manifest(tmp_path, monkeypatch):
    path = small_log(tmp_path, months=2)
    before = manifest(path)

    def die(self, head):
        raise Crash

    monkeypatch.setattr(ix.AppendIndex, "commit", die)
    with pytest.raises(Crash):
        EventLog(path).append([tax(T1, "B1", "2015-03", 77.0, "2015-03-20T09:00:00+00:00")])
    monkeypatch.undo()
    assert manifest(path) == before  # new run files, perhaps, but not named by the manifest
    assert_answers_like_the_log(path)
    names = {r["name"] for r in manifest(path)["runs"]} | {"MANIFEST.json"}
    assert {p.name for p in (path / ".index").iterdir()} == names  # leftovers removed


# --- exact answers -----------------------------------------------------------------------------


def test_duplicates_and_retractions_across_the_index(tmp_path):
    path = small_log(tmp_path, months=12)
    log = EventLog(path)
    assert len(manifest(path)["runs"]) >= 2  # several runs: the old month is not in the newest
    first = tax(T2, "B2", "2015-01", 2001.0, "2015-01-20T09:01:00+00:00")
    (msg,) = problems(path, dict(first, data={**first["data"], "period": "2015-02"}))
    assert "already in the log (seq 6)" in msg
    retract = {
        "event_id": "void-1",
        "type": "EventRetracted",
        "occurred_on": "2016-01-30",
        "data": {"event_id": first["event_id"], "reason": "typo"},
    }
    assert len(log.append([retract]).appended) == 1
    bad = dict(retract, event_id="void-2", data={"event_id": "never-was", "reason": "x"})
    (msg,) = problems(path, bad)
    assert "cannot retract unknown event 'never-was'" in msg
    # a tenancy that does not exist (T1 in B2), though tenant and building both do
    (msg,) = problems(path, tax(T1, "B2", "2030-01", 1.0, None))
    assert f"unknown tenancy ('{T1}', 'B2')" in msg


def test_colliding_keys_are_told_apart_by_their_text(tmp_path, monkeypatch):
    monkeypatch.setattr(ix, "keys_of", lambda texts: np.zeros(len(texts), dtype="<u8"))
    path = small_log(tmp_path, months=3)
    assert_answers_like_the_log(path)
    (msg,) = problems(path, tax(T2, "B1", "2030-01", 1.0, None))
    assert f"unknown tenancy ('{T2}', 'B1')" in msg


# --- columnar copies at seal time ---------------------------------------------------------------


def count_parses(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = store._parse_ndjson

    def counting(data, where):
        seen.append(Path(where).name)
        return real(data, where)

    monkeypatch.setattr(store, "_parse_ndjson", counting)
    return seen


@pytest.mark.parametrize("plain", [True, False])
def test_sealed_segments_have_their_copy_when_sealed(tmp_path, monkeypatch, plain):
    path = small_log(tmp_path, months=4, plain=plain)
    copies = sorted(p.name.split(".")[0] for p in (path / ".cache").glob("*.parquet"))
    assert copies == ["2015-01", "2015-02", "2015-03"]  # every sealed month; not the head
    parsed = count_parses(monkeypatch)
    frame = EventLog(path).read()
    assert frame.height == 12
    assert parsed == ["2015-04.jsonl"]


@pytest.mark.parametrize("plain", [True, False])
def test_a_batch_spanning_months_copies_each_month_it_seals(tmp_path, monkeypatch, plain):
    """A backfill batch of five months onto a log whose head is in the first: the first
    (appended to) and the three months it writes whole are sealed, the whole ones parsed
    together; each copy holds exactly its segment's events, as the segment parsed alone."""
    path = tmp_path / "ev"
    log = EventLog.init(path, compress_sealed=not plain)
    log.append(
        [
            building("B1", rec="2015-01-02T09:00:00+00:00"),
            moved_in(T1, "B1", "2015-01-03", "2015-01-03T09:00:00+00:00"),
        ]
    )
    drafts = []
    for n in range(1, 6):
        m = month(n)
        rec = [f"{m}-2{k}T09:00:00+00:00" for k in range(n)]  # n events in month n
        drafts += [tax(T1, "B1", month(10 * n + k), 1.0 + k, r) for k, r in enumerate(rec)]
    parsed = count_parses(monkeypatch)
    assert len(log.append(drafts).appended) == 15
    first = "2015-01.jsonl" if plain else "2015-01.jsonl.gz"
    assert parsed == ["ev", first]  # the three whole months at once, then the first alone
    copies = {p.name.split(".")[0]: p for p in (path / ".cache").glob("*.parquet")}
    assert sorted(copies) == ["2015-01", "2015-02", "2015-03", "2015-04"]
    for name, copy in copies.items():
        stored = path / f"{name}.jsonl"
        data = stored.read_bytes() if plain else gzip.decompress(Path(f"{stored}.gz").read_bytes())
        alone = store._parse_ndjson(data, stored)
        assert alone.height == (3 if name == "2015-01" else int(name[-1]))
        assert pl.read_parquet(copy).equals(alone)
    parsed.clear()
    assert EventLog(path).read().height == 17
    assert parsed == ["2015-05.jsonl"]


def test_a_copied_log_reads_without_parsing_its_sealed_segments(tmp_path, monkeypatch):
    path = small_log(tmp_path, months=4)
    copy = tmp_path / "copy"
    shutil.copytree(path, copy, copy_function=shutil.copyfile)  # new inodes and times
    parsed = count_parses(monkeypatch)
    hashed: list[str] = []
    real = cache_mod.SegmentCache._record
    monkeypatch.setattr(
        cache_mod.SegmentCache,
        "_record",
        lambda self, name, stat, value: hashed.append(name) or real(self, name, stat, value),
    )
    assert EventLog(copy).read().equals(EventLog(path).read())
    assert parsed == ["2015-04.jsonl", "2015-04.jsonl"]  # the head segment, once per log
    assert sorted(hashed) == ["2015-01.jsonl.gz", "2015-02.jsonl.gz", "2015-03.jsonl.gz"]
    hashed.clear()
    EventLog(copy).read()  # the copy's digests are recorded now: trusted by their stat
    assert hashed == []


def test_an_edited_sealed_segment_is_hashed_again_and_parsed(tmp_path, monkeypatch):
    path = small_log(tmp_path, months=3, plain=True)
    seg = path / "2015-01.jsonl"
    data = seg.read_bytes()
    seg.write_bytes(data.replace(b'"amount_yuan":1001.0', b'"amount_yuan":9001.0'))
    parsed = count_parses(monkeypatch)
    frame = EventLog(path).read()
    assert "2015-01.jsonl" in parsed  # its recorded digest no longer holds
    assert 9001.0 in frame["amount_yuan"].to_list()


def test_a_rebuild_refuses_a_log_with_a_sealed_segment_missing(tmp_path):
    path = small_log(tmp_path, months=4)
    (path / "2015-02.jsonl.gz").unlink()
    shutil.rmtree(path / ".index")
    with pytest.raises(store.LogDamaged, match="events are missing"):
        EventLog(path).append([tax(T1, "B1", "2030-01", 1.0, None)])
    assert head_of(path)["seq"] == 12  # nothing appended
