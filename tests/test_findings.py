"""The rules behind the summary and the problems (`report.findings`): each rule speaks on a
hand-made case and stays silent on one just short of its threshold; and on the shipped sample
the 2017Q4 report's findings carry the figures `louyu indicators` and `louyu ranking` give for
the same log position, read here from the command's CSV output."""

from __future__ import annotations

import csv
import dataclasses
import io
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from test_sections import make_inputs

from louyu_research.report import findings as fd
from louyu_research.report.inputs import ReportInputs
from louyu_research.report.sections import problems, summary

ROOT = Path(__file__).resolve().parents[1]
TH = fd.Thresholds()


def with_city(inputs: ReportInputs, **columns: dict[str, float]) -> ReportInputs:
    """The inputs with city columns set month by month (others left as they are, or null)."""
    city = inputs.city
    for name, by_month in columns.items():
        base = pl.col(name) if name in city.columns else pl.lit(None, pl.Float64)
        city = city.with_columns(
            pl.col("month")
            .replace_strict(by_month, default=base, return_dtype=pl.Float64)
            .alias(name)
        )
    return dataclasses.replace(inputs, city=city)


def ranking_with_september(rank: int) -> pl.DataFrame:
    """The hand-made ranking with S1 ranked `rank` at 2017-09's end (it is 2nd at 2017-12)."""
    base = make_inputs().ranking
    sep = base.filter(pl.col("street") == "S1", pl.col("month") == "2017-12").with_columns(
        pl.lit("2017-09").alias("month"),
        pl.lit(rank).cast(base.schema["composite_rank"]).alias("composite_rank"),
    )
    return pl.concat([base, sep.select(base.columns)])


def areas_by_month(r1_september: float) -> pl.DataFrame:
    rows = [
        ("2016-12", "R1", 0.70),
        ("2017-09", "R1", r1_september),
        ("2017-12", "R1", 0.80),
        ("2016-12", "R2", 0.81),
        ("2017-09", "R2", 0.80),
        ("2017-12", "R2", 0.80),
    ]
    return pl.DataFrame(rows, schema=["month", "reporting_area", "occupancy_rate"], orient="row")


# --- each rule: speaks past its threshold, silent short of it ----------------------------------


def test_targets_behind_when_the_pace_needed_exceeds_the_quarters() -> None:
    q4 = fd.targets(make_inputs(), TH)
    assert q4 is not None
    # December: nothing is left of the year, so the three missed targets are behind
    assert [i["indicator"] for i in q4.fields["behind"]] == [
        "occupancy_rate", "registration_rate", "key_buildings",
    ]  # fmt: skip
    assert [i["indicator"] for i in q4.fields["met"]] == ["tax_share_ytd", "featured_buildings"]
    # at 2017Q3's end occupancy needs (85 − 80) / 3 = 1.67 pp a month and made
    # (80 − 70) / 3 = 3.33 a month over the quarter: on pace, as are the other four
    q3 = fd.targets(make_inputs("2017Q3"), TH)
    assert q3 is not None and q3.fields["behind"] == [] and q3.fields["met"] == []
    occ = q3.fields["on_pace"][0]
    assert occ["pace_needed"] == pytest.approx(0.05 / 3)
    assert occ["pace_now"] == pytest.approx(0.10 / 3)
    # the same quarter, occupancy up by only 4 pp: 1.33 pp a month, below 1.67: behind
    slow = with_city(make_inputs("2017Q3"), occupancy_rate={"2017-06": 0.76})
    behind = fd.targets(slow, TH)
    assert behind is not None
    assert [i["indicator"] for i in behind.fields["behind"]] == ["occupancy_rate"]
    assert behind.fields["behind"][0]["pace_now"] == pytest.approx(0.04 / 3)
    # a year-to-date figure's first-quarter pace counts from zero, not from December
    q1 = fd.targets_now(with_city(make_inputs("2017Q1"), key_buildings={"2017-03": 30.0}))
    key = q1.filter(pl.col("indicator") == "key_buildings").row(0, named=True)
    assert key["pace_now"] == pytest.approx(10.0) and key["pace_needed"] == pytest.approx(70 / 9)


