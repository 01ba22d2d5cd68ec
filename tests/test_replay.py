"""Replay: each semantic rule on a hand-built log (figures worked out by hand), the differential
test against the independent reference fold, frame validation, schemas and `louyu state`."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import reference_fold as ref
from drafts import Kit, retraction, write_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from replay_kit import random_drafts
from typer.testing import CliRunner, Result

from louyu_research import schemas
from louyu_research.city.settings import Settings
from louyu_research.cli import app
from louyu_research.replay import frames
from louyu_research.replay.log import FINDING_CODES_ZH, open_log

D = date.fromisoformat


def rows(frame: pl.DataFrame, key: str | tuple[str, ...]) -> dict:
    keys = (key,) if isinstance(key, str) else key
    out = {}
    for r in frame.iter_rows(named=True):
        out[r[keys[0]] if len(keys) == 1 else tuple(r[k] for k in keys)] = r
    return out


# --- the rules, one by one ----------------------------------------------------------------------


def test_an_event_on_day_d_counts_as_of_d(tmp_path: Path) -> None:
    k = Kit()
    log = write_log(
        tmp_path / "ev",
        [k.building("B1", "2016-03-01"), k.move_in("T1", "B1", "2016-03-15", area=250)],
    )
    assert log.replay(D("2016-02-29")).buildings.is_empty()
    assert log.replay(D("2016-03-01")).buildings["building_id"].to_list() == ["B1"]
    assert log.replay(D("2016-03-14")).tenancies.is_empty()
    ten = log.replay(D("2016-03-15")).tenancies
    assert ten.select("tenant_id", "building_id", "area_m2", "since").rows() == [
        ("T1", "B1", 250.0, D("2016-03-15"))
    ]


def test_a_move_out_on_day_d_ends_the_tenancy_at_the_end_of_d(tmp_path: Path) -> None:
    k = Kit()
    log = write_log(
        tmp_path / "ev",
        [
            k.building("B1"),
            k.move_in("T1", "B1", "2016-01-10"),
            k.move_out("T1", "B1", "2016-03-31"),
        ],
    )
    assert log.replay(D("2016-03-30")).tenancies.height == 1
    assert log.replay(D("2016-03-31")).tenancies.is_empty()


def test_ties_on_the_same_day_are_broken_by_seq(tmp_path: Path) -> None:
    k = Kit()
    drafts = [
        k.building("B1"),
        k.event("BuildingUpdated", "2016-05-01", building_id="B1", name="乙"),
        k.event(
            "BuildingUpdated", "2016-05-01", building_id="B1", name="甲"
        ),  # later seq, same day
        k.event(
            "BuildingUpdated", "2016-04-01", building_id="B1", name="丙"
        ),  # latest seq, earlier day
    ]
    log = write_log(tmp_path / "ev", drafts)
    assert log.replay(D("2016-04-15")).buildings["name"].item() == "丙"
    assert log.replay(D("2016-05-01")).buildings["name"].item() == "甲"


def test_a_retraction_takes_effect_at_its_own_seq(tmp_path: Path) -> None:
    k = Kit()
    drafts = [
        k.building("B1"),  # seq 1
        k.move_in("T1", "B1", "2016-01-10", area=300),  # seq 2
        k.tax("T1", "B1", "2016-01", 500.0, event_id="tax-jan"),  # seq 3
        k.event(
            "TenantAreaChanged",
            "2016-02-01",
            event_id="grow",
            tenant_id="T1",
            building_id="B1",
            area_m2=600.0,
        ),  # 4
        retraction(k, "tax-jan"),  # seq 5, recorded at 00:05
        retraction(
            k, "grow", on="2014-01-01"
        ),  # seq 6: the retraction's business date does not matter
    ]
    log = write_log(tmp_path / "ev", drafts)
    as_of = D("2016-06-30")
    assert log.replay(as_of, upto_seq=4).tax["amount_yuan"].to_list() == [500.0]
    assert log.replay(as_of, upto_seq=5).tax.is_empty()
    assert log.replay(as_of, upto_seq=5).tenancies["area_m2"].to_list() == [600.0]
    assert log.replay(as_of).tenancies["area_m2"].to_list() == [300.0]
    # the same by recorded_at: seq 5 was recorded at 2015-01-01T00:05Z
    t5 = datetime(2015, 1, 1, 0, 5, tzinfo=UTC)
    assert log.replay(as_of, recorded_by=t5 - timedelta(seconds=1)).tax.height == 1
    assert log.replay(as_of, recorded_by=t5).tax.is_empty()
    # a cut-off in another offset is the same instant
    from datetime import timezone

    assert log.replay(as_of, recorded_by=t5.astimezone(timezone(timedelta(hours=8)))).tax.is_empty()


def test_retracting_a_retraction_revives_the_event(tmp_path: Path) -> None:
    k = Kit()
    drafts = [
        k.building("B1"),
        k.move_in("T1", "B1", "2016-01-10"),
        k.tax("T1", "B1", "2016-01", 500.0, event_id="tax"),
        retraction(k, "tax", event_id="r1"),
        retraction(k, "r1", event_id="r2"),
    ]
    log = write_log(tmp_path / "ev", drafts)
    assert log.replay(D("2016-12-31"), upto_seq=4).tax.is_empty()
    assert log.replay(D("2016-12-31")).tax["amount_yuan"].to_list() == [500.0]


def test_the_latest_restatement_wins(tmp_path: Path) -> None:
    k = Kit()
    drafts = [
        k.building("B1"),
        k.move_in("T1", "B1", "2016-01-10"),
        k.tax("T1", "B1", "2016-03", 100.0, on="2016-04-08"),  # seq 3
        k.tax("T1", "B1", "2016-03", 120.0, on="2016-06-20"),  # seq 4: restated
        k.tax(
            "T1", "B1", "2016-03", 90.0, on="2016-04-01"
        ),  # seq 5: restated again (earlier business date)
        k.tax("T1", "B1", "2016-04", 70.0),  # another period: untouched
        k.event("CityTaxReported", "2016-04-10", period="2016-03", amount_yuan=1000.0),
        k.event(
            "CityTaxReported", "2016-04-10", period="2016-03", amount_yuan=2000.0, district="南湖区"
        ),
        k.event(
            "CityTaxReported", "2016-07-10", period="2016-03", amount_yuan=1100.0
        ),  # city total restated
    ]
    log = write_log(tmp_path / "ev", drafts)
    tax = rows(log.replay(D("2016-12-31")).tax, "period")
    assert tax["2016-03"]["amount_yuan"] == 90.0
    assert tax["2016-04"]["amount_yuan"] == 70.0
    assert (
        rows(log.replay(D("2016-12-31"), upto_seq=4).tax, "period")["2016-03"]["amount_yuan"]
        == 120.0
    )
    city = log.replay(D("2016-12-31")).city_tax
    assert city.rows() == [("2016-03", None, 1100.0), ("2016-03", "南湖区", 2000.0)]


def test_tax_by_bureau_sums_the_latest_parts_or_takes_the_later_total(tmp_path: Path) -> None:
    k = Kit()
    drafts = [
        k.building("B1"),
        k.move_in("T1", "B1", "2016-01-10"),
        k.tax("T1", "B1", "2016-03", 100.10, part="national"),  # seq 3
        k.tax("T1", "B1", "2016-03", 50.20, part="local"),  # seq 4
        k.tax("T1", "B1", "2016-03", 120.00, part="national"),  # seq 5: national restated
        k.tax("T1", "B1", "2016-03", 300.00),  # seq 6: a total, later than both parts
        k.tax("T1", "B1", "2016-03", 60.00, part="local"),  # seq 7: local restated, later again
        k.tax("T1", "B1", "2016-04", 70.00),  # seq 8: another period, a total only
    ]
    log = write_log(tmp_path / "ev", drafts)
    as_of = D("2016-12-31")

    def march(**cut: int) -> float:
        amount = rows(log.replay(as_of, **cut).tax, "period")["2016-03"]["amount_yuan"]
        return round(amount, 2)  # money in yuan from fen: compared to the fen

    assert march(upto_seq=4) == 150.30  # 100.10 + 50.20
    assert march(upto_seq=5) == 170.20  # 120.00 + 50.20
    assert march(upto_seq=6) == 300.00  # the total was recorded after both parts
    assert march() == 180.00  # 120.00 + 60.00: the local part was recorded after the total
    assert rows(log.replay(as_of).tax, "period")["2016-04"]["amount_yuan"] == 70.00
    assert log.replay(as_of).tax.height == 2  # one row per tenant, building and period

    def mixed(**cut: int) -> list[int]:
        f = log.replay(as_of, **cut).findings
        return f.filter(pl.col("code") == "tax_parts_mixed")["seq"].to_list()

    assert mixed(upto_seq=5) == []
    assert mixed(upto_seq=6) == [6]
    assert mixed() == [7]
    assert "tax_parts_mixed" in FINDING_CODES_ZH
    panel = log.panel("2016-03", "2016-04")
    assert round(rows(panel, "month")["2016-03"]["tax_yuan"], 2) == 180.00
    assert round(rows(panel, "month")["2016-04"]["tax_yuan_ytd"], 2) == 250.00  # 180 + 70


def test_a_building_moved_to_another_street_counts_there_from_that_date_only(
    tmp_path: Path,
) -> None:
    k = Kit()
    drafts = [
        k.building("B1", street="城南街道"),
        k.move_in("T1", "B1", "2016-01-10", area=400),
        # recorded in August, effective from 1 July (a backdated boundary change)
        k.event(
            "BuildingUpdated",
            "2016-07-01",
            building_id="B1",
            street="长水街道",
            at=datetime(2016, 8, 2, tzinfo=UTC),
        ),
    ]
    log = write_log(tmp_path / "ev", drafts)
    assert log.replay(D("2016-06-30")).buildings["street"].item() == "城南街道"
    assert log.replay(D("2016-07-01")).buildings["street"].item() == "长水街道"
    # as recorded before August, July still shows the old street
    assert (
        log.replay(D("2016-07-15"), recorded_by=datetime(2016, 8, 1, tzinfo=UTC))
        .buildings["street"]
        .item()
        == "城南街道"
    )
    panel = rows(log.panel("2016-06", "2016-07"), "month")
    assert panel["2016-06"]["street"] == "城南街道" and panel["2016-07"]["street"] == "长水街道"
    assert panel["2016-06"]["occupied_area_m2"] == panel["2016-07"]["occupied_area_m2"] == 400.0


def test_a_tenant_in_two_buildings_is_two_tenancies(tmp_path: Path) -> None:
    k = Kit()
    drafts = [
        k.building("B1"),
        k.building("B2"),
        k.move_in("T1", "B1", "2016-01-10", area=300, registered_here=True),
        k.move_in("T1", "B2", "2016-02-01", area=200, registered_here=False, industry="J66"),
        k.move_out("T1", "B1", "2016-05-31"),
    ]
    log = write_log(tmp_path / "ev", drafts)
    st = log.replay(D("2016-03-01"))
    ten = rows(st.tenancies, ("tenant_id", "building_id"))
    assert set(ten) == {("T1", "B1"), ("T1", "B2")}
    assert ten[("T1", "B1")]["area_m2"] == 300.0 and ten[("T1", "B1")]["registered_here"] is True
    assert ten[("T1", "B2")]["area_m2"] == 200.0 and ten[("T1", "B2")]["registered_here"] is False
    # the enterprise is one: its latest industry (J66, from the second move-in) applies to both
    assert {r["key_industry"] for r in ten.values()} == {"finance"}
    assert st.tenants.height == 1
    assert set(log.replay(D("2016-06-01")).tenancies["building_id"]) == {"B2"}


def test_a_tenancy_can_end_and_start_again(tmp_path: Path) -> None:
    k = Kit()
    drafts = [
        k.building("B1"),
        k.move_in("T1", "B1", "2016-01-10", area=300),
        k.move_out("T1", "B1", "2016-03-31"),
        k.move_in("T1", "B1", "2016-06-01", area=150),
    ]
    log = write_log(tmp_path / "ev", drafts)
    assert log.replay(D("2016-04-30")).tenancies.is_empty()
    assert log.replay(D("2016-06-01")).tenancies.select("area_m2", "since").rows() == [
        (150.0, D("2016-06-01"))
    ]


def test_completion_retirement_scope_and_designation(tmp_path: Path) -> None:
    k = Kit()
    drafts = [
        k.building("B1", status="under_construction", gross_floor_area_m2=1000.0),
        k.building("B2", gross_floor_area_m2=999.0),
        k.building("B3", standalone=False),
        k.building("B4", completed_on="2016-05-20"),
        k.event("BuildingCompleted", "2016-04-30", building_id="B1"),
        k.event("BuildingRetired", "2016-09-01", building_id="B1", reason="demolished"),
        k.event("BuildingFeaturedDesignated", "2016-02-01", building_id="B4", industry="finance"),
        k.event("BuildingFeaturedRevoked", "2016-10-01", building_id="B4"),
    ]
    log = write_log(tmp_path / "ev", drafts)
    b = rows(log.replay(D("2016-04-29")).buildings, "building_id")
    assert b["B1"]["status"] == "under_construction" and not b["B1"]["in_scope"]
    assert not b["B2"]["in_scope"] and not b["B3"]["in_scope"]  # 999 m²; not standalone
    assert (
        b["B4"]["status"] == "under_construction" and b["B4"]["completed_on"] is None
    )  # completes on 20 May
    assert b["B4"]["featured_designated"] and b["B4"]["designated_industry"] == "finance"
    b = rows(log.replay(D("2016-04-30")).buildings, "building_id")
    assert (
        b["B1"]["in_scope"]
        and b["B1"]["completed_on"] == D("2016-04-30")
        and b["B1"]["status"] == "completed"
    )
    b = rows(log.replay(D("2016-09-01")).buildings, "building_id")
    assert (
        b["B1"]["retired"] and b["B1"]["retired_on"] == D("2016-09-01") and not b["B1"]["in_scope"]
    )
    assert b["B4"]["in_scope"] and b["B4"]["completed_on"] == D("2016-05-20")
    b = rows(log.replay(D("2016-10-01")).buildings, "building_id")
    assert not b["B4"]["featured_designated"] and b["B4"]["designated_industry"] is None
    # the scope rule's settings
    loose = Settings(scope_min_gross_floor_area_m2=500, scope_standalone_only=False)
    b = rows(log.replay(D("2016-10-01"), settings=loose).buildings, "building_id")
    assert b["B2"]["in_scope"] and b["B3"]["in_scope"]


def test_findings_name_the_events_that_make_no_sense_in_order(tmp_path: Path) -> None:
    k = Kit()
    drafts = [
        k.building("B1", rentable_area_m2=500.0),  # 1
        k.building("B2", event_id="reg-b2"),  # 2
        k.move_in("T1", "B1", "2016-01-10", area=300),  # 3
        k.move_in("T1", "B1", "2016-02-01", area=350),  # 4: already there
        k.move_in("T2", "B1", "2016-02-10", area=250),  # 5: 350 + 250 > 500 rentable
        k.move_out("T2", "B1", "2016-03-01"),  # 6
        k.move_out("T2", "B1", "2016-04-01"),  # 7: not there any more
        retraction(k, "reg-b2"),  # 8
        k.event(
            "BuildingUpdated", "2016-05-01", building_id="B2", name="X"
        ),  # 9: B2 no longer registered
    ]
    log = write_log(tmp_path / "ev", drafts)
    f = log.replay(D("2016-02-15")).findings
    assert f.select("seq", "code").rows() == [(4, "move_in_active"), (5, "over_rentable")]
    f = log.replay(D("2016-12-31")).findings
    assert f.select("seq", "code").rows() == [
        (4, "move_in_active"),
        (7, "move_out_inactive"),
        (9, "unknown_building"),
    ]
    assert all(code in FINDING_CODES_ZH for code in f["code"])
    assert log.replay(D("2016-12-31")).buildings["building_id"].to_list() == ["B1"]
    # the duplicate move-in keeps the spell but its area counts as the latest value
    ten = log.replay(D("2016-02-15")).tenancies.filter(pl.col("tenant_id") == "T1")
    assert ten.select("area_m2", "since").rows() == [(350.0, D("2016-01-10"))]
    # occupied area is capped at rentable area in the panel, the uncapped sum is kept
    feb = rows(log.panel("2016-02", "2016-02"), "building_id")["B1"]
    assert feb["occupied_area_m2"] == 500.0 and feb["tenancy_area_m2"] == 600.0


def test_the_position_is_the_cut_off(tmp_path: Path) -> None:
    k = Kit()
    log = write_log(tmp_path / "ev", [k.building("B1"), k.building("B2"), k.building("B3")])

    def same(a: dict, b: dict) -> bool:
        # EventLog.position(seq) writes +00:00 where HEAD and the stored line write Z: same instant
        return (a["seq"], a["hash"], datetime.fromisoformat(a["recorded_at"])) == (
            b["seq"],
            b["hash"],
            datetime.fromisoformat(b["recorded_at"]),
        )

    assert log.replay(D("2016-01-01")).position == log.position()
    assert same(log.replay(D("2016-01-01"), upto_seq=2).position, log.position(2))
    pos = log.replay(
        D("2016-01-01"), recorded_by=datetime(2015, 1, 1, 0, 2, 30, tzinfo=UTC)
    ).position
    assert same(pos, log.position(2)) and pos["recorded_at"] == "2015-01-01T00:02:00Z"
    assert log.replay(D("2016-01-01"), upto_seq=0).position["seq"] == 0
    with pytest.raises(ValueError, match="one cut-off"):
        log.replay(D("2016-01-01"), upto_seq=1, recorded_by=datetime(2016, 1, 1, tzinfo=UTC))


def test_replay_never_changes_the_log(tmp_path: Path) -> None:
    k = Kit()
    log = write_log(tmp_path / "ev", [k.building("B1"), k.move_in("T1", "B1", "2016-01-10")])
    before = {p.name: p.read_bytes() for p in (tmp_path / "ev").iterdir() if p.is_file()}
    log.replay(D("2016-12-31"))
    log.panel("2016-01", "2016-12")
    after = {p.name: p.read_bytes() for p in (tmp_path / "ev").iterdir() if p.is_file()}
    assert before == after
    assert log.verify() == []


# --- validation and schemas ---------------------------------------------------------------------


def test_a_frame_that_breaks_its_model_raises_a_readable_report() -> None:
    bad = pl.DataFrame(
        {
            "period": ["2016-01", "2016-13", "2016-01"],
            "district": [None, None, None],
            "amount_yuan": [1.0, 2.0, 3.0],
        }
    )
    with pytest.raises(frames.FrameValidationError) as err:
        frames.validate(frames.CityTax, bad)
    text = str(err.value)
    assert "CityTax" in text and "period" in text and "2016-13" in text
    assert "rows [1]" in text  # the bad month
    assert "offending rows" in text


def test_frame_schemas_are_registered_for_louyu_schemas() -> None:
    files = schemas.rendered()
    for name in (
        "Building",
        "Tenancy",
        "Tenant",
        "TenantTax",
        "CityTax",
        "Finding",
        "BuildingMonth",
    ):
        spec = json.loads(files[f"frames/{name}.schema.json"])
        assert spec["title"] == name
        assert all(p["description"] for p in spec["items"]["properties"].values())
    panel = json.loads(files["frames/BuildingMonth.schema.json"])
    assert panel["x-unique-key"] == ["building_id", "month"]
    assert "occupied_area_m2" in frames.BuildingMonth.__doc__


# --- the CLI -------------------------------------------------------------------------------------


def test_louyu_state(tmp_path: Path) -> None:
    k = Kit()
    write_log(tmp_path / "ev", [k.building("B1"), k.move_in("T1", "B1", "2016-01-10", area=120.5)])
    log = str(tmp_path / "ev")
    run = CliRunner().invoke

    def state(*args: str) -> Result:
        return run(
            app, ["state", "--log", log, "--as-of", "2016-02-01", "--frame", "tenancies", *args]
        )

    res = state("--format", "csv")
    assert res.exit_code == 0, res.output
    got = pl.read_csv(res.stdout.encode())
    assert got.select("tenant_id", "building_id", "area_m2").rows() == [("T1", "B1", 120.5)]
    res = state("--upto-seq", "1", "--format", "json")
    assert res.exit_code == 0 and json.loads(res.stdout)["rows"] == []  # provenance beside rows
    for bad in (
        ["--as-of", "2016-02-30", "--frame", "tax"],
        [
            "--as-of",
            "2016-02-01",
            "--frame",
            "tax",
            "--upto-seq",
            "1",
            "--recorded-by",
            "2016-01-01T00:00:00+08:00",
        ],
        ["--as-of", "2016-02-01", "--frame", "tax", "--recorded-by", "yesterday"],
        ["--as-of", "2016-02-01", "--frame", "nonsense"],
    ):
        res = run(app, ["state", "--log", log, *bad])
        assert res.exit_code == 2, (bad, res.output)
    res = run(app, ["state", "--log", log, "--as-of", "2016-02-30", "--frame", "tax"])
    assert res.stderr.strip().count("\n") == 0 and "2016-02-30" in res.stderr
    res = run(app, ["state", "--log", log, "--as-of", "2016-02-01", "--frame", "bogus"])
    assert res.exit_code == 2
    assert res.stderr.strip().count("\n") == 0 and "'bogus'" in res.stderr
    assert res.stderr.startswith("louyu: error: --frame")


# --- differential: the fast replay against the reference fold ------------------------------------


def _norm(v: object) -> object:
    return round(v, 6) if isinstance(v, float) else v


def assert_same_state(log, records, as_of: date, cut: dict) -> None:
    state = log.replay(as_of, **cut)
    live = ref.cut(records, **cut)
    want = ref.fold(live, as_of, ref.load_mapping())
    tax, city = ref.latest_tax(live)

    got_b = rows(state.buildings, "building_id")
    assert set(got_b) == set(want["buildings"])
    for b, w in want["buildings"].items():
        for col in (
            "name",
            "street",
            "gross_floor_area_m2",
            "rentable_area_m2",
            "standalone",
            "grade",
            "status",
            "completed_on",
            "retired",
            "retired_on",
            "in_scope",
            "featured_designated",
            "designated_industry",
            "registered_on",
        ):
            assert got_b[b][col] == w[col], (b, col, got_b[b][col], w[col])
    got_t = rows(state.tenancies, ("tenant_id", "building_id"))
    assert set(got_t) == set(want["tenancies"])
    for key, w in want["tenancies"].items():
        assert {c: _norm(got_t[key][c]) for c in w} == {c: _norm(v) for c, v in w.items()}, key
    got_n = rows(state.tenants, "tenant_id")
    assert set(got_n) == set(want["tenants"])
    for key, w in want["tenants"].items():
        assert {c: got_n[key][c] for c in w} == w
    assert {
        (r["tenant_id"], r["building_id"], r["period"]): _norm(r["amount_yuan"])
        for r in state.tax.iter_rows(named=True)
    } == {k: _norm(v) for k, v in tax.items()}
    assert {
        (r["period"], r["district"]): r["amount_yuan"] for r in state.city_tax.iter_rows(named=True)
    } == city
    got_f = set(state.findings.filter(pl.col("code") == "tax_inactive")["seq"].to_list())
    assert got_f == ref.tax_inactive(live, as_of)
    by_seq = {r["seq"]: r["data"] for r in live}
    mixed = state.findings.filter(pl.col("code") == "tax_parts_mixed")["seq"].to_list()
    assert {
        (by_seq[s]["tenant_id"], by_seq[s]["building_id"], by_seq[s]["period"]) for s in mixed
    } == ref.mixed_tax_forms(live, as_of)


cut_offs = st.one_of(
    st.just({}),
    st.integers(0, 45).map(lambda n: {"upto_seq": n}),
    st.integers(0, 45).map(
        lambda n: {
            "recorded_by": datetime(2015, 1, 1, tzinfo=UTC) + timedelta(minutes=n, seconds=30)
        }
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_replay_agrees_with_the_reference_fold(data: st.DataObject) -> None:
    drafts = random_drafts(data.draw, 40)
    with tempfile.TemporaryDirectory() as tmp:
        log = write_log(Path(tmp) / "ev", drafts)
        records = list(log.iter_records())
        for _ in range(3):
            as_of = data.draw(st.dates(date(2014, 12, 1), date(2016, 6, 30)), label="as_of")
            cut = data.draw(cut_offs, label="cut")
            assert_same_state(log, records, as_of, cut)


def test_every_kind_of_finding(tmp_path: Path) -> None:
    k = Kit()
    drafts = [
        k.building("B1", "2016-01-01"),  # 1 (registered as completed)
        k.event("BuildingCompleted", "2016-02-01", building_id="B1"),  # 2: already completed
        k.event(
            "BuildingUpdated", "2015-12-01", building_id="B1", owner="甲"
        ),  # 3: before registration
        k.event("BuildingFeaturedRevoked", "2016-02-01", building_id="B1"),  # 4: not designated
        k.event("BuildingRetired", "2016-06-01", building_id="B1", reason="merged"),  # 5
        k.event(
            "BuildingRetired", "2016-07-01", building_id="B1", reason="other"
        ),  # 6: already retired
        k.move_in("T1", "B1", "2016-06-15", event_id="in-t1"),  # 7: into a retired building
        k.event(
            "TenantAreaChanged", "2016-05-01", tenant_id="T1", building_id="B1", area_m2=80.0
        ),  # 8: not active
        k.tax("T1", "B1", "2016-06", 10.0, on="2016-07-10"),  # 9: its move-in is retracted below
        k.event("TenantUpdated", "2016-08-01", tenant_id="T1", headcount=3),  # 10: no move-in left
        retraction(k, "in-t1"),  # 11
    ]
    log = write_log(tmp_path / "ev", drafts)
    got = log.replay(D("2016-12-31")).findings.select("seq", "code").rows()
    assert got == [
        (2, "already_completed"),
        (3, "before_registration"),
        (4, "not_designated"),
        (6, "already_retired"),
        (8, "change_inactive"),
        (9, "unknown_tenancy"),
        (10, "unknown_tenant"),
    ]
    # before the retraction, the move-in into the retired building is the finding instead
    got = log.replay(D("2016-12-31"), upto_seq=10).findings.select("seq", "code").rows()
    assert (7, "retired_building") in got and (9, "unknown_tenancy") not in got
    # the tax is kept although its tenancy's move-in was retracted
    assert log.replay(D("2016-12-31")).tax["amount_yuan"].to_list() == [10.0]


def test_tax_for_a_period_outside_the_tenancy_is_a_finding_and_still_counts(
    tmp_path: Path,
) -> None:
    k = Kit()
    drafts = [
        k.building("B1"),  # 1
        k.move_in("T1", "B1", "2016-01-10"),  # 2
        k.move_out("T1", "B1", "2016-03-15"),  # 3
        k.tax("T1", "B1", "2015-12", 1.0, on="2016-01-20"),  # 4: the month before the move-in
        k.tax("T1", "B1", "2016-01", 2.0, on="2016-02-10"),  # 5: moved in during January
        k.tax("T1", "B1", "2016-03", 3.0, on="2016-04-10"),  # 6: moved out during March
        k.tax("T1", "B1", "2016-04", 4.0, on="2016-05-10"),  # 7: the month after the move-out
        k.move_in("T1", "B1", "2016-06-01"),  # 8: back again
        k.tax("T1", "B1", "2016-05", 5.0, on="2016-06-10"),  # 9: between the two spells
        k.tax("T1", "B1", "2016-06", 6.0, on="2016-07-10"),  # 10: second spell
        # reported on 2016-06-05 for June, before the move-in dated 2016-06-20 (recorded first)
        k.move_in("T2", "B1", "2016-06-20"),  # 11
        k.tax("T2", "B1", "2016-06", 7.0, on="2016-06-05"),  # 12
        # reported in advance, then a move-out dated before the period
        k.move_in("T3", "B1", "2016-01-01"),  # 13
        k.tax("T3", "B1", "2016-09", 8.0, on="2016-07-01"),  # 14
        k.move_out("T3", "B1", "2016-08-15"),  # 15
    ]
    log = write_log(tmp_path / "ev", drafts)

    def inactive(day: str) -> list[int]:
        f = log.replay(D(day)).findings
        return f.filter(pl.col("code") == "tax_inactive")["seq"].to_list()

    assert inactive("2016-01-31") == [4]
    assert inactive("2016-06-10") == [4, 7, 9, 12]  # T2 has not moved in as of 2016-06-10
    assert inactive("2016-07-31") == [4, 7, 9]  # ... but has by the end of June
    assert inactive("2016-08-31") == [4, 7, 9, 14]  # T3's move-out on 2016-08-15 is known now
    f = log.replay(D("2016-08-31")).findings.filter(pl.col("code") == "tax_inactive")
    assert f["problem"].to_list() == [
        "tax of 2015-12 for tenant T1 in building B1, a period before its move-in on 2016-01-10"
        " (as of 2016-08-31); the tax is kept",
        "tax of 2016-04 for tenant T1 in building B1, a period after its move-out on 2016-03-15"
        " (as of 2016-08-31); the tax is kept",
        "tax of 2016-05 for tenant T1 in building B1, a period after its move-out on 2016-03-15"
        " (as of 2016-08-31); the tax is kept",
        "tax of 2016-09 for tenant T3 in building B1, a period after its move-out on 2016-08-15"
        " (as of 2016-08-31); the tax is kept",
    ]
    assert log.replay(D("2016-06-10")).findings.filter(pl.col("seq") == 12)["problem"].item() == (
        "tax of 2016-06 for tenant T2 in building B1, a period with no move-in by then"
        " (as of 2016-06-10); the tax is kept"
    )
    assert FINDING_CODES_ZH["tax_inactive"]
    # the money still counts: every report is in the tax frame and in the panel
    state = log.replay(D("2016-12-31"))
    assert sorted(state.tax["amount_yuan"].to_list()) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    panel = rows(log.panel("2016-04", "2016-05"), "month")
    assert panel["2016-04"]["tax_yuan"] == 4.0 and panel["2016-05"]["tax_yuan"] == 5.0


def test_the_tax_frame_has_one_row_per_tenant_building_and_period() -> None:
    tax = pl.DataFrame(
        {
            "tenant_id": ["T1", "T1", "T2", "T1"],
            "building_id": ["B1", "B1", "B1", "B2"],
            "period": ["2016-01", "2016-02", "2016-01", "2016-01"],
            "amount_yuan": [1.0, 2.0, 3.0, 4.0],
        }
    )
    assert frames.validate(frames.TenantTax, tax) is tax
    twice = pl.concat([tax, tax.head(1)])
    with pytest.raises(
        frames.FrameValidationError, match="one_row_per_tenant_building_period"
    ) as err:
        frames.validate(frames.TenantTax, twice)
    assert "rows [0, 4]" in str(err.value)


def test_louyu_state_shows_the_tax_frame_sorted(tmp_path: Path) -> None:
    k = Kit()
    drafts = [
        k.building("B1"),
        k.move_in("T2", "B1", "2016-01-10"),
        k.move_in("T1", "B1", "2016-01-10"),
        k.tax("T2", "B1", "2016-02", 20.0),
        k.tax("T1", "B1", "2016-02", 10.0),
        k.tax("T2", "B1", "2016-01", 5.0),
    ]
    write_log(tmp_path / "ev", drafts)
    args = ["state", "--log", str(tmp_path / "ev"), "--as-of", "2016-03-01", "--frame", "tax"]
    res = CliRunner().invoke(app, [*args, "--format", "csv"])
    assert res.exit_code == 0, res.output
    got = pl.read_csv(res.stdout.encode()).select("tenant_id", "period", "amount_yuan").rows()
    assert got == [("T2", "2016-01", 5.0), ("T1", "2016-02", 10.0), ("T2", "2016-02", 20.0)]


def test_hash_shortcuts_stay_exact_when_hashes_collide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tax reports are matched to tenancies and deduplicated through 64-bit hashes; with a hash
    that collides on purpose (only the first key column counts) every answer must still be the
    exact one, found by comparing the strings."""
    from louyu_research.replay import log as replay

    def weak_hash(keys: list[str]) -> pl.Expr:  # every row collides
        return pl.col(keys[0]).str.len_bytes().cast(pl.UInt64)

    def first_column(keys: list[str]) -> pl.Expr:  # pairs stay distinct, (T1, B2) hits (T1, B1)
        return pl.col(keys[0]).hash()

    tax = pl.DataFrame(
        {
            "seq": [1, 2, 3, 4, 5],
            "event_id": ["t1", "t2", "t3", "t4", "t5x"],
            "tenant_id": ["T1", "T1", "T2", "T1", "T1"],
            "building_id": ["B1", "B2", "B1", "B1", "B1"],
            "period": ["2016-01", "2016-01", "2016-01", "2016-01", "2016-02"],
        }
    )
    day = date(2016, 1, 10)
    spells = pl.DataFrame(
        {"tenant_id": ["T1", "T2"], "building_id": ["B1", "B1"], "since": [day, day]}
    ).with_columns(pl.lit(None, dtype=pl.Date).alias("until"))
    registry = pl.DataFrame({"building_id": ["B1", "B2"]})
    reports = tax.with_columns(
        pl.lit(day).alias("occurred_on"),
        pl.lit(1.0).alias("amount_yuan"),
        pl.lit(None, pl.String).alias("part"),
    )
    exact = [0, None, 1, 0, 0]
    for hashing in (frames.key_hash, weak_hash, first_column):
        monkeypatch.setattr(frames, "key_hash", hashing)
        coded = replay._code_tax(reports.lazy(), spells, registry)
        assert coded.reports["_k"].to_list() == exact
        assert coded.reports["_b"].to_list() == [0, 1, 0, 0, 0]
        dup = frames.duplicate_candidates(tax, ["tenant_id", "building_id", "period"])
        # rows 0 and 3 repeat a key: they must be among the candidates
        assert dup is not None and dup[0] and dup[3]
        unique = frames._unique_rows(tax.lazy(), ["tenant_id", "building_id", "period"])
        assert unique.collect()["unique"].to_list() == [False, True, True, False, True]


