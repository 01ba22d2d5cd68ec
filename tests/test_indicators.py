"""Monthly figures, target tracking and the street ranking, on hand-built frames.

Every expected figure is worked out by hand in the comments beside it, from the rows the
test builds (not from the code under test).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from drafts import Kit
from indicator_fixtures import city_tax, panel, row, tax

from louyu_research.city.settings import FEATURED_PRESETS, FeaturedRule, RankingWeights, Settings
from louyu_research.core.frame import FrameValidationError as OutputInvalid
from louyu_research.indicators import figures as ind
from louyu_research.indicators import lists
from louyu_research.replay.log import Log

J, F = "2016-01", "2016-02"
ZONE = "嘉兴经济技术开发区"


def scenario() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """January → February 2016 in a few buildings, each exercising one rule.

    A 新兴街道 in scope both months; B 城南街道 (经开区) key, designated; C 嘉北街道 completed
    in February; D 新兴街道 retired in February; E out of scope (999 m²) both months;
    F 新城街道 stops being standalone in February (leaves scope, not retired);
    G moves from 新兴街道 to 城南街道 in February (street boundary redrawn).
    """
    rows = [
        row("A", J, occupied_area_m2=6000, tenancies=4, registered_tenancies=3,
            tax_yuan=200_000, tax_yuan_ytd=200_000),
        row("A", F, occupied_area_m2=7000, tenancies=5, registered_tenancies=4,
            tax_yuan=300_000, tax_yuan_ytd=500_000, move_ins=1, gross_take_up_m2=1000,
            leading_industry="information", leading_area_share=0.6,
            leading_tenancy_share=0.4, leading_tax_share_ytd=0.3),
        row("B", J, street="城南街道", rentable_area_m2=20000, occupied_area_m2=15000,
            tenancies=13, registered_tenancies=11, featured_designated=True,
            designated_industry="finance"),
        row("B", F, street="城南街道", rentable_area_m2=20000, occupied_area_m2=14000,
            tenancies=12, registered_tenancies=10, tax_yuan=12_000_000,
            tax_yuan_ytd=12_000_000, move_outs=1, featured_designated=True,
            designated_industry="finance", leading_industry="finance",
            leading_area_share=0.45, leading_tenancy_share=0.5, leading_tax_share_ytd=0.8),
        row("C", J, district="秀洲区", street="嘉北街道", rentable_area_m2=5000,
            in_scope=False, completed_on=date(2016, 2, 29)),
        row("C", F, district="秀洲区", street="嘉北街道", rentable_area_m2=5000,
            completed_on=date(2016, 2, 29), completed_in_month=True, occupied_area_m2=1000,
            tenancies=1, registered_tenancies=1, move_ins=1, gross_take_up_m2=1000),
        row("D", J, rentable_area_m2=3000, occupied_area_m2=2000, tenancies=2,
            registered_tenancies=2, featured_designated=True, designated_industry="health"),
        row("D", F, rentable_area_m2=3000, in_scope=False, retired_in_month=True,
            retired_on=date(2016, 2, 10), tax_yuan=999, tax_yuan_ytd=999, move_outs=2,
            featured_designated=True, designated_industry="health"),
        row("E", J, gross_floor_area_m2=999, rentable_area_m2=900, in_scope=False,
            occupied_area_m2=900, tenancies=1, registered_tenancies=1, tax_yuan=50_000,
            tax_yuan_ytd=50_000),
        row("E", F, gross_floor_area_m2=999, rentable_area_m2=900, in_scope=False,
            occupied_area_m2=900, tenancies=1, registered_tenancies=1, tax_yuan=50_000,
            tax_yuan_ytd=100_000),
        row("F", J, district="秀洲区", street="新城街道", rentable_area_m2=2000,
            occupied_area_m2=500, tenancies=1),
        row("F", F, district="秀洲区", street="新城街道", rentable_area_m2=2000,
            standalone=False, in_scope=False, occupied_area_m2=500, tenancies=1),
        row("G", J, rentable_area_m2=4000, occupied_area_m2=1000, tenancies=1,
            registered_tenancies=1),
        row("G", F, street="城南街道", rentable_area_m2=4000, occupied_area_m2=2500,
            tenancies=2, registered_tenancies=1, tax_yuan=100_000, tax_yuan_ytd=100_000,
            move_ins=1, gross_take_up_m2=1500),
    ]  # fmt: skip
    t = tax(
        [
            ("T1", "A", J, 200_000),
            ("T2", "A", F, 300_000),
            ("T1", "B", F, 1_000_000),  # T1 rents in A and B
            *[(f"B{i:02d}", "B", F, 1_000_000) for i in range(2, 13)],
            ("T13", "G", F, 100_000),
            ("T20", "D", F, 999),  # retired building: out of scope
            ("T21", "E", J, 50_000),  # 999 m²: out of scope
            ("T21", "E", F, 50_000),
        ]
    )
    c = city_tax([(J, None, 10_000_000), (F, None, 20_000_000), (F, "南湖区", 5_000_000)])
    return panel(rows), t, c


def one(frame: pl.DataFrame, **keys: str) -> dict:
    sel = frame
    for k, v in keys.items():
        sel = sel.filter(pl.col(k) == v)
    assert sel.height == 1, (keys, sel)
    return sel.row(0, named=True)


def test_city_figures_by_hand() -> None:
    p, t, c = scenario()
    city = ind.figures(p, tax=t, city_tax=c, level="city")
    assert city.get_column("month").to_list() == [F]  # January only serves as the start
    r = one(city, month=F)
    # In scope at 29 Feb: A, B, C (completed on the month's last day), G. Not D (retired),
    # E (999 m² < 1,000), F (not standalone).
    assert r["buildings"] == 4
    assert r["rentable_area_m2"] == 10000 + 20000 + 5000 + 4000
    assert r["occupied_area_m2"] == 7000 + 14000 + 1000 + 2500
    assert r["vacant_area_m2"] == 39000 - 24500
    assert r["occupancy_rate"] == pytest.approx(24500 / 39000)
    assert r["tenancies"] == 5 + 12 + 1 + 2
    assert r["registered_tenancies"] == 4 + 10 + 1 + 1
    assert r["registration_rate"] == pytest.approx(16 / 20)
    assert r["tax_yuan"] == 300_000 + 12_000_000 + 100_000
    assert r["tax_yuan_ytd"] == 500_000 + 12_000_000 + 100_000
    assert r["city_tax_yuan_ytd"] == 30_000_000  # the district row is not the city total
    assert r["tax_share_ytd"] == pytest.approx(12_600_000 / 30_000_000)
    assert r["tax_per_m2_ytd"] == pytest.approx(12_600_000 / 39000)
    # A: area share 0.6 ≥ 0.5 (5 tenancies); B: tenancy share 0.5 ≥ 0.5 (12); C: 1 tenancy.
    assert r["featured_buildings"] == 2
    assert r["designated_buildings"] == 1  # B; D is designated but retired
    assert r["key_buildings"] == 1  # B: 12,000,000 ≥ 10,000,000
    assert (r["move_ins"], r["move_outs"]) == (1 + 1 + 1, 1)
    # Tenants summed across buildings: T1 = 200,000 (A) + 1,000,000 (B) = 1,200,000, then
    # nine of B's other tenants at 1,000,000; total 12,600,000.
    assert r["top10_tax_share"] == pytest.approx((1_200_000 + 9 * 1_000_000) / 12_600_000)
    assert r["new_supply_m2"] == 5000  # C
    assert r["withdrawn_m2"] == 3000  # D
    # A +1000, B −1000, C enters vacant then lets 1000, D leaves with 2000 let (−2000),
    # G +1500; F left scope for another reason and is not in the fixed set.
    assert r["net_absorption_m2"] == 1000 - 1000 + 1000 - 2000 + 1500
    assert r["gross_take_up_m2"] == 1000 + 1000 + 1500


def test_street_area_and_building_levels_by_hand() -> None:
    p, t, c = scenario()
    streets = ind.figures(p, tax=t, city_tax=c, level="street")
    # 新城街道 (F, left scope by losing its standalone flag) has nothing to count.
    assert streets.get_column("street").to_list() == sorted(["新兴街道", "城南街道", "嘉北街道"])
    x = one(streets, street="新兴街道")
    # A only in scope; D retired here; G counts in 城南街道 since the boundary moved.
    assert (x["buildings"], x["rentable_area_m2"], x["occupied_area_m2"]) == (1, 10000, 7000)
    assert (x["district"], x["reporting_area"]) == ("南湖区", "南湖区")
    assert x["withdrawn_m2"] == 3000
    assert x["net_absorption_m2"] == 1000 - 2000
    assert x["tax_share_ytd"] == pytest.approx(500_000 / 30_000_000)
    assert x["top10_tax_share"] == pytest.approx(1.0)  # two tenants only
    cn = one(streets, street="城南街道")
    assert (cn["district"], cn["reporting_area"]) == ("南湖区", ZONE)
    assert (cn["buildings"], cn["rentable_area_m2"], cn["occupied_area_m2"]) == (2, 24000, 16500)
    assert cn["tax_yuan_ytd"] == 12_100_000
    assert cn["net_absorption_m2"] == -1000 + 1500  # G's change counts where it is now
    assert cn["top10_tax_share"] == pytest.approx(10_000_000 / 12_100_000)
    assert (cn["move_ins"], cn["move_outs"], cn["designated_buildings"]) == (1, 1, 1)

    areas = ind.figures(p, tax=t, city_tax=c, level="reporting_area")
    assert areas.get_column("reporting_area").to_list() == sorted(["南湖区", ZONE])
    zone = one(areas, reporting_area=ZONE)  # 城南 (B, G) + 嘉北 (C)
    assert zone["buildings"] == 3
    assert zone["rentable_area_m2"] == 29000
    assert zone["occupancy_rate"] == pytest.approx(17500 / 29000)
    # Tenants of the zone: B's twelve (T1 included) at 1,000,000 and T13 at 100,000.
    assert zone["top10_tax_share"] == pytest.approx(10_000_000 / 12_100_000)
    assert zone["new_supply_m2"] == 5000

    b = ind.figures(p, tax=t, city_tax=c, level="building")
    assert b.get_column("building_id").to_list() == ["A", "B", "C", "D", "G"]
    d = one(b, building_id="D")
    assert d["in_scope"] is False
    assert (d["buildings"], d["rentable_area_m2"], d["tax_yuan"], d["move_outs"]) == (0, 0, 0, 0)
    assert (d["withdrawn_m2"], d["net_absorption_m2"]) == (3000, -2000)
    assert d["occupancy_rate"] is None
    a = one(b, building_id="A")
    assert a["top10_tax_share"] == pytest.approx(1.0)
    assert a["tax_share_ytd"] == pytest.approx(500_000 / 30_000_000)
    assert (a["street"], a["district"], a["reporting_area"]) == (
        "新兴街道",
        "南湖区",
        "南湖区",
    )
    g = one(b, building_id="G")
    assert (g["street"], g["reporting_area"]) == ("城南街道", ZONE)


def test_building_rows_sum_to_every_level() -> None:
    p, t, c = scenario()
    by = {lv: ind.figures(p, tax=t, city_tax=c, level=lv) for lv in ind.LEVELS}
    summed = [*ind.COUNT_COLUMNS, *ind.SUM_COLUMNS]
    city = by["city"].select(summed)
    for lv in ("building", "street", "reporting_area"):
        assert by[lv].select(pl.col(summed).sum()).equals(city), lv


def test_net_absorption_identity_when_scope_changes_only_by_completion_and_retirement() -> None:
    p, t, c = scenario()
    p = p.filter(pl.col("building_id") != "F")
    city = one(ind.figures(p, tax=t, city_tax=c, level="city"), month=F)
    # vacant at 31 Jan over A, B, D, G: 4000 + 5000 + 1000 + 3000 = 13,000
    vacant_start = 13_000
    assert city["net_absorption_m2"] == (
        vacant_start + city["new_supply_m2"] - city["withdrawn_m2"] - city["vacant_area_m2"]
    )


def test_featured_rule_presets_and_settings() -> None:
    p, t, c = scenario()

    def featured(settings: Settings) -> int:
        return one(ind.figures(p, tax=t, city_tax=c, settings=settings), month=F)[
            "featured_buildings"
        ]

    # Wuhan Wuchang 70% on any measure: A (0.6, 0.4, 0.3) no; B (tax 0.8) yes.
    assert featured(Settings(featured=FEATURED_PRESETS["wuhan-wuchang"])) == 1
    # all measures ≥ 0.5: A fails tenancies, B fails area.
    assert featured(Settings(featured=FeaturedRule(rule="all"))) == 0
    # tenancies only: B (0.5) yes, A (0.4) no.
    assert featured(Settings(featured=FeaturedRule(measures=("tenancies",)))) == 1
    # at least 6 tenancies: A (5) drops out.
    assert featured(Settings(featured=FeaturedRule(min_tenants=6))) == 1


def test_key_building_cut_off_is_inclusive_and_a_setting() -> None:
    def key(ytd: float, cut: float = 10_000_000) -> int:
        p = panel([row("K", J), row("K", F, tax_yuan_ytd=ytd, tax_yuan=ytd)])
        c = city_tax([(J, None, 1e9), (F, None, 1e9)])
        s = Settings(key_building_tax_yuan=cut)
        return one(ind.figures(p, tax=tax([]), city_tax=c, settings=s), month=F)["key_buildings"]

    assert key(10_000_000.00) == 1
    assert key(9_999_999.99) == 0
    assert key(9_999_999.99, cut=5_000_000) == 1


def test_tax_share_is_null_when_a_city_month_is_missing() -> None:
    c = city_tax([("2016-01", None, 100.0), ("2016-03", None, 300.0), ("2015-12", None, 7.0)])
    got = ind.city_tax_ytd(c, ["2016-01", "2016-02", "2016-03"])
    # Jan: 100; Feb: no city total → null; Mar: Jan + Mar known but Feb missing → null.
    assert got.rows() == [("2016-01", 100.0), ("2016-02", None), ("2016-03", None)]
    c2 = city_tax([("2016-01", None, 100.0), ("2016-02", None, 50.0), ("2016-02", "秀洲区", 9.0)])
    assert ind.city_tax_ytd(c2, ["2016-02"]).rows() == [("2016-02", 150.0)]


def test_empty_building_and_zero_tax_give_null_rates_not_errors() -> None:
    p = panel([row("Z", J), row("Z", F)])  # in scope, no tenants, no tax
    r = one(ind.figures(p, tax=tax([]), city_tax=city_tax([]), level="city"), month=F)
    assert r["occupancy_rate"] == 0.0
    assert r["registration_rate"] is None  # no tenancies
    assert r["tax_share_ytd"] is None  # no city total
    assert r["top10_tax_share"] is None  # no tax
    assert r["tax_per_m2_ytd"] == 0.0


def test_unknown_street_and_missing_previous_month_are_errors() -> None:
    p = panel([row("A", J, street="不存在街道"), row("A", F, street="不存在街道")])
    with pytest.raises(ind.UnknownStreetError, match="不存在街道"):
        ind.figures(p, tax=tax([]), city_tax=city_tax([]))
    p = panel([row("A", J), row("A", F)])
    with pytest.raises(ind.MonthError, match="2016-01"):
        ind.figures(p, tax=tax([]), city_tax=city_tax([]), months=[J])


def test_output_models_reject_impossible_figures() -> None:
    p = panel([row("A", J), row("A", F, tenancies=1, registered_tenancies=2)])
    with pytest.raises(OutputInvalid, match="registration_rate"):
        ind.figures(p, tax=tax([]), city_tax=city_tax([]), level="city")


def test_months_helpers() -> None:
    assert ind.shift_month("2016-01", -1) == "2015-12"
    assert ind.shift_month("2016-12", 1) == "2017-01"
    assert ind.month_range("2015-11", "2016-02") == ["2015-11", "2015-12", "2016-01", "2016-02"]
    assert ind.month_end("2016-02") == date(2016, 2, 29)
    assert ind.month_end("2017-12") == date(2017, 12, 31)
    for bad in ("2016-13", "2016-1", "201601", "", "2016-00"):
        with pytest.raises(ind.MonthError):
            ind.parse_month(bad)


# --- targets ---------------------------------------------------------------------------------


def _city(rows: list[tuple[str, float | None, float | None, float | None, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "month": pl.String,
            "occupancy_rate": pl.Float64,
            "registration_rate": pl.Float64,
            "tax_share_ytd": pl.Float64,
            "key_buildings": pl.Int64,
        },
        orient="row",
    )


def test_target_tracking_by_hand() -> None:
    city = _city(
        [
            ("2016-11", 0.70, 0.88, 0.075, 60),
            ("2016-12", 0.76, 0.86, 0.081, 71),
            ("2017-05", 0.78, 0.89, 0.07, 35),
            ("2017-06", 0.80, 0.91, None, 40),  # June's city tax not known yet
        ]
    )
    targets = pl.DataFrame(
        {
            "year": [2015, 2016, 2016, 2017, 2017, 2017, 2017],
            "indicator": ["occupancy_rate", "occupancy_rate", "registration_rate",
                          "occupancy_rate", "registration_rate", "tax_share_ytd",
                          "key_buildings"],
            "target": [0.65, 0.75, 0.87, 0.85, 0.90, 0.10, 100.0],
            "comparison": [">="] * 7,
            "source": ["plan"] * 7,
        },
        schema_overrides={"year": pl.Int32},
    )  # fmt: skip
    got = ind.track_targets(city, targets)
    r = {(x["year"], x["indicator"]): x for x in got.iter_rows(named=True)}
    # 2015: no month of 2015 in the figures.
    assert r[2015, "occupancy_rate"]["value"] is None
    assert r[2015, "occupancy_rate"]["met"] is None
    # 2016 occupancy: December 0.76 ≥ 0.75, met, no month left.
    x = r[2016, "occupancy_rate"]
    assert (x["month"], x["year_end"], x["met"], x["months_left"]) == ("2016-12", True, True, 0)
    assert x["gap"] == pytest.approx(0.01)
    assert x["pace_needed_per_month"] == 0.0
    # 2016 registration: December 0.86 < 0.87, missed, the year is over: no pace.
    x = r[2016, "registration_rate"]
    assert (x["met"], x["pace_needed_per_month"]) == (False, None)
    assert x["gap"] == pytest.approx(-0.01)
    # 2017 occupancy: June 0.80, six months left: (0.85 − 0.80) / 6 a month.
    x = r[2017, "occupancy_rate"]
    assert (x["month"], x["year_end"], x["months_left"]) == ("2017-06", False, 6)
    assert x["pace_needed_per_month"] == pytest.approx(0.05 / 6)
    # 2017 registration: June 0.91 ≥ 0.90 already.
    assert r[2017, "registration_rate"]["met"] is True
    # 2017 tax share: June unknown, so May's 0.07 with seven months left.
    x = r[2017, "tax_share_ytd"]
    assert (x["month"], x["value"], x["months_left"]) == ("2017-05", 0.07, 7)
    assert x["pace_needed_per_month"] == pytest.approx(0.03 / 7)
    # 2017 key buildings: 40 of 100 in June: 10 a month.
    assert r[2017, "key_buildings"]["pace_needed_per_month"] == pytest.approx(10.0)
    assert got.select("year", "indicator").rows() == sorted(r)


def test_target_at_most_comparison() -> None:
    city = _city([("2017-03", 0.2, None, None, 0)])
    targets = pl.DataFrame(
        {"year": [2017], "indicator": ["occupancy_rate"], "target": [0.1],
         "comparison": ["<="], "source": [None]},
        schema_overrides={"year": pl.Int32, "source": pl.String},
    )  # fmt: skip
    x = ind.track_targets(city, targets).row(0, named=True)
    assert x["met"] is False
    assert x["pace_needed_per_month"] == pytest.approx((0.1 - 0.2) / 9)


# --- ranking ---------------------------------------------------------------------------------


def _streets() -> pl.DataFrame:
    rows = [
        # January: S4 best everywhere, then S3, S2, S1.
        (J, "S1", 1, 0.6, 0.6, 100.0),
        (J, "S2", 1, 0.7, 0.7, 200.0),
        (J, "S3", 1, 0.8, 0.8, 300.0),
        (J, "S4", 1, 0.9, 0.9, 400.0),
        (F, "S1", 2, 0.9, 0.8, 100.0),
        (F, "S2", 1, 0.8, 0.9, 300.0),
        (F, "S3", 3, 0.9, 0.7, 100.0),
        (F, "S4", 1, 0.5, None, 0.0),  # no tenancies: registration undefined
        (F, "S5", 0, None, None, 0.0),  # no building in scope: not ranked
    ]
    frame = pl.DataFrame(
        rows,
        schema={
            "month": pl.String,
            "street": pl.String,
            "buildings": pl.Int64,
            "occupancy_rate": pl.Float64,
            "registration_rate": pl.Float64,
            "tax_yuan_ytd": pl.Float64,
        },
        orient="row",
    )
    return frame.with_columns(
        pl.lit("南湖区").alias("district"), pl.lit("南湖区").alias("reporting_area")
    )


def test_street_ranking_by_hand() -> None:
    got = ind.rank_streets(_streets())
    feb = {r["street"]: r for r in got.filter(pl.col("month") == F).iter_rows(named=True)}
    assert set(feb) == {"S1", "S2", "S3", "S4"}
    assert {r["ranked_streets"] for r in feb.values()} == {4}
    # Occupancy 0.9, 0.8, 0.9, 0.5 → S1 and S3 share 1st, S2 3rd, S4 4th.
    assert [feb[s]["occupancy_rank"] for s in ("S1", "S2", "S3", "S4")] == [1, 3, 1, 4]
    # Registration 0.8, 0.9, 0.7, undefined (last).
    assert [feb[s]["registration_rank"] for s in ("S1", "S2", "S3", "S4")] == [2, 1, 3, 4]
    # Tax YTD 100, 300, 100, 0 of 500: contributions 0.2, 0.6, 0.2, 0.
    assert feb["S2"]["tax_contribution"] == pytest.approx(0.6)
    assert [feb[s]["tax_contribution_rank"] for s in ("S1", "S2", "S3", "S4")] == [2, 1, 2, 4]
    # Scores 100·(4 − rank)/3; composite (equal weights):
    # S1 (100 + 66.67 + 66.67)/3 = 700/9; S2 (33.33 + 100 + 100)/3 = 700/9 (a tie);
    # S3 (100 + 33.33 + 66.67)/3 = 200/3; S4 0.
    assert feb["S1"]["composite_score"] == pytest.approx(700 / 9)
    assert feb["S2"]["composite_score"] == pytest.approx(700 / 9)
    assert feb["S3"]["composite_score"] == pytest.approx(200 / 3)
    assert [feb[s]["composite_rank"] for s in ("S1", "S2", "S3", "S4")] == [1, 1, 3, 4]
    # January composite ranks S4 1, S3 2, S2 3, S1 4 → changes +3, +2, −1, −3.
    assert [feb[s]["previous_rank"] for s in ("S1", "S2", "S3", "S4")] == [4, 3, 2, 1]
    assert [feb[s]["rank_change"] for s in ("S1", "S2", "S3", "S4")] == [3, 2, -1, -3]
    jan = got.filter(pl.col("month") == J)
    assert jan.get_column("rank_change").null_count() == 4
    # Sorted by month, then composite rank, then street.
    assert got.select("month", "street").rows() == [
        (J, "S4"), (J, "S3"), (J, "S2"), (J, "S1"), (F, "S1"), (F, "S2"), (F, "S3"), (F, "S4"),
    ]  # fmt: skip


def test_ranking_weights_come_from_settings() -> None:
    s = Settings(ranking_weights=RankingWeights(occupancy_rate=2, registration_rate=1))
    feb = ind.rank_streets(_streets(), s).filter(pl.col("month") == F)
    got = {r["street"]: r for r in feb.iter_rows(named=True)}
    # (2·occ + reg + tax)/4: S1 (200 + 66.67 + 66.67)/4 = 83.33; S2 (66.67 + 100 + 100)/4
    # = 66.67; S3 (200 + 33.33 + 66.67)/4 = 75; S4 0.
    assert got["S1"]["composite_score"] == pytest.approx(250 / 3)
    assert got["S3"]["composite_score"] == pytest.approx(75)
    assert [got[s]["composite_rank"] for s in ("S1", "S2", "S3", "S4")] == [1, 3, 2, 4]


def test_a_single_street_scores_100() -> None:
    one_street = _streets().filter(pl.col("street") == "S2")
    got = ind.rank_streets(one_street)
    assert got.get_column("composite_score").to_list() == [100.0, 100.0]
    assert got.get_column("rank_change").to_list() == [None, 0]


# --- end to end: a hand-built event log ------------------------------------------------------

CUT = "2016-04-30T00:00:00+08:00"


def build_log(path: Path) -> Log:
    """March 2016 on a small log; every figure of the tests below is worked out from it.

    A 1,000 m² GFA (at the threshold): T1 600 m² registered, T2 200 m² not, T2 leaves on
    31 March (the month's last day). B 999 m² GFA, C not standalone: out of scope.
    D under construction, completed on 31 March, T4 moves in that day (1,000 m², not
    registered). E retired on 15 March, its tenant T5 (500 m²) left that day. G's street is
    redrawn from 新兴街道 to 城南街道 on 10 March; T6 1,500 m² since February.
    Tax: T1 10,000 / 20,000 / 30,000 in Jan–Mar, March restated to 35,000 on 1 May (after
    the cut-off); T6 5,000 in March; T3 (in B) and T7 (in C) pay but are out of scope.
    City total 1,000,000 a month; a district total that must not count.
    """
    d = Kit(
        "2016-04-01T00:00:00+08:00",
        building_defaults={"completed_on": "2010-01-01"},
        tenancy_defaults={"industry_edition": "2011"},
    )
    d.building("A", gross_floor_area_m2=1000.0, rentable_area_m2=900.0)
    d.building("B", gross_floor_area_m2=999.0, rentable_area_m2=900.0)
    d.building("C", gross_floor_area_m2=5000.0, rentable_area_m2=4000.0, standalone=False)
    d.building("D", rentable_area_m2=4000.0, status="under_construction", completed_on=None)
    d.building("E", gross_floor_area_m2=3000.0, rentable_area_m2=2500.0)
    d.building("G", rentable_area_m2=2000.0)
    d.move_in("T1", "A", "2015-06-01", 600)
    d.move_in("T2", "A", "2015-06-01", 200, registered_here=False)
    d.move_in("T3", "B", "2015-06-01", 800)
    d.move_in("T7", "C", "2015-06-01", 800)
    d.move_in("T5", "E", "2015-06-01", 500)
    d.move_in("T6", "G", "2016-02-10", 1500)
    d.add("BuildingFeaturedDesignated", "2016-03-01", building_id="A", industry="information")
    d.add("BuildingUpdated", "2016-03-10", building_id="G", street="城南街道")
    d.add("TenantMovedOut", "2016-03-15", tenant_id="T5", building_id="E", reason="left_city")
    d.add("BuildingRetired", "2016-03-15", building_id="E", reason="demolished")
    d.add("BuildingCompleted", "2016-03-31", building_id="D")
    d.move_in("T4", "D", "2016-03-31", 1000, registered_here=False)
    d.add("TenantMovedOut", "2016-03-31", tenant_id="T2", building_id="A")
    for period, amount in (("2016-01", 10_000), ("2016-02", 20_000), ("2016-03", 30_000)):
        d.tax("T1", "A", period, amount)
        d.add("CityTaxReported", f"{period}-28", period=period, amount_yuan=1_000_000.0)
    d.add("CityTaxReported", "2016-03-28", period="2016-03", amount_yuan=500_000.0,
          district="南湖区")  # fmt: skip
    d.tax("T6", "G", "2016-03", 5_000)
    d.tax("T3", "B", "2016-03", 1_000_000)
    d.tax("T7", "C", "2016-03", 2_000_000)
    d.tax("T1", "A", "2016-03", 35_000, at="2016-05-01T09:00:00+08:00")  # restated later
    return d.write(path)


@pytest.fixture(scope="module")
def small_log(tmp_path_factory: pytest.TempPathFactory) -> Log:
    return build_log(tmp_path_factory.mktemp("log") / "events")


def test_log_figures_at_a_cut_off(small_log: Log) -> None:
    from datetime import datetime

    pinned = ind.figures_from_log(
        small_log, "2016-03", "city", recorded_by=datetime.fromisoformat(CUT)
    )
    r = one(pinned.frame, month="2016-03")
    # In scope on 31 March: A (1,000 m²), D (completed that day), G. Not B, C, E.
    assert r["buildings"] == 3
    assert r["rentable_area_m2"] == 900 + 4000 + 2000
    # A 600 (T2 left on the last day), D 1,000 (T4 came that day), G 1,500.
    assert r["occupied_area_m2"] == 600 + 1000 + 1500
    assert r["vacant_area_m2"] == 6900 - 3100
    assert (r["tenancies"], r["registered_tenancies"]) == (3, 2)  # T1, T4 (no), T6
    assert r["tax_yuan"] == 30_000 + 5_000  # the restatement was recorded after the cut-off
    assert r["tax_yuan_ytd"] == 10_000 + 20_000 + 30_000 + 5_000
    assert r["city_tax_yuan_ytd"] == 3_000_000
    assert r["tax_share_ytd"] == pytest.approx(65_000 / 3_000_000)
    assert (r["move_ins"], r["move_outs"]) == (1, 1)  # T4 in D; T2 out of A (T5: E retired)
    assert (r["designated_buildings"], r["featured_buildings"], r["key_buildings"]) == (1, 0, 0)
    assert r["new_supply_m2"] == 4000  # D
    assert r["withdrawn_m2"] == 2500  # E
    # A 800 → 600, G 1,500 → 1,500, D enters and lets 1,000, E leaves with 500 let.
    assert r["net_absorption_m2"] == -200 + 0 + 1000 - 500
    # = vacant at start (A 100, E 2,000, G 500) + supply − withdrawn − vacant at end
    assert r["net_absorption_m2"] == 2600 + 4000 - 2500 - 3800
    assert r["gross_take_up_m2"] == 1000
    assert r["top10_tax_share"] == pytest.approx(1.0)
    assert pinned.settings == Settings()
    assert pinned.position["recorded_at"] < "2016-05"
    # The same position by seq gives the same figures; at HEAD March is restated.
    by_seq = ind.figures_from_log(small_log, "2016-03", upto_seq=pinned.position["seq"])
    assert by_seq.frame.equals(pinned.frame)
    head = one(ind.figures_from_log(small_log, "2016-03").frame, month="2016-03")
    assert (head["tax_yuan"], head["tax_yuan_ytd"]) == (40_000, 70_000)


def test_log_street_boundary_change(small_log: Log) -> None:
    streets = ind.figures_from_log(small_log, ["2016-02", "2016-03"], "street").frame
    feb = one(streets, month="2016-02", street="新兴街道")
    assert feb["buildings"] == 3  # A, E, G (D not completed yet)
    assert streets.filter(pl.col("month") == "2016-02").height == 1
    mar_x = one(streets, month="2016-03", street="新兴街道")
    mar_c = one(streets, month="2016-03", street="城南街道")
    assert (mar_x["buildings"], mar_c["buildings"]) == (2, 1)  # A, D | G
    assert mar_c["reporting_area"] == ZONE
    assert (mar_c["tax_yuan_ytd"], mar_c["occupied_area_m2"]) == (5_000, 1500)
    assert mar_x["withdrawn_m2"] == 2500
    areas = ind.figures_from_log(small_log, "2016-03", "reporting_area").frame
    assert areas.select("reporting_area", "buildings").rows() == [("南湖区", 2), (ZONE, 1)]


def test_log_months_outside_are_refused(small_log: Log) -> None:
    first, last = ind.covered_months(small_log)
    # Business dates run from the registrations (2015-01-01) to the last move (2016-03-31).
    assert (first, last) == ("2015-01", "2016-03")
    for month in ("2014-12", "2016-04"):
        with pytest.raises(ind.MonthError, match="outside the log"):
            ind.figures_from_log(small_log, month)


def test_log_targets_ranking_and_lists(small_log: Log) -> None:
    t = ind.targets_from_log(small_log, 2016).frame
    occ = one(t, indicator="occupancy_rate")
    # 2016 runs to March in this log: March's figure, 9 months left.
    assert (occ["month"], occ["year_end"], occ["months_left"]) == ("2016-03", False, 9)
    assert occ["value"] == pytest.approx(3100 / 6900)
    assert occ["pace_needed_per_month"] == pytest.approx((0.75 - 3100 / 6900) / 9)
    share = one(t, indicator="tax_share_ytd")  # at HEAD, with the restatement: 70,000
    assert (share["month"], share["value"]) == ("2016-03", pytest.approx(70_000 / 3_000_000))
    assert one(t, indicator="key_buildings")["pace_needed_per_month"] == pytest.approx(70 / 9)
    r = ind.ranking_from_log(small_log, "2016-03").frame
    # 新兴街道 (A, D): occupancy 1,600/4,900, registration 1/2, tax 70,000 of 75,000 at HEAD;
    # 城南街道 (G): 1,500/2,000, 1/1, 5,000 of 75,000. Composite: 城南 (100+100+0)/3 first.
    assert r.select("street", "occupancy_rank", "registration_rank", "tax_contribution_rank",
                    "composite_rank").rows() == [("城南街道", 1, 1, 2, 1), ("新兴街道", 2, 2, 1, 2)]  # fmt: skip
    # February: 新兴街道 alone (G was still in it), rank 1 → 2; 城南街道 was not ranked.
    assert r.get_column("rank_change").to_list() == [None, -1]
    key = lists.list_from_log(small_log, "vacancy", "2016-03").frame
    # A 300 of 900 (33%), D 3,000 of 4,000 (75%); G 25%.
    assert key.select("building_id", "vacancy_reason").rows() == [("D", "rate"), ("A", "rate")]


# --- the CLI ---------------------------------------------------------------------------------


def louyu(*args: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from louyu_research.cli import app

    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_cli_indicators_json_is_pinned_and_echoes_settings(small_log: Log) -> None:
    import json

    code, out, err = louyu("indicators", "--log", str(small_log.path), "--month", "2016-03",
                           "--level", "area", "--recorded-by", CUT, "--format", "json")  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["settings"] == Settings().as_record()
    assert doc["log_position"]["recorded_at"] < "2016-05"
    rows = {r["reporting_area"]: r for r in doc["rows"]}
    assert set(rows) == {"南湖区", ZONE}
    assert rows["南湖区"]["tax_yuan_ytd"] == 60_000  # A only: before the restatement
    assert rows[ZONE]["buildings"] == 1
    for col in ("occupancy_rate", "registration_rate", "tax_share_ytd", "net_absorption_m2"):
        assert col in rows["南湖区"]


def test_cli_indicators_csv_building_level_and_settings_file(
    small_log: Log, tmp_path: Path
) -> None:
    import io
    import json

    settings = tmp_path / "s.toml"
    settings.write_text("scope_min_gross_floor_area_m2 = 999.0\n", "utf-8")
    code, out, err = louyu("indicators", "--log", str(small_log.path), "--month", "2016-03",
                           "--level", "building", "--settings", str(settings), "--format", "csv")  # fmt: skip
    assert code == 0, err
    header = [line for line in err.splitlines() if line.startswith("#")]  # provenance: stderr
    assert (
        json.loads(header[0].removeprefix("# settings: "))["scope_min_gross_floor_area_m2"] == 999
    )
    frame = pl.read_csv(io.StringIO(out))  # plain CSV: one header line
    # with a 999 m² threshold B is in scope too
    assert frame.filter(pl.col("in_scope")).get_column("building_id").to_list() == [
        "A", "B", "D", "G",
    ]  # fmt: skip
    assert frame.columns[:6] == ["month", "building_id", "name", "street", "district",
                                 "reporting_area"]  # fmt: skip


def test_cli_usage_errors_are_one_line_exit_2(small_log: Log, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("vacancy_min_rate = 3\n", "utf-8")
    log = str(small_log.path)
    cases = [
        (["indicators", "--log", log, "--month", "2016-07"], "outside the log"),
        (["indicators", "--log", log, "--month", "2016-03", "--level", "county"], "unknown level"),
        (["indicators", "--log", log, "--month", "2016-03", "--settings", str(bad)],
         "vacancy_min_rate"),
        (["indicators", "--log", log, "--month", "March"], "not a month"),
        (["indicators", "--log", log, "--month", "2016-03", "--upto-seq", "3",
          "--recorded-by", CUT], "one cut-off"),
        (["targets", "--log", log, "--year", "2019"], "no target for 2019"),
        (["ranking", "--log", log, "--month", "2013-01"], "outside the log"),
        (["list", "empty", "--log", log, "--month", "2016-03"], "unknown list"),
        (["indicators", "--log", str(tmp_path / "nowhere"), "--month", "2016-03"], ""),
    ]  # fmt: skip
    for args, message in cases:
        code, out, err = louyu(*args)
        assert code == 2, (args, out, err)
        assert len(err.strip().splitlines()) == 1, (args, err)
        assert message in err, (args, err)
        assert out == ""


def test_cli_targets_ranking_and_lists(small_log: Log) -> None:
    log = str(small_log.path)
    code, out, err = louyu("targets", "--log", log, "--year", "2016", "--labels", "zh",
                           "--columns", "year,indicator,target,pace_needed_per_month")  # fmt: skip
    assert code == 0, err
    assert err.startswith("# settings: ")
    assert "目标值" in out and "所需月均进度" in out
    code, out, err = louyu("ranking", "--log", log, "--month", "2016-03", "--format", "csv")
    assert code == 0, err
    assert "# method: 每月对至少有一幢纳统楼宇的街道" in err
    for kind in ("key", "vacancy", "low-output", "featured", "at-risk"):
        code, out, err = louyu("list", kind, "--log", log, "--month", "2016-03", "--format", "csv")
        assert code == 0, (kind, err)
        assert err.startswith("# settings: ")
    code, out, _ = louyu("list", "featured", "--log", log, "--month", "2016-03", "--format", "csv")
    # A is designated (information) but has one tenancy: designated only.
    assert "A,A大厦,新兴街道,南湖区,南湖区,office,1," in out and "designated_only" in out
    code, out, _ = louyu("glossary", "--format", "csv")
    assert code == 0 and "occupancy_rate,入驻率,Occupancy rate" in out
