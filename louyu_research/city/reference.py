"""Reference tables the figures depend on: the plan's targets and the city's divisions.

Both are tables of a city profile (`city/jiaxing/` ships) and are *data, not code*: a user passes
their own file (another city's plan, a redrawn street boundary) and it goes through the
same checks. A bad file fails at load time with the row (1-based data row, and its line in
the file) and the reason, never later as a wrong figure.

Divisions (`jiaxing_divisions.csv`): one row per county-level unit (`district`), zone
(`zone`, e.g. the development zone that manages streets of two districts) and township-level
unit (`street` or `town`). A street carries its administrative district and its reporting
area (统计片区): the city's figures are reported by reporting area, and because every street
has exactly one reporting area no building counts twice. Streets are looked up by name,
so a street's name must be unique in the table.

Targets (`targets.csv`): year, indicator (a monthly figure of `indicators`), target,
comparison (`>=`: at least, `<=`: at most) and source. Rates are fractions (0.85, not 85).
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from louyu_research.core.reference_tables import ReferenceTableError, read_rows, row_error

__all__ = [
    "DEFAULT_DIVISIONS",
    "DEFAULT_TARGETS",
    "ReferenceTableError",
    "load_divisions",
    "load_targets",
    "reporting_areas",
    "street_areas",
]

DATA = Path(__file__).parent / "jiaxing"
DEFAULT_DIVISIONS = DATA / "jiaxing_divisions.csv"
DEFAULT_TARGETS = DATA / "targets.csv"

DIVISION_LEVELS = ("district", "zone", "street", "town")
#: Indicators a target may name, and whether the figure is a rate (a fraction in [0, 1]).
TARGET_INDICATORS: dict[str, bool] = {
    "occupancy_rate": True,
    "registration_rate": True,
    "tax_share_ytd": True,
    "featured_buildings": False,
    "key_buildings": False,
    "designated_buildings": False,
    "buildings": False,
    "tax_yuan_ytd": False,
    "tax_per_m2_ytd": False,
    "occupied_area_m2": False,
    "vacant_area_m2": False,
}
COMPARISONS = (">=", "<=")


# --- divisions ------------------------------------------------------------------------------


def load_divisions(path: str | Path | None = None) -> pl.DataFrame:
    """The divisions table (code, name, level, admin_district, reporting_area, note), checked.

    Checks: level is one of district/zone/street/town; names are unique; a code, when given,
    is digits (6 for a district, 9 for a street or town); a district is its own
    admin_district; a street or town names an admin_district that is a district row and a
    reporting_area that is the reporting area of a district or zone row.
    """
    p = Path(path) if path is not None else DEFAULT_DIVISIONS
    rows = read_rows(p, ("code", "name", "level", "admin_district", "reporting_area"))
    seen: dict[str, int] = {}
    for row in rows:
        v = row.values
        if not v["name"]:
            raise row_error(p, row, "name: empty")
        if v["name"] in seen:
            raise row_error(p, row, f"name: {v['name']!r} already on row {seen[v['name']]}")
        seen[v["name"]] = row.number
        if v["level"] not in DIVISION_LEVELS:
            raise row_error(
                p, row, f"level: {v['level']!r} is not one of {', '.join(DIVISION_LEVELS)}"
            )
        digits = 6 if v["level"] == "district" else 9
        if v["code"] and not (v["code"].isdigit() and len(v["code"]) == digits):
            raise row_error(p, row, f"code: {v['code']!r} is not {digits} digits")
        if not v["reporting_area"]:
            raise row_error(p, row, "reporting_area: empty")
        if v["level"] == "district" and v["admin_district"] != v["name"]:
            raise row_error(p, row, f"admin_district: a district is its own ({v['name']!r})")
    districts = {r.values["name"] for r in rows if r.values["level"] == "district"}
    areas = {r.values["reporting_area"] for r in rows if r.values["level"] in ("district", "zone")}
    for row in rows:
        v = row.values
        if v["level"] in ("street", "town"):
            if v["admin_district"] not in districts:
                raise row_error(
                    p, row, f"admin_district: {v['admin_district']!r} is not a district row"
                )
            if v["reporting_area"] not in areas:
                raise row_error(
                    p, row, f"reporting_area: {v['reporting_area']!r} is not a district or zone"
                )
    cols = ("code", "name", "level", "admin_district", "reporting_area", "note")
    data = {c: [r.values.get(c) or None for r in rows] for c in cols}
    return pl.DataFrame(data, schema=dict.fromkeys(cols, pl.String))


def street_areas(divisions: pl.DataFrame) -> pl.DataFrame:
    """street → admin_district, reporting_area (streets and towns only), sorted by street."""
    return (
        divisions.filter(pl.col("level").is_in(["street", "town"]))
        .select(pl.col("name").alias("street"), "admin_district", "reporting_area")
        .sort("street")
    )


def reporting_areas(divisions: pl.DataFrame) -> list[str]:
    """The reporting areas in the table's order (county-level units first, then zones)."""
    return (
        divisions.filter(pl.col("level").is_in(["district", "zone"]))
        .get_column("reporting_area")
        .unique(maintain_order=True)
        .to_list()
    )


# --- targets --------------------------------------------------------------------------------


def load_targets(path: str | Path | None = None) -> pl.DataFrame:
    """The plan's targets (year, indicator, target, comparison, source), checked.

    Checks: year is an integer 1900–2100; indicator is one the package computes
    (`TARGET_INDICATORS`); target is a finite number, a fraction in [0, 1] for a rate and
    ≥ 0 otherwise; comparison is `>=` or `<=` (empty means `>=`); (year, indicator) unique.
    """
    p = Path(path) if path is not None else DEFAULT_TARGETS
    rows = read_rows(p, ("year", "indicator", "target"))
    out: dict[str, list] = {k: [] for k in ("year", "indicator", "target", "comparison", "source")}
    seen: dict[tuple[int, str], int] = {}
    for row in rows:
        v = row.values
        try:
            year = int(v["year"])
        except ValueError:
            raise row_error(p, row, f"year: {v['year']!r} is not an integer") from None
        if not 1900 <= year <= 2100:
            raise row_error(p, row, f"year: {year} out of range 1900–2100")
        indicator = v["indicator"]
        if indicator not in TARGET_INDICATORS:
            known = ", ".join(TARGET_INDICATORS)
            raise row_error(p, row, f"indicator: {indicator!r} is not one of {known}")
        try:
            target = float(v["target"])
        except ValueError:
            raise row_error(p, row, f"target: {v['target']!r} is not a number") from None
        if not math.isfinite(target):
            raise row_error(p, row, f"target: {v['target']!r} is not finite")
        if TARGET_INDICATORS[indicator] and not 0 <= target <= 1:
            raise row_error(p, row, f"target: {target} is a rate and must be a fraction in [0, 1]")
        if target < 0:
            raise row_error(p, row, f"target: {target} is negative")
        comparison = v.get("comparison") or ">="
        if comparison not in COMPARISONS:
            raise row_error(
                p, row, f"comparison: {comparison!r} is not one of {', '.join(COMPARISONS)}"
            )
        if (year, indicator) in seen:
            raise row_error(p, row, f"{year} {indicator}: already on row {seen[(year, indicator)]}")
        seen[(year, indicator)] = row.number
        for k, x in zip(
            out, (year, indicator, target, comparison, v.get("source") or None), strict=True
        ):
            out[k].append(x)
    schema = {
        "year": pl.Int32,
        "indicator": pl.String,
        "target": pl.Float64,
        "comparison": pl.String,
        "source": pl.String,
    }
    return pl.DataFrame(out, schema=schema).sort("year", "indicator")
