"""Pandera models of the frames replay produces: the state as of a date and the monthly panel.

One `DataFrameModel` per frame, named after what a row is. Column names follow the events'
field names wherever a column comes from an event field, so a user can trace a column to the
events that set it. Each column's meaning is its `description`, appended to the model's
docstring (`help(frames.Building)`) and exported as JSON Schema into `schemas/frames/` by
`louyu schemas`. The base, `validate` and the exporter are the package's one frame contract
(`core.frame`).
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl
from pandera.polars import PolarsData

from louyu_research.city.profile import KEY_INDUSTRY_CODE
from louyu_research.core.frame import Field as F
from louyu_research.core.frame import (
    FrameModel,
    FrameValidationError,
    columns,
    document,
    json_schema,
    validate,
)
from louyu_research.core.periods import MONTH_PATTERN
from louyu_research.log.catalogue import BuildingStatus, Category, Grade

__all__ = [
    "BUILDING_COLUMNS",
    "PANEL_COLUMNS",
    "TENANT_COLUMNS",
    "Building",
    "BuildingMonth",
    "CityTax",
    "Finding",
    "FrameValidationError",
    "Tenancy",
    "Tenant",
    "TenantTax",
    "json_schema",
    "validate",
]

_CATEGORIES = [c.value for c in Category]
_GRADES = [g.value for g in Grade]
_STATUSES = [s.value for s in BuildingStatus]
_EDITIONS = ["2011", "2017"]
_CODE = r"^[A-T][0-9]{0,4}$"


class _Frame(FrameModel):
    """Replay frames keep their columns in the model's order."""

    class Config:
        ordered = True


class Building(_Frame):
    """A registered building as of the replay's business date (one row per building)."""

    building_id: str = F("Stable id of the building (BuildingRegistered.building_id)", unique=True)
    name: str = F("Name (latest BuildingRegistered/BuildingUpdated value)")
    district: str = F("Administrative district (区县)")
    street: str = F("Street or town (街道/镇) it counts in on this date")
    community: str = F("Community (社区)", nullable=True)
    address: str = F("Address", nullable=True)
    gross_floor_area_m2: float = F("Gross floor area, m²", gt=0)
    rentable_area_m2: float = F("Rentable area, m²", gt=0)
    category: str = F("office · complex · industrial · mixed", isin=_CATEGORIES)
    grade: str = F("A · B · C", isin=_GRADES, nullable=True)
    standalone: bool = F("Standalone building (独栋)")
    status: str = F("planned · under_construction · completed, on this date", isin=_STATUSES)
    completed_on: dt.date = F(
        "Effective completion date known on this date (null: not completed or unknown)",
        nullable=True,
    )
    owner: str = F("Owner", nullable=True)
    property_manager: str = F("Property manager", nullable=True)
    self_held_ratio: float = F(
        "Share of the area the owner holds itself (0–1)", ge=0, le=1, nullable=True
    )
    lon: float = F("Longitude", ge=-180, le=180, nullable=True)
    lat: float = F("Latitude", ge=-90, le=90, nullable=True)
    registered_on: dt.date = F("Business date of its BuildingRegistered")
    retired: bool = F("Retired (BuildingRetired on or before this date)")
    retired_on: dt.date = F("Date of the first BuildingRetired, when retired", nullable=True)
    in_scope: bool = F(
        "Counts in the statistics on this date (completed, not retired, standalone, GFA ≥ threshold: settings)"
    )
    featured_designated: bool = F(
        "Officially designated a featured building (特色楼宇认定) on this date"
    )
    designated_industry: str = F(
        "Key industry of the designation", str_matches=KEY_INDUSTRY_CODE, nullable=True
    )