def test_plain_and_compressed_sealed_segments_replay_alike(tmp_path: Path) -> None:
    """The cold read parses a plain sealed segment from its file and a compressed one from its
    bytes; both, parsed fresh or read back from the Parquet cache, give the same events."""
    from louyu_research.log.store import EventLog

    k = Kit()
    drafts = [  # two events in each month of recorded_at: three sealed segments and the head
        k.building("B1", at=datetime(2015, 1, 5, tzinfo=UTC)),
        k.building("B2"),
        k.move_in("T1", "B1", "2015-01-10", at=datetime(2015, 2, 3, tzinfo=UTC)),
        k.move_in("T2", "B2", "2015-01-12"),
        k.tax("T1", "B1", "2015-01", 12.5, at=datetime(2015, 3, 2, tzinfo=UTC)),
        k.tax("T2", "B2", "2015-01", 2.5),
        k.tax("T1", "B1", "2015-02", 13.5, at=datetime(2015, 4, 2, tzinfo=UTC)),
        k.tax("T2", "B2", "2015-02", 3.5),
    ]
    reads = []
    for compress in (False, True):
        path = tmp_path / f"ev-{compress}"
        EventLog.init(path, compress_sealed=compress)
        log = EventLog(path)
        for d in drafts:
            log.append([d])
        assert len(list(path.glob("*.jsonl.gz"))) == (3 if compress else 0)
        fresh, cached = log.read(), log.read()  # the second read comes from the cache
        assert fresh.equals(cached) and len(list((path / ".cache").glob("*.parquet"))) == 3
        reads.append(fresh)
        state = open_log(path).replay(D("2015-12-31"))
        assert sorted(state.tax["amount_yuan"].to_list()) == [2.5, 3.5, 12.5, 13.5]
    assert reads[0].equals(reads[1])