def test_street_movers_from_five_places() -> None:
    moved = fd.street_movers(make_inputs(ranking=ranking_with_september(7)), TH)
    assert moved is not None and moved.fields["moved"] == 1
    assert moved.fields["up"]["street"] == "S1" and moved.fields["up"]["change"] == 5
    assert moved.fields["down"] is None
    assert fd.street_movers(make_inputs(ranking=ranking_with_september(6)), TH) is None


def test_area_movers_from_two_points() -> None:
    moved = fd.area_movers(make_inputs(areas=areas_by_month(0.78)), TH)
    assert moved is not None
    assert moved.fields["up"]["reporting_area"] == "R1"
    assert moved.fields["up"]["chg_q"] == pytest.approx(0.02)
    assert moved.fields["up"]["chg_y"] == pytest.approx(0.10)
    assert fd.area_movers(make_inputs(areas=areas_by_month(0.785)), TH) is None


def test_new_supply_from_half_a_percent_of_the_stock() -> None:
    found = fd.new_supply(make_inputs(), TH)
    assert found is not None
    assert found.fields["new_supply_m2"] == 4100.0  # 0 + 4,000 + 100 in Q4
    assert found.fields["share"] == pytest.approx(0.041)
    assert found.fields["absorbed"] == pytest.approx(1500 / 4100)
    assert found.fields["vacancy_chg_q"] == pytest.approx(0.18 - 19 / 95)
    small = with_city(
        make_inputs(), new_supply_m2={"2017-10": 0.0, "2017-11": 400.0, "2017-12": 99.0}
    )
    assert fd.new_supply(small, TH) is None  # 499 of 100,000 m²


def test_tax_concentration_from_a_quarter_of_the_tax() -> None:
    high = with_city(make_inputs(), top10_tax_share={"2017-12": 0.30, "2016-12": 0.36})
    found = fd.tax_concentration(high, TH)
    assert found is not None and found.fields["chg_y"] == pytest.approx(-0.06)
    low = with_city(make_inputs(), top10_tax_share={"2017-12": 0.24})
    assert fd.tax_concentration(low, TH) is None


def test_revisions_from_a_tenth_of_a_point_or_one_building() -> None:
    found = fd.revisions(make_inputs(), TH)
    assert found is not None and found.fields["revised"] == 2
    assert found.fields["indicator"] == "tax_share_ytd"  # 0.2 pp: twice its threshold
    r = make_inputs().revisions.with_columns(
        pl.col("published").alias("revised"), pl.lit(0.0).alias("difference")
    )
    small = r.with_columns(pl.Series("difference", [0.0, 0.0009, 0.0, 0.0, 0.0]))
    assert fd.revisions(make_inputs(revisions=small), TH) is None


def test_streets_behind_from_ten_points_below_the_target() -> None:
    def streets(s3: float) -> pl.DataFrame:
        base = make_inputs().streets
        return base.with_columns(
            pl.when((pl.col("street") == "S3") & (pl.col("month") == "2017-12"))
            .then(pl.lit(s3))
            .otherwise(pl.col("occupancy_rate"))
            .alias("occupancy_rate")
        )

    found = fd.streets_behind_rule(make_inputs(streets=streets(0.74)), TH)
    assert found is not None and found.fields["streets"] == 1 and found.fields["of"] == 4
    assert found.fields["worst"] == [{"street": "S3", "occupancy_rate": 0.74}]
    assert fd.streets_behind_rule(make_inputs(streets=streets(0.76)), TH) is None


def test_vacancy_from_a_tenth_of_the_vacant_area() -> None:
    inputs = make_inputs()
    found = fd.vacancy(inputs, TH)
    assert found is not None and found.fields["share"] == pytest.approx(10_000 / 18_000)
    # 2 × 900 of 18,000 m² is 10 %: the rule speaks at its threshold; 2 × 850 is 9.4 %
    at = inputs.lists["vacancy"].with_columns(pl.lit(900.0).alias("vacant_area_m2"))
    assert fd.vacancy(make_inputs(lists={**inputs.lists, "vacancy": at}), TH) is not None
    small = inputs.lists["vacancy"].with_columns(pl.lit(850.0).alias("vacant_area_m2"))
    assert fd.vacancy(make_inputs(lists={**inputs.lists, "vacancy": small}), TH) is None


