"""Pandera models of every output frame of `indicators` and `lists`.

One model per frame, named after what the frame is; each column's meaning is its glossary
definition (the same words the CLI and the report show), so the models, the glossary and the
exported `schemas/frames/*.schema.json` cannot drift apart. The base, validation and the
exporter are the package's one frame contract (`core.frame`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from louyu_research.core import frame, glossary
from louyu_research.core.frame import FrameModel
from louyu_research.core.periods import MONTH_PATTERN

MONTH = MONTH_PATTERN


def _f(column: str, **kwargs: Any) -> Any:
    """A field described by its English glossary definition."""
    return frame.Field(glossary.definition(column, "en"), **kwargs)


class _Model(FrameModel):
    """Output frames of indicators and lists."""


class _Figures(_Model):
    """The monthly figures of INDICATORS.md (rates are ratios of sums; see the glossary)."""

    month: str = _f("month", str_matches=MONTH)
    buildings: int = _f("buildings", ge=0)
    rentable_area_m2: float = _f("rentable_area_m2", ge=0)
    occupied_area_m2: float = _f("occupied_area_m2", ge=0)
    vacant_area_m2: float = _f("vacant_area_m2")
    occupancy_rate: float = _f("occupancy_rate", ge=0, nullable=True)
    tenancies: int = _f("tenancies", ge=0)
    registered_tenancies: int = _f("registered_tenancies", ge=0)
    registration_rate: float = _f("registration_rate", ge=0, le=1, nullable=True)
    tax_yuan: float = _f("tax_yuan")
    tax_yuan_ytd: float = _f("tax_yuan_ytd")
    city_tax_yuan_ytd: float = _f("city_tax_yuan_ytd", nullable=True)
    tax_share_ytd: float = _f("tax_share_ytd", nullable=True)
    tax_per_m2_ytd: float = _f("tax_per_m2_ytd", nullable=True)
    featured_buildings: int = _f("featured_buildings", ge=0)
    designated_buildings: int = _f("designated_buildings", ge=0)
    key_buildings: int = _f("key_buildings", ge=0)
    move_ins: int = _f("move_ins", ge=0)
    move_outs: int = _f("move_outs", ge=0)
    top10_tax_share: float = _f("top10_tax_share", ge=0, nullable=True)
    new_supply_m2: float = _f("new_supply_m2", ge=0)
    withdrawn_m2: float = _f("withdrawn_m2", ge=0)
    net_absorption_m2: float = _f("net_absorption_m2")
    gross_take_up_m2: float = _f("gross_take_up_m2", ge=0)


class BuildingFigures(_Figures):
    """Monthly figures of each building in scope at the month's end, and of each building
    retired in the month while in scope at the previous month's end (`in_scope` false: it
    carries only its withdrawal and net absorption). Ids: building_id, name, street,
    district, reporting_area, category."""

    building_id: str = _f("building_id")
    name: str = _f("name")
    street: str = _f("street")
    district: str = _f("district")
    reporting_area: str = _f("reporting_area")
    category: str = _f("category")
    in_scope: bool = _f("in_scope")


class StreetFigures(_Figures):
    """Monthly figures of each street (or town) with a building counted in the month."""

    street: str = _f("street")
    district: str = _f("district")
    reporting_area: str = _f("reporting_area")


class ReportingAreaFigures(_Figures):
    """Monthly figures of each reporting area (统计片区) with a building counted."""

    reporting_area: str = _f("reporting_area")


class CityFigures(_Figures):
    """Monthly figures of the whole city: one row a month."""


class TargetTracking(_Model):
    """Each year's plan target against the year-end (or latest) city figure."""

    year: pl.Int32 = _f("year")
    indicator: str = _f("indicator")
    month: str = _f("month", str_matches=MONTH, nullable=True)
    year_end: bool = _f("year_end", nullable=True)
    value: float = _f("value", nullable=True)
    target: float = _f("target")
    comparison: str = _f("comparison", isin=[">=", "<="])
    gap: float = _f("gap", nullable=True)
    met: bool = _f("met", nullable=True)
    months_left: int = _f("months_left", ge=0, le=11, nullable=True)
    pace_needed_per_month: float = _f("pace_needed_per_month", nullable=True)
    source: str = _f("source", nullable=True)


class StreetRanking(_Model):
    """The monthly street ranking (街道动态排名): per-indicator ranks, scores, composite."""

    month: str = _f("month", str_matches=MONTH)
    street: str = _f("street")
    district: str = _f("district")
    reporting_area: str = _f("reporting_area")
    buildings: int = _f("buildings", ge=1)
    ranked_streets: int = _f("ranked_streets", ge=1)
    occupancy_rate: float = _f("occupancy_rate", nullable=True)
    occupancy_rank: int = _f("occupancy_rank", ge=1)
    occupancy_score: float = _f("occupancy_score", ge=0, le=100)
    registration_rate: float = _f("registration_rate", nullable=True)
    registration_rank: int = _f("registration_rank", ge=1)
    registration_score: float = _f("registration_score", ge=0, le=100)
    tax_contribution: float = _f("tax_contribution", nullable=True)
    tax_contribution_rank: int = _f("tax_contribution_rank", ge=1)
    tax_contribution_score: float = _f("tax_contribution_score", ge=0, le=100)
    composite_score: float = _f("composite_score", ge=0, le=100)
    composite_rank: int = _f("composite_rank", ge=1)
    previous_rank: int = _f("previous_rank", ge=1, nullable=True)
    rank_change: int = _f("rank_change", nullable=True)