class Tenancy(_Frame):
    """An active tenancy (入驻): one enterprise in one building, at the end of the business date."""

    tenant_id: str = F("Enterprise id, usually the unified social credit code")
    building_id: str = F("Building it rents in")
    tenant_name: str = F("Enterprise name (latest TenantMovedIn/TenantUpdated value)")
    area_m2: float = F("Area rented, m²", gt=0)
    industry: str = F("GB/T 4754 code", str_matches=_CODE)
    industry_edition: str = F("Edition of the code: 2011 or 2017", isin=_EDITIONS)
    key_industry: str = F(
        "Key industry from the code (longest prefix), or other", str_matches=KEY_INDUSTRY_CODE
    )
    registered_here: bool = F("Registered address is this building (属地注册)")
    headquarters: bool = F("Head office (总部企业) flag of the enterprise")
    headcount: int = F("Employees", ge=0, nullable=True)
    since: dt.date = F("Date of the move-in that opened the current spell")
    unit: str = F("Unit (floor/room) from the move-in", nullable=True)

    class Config:
        unique = ("tenant_id", "building_id")


class Tenant(_Frame):
    """An enterprise that has moved into some building by the business date (one row each)."""

    tenant_id: str = F("Enterprise id", unique=True)
    tenant_name: str = F("Enterprise name")
    industry: str = F("GB/T 4754 code", str_matches=_CODE)
    industry_edition: str = F("Edition of the code", isin=_EDITIONS)
    key_industry: str = F("Key industry from the code, or other", str_matches=KEY_INDUSTRY_CODE)
    headcount: int = F("Employees", ge=0, nullable=True)
    headquarters: bool = F("Head office (总部企业) flag")


class TenantTax(_Frame):
    """Tax of a tenant in a building for a month: the latest report by the cut-off, retractions applied."""

    tenant_id: str = F("Enterprise id")
    building_id: str = F("Building the tax is attributed to")
    period: str = F("Month YYYY-MM", str_matches=MONTH_PATTERN)
    amount_yuan: float = F("Tax, yuan (latest restatement)")

    @pa.dataframe_check
    def one_row_per_tenant_building_period(cls, data: PolarsData) -> pl.LazyFrame:
        # millions of rows: a 64-bit hash finds candidate duplicates, compared exactly after
        return _unique_rows(data.lazyframe, ["tenant_id", "building_id", "period"])


class CityTax(_Frame):
    """Total tax of the city (district null) or of a district for a month: the tax share's denominator."""

    period: str = F("Month YYYY-MM", str_matches=MONTH_PATTERN)
    district: str = F("District, or null for the city total", nullable=True)
    amount_yuan: float = F("Tax, yuan (latest restatement)")

    class Config:
        unique = ("period", "district")


class Finding(_Frame):
    """A data-quality finding: an event that makes no sense in order (reported, never fatal)."""

    seq: int = F("seq of the event", ge=1)
    event_id: str = F("event_id of the event")
    type: str = F("Event type")
    code: str = F("Kind of problem (replay.FINDING_CODES_ZH names each in Chinese)")
    problem: str = F("What is wrong, in words")


