"""The BuildingMonth panel: hand-computed months and the differential test against the fold."""

from __future__ import annotations

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

from louyu_research.city.settings import Settings
from louyu_research.replay import frames
from louyu_research.replay.panel import month_range

D = date.fromisoformat


def by_key(frame: pl.DataFrame) -> dict[tuple[str, str], dict]:
    return {(r["building_id"], r["month"]): r for r in frame.iter_rows(named=True)}


def test_month_range_and_bad_months() -> None:
    m = month_range("2015-11", "2016-02")
    assert m["month"].to_list() == ["2015-11", "2015-12", "2016-01", "2016-02"]
    assert m["month_end"].to_list() == [
        D("2015-11-30"),
        D("2015-12-31"),
        D("2016-01-31"),
        D("2016-02-29"),
    ]
    for start, end in (("2016-13", "2016-12"), ("2016-1", "2016-02"), ("2016-03", "2016-02")):
        with pytest.raises(ValueError):
            month_range(start, end)


@pytest.fixture
def sample(tmp_path: Path):
    """Two buildings over a year boundary; every figure below is worked out by hand."""
    k = Kit()
    drafts = [
        k.building(
            "B1",
            "2015-06-01",
            rentable_area_m2=1000.0,
            status="under_construction",
            gross_floor_area_m2=1000.0,
        ),
        k.building("B2", "2016-02-10", rentable_area_m2=500.0, standalone=False),
        k.event("BuildingCompleted", "2015-11-30", building_id="B1"),  # the month's last day
        k.move_in(
            "T1",
            "B1",
            "2015-11-05",
            area=300,
            industry="J66",
            registered_here=True,
            headquarters=True,
        ),
        k.move_in("T2", "B1", "2015-12-01", area=200, industry="I65", registered_here=False),
        k.move_in(
            "T3", "B1", "2015-12-20", area=100, industry="I6431", registered_here=True
        ),  # ecommerce
        k.event(
            "TenantAreaChanged", "2016-01-15", tenant_id="T2", building_id="B1", area_m2=300.0
        ),  # +100 take-up
        k.move_out("T3", "B1", "2016-01-31"),  # last day of January: gone at January's end
        k.move_in("T1", "B2", "2016-02-15", area=50, industry="J66", registered_here=False),
        k.tax("T1", "B1", "2015-12", 600.0),
        k.tax("T2", "B1", "2015-12", 400.0),
        k.tax("T1", "B1", "2016-01", 100.0),
        k.tax("T2", "B1", "2016-01", 300.0),
        k.tax("T2", "B1", "2016-02", 50.0),
        k.tax(
            "T1", "B1", "2016-01", 150.0, on="2016-03-10", event_id="restated"
        ),  # restated Jan: 100 → 150
        k.event("BuildingFeaturedDesignated", "2016-01-10", building_id="B1", industry="finance"),
        k.event("BuildingRetired", "2016-02-29", building_id="B2", reason="converted"),
    ]
    return write_log(tmp_path / "ev", drafts), k


