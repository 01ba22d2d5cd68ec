"""The plan's lists on a hand-built month: who is on each list, and why, worked out by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from indicator_fixtures import city_tax, panel, row, tax

from louyu_research.city.settings import Settings
from louyu_research.indicators import figures as ind
from louyu_research.indicators import lists

J, F = "2016-01", "2016-02"


def both_months(building_id: str, **values: Any) -> list[dict[str, Any]]:
    return [row(building_id, J, **values), row(building_id, F, **values)]


def sheet(settings: Settings | None = None) -> pl.DataFrame:
    """February 2016 (month end 29 Feb). tax per m² YTD is tax_yuan_ytd ÷ rentable area."""
    rows = [
        # offices: tax per m² K1 750, K2 1000, V2 10, N 0, O1 500, O2 200
        *both_months("K1", rentable_area_m2=20000, occupied_area_m2=19000, tenancies=6,
                     tax_yuan_ytd=15_000_000, featured_designated=True,
                     designated_industry="finance", leading_industry="finance",
                     leading_area_share=0.7, leading_tenancy_share=0.5,
                     leading_tax_share_ytd=0.9),
        *both_months("K2", street="城南街道", occupied_area_m2=6000, tenancies=3,
                     tax_yuan_ytd=10_000_000),
        *both_months("V2", occupied_area_m2=7000, tax_yuan_ytd=100_000,
                     completed_on=date(2014, 2, 28)),
        *both_months("N", occupied_area_m2=9000, completed_on=date(2015, 6, 1)),
        *both_months("O1", occupied_area_m2=10000, tenancies=5, tax_yuan_ytd=5_000_000,
                     leading_industry="information", leading_area_share=0.4,
                     leading_tenancy_share=0.6, leading_tax_share_ytd=0.2),
        *both_months("O2", occupied_area_m2=9500, tax_yuan_ytd=2_000_000),
        # complexes: V1 10/m², C2 300/m²
        *both_months("V1", category="complex", rentable_area_m2=30000, occupied_area_m2=24000,
                     tenancies=3, tax_yuan_ytd=300_000, featured_designated=True,
                     designated_industry="fashion", leading_industry="fashion",
                     leading_area_share=0.9, leading_tenancy_share=0.9),
        *both_months("C2", category="complex", occupied_area_m2=10000, tax_yuan_ytd=3_000_000),
        # mixed: half empty, young
        *both_months("BB", category="mixed", rentable_area_m2=20000, occupied_area_m2=10000,
                     completed_on=date(2015, 1, 1)),
        # out of scope (not standalone): empty, untaxed, old — on no list
        *both_months("X", standalone=False, in_scope=False, occupied_area_m2=0),
    ]  # fmt: skip
    p = panel(rows)
    c = city_tax([(J, None, 1e9), (F, None, 1e9)])
    s = settings or Settings()
    b = ind.figures(p, tax=tax([]), city_tax=c, level="building", settings=s)
    return lists.building_sheet(b, p, F)


def test_key_buildings() -> None:
    got = lists.key_buildings(sheet())
    assert got.select("building_id", "tax_rank", "tax_yuan_ytd").rows() == [
        ("K1", 1, 15_000_000.0),
        ("K2", 2, 10_000_000.0),  # exactly ¥10 m counts
    ]
    assert got.row(1, named=True)["reporting_area"] == "嘉兴经济技术开发区"
    assert got.row(0, named=True)["tax_per_m2_ytd"] == pytest.approx(750)


def test_vacancy_list() -> None:
    got = lists.vacancy_list(sheet())
    # BB 10,000 m² and 50%; V1 6,000 m² (20%); K2 4,000 m² (40%); V2 3,000 m² (exactly 30%).
    assert got.select("building_id", "vacant_area_m2", "vacancy_reason").rows() == [
        ("BB", 10000.0, "both"),
        ("V1", 6000.0, "area"),
        ("K2", 4000.0, "rate"),
        ("V2", 3000.0, "rate"),
    ]
    assert got.filter(pl.col("building_id") == "V2").item(0, "vacancy_rate") == pytest.approx(0.3)
    stricter = Settings(vacancy_min_rate=0.45, vacancy_min_area_m2=8000)
    assert lists.vacancy_list(sheet(stricter), stricter).get_column("building_id").to_list() == [
        "BB"
    ]


def test_low_output_list() -> None:
    got = lists.low_output_list(sheet())
    # Offices by tax per m²: N 0, V2 10, O2 200, O1 500, K1 750, K2 1000 (n = 6): N and V2
    # have fewer than 20% strictly below them (0 and 1/6), but N was completed 2015-06-01,
    # less than two years before 29 Feb 2016. V2, completed 2014-02-28, is just old enough.
    # Complexes: V1 10, C2 300 (n = 2): V1 has nobody below it. Mixed: BB is young.
    assert got.select(
        "building_id", "category", "category_rank", "category_buildings", "age_years"
    ).rows() == [("V1", "complex", 1, 2, 6), ("V2", "office", 2, 6, 2)]
    assert got.filter(pl.col("building_id") == "V2").item(0, "category_percentile") == (
        pytest.approx(1 / 6)
    )
    wider = Settings(low_output_quantile=0.4, low_output_min_age_years=0)
    # 40%: offices N (0), V2 (1/6), O2 (2/6); complexes V1; mixed BB (alone: nobody below).
    assert lists.low_output_list(sheet(wider), wider).get_column("building_id").to_list() == [
        "V1", "BB", "N", "V2", "O2",
    ]  # fmt: skip


def test_featured_list_rule_vs_designated() -> None:
    got = lists.featured_list(sheet())
    # K1: designated and 70% of its area is finance (6 tenancies) → both.
    # O1: 60% of its 5 tenancies are information → by rule only.
    # V1: designated, but 3 tenancies < 5 → designated only.
    assert got.select("building_id", "featured_status", "featured_rule").rows() == [
        ("K1", "both", True),
        ("V1", "designated_only", False),
        ("O1", "rule_only", True),
    ]
    wuhan = Settings.load(None, featured={"threshold": 0.7})
    got = lists.featured_list(sheet(wuhan), wuhan)
    assert got.select("building_id", "featured_status").rows() == [
        ("K1", "both"),
        ("V1", "designated_only"),
    ]


def _tenancies(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(t, b, f"{t}公司", a, "J66", "finance") for t, b, a in rows],
        schema={
            "tenant_id": pl.String,
            "building_id": pl.String,
            "tenant_name": pl.String,
            "area_m2": pl.Float64,
            "industry": pl.String,
            "key_industry": pl.String,
        },
        orient="row",
    )


def test_tenants_at_risk() -> None:
    now = _tenancies(
        [("T1", "K1", 800), ("T2", "K1", 500), ("T3", "K2", 300), ("T4", "V1", 100),
         ("T5", "X", 50), ("T1", "K2", 200)]
    )  # fmt: skip
    before = _tenancies(
        [("T1", "K1", 1000), ("T2", "K1", 500), ("T3", "K2", 300), ("T5", "X", 80),
         ("T6", "K2", 400), ("T1", "K2", 200)]
    )  # fmt: skip
    prev_window = ("2015-09", "2015-10", "2015-11")
    last_window = ("2015-12", "2016-01", "2016-02")
    rows = []
    for period in prev_window:
        rows += [("T1", "K1", period, 100), ("T2", "K1", period, 300), ("T3", "K2", period, 300)]
    for period in last_window:
        rows += [("T1", "K1", period, 100), ("T2", "K1", period, 150)]
    rows += [("T3", "K2", "2016-02", 451.0), ("T1", "K2", "2015-10", 1000.0)]
    rows += [("T6", "K2", "2015-09", 5000.0), ("T1", "K1", "2015-08", 10_000.0)]  # outside
    got = lists.tenants_at_risk(sheet(), now, before, tax(rows), F)
    # (T1, K2): 1,000 before, nothing since → −100%. (T2, K1): 900 → 450, exactly half.
    # (T1, K1): 1,000 → 800 m², tax flat. (T3, K2): 900 → 451, not quite half. T4 new,
    # T5 in a building out of scope, T6 gone by February.
    assert got.select(
        "tenant_id", "building_id", "shrank", "tax_dropped", "tax_change_rate"
    ).rows() == [
        ("T1", "K2", False, True, -1.0),
        ("T2", "K1", False, True, -0.5),
        ("T1", "K1", True, False, 0.0),
    ]
    t1k1 = got.row(2, named=True)
    assert (t1k1["area_m2_before"], t1k1["area_change_m2"]) == (1000.0, -200.0)
    assert (t1k1["tax_last_window_yuan"], t1k1["tax_previous_window_yuan"]) == (300.0, 300.0)
    assert got.row(0, named=True)["building_name"] == "K2大厦"
    looser = Settings(at_risk_tax_drop=0.4)  # fell by 40% or more: T3 (−49.9%) too
    got = lists.tenants_at_risk(sheet(), now, before, tax(rows), F, looser)
    assert ("T3", "K2") in got.select("tenant_id", "building_id").rows()