def test_at_risk_from_ten_tenants() -> None:
    inputs = make_inputs()
    assert fd.at_risk(inputs, TH) is None  # four tenants
    risk = inputs.lists["at_risk"]
    ten = pl.concat([risk, risk, risk.head(2)])  # S1 2 × 2 + 2, S2 2, S3 2
    found = fd.at_risk(make_inputs(lists={**inputs.lists, "at_risk": ten}), TH)
    assert found is not None
    assert (found.fields["tenants"], found.fields["top_street"], found.fields["top_tenants"]) == (
        10,
        "S1",
        6,
    )


def test_low_output_from_one_building() -> None:
    inputs = make_inputs()
    found = fd.low_output(inputs, TH)
    assert found is not None and found.fields["rentable_area"] == 18_000.0
    empty = {**inputs.lists, "low_output": inputs.lists["low_output"].head(0)}
    assert fd.low_output(make_inputs(lists=empty), TH) is None


def test_late_data_from_a_thousandth_of_the_tax() -> None:
    # 30,000 late + |−5,000| restated = 35,000 of 2017-09's tax YTD
    found = fd.late_data(with_city(make_inputs(), tax_yuan_ytd={"2017-09": 10_000_000.0}), TH)
    assert found is not None and found.fields["share"] == pytest.approx(0.0035)
    assert found.fields["events"] == 3
    big = with_city(make_inputs(), tax_yuan_ytd={"2017-09": 100_000_000.0})
    assert fd.late_data(big, TH) is None


def test_the_summary_keeps_five_targets_first_then_the_heaviest() -> None:
    inputs = with_city(
        make_inputs(ranking=ranking_with_september(13), areas=areas_by_month(0.78), revisions=None),
        top10_tax_share={"2017-12": 0.30},
    )
    inputs = dataclasses.replace(inputs, revisions=make_inputs().revisions)
    found = fd.summary(inputs, TH)
    # weights: new supply 4.1 % / 0.5 % = 8.2; street 11 / 5 = 2.2; revisions 2; area
    # 2 pp / 2 pp = 1; tax 30 / 25 = 1.2: five kept, the area movers left out
    assert [f.rule for f in found] == [
        "targets", "new_supply", "street_movers", "revisions", "tax_concentration",
    ]  # fmt: skip
    assert len(fd.summary(inputs, dataclasses.replace(TH, max_findings=3))) == 3


# --- the shipped sample: the 2017Q4 report's findings against `louyu indicators` ---------------

SEQ = 172895  # where reports/2017Q4 is pinned
PREVIOUS = 158086  # where reports/2017Q3 is pinned