def test_panel_figures_by_hand(sample) -> None:
    log, _ = sample
    p = log.panel("2015-10", "2016-02")
    assert p.height == 2 * 5  # every registered building × every month, sorted
    assert p.select("building_id", "month").rows() == sorted(
        p.select("building_id", "month").rows()
    )
    rows = by_key(p)

    oct_, nov, dec, jan, feb = (
        rows[("B1", m)] for m in ("2015-10", "2015-11", "2015-12", "2016-01", "2016-02")
    )
    # scope: completed on 30 Nov (the month's last day) counts in November; GFA 1000 is in
    assert (
        not oct_["in_scope"]
        and nov["in_scope"]
        and nov["completed_in_month"]
        and not dec["completed_in_month"]
    )
    assert nov["completed_on"] == D("2015-11-30") and oct_["completed_on"] is None
    # occupancy at month ends
    assert (
        nov["occupied_area_m2"],
        nov["tenancies"],
        nov["registered_tenancies"],
        nov["headquarters_tenancies"],
    ) == (300, 1, 1, 1)
    assert (dec["occupied_area_m2"], dec["tenancies"], dec["registered_tenancies"]) == (600, 3, 2)
    assert (jan["occupied_area_m2"], jan["tenancies"], jan["registered_tenancies"]) == (
        600,
        2,
        1,
    )  # 300 + 300; T3 left on 31 Jan
    # flows: move-ins, move-outs, gross take-up (move-ins and the expansion, nothing subtracted)
    assert (nov["move_ins"], dec["move_ins"], jan["move_ins"], jan["move_outs"]) == (1, 2, 0, 1)
    assert (nov["gross_take_up_m2"], dec["gross_take_up_m2"], jan["gross_take_up_m2"]) == (
        300,
        300,
        100,
    )
    # tax: the month, YTD restarting in January, restatement applied (Jan T1 = 150)
    assert (dec["tax_yuan"], dec["tax_yuan_ytd"]) == (1000, 1000)
    assert (jan["tax_yuan"], jan["tax_yuan_ytd"]) == (450, 450)
    assert (feb["tax_yuan"], feb["tax_yuan_ytd"]) == (50, 500)
    # leading industry: Dec finance 300 vs information 200 vs ecommerce 100
    assert dec["leading_industry"] == "finance"
    assert dec["leading_area_share"] == pytest.approx(300 / 600)
    assert dec["leading_tenancy_share"] == pytest.approx(1 / 3)
    assert dec["leading_tax_share_ytd"] == pytest.approx(600 / 1000)
    # Jan: finance 300 = information 300: a tie goes to the alphabetically first (finance)
    assert jan["leading_industry"] == "finance" and jan["leading_area_share"] == pytest.approx(0.5)
    assert jan["leading_tax_share_ytd"] == pytest.approx(150 / 450)
    assert feb["leading_tax_share_ytd"] == pytest.approx(150 / 500)
    assert oct_["leading_industry"] is None and oct_["leading_area_share"] is None
    # designation from 10 Jan
    assert (
        not dec["featured_designated"]
        and jan["featured_designated"]
        and jan["designated_industry"] == "finance"
    )

    # B2: registered 10 Feb; not standalone so never in scope; retired on 29 Feb
    b2_jan, b2_feb = rows[("B2", "2016-01")], rows[("B2", "2016-02")]
    assert not b2_jan["registered"] and b2_jan["name"] == "B2大厦" and b2_jan["tenancies"] == 0
    assert b2_feb["registered"] and not b2_feb["in_scope"]
    assert b2_feb["retired_in_month"] and b2_feb["retired_on"] == D("2016-02-29")
    assert (b2_feb["occupied_area_m2"], b2_feb["registered_tenancies"]) == (50, 0)
    assert b2_feb["tax_yuan_ytd"] == 0 and b2_feb["leading_tax_share_ytd"] is None

    loose = log.panel("2016-02", "2016-02", settings=Settings(scope_standalone_only=False))
    assert by_key(loose)[("B2", "2016-02")]["in_scope"] is False  # retired on the month's last day


def test_the_panel_is_pinned_to_a_log_position(sample) -> None:
    log, _ = sample
    before = by_key(log.panel("2016-01", "2016-01", upto_seq=14))  # before the restatement (seq 15)
    assert before[("B1", "2016-01")]["tax_yuan"] == 400
    assert by_key(log.panel("2016-01", "2016-01"))[("B1", "2016-01")]["tax_yuan"] == 450


def test_a_retracted_registration_removes_the_building(tmp_path: Path) -> None:
    k = Kit()
    log = write_log(
        tmp_path / "ev", [k.building("B1"), k.building("B2", event_id="b2"), retraction(k, "b2")]
    )
    assert set(log.panel("2016-01", "2016-01")["building_id"]) == {"B1"}
    assert set(log.panel("2016-01", "2016-01", upto_seq=2)["building_id"]) == {"B1", "B2"}


def test_the_panel_is_validated() -> None:
    with pytest.raises(frames.FrameValidationError, match="occupied_within_rentable"):
        frames.validate(frames.BuildingMonth, _bad_panel_row())


def _bad_panel_row() -> pl.DataFrame:
    schema = {n: c.dtype.type for n, c in frames.BuildingMonth.to_schema().columns.items()}
    row = {
        "building_id": "B1", "month": "2016-01", "month_end": D("2016-01-31"), "name": "x", "district": "d",
        "street": "s", "category": "office", "grade": None, "standalone": True, "gross_floor_area_m2": 10.0,
        "rentable_area_m2": 10.0, "completed_on": None, "retired_on": None, "registered": True, "in_scope": True,
        "occupied_area_m2": 20.0, "tenancy_area_m2": 20.0, "tenancies": 1, "registered_tenancies": 1,
        "headquarters_tenancies": 0, "tax_yuan": 0.0, "tax_yuan_ytd": 0.0, "move_ins": 0, "move_outs": 0,
        "gross_take_up_m2": 0.0, "completed_in_month": False, "retired_in_month": False,
        "featured_designated": False, "designated_industry": None, "leading_industry": None,
        "leading_area_share": None, "leading_tenancy_share": None, "leading_tax_share_ytd": None,
    }  # fmt: skip
    return pl.DataFrame([row], schema=schema)


