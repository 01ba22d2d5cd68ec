"""Saved preparations (`replay.saved`): read back equal to what `prepare` computes, by another
`Log` object, only for the cut-off and code they were made for, checked against damage, kept
few, and never in the way when they cannot be written."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from drafts import Kit, retraction, uscc, write_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from replay_kit import random_drafts

from louyu_research.log.store import EventLog, LogDamaged
from louyu_research.replay import log as replay_log
from louyu_research.replay import saved
from louyu_research.replay.log import Log, Prepared, State, open_log

AS_OF = date(2016, 6, 30)
T1, T2 = uscc("91330400MA2B00001"), uscc("91330400MA2B00002")
FRAMES = [
    n for n in Prepared.__dataclass_fields__ if n not in ("position", "key_industries", "_tax")
]


def saving(path: Path) -> Log:
    """A log object that saves the preparations of any log, however small."""
    log = open_log(path)
    log.save_from_events = 0
    return log


def folders(path: Path) -> list[Path]:
    return sorted(p for p in (path / ".cache").glob("prepared.*") if p.is_dir())


def assert_same(a: Prepared, b: Prepared, *, check_row_order: bool = True) -> None:
    assert a.position == b.position and a.key_industries == b.key_industries
    for name in FRAMES:
        assert_frame_equal(
            getattr(a, name), getattr(b, name), check_exact=True, check_row_order=check_row_order
        )


def assert_same_state(a: State, b: State) -> None:
    assert (a.as_of, a.position) == (b.as_of, b.position)
    for name in ("buildings", "tenancies", "tenants", "city_tax", "findings", "tax"):
        assert_frame_equal(a.frame(name), b.frame(name), check_exact=True)


def no_prepare(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Prepared:
        raise AssertionError("prepared again: the saved preparation was not read")

    monkeypatch.setattr(replay_log, "prepare", refuse)


def sample_log(path: Path) -> Log:
    k = Kit()
    drafts = [
        k.building("B1"),
        k.building("B2", street="解放街道"),
        k.move_in(T1, "B1", "2015-02-01", area=300.0),
        k.move_in(T2, "B2", "2015-03-01", area=200.0),
        k.tax(T1, "B1", "2015-02", 1000.0),
        k.tax(T1, "B1", "2015-02", 1200.0),  # a restatement
        k.tax(T2, "B2", "2015-03", 50.0, part="national"),
        k.tax(T2, "B2", "2015-03", 70.0, part="local"),
        k.move_out(T2, "B2", "2015-09-30"),
        k.tax(T2, "B2", "2015-12", 10.0),  # after the move-out: a finding
    ]
    drafts.append(retraction(k, drafts[5]["event_id"]))
    return write_log(path, drafts)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_saved_preparation_reads_back_equal_to_the_computed_one(data: st.DataObject) -> None:
    drafts = random_drafts(data.draw, 40)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ev"
        write_log(path, drafts)
        computed = open_log(path).prepared()  # not saved: a small log
        assert folders(path) == []
        first = saving(path).prepared()  # prepared and saved
        assert len(folders(path)) == 1
        second = saving(path).prepared()  # read back
        assert_same(first, second)
        # the rows of a few frames (city tax) come in no defined order
        assert_same(computed, first, check_row_order=False)


def test_another_log_object_reads_it_instead_of_preparing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ev"
    sample_log(path)
    log = saving(path)
    state, panel = log.replay(AS_OF), log.panel("2015-01", "2016-06")
    no_prepare(monkeypatch)
    again = saving(path)
    assert_same_state(again.replay(AS_OF), state)
    assert_frame_equal(again.panel("2015-01", "2016-06"), panel)
    # the tax frame of a replay (ids joined back by codes) from the saved preparation
    t = again.replay(AS_OF).tax.sort("tenant_id", "period")
    assert t.select("period", "amount_yuan").rows() == [
        ("2015-02", 1000.0),
        ("2015-03", 120.0),
        ("2015-12", 10.0),
    ]


def test_each_cut_off_has_its_own_and_a_new_event_is_a_new_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "ev"
    sample_log(path)
    log = saving(path)
    whole = log.replay(AS_OF)
    early = log.replay(AS_OF, upto_seq=4)
    by_time = log.replay(AS_OF, recorded_by=datetime(2015, 1, 1, 0, 4, 30, tzinfo=UTC))
    assert len(folders(path)) == 3
    assert early.position["seq"] == 4 and by_time.position["seq"] == 4
    assert_same_state(saving(path).replay(AS_OF, upto_seq=4), early)
    assert_same_state(saving(path).replay(AS_OF), whole)
    assert len(folders(path)) == 3
    k = Kit(datetime(2016, 1, 1, tzinfo=UTC))
    EventLog(path).append([k.building("B3", "2015-06-01", event_id="b3")])
    after = saving(path).replay(AS_OF)
    assert after.position["seq"] == whole.position["seq"] + 1
    assert sorted(after.buildings["building_id"]) == ["B1", "B2", "B3"]
    assert len(folders(path)) == 4


def test_a_damaged_file_is_removed_and_prepared_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ev"
    sample_log(path)
    computed = open_log(path).prepared()
    saving(path).prepared()
    [folder] = folders(path)
    tax = folder / "tax.parquet"
    data = bytearray(tax.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tax.write_bytes(bytes(data))
    again = saving(path).prepared()  # hashed (its stat changed), refused, prepared again
    assert_same(computed, again)
    [folder] = folders(path)  # and saved anew
    no_prepare(monkeypatch)
    assert_same(computed, saving(path).prepared())
    # a file removed: the same
    (folder / "spells.parquet").unlink()
    monkeypatch.undo()
    assert_same(computed, saving(path).prepared())
    # a record that cannot be read: the same, and saved anew
    [folder] = folders(path)
    (folder / "prepared.json").write_text('{"key": ', encoding="utf-8")
    assert_same(computed, saving(path).prepared())
    [folder] = folders(path)
    no_prepare(monkeypatch)
    assert_same(computed, saving(path).prepared())


def test_a_copied_log_hashes_its_saved_files_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample_log(tmp_path / "ev")
    expected = saving(tmp_path / "ev").prepared()
    shutil.copytree(tmp_path / "ev", tmp_path / "copy")
    hashed: list[Path] = []
    real = saved.file_digest

    def counting(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(saved, "file_digest", counting)
    no_prepare(monkeypatch)
    scans: list[int] = []
    real_scan = Log.scan

    def counting_scan(self: Log, **kwargs: Any) -> pl.LazyFrame:
        scans.append(1)
        return real_scan(self, **kwargs)

    monkeypatch.setattr(Log, "scan", counting_scan)
    assert_same(expected, saving(tmp_path / "copy").prepared())
    assert len(hashed) == len(FRAMES)  # every file hashed once, against its recorded digest
    assert len(scans) == 1  # and the copied segments checked as a replay checks them
    hashed.clear()
    scans.clear()
    assert_same(expected, saving(tmp_path / "copy").prepared())
    assert hashed == [] and scans == []  # then trusted by their recorded stats


def test_a_missing_segment_is_found_with_a_saved_preparation(tmp_path: Path) -> None:
    k = Kit()
    drafts = [k.building("B1"), k.move_in(T1, "B1", "2015-02-01")]
    drafts.append(
        k.event("BuildingCompleted", "2015-03-01", building_id="B1", at="2015-02-03T00:00:00Z")
    )
    path = tmp_path / "ev"
    write_log(path, drafts)
    saving(path).prepared()
    [sealed] = [p for p in path.glob("2015-01.jsonl*")]
    sealed.rename(tmp_path / sealed.name)
    with pytest.raises(LogDamaged, match="events are missing"):
        saving(path).prepared()


def test_only_the_most_recently_used_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "ev"
    sample_log(path)
    log = saving(path)
    log._memo_size = 1
    for seq in range(1, saved.KEEP + 3):
        log.prepared(upto_seq=seq)
    assert len(folders(path)) == saved.KEEP
    kept = {p.name for p in folders(path)}
    log.prepared(upto_seq=1)  # the oldest is gone: prepared and saved again
    assert len(folders(path)) == saved.KEEP and {p.name for p in folders(path)} != kept


def test_a_cache_that_cannot_be_written_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "ev"
    sample_log(path)
    expected = open_log(path).replay(AS_OF)
    shutil.rmtree(path / ".cache", ignore_errors=True)
    (path / ".cache").write_text("a file where the cache folder would be")
    assert_same_state(saving(path).replay(AS_OF), expected)
    assert (path / ".cache").is_file()


def test_the_key_names_the_cut_off_the_city_and_the_code() -> None:
    cut = (5, "ab" * 32, None, None)
    key = saved.preparation_key(cut, "c" * 64)
    assert saved.preparation_key(cut, "c" * 64) == key
    assert saved.preparation_key((5, "ab" * 32, None, 4), "c" * 64) != key
    later = datetime(2016, 1, 1, tzinfo=UTC) + timedelta(seconds=1)
    assert saved.preparation_key((5, "ab" * 32, later, None), "c" * 64) != key
    assert saved.preparation_key(cut, "d" * 64) != key
    assert len(saved.code_tag()) == 64
    assert pl.__version__ and saved.code_tag() == saved.code_tag()