class BuildingMonth(_Frame):
    """A registered building in a month, at the month's last day (the panel every indicator reads)."""

    building_id: str = F("Building id")
    month: str = F("Month YYYY-MM", str_matches=MONTH_PATTERN)
    month_end: dt.date = F("Last day of the month: the date the row describes")
    name: str = F("Name at month end")
    district: str = F("Administrative district at month end")
    street: str = F("Street or town at month end (a boundary change counts from its date)")
    category: str = F("Category", isin=_CATEGORIES)
    grade: str = F("Grade", isin=_GRADES, nullable=True)
    standalone: bool = F("Standalone (独栋)")
    gross_floor_area_m2: float = F("Gross floor area, m²", gt=0)
    rentable_area_m2: float = F("Rentable area, m²", gt=0)
    completed_on: dt.date = F("Effective completion date known at month end", nullable=True)
    retired_on: dt.date = F("Retirement date, when retired by month end", nullable=True)
    registered: bool = F(
        "Its BuildingRegistered occurred by month end (else attributes are the registration's)"
    )
    in_scope: bool = F(
        "Counts in the statistics at month end (registered, completed, not retired, standalone, GFA ≥ threshold)"
    )
    occupied_area_m2: float = F(
        "Σ area of tenancies active at month end, capped at rentable area", ge=0
    )
    tenancy_area_m2: float = F("Σ area of tenancies active at month end, uncapped", ge=0)
    tenancies: int = F("Active tenancies at month end", ge=0)
    registered_tenancies: int = F("Active tenancies with registered_here", ge=0)
    headquarters_tenancies: int = F("Active tenancies of head offices (总部企业)", ge=0)
    tax_yuan: float = F("Tax of the month (period = month), yuan")
    tax_yuan_ytd: float = F("Tax Jan..month of the same year, yuan")
    move_ins: int = F("Tenancies started in the month", ge=0)
    move_outs: int = F("Tenancies ended in the month", ge=0)
    gross_take_up_m2: float = F("Area of move-ins and expansion increments in the month, m²", ge=0)
    completed_in_month: bool = F("Completion date within the month")
    retired_in_month: bool = F("Retirement date within the month")
    featured_designated: bool = F("Officially designated featured building at month end")
    designated_industry: str = F(
        "Key industry of the designation", str_matches=KEY_INDUSTRY_CODE, nullable=True
    )
    leading_industry: str = F(
        "Key industry (not other) with the largest occupied area; ties alphabetical",
        str_matches=KEY_INDUSTRY_CODE,
        nullable=True,
    )
    leading_area_share: float = F(
        "Leading industry's area ÷ tenancy area", ge=0, le=1, nullable=True
    )
    leading_tenancy_share: float = F(
        "Leading industry's tenancies ÷ tenancies", ge=0, le=1, nullable=True
    )
    leading_tax_share_ytd: float = F(
        "Tax YTD of the leading industry's tenants ÷ building tax YTD (null when tax YTD ≤ 0)",
        nullable=True,
    )

    @pa.dataframe_check
    def occupied_within_rentable(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("occupied_area_m2") <= pl.col("rentable_area_m2") + 1e-9
        )

    @pa.dataframe_check
    def registered_among_tenancies(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("registered_tenancies") <= pl.col("tenancies"))
            & (pl.col("headquarters_tenancies") <= pl.col("tenancies"))
        )

    class Config:
        unique = ("building_id", "month")


_MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5)


def key_hash(keys: list[str]) -> pl.Expr:
    """A 64-bit hash of the key columns: each column hashed alone (fast on strings), mixed.

    Equal keys always hash equal, so hashes that are all distinct prove the keys distinct; equal
    hashes are only candidates, to be compared exactly.
    """
    out: pl.Expr | None = None
    for i, k in enumerate(keys):
        h = pl.col(k).hash(seed=i + 1) * pl.lit(_MIX[i % len(_MIX)], dtype=pl.UInt64)
        out = h if out is None else out ^ h
    if out is None:
        raise ValueError("key_hash needs at least one column")
    return out


def duplicate_candidates(frame: pl.DataFrame, keys: list[str]) -> pl.Series | None:
    """Rows whose key hash occurs more than once (a superset of the duplicated keys), or None
    when every hash is distinct (then every key is). Sorting 64-bit hashes finds the repeats:
    cheaper than hashing them again for millions of rows."""
    h = frame.select(key_hash(keys)).to_series()
    if h.n_unique() == frame.height:
        return None
    order = h.arg_sort()
    sorted_h = h.gather(order)
    repeat = ((sorted_h == sorted_h.shift(1)) | (sorted_h == sorted_h.shift(-1))).fill_null(False)
    return pl.repeat(False, frame.height, dtype=pl.Boolean, eager=True).scatter(
        order.filter(repeat), True
    )


def _unique_rows(lf: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """A boolean column: the row's key occurs once (exact; hashing only narrows the search)."""
    frame = lf.select(keys).collect()
    maybe = duplicate_candidates(frame, keys)
    unique = pl.repeat(True, frame.height, eager=True, dtype=pl.Boolean)
    if maybe is not None and maybe.any():
        rows = maybe.arg_true()
        dup = frame[rows].select(pl.struct(keys).is_duplicated()).to_series()
        unique = unique.scatter(rows.filter(dup), False)
    return pl.LazyFrame({"unique": unique})


MODELS: dict[str, type[_Frame]] = {
    "buildings": Building,
    "tenancies": Tenancy,
    "tenants": Tenant,
    "tax": TenantTax,
    "city_tax": CityTax,
    "findings": Finding,
    "panel": BuildingMonth,
}


BUILDING_COLUMNS = columns(Building)
TENANT_COLUMNS = columns(Tenant)
PANEL_COLUMNS = columns(BuildingMonth)


for _model in MODELS.values():
    document(_model)