# --- differential: the panel against one reference fold per month end ----------------------------

MONTHS = ["2015-01", "2015-02", "2015-06", "2015-12", "2016-01", "2016-02", "2016-03"]
COLUMNS = (
    "street",
    "in_scope",
    "occupied_area_m2",
    "tenancy_area_m2",
    "tenancies",
    "registered_tenancies",
    "headquarters_tenancies",
    "tax_yuan",
    "tax_yuan_ytd",
    "move_ins",
    "move_outs",
    "gross_take_up_m2",
    "featured_designated",
    "leading_industry",
    "leading_area_share",
    "leading_tenancy_share",
    "leading_tax_share_ytd",
)


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) < 1e-6
    return a == b


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_panel_agrees_with_the_reference_fold(data: st.DataObject) -> None:
    drafts = random_drafts(data.draw, 40)
    cut = data.draw(
        st.one_of(
            st.just({}),
            st.integers(0, 45).map(lambda n: {"upto_seq": n}),
            st.integers(0, 45).map(
                lambda n: {"recorded_by": datetime(2015, 1, 1, tzinfo=UTC) + timedelta(minutes=n)}
            ),
        ),
        label="cut",
    )
    with tempfile.TemporaryDirectory() as tmp:
        log = write_log(Path(tmp) / "ev", drafts)
        got = by_key(log.panel("2015-01", "2016-03", **cut))
        live = ref.cut(list(log.iter_records()), **cut)
        want = ref.panel(live, MONTHS, ref.load_mapping())
        registered = {k: v for k, v in got.items() if v["registered"] and k[1] in MONTHS}
        assert set(registered) == set(want)
        for key, w in want.items():
            for col in COLUMNS:
                assert _close(got[key][col], w[col]), (key, col, got[key][col], w[col])
        for row in got.values():
            if not row["registered"]:
                assert not row["in_scope"]


def test_the_leader_by_packed_score_is_the_leader_by_sorting() -> None:
    """The leading industry per building and month: largest area, ties to the alphabetically
    first industry. The fast path packs (area, industry, count) into one integer; areas too
    large to pack are sorted instead; both must name the same leaders."""
    from louyu_research.replay.panel import _leaders

    present = pl.DataFrame(
        {
            "_b": [0, 0, 0, 1, 1, 1, 1],
            "ki": [3, 1, 5, 2, 0, 4, 2],
            "a": [500, 500, 499, 7, 9, 9, 1],
            "n": [2, 3, 9, 1, 1, 4, 1],
            "month_idx": [10, 10, 10, 10, 10, 10, 11],
        },
        schema_overrides={"_b": pl.UInt32, "month_idx": pl.Int32},
    )
    want = [(0, 10, 1, 500, 3), (1, 10, 0, 9, 1), (1, 11, 2, 1, 1)]  # by hand
    assert _leaders(present).rows() == want
    huge = present.with_columns(pl.col("a") * 2**40)  # beyond the packed range: sorted
    assert _leaders(huge).rows() == [(b, m, k, a * 2**40, n) for b, m, k, a, n in want]


def test_a_tenant_counts_in_the_leading_industry_tax_only_once_it_has_moved_in(
    tmp_path: Path,
) -> None:
    """T2's industry is set by an update dated before its move-in; at January's end it is not a
    tenant yet, so its January tax counts in the building's YTD (the denominator) but not in
    the leading industry's; from February (moved in on the 1st) its whole YTD counts."""
    k = Kit()
    drafts = [
        k.building("B0", "2015-01-01"),
        k.move_in("T2", "B0", "2015-02-01", industry="I65", industry_edition="2011"),
        k.move_in("T0", "B0", "2015-01-01", industry="I65"),
        k.tax("T2", "B0", "2015-01", 100.0, on="2015-01-01"),
        k.tax("T0", "B0", "2015-01", 1000.0, on="2015-01-01"),
        k.event("TenantUpdated", "2015-01-01", tenant_id="T2", industry="I65"),
    ]
    log = write_log(tmp_path / "ev", drafts)
    got = log.panel("2015-01", "2015-02").select(
        "month", "leading_industry", "tax_yuan_ytd", "leading_tax_share_ytd"
    )
    assert got.rows() == [
        ("2015-01", "information", 1100.0, 1000 / 1100),
        ("2015-02", "information", 1100.0, 1.0),
    ]
