"""Hand-built BuildingMonth panels, tax and city-tax frames for the indicator and list tests.

Columns follow the BuildingMonth contract of `replay.Log.panel`; every value a test relies on
is given explicitly by the test, the rest are neutral defaults.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

import polars as pl

PANEL_SCHEMA: dict[str, Any] = {
    "building_id": pl.String,
    "month": pl.String,
    "month_end": pl.Date,
    "name": pl.String,
    "district": pl.String,
    "street": pl.String,
    "category": pl.String,
    "grade": pl.String,
    "standalone": pl.Boolean,
    "gross_floor_area_m2": pl.Float64,
    "rentable_area_m2": pl.Float64,
    "completed_on": pl.Date,
    "retired_on": pl.Date,
    "in_scope": pl.Boolean,
    "occupied_area_m2": pl.Float64,
    "tenancies": pl.Int64,
    "registered_tenancies": pl.Int64,
    "headquarters_tenancies": pl.Int64,
    "tax_yuan": pl.Float64,
    "tax_yuan_ytd": pl.Float64,
    "move_ins": pl.Int64,
    "move_outs": pl.Int64,
    "gross_take_up_m2": pl.Float64,
    "completed_in_month": pl.Boolean,
    "retired_in_month": pl.Boolean,
    "featured_designated": pl.Boolean,
    "designated_industry": pl.String,
    "leading_industry": pl.String,
    "leading_area_share": pl.Float64,
    "leading_tenancy_share": pl.Float64,
    "leading_tax_share_ytd": pl.Float64,
}


def month_end(month: str) -> date:
    y, m = int(month[:4]), int(month[5:])
    return date(y, m, calendar.monthrange(y, m)[1])


def row(building_id: str, month: str, **values: Any) -> dict[str, Any]:
    """One panel row: an in-scope, empty office building in 新兴街道 unless told otherwise."""
    base: dict[str, Any] = {
        "building_id": building_id,
        "month": month,
        "month_end": month_end(month),
        "name": f"{building_id}大厦",
        "district": "南湖区",
        "street": "新兴街道",
        "category": "office",
        "grade": "A",
        "standalone": True,
        "gross_floor_area_m2": 12000.0,
        "rentable_area_m2": 10000.0,
        "completed_on": date(2010, 1, 1),
        "retired_on": None,
        "in_scope": True,
        "occupied_area_m2": 0.0,
        "tenancies": 0,
        "registered_tenancies": 0,
        "headquarters_tenancies": 0,
        "tax_yuan": 0.0,
        "tax_yuan_ytd": 0.0,
        "move_ins": 0,
        "move_outs": 0,
        "gross_take_up_m2": 0.0,
        "completed_in_month": False,
        "retired_in_month": False,
        "featured_designated": False,
        "designated_industry": None,
        "leading_industry": None,
        "leading_area_share": None,
        "leading_tenancy_share": None,
        "leading_tax_share_ytd": None,
    }
    unknown = set(values) - set(base)
    assert not unknown, unknown
    base.update(values)
    return base


def panel(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=PANEL_SCHEMA)


def tax(rows: list[tuple[str, str, str, float]]) -> pl.DataFrame:
    """(tenant_id, building_id, period, amount_yuan) rows."""
    return pl.DataFrame(
        rows,
        schema={
            "tenant_id": pl.String,
            "building_id": pl.String,
            "period": pl.String,
            "amount_yuan": pl.Float64,
        },
        orient="row",
    )


def city_tax(rows: list[tuple[str, str | None, float]]) -> pl.DataFrame:
    """(period, district, amount_yuan) rows; district None is the city total."""
    return pl.DataFrame(
        rows,
        schema={"period": pl.String, "district": pl.String, "amount_yuan": pl.Float64},
        orient="row",
    )
