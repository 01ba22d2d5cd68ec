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


# --- hand-built event logs ------------------------------------------------------------------


class Drafts:
    """Drafts with readable ids, recorded one minute apart from `start` (a back-fill)."""

    def __init__(self, start: str = "2016-04-01T00:00:00+08:00") -> None:
        from datetime import datetime

        self.clock = datetime.fromisoformat(start)
        self.items: list[dict[str, Any]] = []

    def add(self, type_: str, on: str, at: str | None = None, **data: Any) -> dict[str, Any]:
        from datetime import datetime, timedelta

        self.clock = datetime.fromisoformat(at) if at else self.clock + timedelta(minutes=1)
        draft = {
            "event_id": f"e{len(self.items) + 1}",
            "type": type_,
            "occurred_on": on,
            "recorded_at": self.clock.isoformat(),
            "data": data,
        }
        self.items.append(draft)
        return draft

    def building(self, bid: str, *, street: str = "新兴街道", **data: Any) -> None:
        base = {
            "building_id": bid,
            "name": f"{bid}大厦",
            "district": "南湖区",
            "street": street,
            "gross_floor_area_m2": 10000.0,
            "rentable_area_m2": 8000.0,
            "category": "office",
            "standalone": True,
            "status": "completed",
            "completed_on": "2010-01-01",
        }
        base.update(data)
        self.add("BuildingRegistered", "2015-01-01", **base)

    def move_in(self, tid: str, bid: str, on: str, area: float, registered: bool = True) -> None:
        self.add(
            "TenantMovedIn",
            on,
            tenant_id=tid,
            tenant_name=f"{tid}公司",
            building_id=bid,
            area_m2=area,
            industry="I65",
            industry_edition="2011",
            registered_here=registered,
        )

    def tax(self, tid: str, bid: str, period: str, amount: float, at: str | None = None) -> None:
        self.add(
            "TaxReported",
            f"{period}-28",
            at,
            tenant_id=tid,
            building_id=bid,
            period=period,
            amount_yuan=amount,
        )

    def write(self, path: Any) -> Any:
        from louyu_research.log.store import EventLog
        from louyu_research.replay.log import open_log

        EventLog.init(path)
        EventLog(path).append(self.items)
        return open_log(path)