class _BuildingListIds(_Model):
    month: str = _f("month", str_matches=MONTH)
    building_id: str = _f("building_id")
    name: str = _f("name")
    street: str = _f("street")
    district: str = _f("district")
    reporting_area: str = _f("reporting_area")
    category: str = _f("category")


class KeyBuildingsList(_BuildingListIds):
    """千万元楼: in-scope buildings whose tax YTD reaches the key-building cut-off."""

    tax_rank: int = _f("tax_rank", ge=1)
    grade: str = _f("grade", nullable=True)
    rentable_area_m2: float = _f("rentable_area_m2", ge=0)
    tenancies: int = _f("tenancies", ge=0)
    tax_yuan_ytd: float = _f("tax_yuan_ytd")
    tax_per_m2_ytd: float = _f("tax_per_m2_ytd", nullable=True)
    tax_share_ytd: float = _f("tax_share_ytd", nullable=True)


class VacancyList(_BuildingListIds):
    """盘活一批 resource list: in-scope buildings with much vacant space."""

    grade: str = _f("grade", nullable=True)
    rentable_area_m2: float = _f("rentable_area_m2", ge=0)
    occupied_area_m2: float = _f("occupied_area_m2", ge=0)
    vacant_area_m2: float = _f("vacant_area_m2")
    vacancy_rate: float = _f("vacancy_rate", nullable=True)
    leading_industry: str = _f("leading_industry", nullable=True)
    vacancy_reason: str = _f("vacancy_reason", isin=["rate", "area", "both"])


class LowOutputList(_BuildingListIds):
    """低效楼宇 (退低进高): lowest tax per m² of their category, completed long enough ago."""

    completed_on: dt.date = _f("completed_on", nullable=True)
    age_years: int = _f("age_years", ge=0, nullable=True)
    rentable_area_m2: float = _f("rentable_area_m2", ge=0)
    tax_yuan_ytd: float = _f("tax_yuan_ytd")
    tax_per_m2_ytd: float = _f("tax_per_m2_ytd", nullable=True)
    category_buildings: int = _f("category_buildings", ge=1)
    category_rank: int = _f("category_rank", ge=1)
    category_percentile: float = _f("category_percentile", ge=0, le=1)


class FeaturedList(_BuildingListIds):
    """专业楼宇: buildings featured by the rule or officially designated, and whether they agree."""

    tenancies: int = _f("tenancies", ge=0)
    leading_industry: str = _f("leading_industry", nullable=True)
    leading_area_share: float = _f("leading_area_share", nullable=True)
    leading_tenancy_share: float = _f("leading_tenancy_share", nullable=True)
    leading_tax_share_ytd: float = _f("leading_tax_share_ytd", nullable=True)
    featured_rule: bool = _f("featured_rule")
    featured_designated: bool = _f("featured_designated")
    designated_industry: str = _f("designated_industry", nullable=True)
    featured_status: str = _f("featured_status", isin=["both", "rule_only", "designated_only"])


class TenantsAtRiskList(_Model):
    """迁出预警: tenancies in in-scope buildings that shrank or whose tax fell by half or more."""

    month: str = _f("month", str_matches=MONTH)
    tenant_id: str = _f("tenant_id")
    tenant_name: str = _f("tenant_name", nullable=True)
    building_id: str = _f("building_id")
    building_name: str = _f("building_name")
    street: str = _f("street")
    reporting_area: str = _f("reporting_area")
    industry: str = _f("industry", nullable=True)
    key_industry: str = _f("key_industry", nullable=True)
    area_m2: float = _f("area_m2")
    area_m2_before: float = _f("area_m2_before", nullable=True)
    area_change_m2: float = _f("area_change_m2", nullable=True)
    tax_last_window_yuan: float = _f("tax_last_window_yuan")
    tax_previous_window_yuan: float = _f("tax_previous_window_yuan")
    tax_change_rate: float = _f("tax_change_rate", nullable=True)
    shrank: bool = _f("shrank")
    tax_dropped: bool = _f("tax_dropped")


MODELS: dict[str, type[_Model]] = {
    m.__name__: m
    for m in (
        BuildingFigures,
        StreetFigures,
        ReportingAreaFigures,
        CityFigures,
        TargetTracking,
        StreetRanking,
        KeyBuildingsList,
        VacancyList,
        LowOutputList,
        FeaturedList,
        TenantsAtRiskList,
    )
}


for _model in MODELS.values():
    frame.document(_model)

FIGURES_MODEL = {
    "building": "BuildingFigures",
    "street": "StreetFigures",
    "reporting_area": "ReportingAreaFigures",
    "city": "CityFigures",
}


def validate_frame(data: pl.DataFrame, model: str) -> pl.DataFrame:
    """Validate `data` against the named model (`core.frame.validate`)."""
    return frame.validate(MODELS[model], data)


def validate_figures(data: pl.DataFrame, level: str) -> pl.DataFrame:
    return validate_frame(data, FIGURES_MODEL[level])


def columns(model: str) -> list[str]:
    """The named model's column names."""
    return frame.columns(MODELS[model])
