"""Reference tables: the shipped ones load and say what the plan and the divisions file say;
a bad user file fails naming the row and the reason; the glossary covers every output column."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from louyu_research.city.reference import (
    DEFAULT_DIVISIONS,
    DEFAULT_TARGETS,
    ReferenceTableError,
    load_divisions,
    load_targets,
    reporting_areas,
    street_areas,
)
from louyu_research.core import glossary
from louyu_research.indicators import frames as outputs


def test_shipped_targets_are_the_plans_five_by_year() -> None:
    t = load_targets()
    # 嘉兴市促进楼宇经济提质发展三年行动计划(2015~2017), 一、工作目标 (typed from the plan).
    plan = {
        2015: {"occupancy_rate": 0.65, "registration_rate": 0.84, "tax_share_ytd": 0.06,
               "featured_buildings": 40, "key_buildings": 40},
        2016: {"occupancy_rate": 0.75, "registration_rate": 0.87, "tax_share_ytd": 0.08,
               "featured_buildings": 70, "key_buildings": 70},
        2017: {"occupancy_rate": 0.85, "registration_rate": 0.90, "tax_share_ytd": 0.10,
               "featured_buildings": 100, "key_buildings": 100},
    }  # fmt: skip
    got = {(r["year"], r["indicator"]): r["target"] for r in t.iter_rows(named=True)}
    want = {(y, k): v for y, row in plan.items() for k, v in row.items()}
    assert got == pytest.approx(want)
    assert set(t.get_column("comparison")) == {">="}


def test_shipped_divisions_group_the_streets_as_the_city_reports_them() -> None:
    d = load_divisions()
    streets = street_areas(d)
    by_street = {r["street"]: r for r in streets.iter_rows(named=True)}
    # The development zone manages two streets of 南湖区 and two of 秀洲区 (INDICATORS.md).
    zone = "嘉兴经济技术开发区"
    assert {s for s, r in by_street.items() if r["reporting_area"] == zone} == {
        "城南街道",
        "长水街道",
        "嘉北街道",
        "塘汇街道",
    }
    assert by_street["城南街道"]["admin_district"] == "南湖区"
    assert by_street["嘉北街道"]["admin_district"] == "秀洲区"
    assert by_street["乍浦镇"]["reporting_area"] == "嘉兴港区"
    assert by_street["新兴街道"]["reporting_area"] == "南湖区"
    assert reporting_areas(d) == [
        "南湖区", "秀洲区", "嘉善县", "海盐县", "海宁市", "平湖市", "桐乡市", "嘉兴经济技术开发区", "嘉兴港区",
    ]  # fmt: skip
    # every street has exactly one reporting area: no building can count twice
    assert streets.get_column("street").is_unique().all()


def _edit(tmp_path: Path, src: Path, old: str, new: str) -> Path:
    text = src.read_text("utf-8")
    assert old in text, old
    out = tmp_path / src.name
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("330402011,新兴街道,street", "330402011,新兴街道,village", "row 14 (line 15): level: 'village'"),
        ("330402011,新兴街道,street,南湖区,南湖区", "330402011,新兴街道,street,南湖区,", "row 14 (line 15): reporting_area: empty"),
        ("330402011,新兴街道,street,南湖区,南湖区", "330402011,新兴街道,street,南湖区,东湖区", "row 14 (line 15): reporting_area: '东湖区' is not a district or zone"),
        ("330402011,新兴街道,street,南湖区", "330402011,新兴街道,street,北湖区", "row 14 (line 15): admin_district: '北湖区' is not a district row"),
        ("330402011,新兴街道", "330402011,解放街道", "row 14 (line 15): name: '解放街道' already on row 11"),
        ("330402011,新兴街道", "33040201X,新兴街道", "row 14 (line 15): code: '33040201X' is not 9 digits"),
        ("330402011,新兴街道,street,南湖区,南湖区,", "330402011,新兴街道,street,南湖区", "row 14 (line 15): wrong number of fields"),
        ("code,name,level", "code,nom,level", "header: missing column(s) name"),
    ],
)  # fmt: skip
def test_bad_divisions_file_names_row_and_reason(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    bad = _edit(tmp_path, DEFAULT_DIVISIONS, old, new)
    with pytest.raises(ReferenceTableError) as err:
        load_divisions(bad)
    assert message in str(err.value)
    assert str(bad) in str(err.value)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("2016,occupancy_rate,0.75", "2016,occupancy_rate,75", "row 6 (line 7): target: 75.0 is a rate and must be a fraction in [0, 1]"),
        ("2016,occupancy_rate,0.75", "2016,occupancy,0.75", "row 6 (line 7): indicator: 'occupancy' is not one of"),
        ("2016,occupancy_rate,0.75", "2016,occupancy_rate,abc", "row 6 (line 7): target: 'abc' is not a number"),
        ("2016,occupancy_rate,0.75", "2016,occupancy_rate,nan", "row 6 (line 7): target: 'nan' is not finite"),
        ("2016,occupancy_rate,0.75", "2O16,occupancy_rate,0.75", "row 6 (line 7): year: '2O16' is not an integer"),
        ("2016,occupancy_rate,0.75,>=", "2016,occupancy_rate,0.75,>", "row 6 (line 7): comparison: '>' is not one of"),
        ("2016,occupancy_rate,0.75", "2015,occupancy_rate,0.75", "row 6 (line 7): 2015 occupancy_rate: already on row 1"),
        ("2016,key_buildings,70", "2016,key_buildings,-70", "row 10 (line 11): target: -70.0 is negative"),
    ],
)  # fmt: skip
def test_bad_targets_file_names_row_and_reason(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    bad = _edit(tmp_path, DEFAULT_TARGETS, old, new)
    with pytest.raises(ReferenceTableError) as err:
        load_targets(bad)
    assert message in str(err.value)


def test_a_user_targets_file_replaces_the_plan(tmp_path: Path) -> None:
    own = tmp_path / "targets.csv"
    own.write_text(
        "year,indicator,target\n2020,tax_share_ytd,0.2\n2020,key_buildings,150\n", "utf-8"
    )
    t = load_targets(own)
    assert t.select("year", "indicator", "target", "comparison").rows() == [
        (2020, "key_buildings", 150.0, ">="),
        (2020, "tax_share_ytd", 0.2, ">="),
    ]


def test_missing_or_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ReferenceTableError, match="cannot read"):
        load_targets(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    shutil.copy(DEFAULT_TARGETS, empty)
    empty.write_text(DEFAULT_TARGETS.read_text("utf-8").splitlines()[0] + "\n", "utf-8")
    with pytest.raises(ReferenceTableError, match="no rows"):
        load_targets(empty)


def test_glossary_defines_every_output_column_in_both_languages() -> None:
    g = glossary.load_glossary()
    for model in outputs.MODELS:
        assert glossary.missing(outputs.columns(model)) == [], model
    for col in ("name_zh", "name_en", "definition_zh", "definition_en"):
        assert g.get_column(col).null_count() == 0
    assert glossary.label("occupancy_rate") == "入驻率"
    assert glossary.label("occupancy_rate", "en") == "Occupancy rate"
    assert glossary.label("key_buildings") == "千万元楼数"
    assert "CityTaxReported" in glossary.definition("tax_share_ytd", "en")
    assert glossary.unit("occupied_area_m2") == "m²"
    with pytest.raises(KeyError, match="not_a_column"):
        glossary.label("not_a_column")
    relabelled = glossary.relabel(pl.DataFrame({"month": ["2016-01"], "buildings": [3]}), "zh")
    assert relabelled.columns == ["月份", "纳统楼宇数"]
    table = glossary.describe(["occupancy_rate", "tax_share_ytd"], "en")
    assert table.get_column("label").to_list() == ["Occupancy rate", "Tax share (YTD)"]


def test_bad_glossary_file(tmp_path: Path) -> None:
    src = glossary.DEFAULT_GLOSSARY
    bad = _edit(tmp_path, src, "grade,楼宇等级,Grade", "grade,,Grade")
    with pytest.raises(ReferenceTableError, match=r"row 9 \(line 10\): name_zh: empty"):
        glossary.load_glossary(bad)


def test_frame_schemas_are_registered_for_every_output() -> None:
    from louyu_research.core.frame import json_schema
    from louyu_research.schemas import FRAME_MODELS

    for model in outputs.MODELS:
        (cls,) = [m for m in FRAME_MODELS if m.__name__ == model]
        doc = json_schema(cls)
        assert doc["title"] == model
        assert doc["items"]["properties"]
        props = doc["items"]["properties"].values()
        assert all(c["description"] and c["x-name-zh"] for c in props)