def louyu_csv(*args: str) -> list[dict[str, str]]:
    out = subprocess.run(
        [sys.executable, "-m", "louyu_research.cli", *args, "--upto-seq", str(SEQ),
         "--format", "csv"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    body = "\n".join(line for line in out.splitlines() if not line.startswith("#"))
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture(scope="module")
def sample() -> ReportInputs:
    from louyu_research.report.inputs import gather

    return gather(
        "2017Q4",
        ROOT / "events",
        upto_seq=SEQ,
        previous={"seq": PREVIOUS, "how": "reports/2017Q3/manifest.json"},
    )


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sample_findings_are_the_figures_of_louyu_indicators(sample: ReportInputs) -> None:
    city = {m: louyu_csv("indicators", "--month", m, "--level", "city")[0]
            for m in ("2017-09", "2017-10", "2017-11", "2017-12", "2016-12")}  # fmt: skip
    dec = city["2017-12"]
    found = {f.rule: f for f in fd.summary(sample)}

    # targets: the plan's figures at 2017-12 against the profile's targets for 2017
    targets = {
        r["indicator"]: float(r["target"])
        for r in csv.DictReader(
            (ROOT / "louyu_research/city/jiaxing/targets.csv").open(encoding="utf-8")
        )
        if r["year"] == "2017"
    }
    met = [k for k, t in targets.items() if float(dec[k]) >= t]
    assert sorted(i["indicator"] for i in found["targets"].fields["met"]) == sorted(met)
    assert sorted(met) == ["featured_buildings", "tax_share_ytd"]
    for item in found["targets"].fields["behind"]:
        assert item["value"] == pytest.approx(float(dec[item["indicator"]]))

    # new supply: the quarter's three months summed, against the stock at its end
    supply = sum(float(city[m]["new_supply_m2"]) for m in ("2017-10", "2017-11", "2017-12"))
    absorbed = sum(float(city[m]["net_absorption_m2"]) for m in ("2017-10", "2017-11", "2017-12"))
    ns = found["new_supply"].fields
    assert ns["new_supply_m2"] == pytest.approx(supply)
    assert ns["share"] == pytest.approx(supply / float(dec["rentable_area_m2"]))
    assert ns["absorbed"] == pytest.approx(absorbed / supply)
    sep = city["2017-09"]
    assert ns["vacancy_chg_q"] == pytest.approx(
        float(dec["vacant_area_m2"]) / float(dec["rentable_area_m2"])
        - float(sep["vacant_area_m2"]) / float(sep["rentable_area_m2"])
    )

    # tax concentration: the city's top-ten share and its change on 2016-12
    tc = found["tax_concentration"].fields
    assert tc["share"] == pytest.approx(float(dec["top10_tax_share"]))
    assert tc["chg_y"] == pytest.approx(
        float(dec["top10_tax_share"]) - float(city["2016-12"]["top10_tax_share"])
    )

    # street movers: `louyu ranking` of 2017-12 against 2017-09
    now = {
        r["street"]: int(r["composite_rank"]) for r in louyu_csv("ranking", "--month", "2017-12")
    }
    before = {
        r["street"]: int(r["composite_rank"]) for r in louyu_csv("ranking", "--month", "2017-09")
    }
    change = {s: before[s] - now[s] for s in now if s in before}
    moves = [c for c in change.values() if abs(c) >= TH.mover_ranks]
    sm = found["street_movers"].fields
    assert sm["moved"] == len(moves)
    best = max(change, key=lambda s: (change[s], [-ord(ch) for ch in s]))
    worst = min(change, key=lambda s: change[s])
    assert (sm["up"]["street"], sm["up"]["change"]) == (best, change[best])
    assert (sm["down"]["street"], sm["down"]["change"]) == (worst, change[worst])

    # area movers: `louyu indicators --level area` of 2017-12 against 2017-09
    areas = {
        m: {r["reporting_area"]: float(r["occupancy_rate"]) for r in
            louyu_csv("indicators", "--month", m, "--level", "area")}
        for m in ("2017-09", "2017-12")
    }  # fmt: skip
    chg = {a: areas["2017-12"][a] - areas["2017-09"][a] for a in areas["2017-12"]}
    top = max(chg, key=lambda a: chg[a])
    am = found["area_movers"].fields
    assert am["up"]["reporting_area"] == top and am["up"]["chg_q"] == pytest.approx(chg[top])

    # the sentences carry those figures as the report prints them
    text = summary.section(sample, "zh", "public").blocks[1]
    assert f"新增供应 {supply:,.0f} ㎡" in text
    assert f"{best}综合排名上升 {change[best]} 位至第 {now[best]} 位" in text
    assert f"前十大纳税企业缴纳了楼宇税收（年累计）的 {float(dec['top10_tax_share']):.1%}" in text

    # the problems: the streets behind are those of `louyu indicators --level street`
    streets = louyu_csv("indicators", "--month", "2017-12", "--level", "street")
    behind = sorted(
        (float(r["occupancy_rate"]), r["street"])
        for r in streets
        if int(r["buildings"]) > 0
        and float(r["occupancy_rate"]) <= targets["occupancy_rate"] - TH.street_gap_pp
    )
    sb = {p.rule: p for p in fd.problems(sample)}["streets_behind"].fields
    assert sb["streets"] == len(behind)
    assert [w["street"] for w in sb["worst"]] == [s for _, s in behind[:3]]
    said = problems.section(sample, "en", "public").blocks[0]
    assert f"{len(behind)} of {sum(int(r['buildings']) > 0 for r in streets)} streets" in said
