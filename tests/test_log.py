"""The append-only log: atomic batches, idempotency, clear rejections, verify, repair."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import snapshot
from drafts import building, envelope, moved_in, tax, uscc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from louyu_research.log import catalogue as ev
from louyu_research.log.store import AppendRejected, EventLog

T1 = "91350100M000100Y43"  # a valid unified social credit code (check char computed by hand: 3)


def test_uscc_check_digit_hand_computed():
    # 9·1+1·3+3·9+5·27+1·26+M(21)·20+1·8+Y(30)·30+4·28 = 1640; 1640 mod 31 = 28; 31−28 = 3.
    assert ev.is_valid_uscc("91350100M000100Y43")
    assert not ev.is_valid_uscc("91350100M000100Y44")
    assert uscc("91350100M000100Y4") == "91350100M000100Y43"
    assert not ev.is_valid_uscc("91350100M000100Y4")  # 17 chars: not a code at all


def new_log(tmp_path: Path, plain: bool = False) -> EventLog:
    return EventLog.init(tmp_path / "events", compress_sealed=not plain)


def seed(log: EventLog) -> None:
    log.append(
        [
            building("B1"),
            moved_in(T1, "B1", "2015-02-01", "2015-02-05T09:00:00+08:00"),
            tax(T1, "B1", "2015-02", 12345.67, "2015-03-08T09:00:00+08:00"),
        ]
    )


def test_round_trip_assigns_gapless_seq_and_chained_hashes(tmp_path):
    log = new_log(tmp_path)
    seed(log)
    records = list(log.iter_records())
    assert [r["seq"] for r in records] == [1, 2, 3]
    prev = ev.GENESIS_HASH
    for r in records:  # the chain, recomputed here from its documented definition
        body = json.dumps(
            {k: v for k, v in r.items() if k != "hash"},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        import hashlib

        assert r["hash"] == hashlib.sha256((prev + body).encode()).hexdigest()
        prev = r["hash"]
    assert log.head.seq == 3 and log.head.hash == prev
    assert records[2]["data"]["amount_yuan"] == 12345.67
    frame = log.read()
    assert frame["seq"].to_list() == [1, 2, 3]
    assert frame["amount_yuan"].to_list()[2] == 12345.67
    assert log.verify() == []
    # segments by UTC month of recorded_at; all but the newest sealed and compressed
    names = sorted(p.name for p in log.path.glob("*.jsonl*"))
    assert names == ["2015-01.jsonl.gz", "2015-02.jsonl.gz", "2015-03.jsonl"]
    assert gzip.decompress((log.path / "2015-01.jsonl.gz").read_bytes()).count(b"\n") == 1


def test_identical_reappend_is_a_noop_and_other_content_is_rejected(tmp_path):
    log = new_log(tmp_path)
    seed(log)
    before = snapshot(log.path)
    result = log.append([building("B1")])
    assert result.appended == [] and result.unchanged == ["reg-B1"]
    assert snapshot(log.path) == before
    with pytest.raises(AppendRejected) as err:
        log.append([building("B1", name="别的名字")])
    assert "already in the log (seq 1)" in str(err.value)
    assert snapshot(log.path) == before


BAD_DRAFTS = [
    ("{not json", "(line)", "Invalid JSON"),
    (
        json.dumps(envelope("e1", "BuildingExploded", "2016-01-01", None, {})),
        "type",
        "unknown event type",
    ),
    (
        json.dumps(
            envelope(
                "e2",
                "TenantAreaChanged",
                "2016-01-01",
                None,
                {"tenant_id": T1, "building_id": "B1"},
            )
        ),
        "data.area_m2",
        "Field required",
    ),
    (
        json.dumps(
            envelope(
                "e3",
                "TenantAreaChanged",
                "2016-01-01",
                None,
                {"tenant_id": T1, "building_id": "B1", "area_m2": "80"},
            )
        ),
        "data.area_m2",
        "valid number",
    ),
    (
        json.dumps(
            envelope(
                "e4",
                "TenantAreaChanged",
                "2016-01-01",
                None,
                {"tenant_id": T1, "building_id": "B1", "area_m2": -5},
            )
        ),
        "data.area_m2",
        "greater than 0",
    ),
    (
        json.dumps(moved_in("91350100M000100Y44", "B1", "2016-01-01", None)),
        "data.tenant_id",
        "check digit",
    ),
    (json.dumps(building("B1", name="另一个")), "event_id", "other content"),
    (
        json.dumps(tax(T1, "B1", "2015-01", 1.0, "2015-01-01T00:00:00+08:00")),
        "recorded_at",
        "earlier than the previous",
    ),
    (json.dumps(moved_in(T1, "B404", "2016-01-01", None)), "data.building_id", "unknown building"),
    (json.dumps(tax(T1, "B1", "2015-13", 1.0, None)), "data.period", "YYYY-MM"),
    (
        json.dumps(tax(T1, "B1", "2015-02", float("1e309") if False else 1.005, None)),
        "data.amount_yuan",
        "2 decimals",
    ),
    (
        json.dumps(
            envelope(
                "e5", "EventRetracted", "2016-01-01", None, {"event_id": "nope", "reason": "x"}
            )
        ),
        "data.event_id",
        "unknown event",
    ),
    (
        json.dumps(building("B9", self_held_ratio=1.5)),
        "data.self_held_ratio",
        "less than or equal to 1",
    ),
]


@pytest.mark.parametrize(("line", "field", "message"), BAD_DRAFTS)
def test_each_bad_draft_is_named_by_line_and_field_and_nothing_is_appended(
    tmp_path, line, field, message
):
    log = new_log(tmp_path)
    seed(log)
    before = snapshot(log.path)
    good = json.dumps(building("B2", rec=None))
    with pytest.raises(AppendRejected) as err:
        log.append([good, line, good.replace("B2", "B3")])
    problems = [p for p in err.value.problems if p.field == field]
    assert problems, err.value.problems
    assert all(p.line == 2 for p in problems), problems
    assert message in problems[0].message
    assert snapshot(log.path) == before


def test_references_resolve_within_the_batch_in_order(tmp_path):
    log = new_log(tmp_path)
    log.append([building("B1"), moved_in(T1, "B1", "2015-02-01", None)])
    with pytest.raises(AppendRejected) as err:  # the tenancy comes before its building
        log.append([moved_in(T1, "B2", "2015-02-01", None), building("B2", rec=None)])
    assert [p.line for p in err.value.problems] == [1]


def test_expect_seq_refuses_when_the_log_moved(tmp_path):
    log = new_log(tmp_path)
    seed(log)
    with pytest.raises(AppendRejected, match="the log moved: expected head seq 2, it is 3"):
        log.append([building("B2", rec=None)], expect_seq=2)
    assert log.append([building("B2", rec=None)], expect_seq=3).head.seq == 4


def test_recorded_at_defaults_to_now_and_never_goes_back(tmp_path):
    log = new_log(tmp_path)
    seed(log)
    result = log.append([building("B2", rec=None)])
    assert result.appended[0]["recorded_at"] > "2026"
    with pytest.raises(AppendRejected, match="earlier than the previous"):
        log.append([building("B3", rec="2016-01-01T00:00:00+08:00")])


# --- tampering -------------------------------------------------------------------------------


def plain_log(tmp_path: Path) -> EventLog:
    log = new_log(tmp_path, plain=True)
    seed(log)
    log.append(
        [moved_in(uscc("91330402MA2B00000"), "B1", "2015-03-01", "2015-03-09T10:00:00+08:00")]
    )
    return log


def test_every_single_byte_edit_of_a_past_event_is_caught(tmp_path):
    log = plain_log(tmp_path)
    path = log.path / "2015-02.jsonl"
    original = path.read_bytes()
    assert original.count(b"\n") == 1
    for i in range(len(original) - 1):  # every byte but the newline
        edited = bytearray(original)
        edited[i] = ord("x") if edited[i] != ord("x") else ord("y")
        path.write_bytes(bytes(edited))
        assert log.verify(), f"byte {i} edited but verify passed"
    path.write_bytes(original)
    assert log.verify() == []


def test_deleted_and_reordered_lines_are_caught(tmp_path):
    log = plain_log(tmp_path)
    path = log.path / "2015-03.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 2
    path.write_bytes(lines[1] + lines[0])
    problems = " ".join(map(str, log.verify()))
    assert "seq 4 follows seq 2" in problems and "hash does not chain" in problems
    path.write_bytes(lines[0])  # the last line deleted: named where the segment was cut
    assert [str(f) for f in log.verify()] == [
        "2015-03.jsonl:line 2: truncated: HEAD acknowledges seq 4 (offset 707), but the segment "
        "ends at seq 3: seq 4 is missing; restore it from a backup"
    ]


def test_tampered_compressed_segment_is_caught(tmp_path):
    log = new_log(tmp_path)
    seed(log)
    gz = log.path / "2015-02.jsonl.gz"
    text = gzip.decompress(gz.read_bytes()).replace(b'"area_m2":500.0', b'"area_m2":600.0')
    gz.write_bytes(gzip.compress(text))
    findings = log.verify()
    assert [(f.segment, f.line, f.seq) for f in findings] == [("2015-02.jsonl", 1, 2)]


# --- crash tails and repair ------------------------------------------------------------------


def test_torn_tail_is_named_by_verify_and_repair_removes_only_it(tmp_path):
    log = new_log(tmp_path)
    seed(log)
    acked = snapshot(log.path)
    active = log.path / "2015-03.jsonl"
    complete_but_unacked = json.dumps({"seq": 4}).encode() + b"\n"
    with open(active, "ab") as f:
        f.write(complete_but_unacked + b'{"seq":5,"event_id":"tor')
    (log.path / "2015-04.jsonl").write_bytes(b'{"seq":6}\n')  # a segment the dead batch had started
    findings = [str(f) for f in log.verify()]
    assert findings == [
        "2015-03.jsonl:line 2: line after HEAD (seq 3): an unacknowledged tail; `louyu repair` removes it",
        "2015-03.jsonl:line 3: torn (no newline) line after HEAD (seq 3): an unacknowledged tail; `louyu repair` removes it",
        "2015-04.jsonl:line 1: line after HEAD (seq 3): an unacknowledged tail; `louyu repair` removes it",
    ]
    assert log.read().height == 3  # readers never see past HEAD
    cut = log.repair()
    assert cut == [("2015-03.jsonl", len(complete_but_unacked) + 24), ("2015-04.jsonl", 10)]
    assert snapshot(log.path) == acked
    assert log.verify() == [] and log.repair() == []


def test_a_writer_cuts_a_dead_writers_tail_before_appending(tmp_path, capsys):
    log = new_log(tmp_path)
    seed(log)
    with open(log.path / "2015-03.jsonl", "ab") as f:
        f.write(b'{"half a ba')
    log.append([building("B2", rec=None)])
    assert "dropped an unacknowledged tail of 11 bytes" in capsys.readouterr().err
    assert log.verify() == []


# --- property: append → verify → read ----------------------------------------------------------


@st.composite
def batches(draw):
    """Random valid histories: buildings, tenancies and taxes in recorded order, in batches."""
    n_buildings = draw(st.integers(1, 4))
    out, day = [], 0
    tenants = [uscc(f"9133040{i}MA2B0000{i}") for i in range(3)]
    tenancies = []
    for b in range(n_buildings):
        day += draw(st.integers(0, 40))
        out.append(building(f"B{b}", rec="2015-01-01T09:00:00+08:00", when="2015-01-01"))
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["in", "tax"] if tenancies else ["in"]))
        if kind == "in":
            t, b = draw(st.sampled_from(tenants)), f"B{draw(st.integers(0, n_buildings - 1))}"
            if (t, b) in tenancies:
                continue
            tenancies.append((t, b))
            out.append(
                moved_in(
                    t,
                    b,
                    "2015-02-01",
                    None,
                    area=draw(st.floats(1, 5000).map(lambda x: round(x, 1))),
                )
            )
        else:
            t, b = draw(st.sampled_from(tenancies))
            amount = draw(st.integers(-(10**6), 10**9)) / 100
            out.append(tax(t, b, "2015-02", amount, None, eid=f"tax-{len(out)}"))
    cuts = sorted(draw(st.lists(st.integers(0, len(out)), max_size=3)))
    return [out[a:b] for a, b in zip([0, *cuts], [*cuts, len(out)], strict=True) if out[a:b]]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches())
def test_property_append_verify_read_round_trip(tmp_path_factory, history):
    log = EventLog.init(tmp_path_factory.mktemp("prop") / "events")
    for batch in history:
        log.append(batch)
    flat = [d for batch in history for d in batch]
    records = list(log.iter_records())
    assert [r["event_id"] for r in records] == [d["event_id"] for d in flat]
    for r, d in zip(records, flat, strict=True):
        assert r["type"] == d["type"] and r["occurred_on"] == d["occurred_on"]
        assert normalised(r["data"]) == normalised(d["data"])
    assert log.verify() == []
    frame = log.read()
    assert frame["seq"].to_list() == list(range(1, len(flat) + 1))
    assert frame["event_id"].to_list() == [d["event_id"] for d in flat]


def normalised(data: dict) -> dict:
    """JSON numbers compared as numbers (a draft's 500 is stored as 500.0)."""
    return {
        k: float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
        for k, v in data.items()
    }


def test_a_building_on_a_street_the_city_does_not_have_is_refused(tmp_path):
    """Every street-level figure needs the street's reporting area: a street outside the city's
    divisions would make them fail later, so the log refuses it at the door."""
    log = new_log(tmp_path)
    seed(log)
    before = snapshot(log.path)
    update = envelope("upd-B1", "BuildingUpdated", "2016-02-01", None,
                      {"building_id": "B1", "street": "1900-01-01"})  # fmt: skip
    with pytest.raises(AppendRejected) as err:
        log.append([building("B9", rec=None, street="新兴路街道"), update])
    problems = [(p.line, p.field, p.message) for p in err.value.problems]
    assert len(problems) == 2, problems
    assert problems[0][:2] == (1, "data.street") and "closest: 新兴街道" in problems[0][2]
    assert problems[1][:2] == (2, "data.street") and "'1900-01-01'" in problems[1][2]
    assert snapshot(log.path) == before
    done = log.append([building("B9", rec=None, street="解放街道")])
    assert [e["event_id"] for e in done.appended] == ["reg-B9"]
