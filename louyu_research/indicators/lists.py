"""The lists the plan asks for, for one month: key buildings, the 盘活 vacancy list,
low-output buildings, featured buildings (rule vs designation) and tenants at risk.

Pure functions over the building-level figures of the month (`indicators.figures(level=
"building")`), the month's panel rows (attributes the figures do not carry) and, for tenants
at risk, the tenancies at two dates and the tax frame. Only buildings in scope at the month's
end are listed. Choices:

* Key buildings (千万元楼): tax YTD ≥ `key_building_tax_yuan`; `tax_rank` is the rank by tax
  YTD among all in-scope buildings of the city ("min" ties).
* Vacancy (盘活): vacancy rate ≥ `vacancy_min_rate` or vacant area ≥ `vacancy_min_area_m2`.
* Low output (低效楼宇): a building's `category_percentile` is the share of in-scope buildings
  of its category in the city with strictly lower tax per m² YTD; it is listed when that is
  below `low_output_quantile` (so ties at the cut-off are all in or all out) and it was
  completed at least `low_output_min_age_years` before the month's end. The comparison group
  is every in-scope building of the category (the city's distribution), young ones included.
  A building registered as completed without a completion date is taken as old stock
  (eligible, `age_years` empty).
* Featured: featured by the rule or designated; `featured_status` says where they disagree.
* Tenants at risk (迁出预警): tenancies active at the month's end in in-scope buildings whose
  area is smaller than at the end of the month `at_risk_window_months` earlier (shrank), or
  whose tax over the last window (the month and the ones before it) is at most
  (1 − `at_risk_tax_drop`) × the tax of the window before, that one being positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import polars as pl

from louyu_research.city.settings import Settings
from louyu_research.core.instants import DateLike

from .figures import Pinned, featured_expr, month_end, parse_month, read_inputs, shift_month
from .frames import validate_frame

ListKind = Literal["key", "vacancy", "low-output", "featured", "at-risk"]
LIST_KINDS: tuple[ListKind, ...] = ("key", "vacancy", "low-output", "featured", "at-risk")

_IDS = ("month", "building_id", "name", "street", "district", "reporting_area", "category")
_PANEL_EXTRA = (
    "grade",
    "completed_on",
    "leading_industry",
    "leading_area_share",
    "leading_tenancy_share",
    "leading_tax_share_ytd",
    "featured_designated",
    "designated_industry",
)


def building_sheet(buildings: pl.DataFrame, panel: pl.DataFrame, month: str) -> pl.DataFrame:
    """In-scope buildings of `month`: their figures beside the panel's attributes."""
    extra = panel.filter(pl.col("month") == month).select(
        "building_id", *[pl.col(c).alias(f"panel_{c}") for c in _PANEL_EXTRA]
    )
    return (
        buildings.filter((pl.col("month") == month) & pl.col("in_scope"))
        .join(extra, on="building_id", how="left")
        .sort("building_id")
    )


def key_buildings(sheet: pl.DataFrame, settings: Settings | None = None) -> pl.DataFrame:
    """千万元楼 with their tax YTD, highest first."""
    s = settings or Settings()
    out = (
        sheet.with_columns(
            pl.col("tax_yuan_ytd")
            .rank(method="min", descending=True)
            .cast(pl.Int64)
            .alias("tax_rank")
        )
        .filter(pl.col("tax_yuan_ytd") >= s.key_building_tax_yuan)
        .select(
            *_IDS,
            "tax_rank",
            pl.col("panel_grade").alias("grade"),
            "rentable_area_m2",
            "tenancies",
            "tax_yuan_ytd",
            "tax_per_m2_ytd",
            "tax_share_ytd",
        )
        .sort("tax_rank", "building_id")
    )
    return validate_frame(out, "KeyBuildingsList")


def vacancy_list(sheet: pl.DataFrame, settings: Settings | None = None) -> pl.DataFrame:
    """盘活一批: much vacant space, largest vacant area first."""
    s = settings or Settings()
    rate = (
        pl.when(pl.col("rentable_area_m2") > 0)
        .then(pl.col("vacant_area_m2") / pl.col("rentable_area_m2"))
        .otherwise(None)
    )
    by_rate = pl.col("vacancy_rate").fill_null(0) >= s.vacancy_min_rate
    by_area = pl.col("vacant_area_m2") >= s.vacancy_min_area_m2
    out = (
        sheet.with_columns(rate.alias("vacancy_rate"))
        .filter(by_rate | by_area)
        .select(
            *_IDS,
            pl.col("panel_grade").alias("grade"),
            "rentable_area_m2",
            "occupied_area_m2",
            "vacant_area_m2",
            "vacancy_rate",
            pl.col("panel_leading_industry").alias("leading_industry"),
            pl.when(by_rate & by_area)
            .then(pl.lit("both"))
            .when(by_rate)
            .then(pl.lit("rate"))
            .otherwise(pl.lit("area"))
            .alias("vacancy_reason"),
        )
        .sort("vacant_area_m2", "building_id", descending=[True, False])
    )
    return validate_frame(out, "VacancyList")


def low_output_list(sheet: pl.DataFrame, settings: Settings | None = None) -> pl.DataFrame:
    """低效楼宇: lowest tax per m² of their category, old enough; by category, lowest first."""
    s = settings or Settings()
    if sheet.is_empty():
        month_end_expr = pl.lit(None, dtype=pl.Date)
    else:
        month_end_expr = pl.lit(month_end(sheet.get_column("month")[0]))
    completed = pl.col("panel_completed_on")
    cutoff = month_end_expr.dt.offset_by(f"-{s.low_output_min_age_years}y")
    age = (
        month_end_expr.dt.year()
        - completed.dt.year()
        - (
            (month_end_expr.dt.month() < completed.dt.month())
            | (
                (month_end_expr.dt.month() == completed.dt.month())
                & (month_end_expr.dt.day() < completed.dt.day())
            )
        ).cast(pl.Int32)
    )
    value = pl.col("tax_per_m2_ytd").fill_null(0.0)
    out = (
        sheet.with_columns(
            pl.len().over("category").cast(pl.Int64).alias("category_buildings"),
            value.rank(method="min").over("category").cast(pl.Int64).alias("category_rank"),
        )
        .with_columns(
            ((pl.col("category_rank") - 1) / pl.col("category_buildings")).alias(
                "category_percentile"
            ),
            age.cast(pl.Int64).alias("age_years"),
        )
        .filter(
            (pl.col("category_percentile") < s.low_output_quantile)
            & (completed.is_null() | (completed <= cutoff))
        )
        .select(
            *_IDS,
            pl.col("panel_completed_on").alias("completed_on"),
            "age_years",
            "rentable_area_m2",
            "tax_yuan_ytd",
            "tax_per_m2_ytd",
            "category_buildings",
            "category_rank",
            "category_percentile",
        )
        .sort("category", "category_rank", "building_id")
    )
    return validate_frame(out, "LowOutputList")


def featured_list(sheet: pl.DataFrame, settings: Settings | None = None) -> pl.DataFrame:
    """专业楼宇 by rule and by designation, with the leading industry's shares."""
    s = settings or Settings()
    leading = (
        "leading_industry",
        "leading_area_share",
        "leading_tenancy_share",
        "leading_tax_share_ytd",
    )
    out = (
        sheet.rename({f"panel_{c}": c for c in leading})
        .with_columns(
            featured_expr(s.featured).fill_null(False).alias("featured_rule"),
            pl.col("panel_featured_designated").fill_null(False).alias("featured_designated"),
            pl.col("panel_designated_industry").alias("designated_industry"),
        )
        .filter(pl.col("featured_rule") | pl.col("featured_designated"))
        .with_columns(
            pl.when(pl.col("featured_rule") & pl.col("featured_designated"))
            .then(pl.lit("both"))
            .when(pl.col("featured_rule"))
            .then(pl.lit("rule_only"))
            .otherwise(pl.lit("designated_only"))
            .alias("featured_status")
        )
        .select(
            *_IDS,
            "tenancies",
            *leading,
            "featured_rule",
            "featured_designated",
            "designated_industry",
            "featured_status",
        )
        .sort("featured_status", "street", "building_id")
    )
    return validate_frame(out, "FeaturedList")


def tenants_at_risk(
    sheet: pl.DataFrame,
    tenancies_now: pl.DataFrame,
    tenancies_before: pl.DataFrame,
    tax: pl.DataFrame,
    month: str,
    settings: Settings | None = None,
) -> pl.DataFrame:
    """迁出预警: tenancies that shrank or whose tax fell by at least the cut-off.

    `tenancies_now`: tenancies active at `month`'s end; `tenancies_before`: at the end of the
    month `at_risk_window_months` earlier (replay tenancies frames); `tax`: the tax frame.
    """
    s = settings or Settings()
    w = s.at_risk_window_months
    last = (shift_month(month, -(w - 1)), month)
    prev = (shift_month(month, -(2 * w - 1)), shift_month(month, -w))
    windows = (
        tax.lazy()
        .group_by("tenant_id", "building_id")
        .agg(
            pl.col("amount_yuan")
            .filter(pl.col("period").is_between(pl.lit(last[0]), pl.lit(last[1])))
            .sum()
            .cast(pl.Float64)
            .round(2)  # to the fen: a float sum's last bits are noise
            .alias("tax_last_window_yuan"),
            pl.col("amount_yuan")
            .filter(pl.col("period").is_between(pl.lit(prev[0]), pl.lit(prev[1])))
            .sum()
            .cast(pl.Float64)
            .round(2)
            .alias("tax_previous_window_yuan"),
        )
    )
    buildings = sheet.lazy().select(
        "building_id", pl.col("name").alias("building_name"), "street", "reporting_area"
    )
    before = tenancies_before.lazy().select(
        "tenant_id", "building_id", pl.col("area_m2").cast(pl.Float64).alias("area_m2_before")
    )
    dropped = (pl.col("tax_previous_window_yuan") > 0) & (
        pl.col("tax_last_window_yuan")
        <= (1 - s.at_risk_tax_drop) * pl.col("tax_previous_window_yuan")
    )
    out = (
        tenancies_now.lazy()
        .select(
            "tenant_id",
            "tenant_name",
            "building_id",
            "industry",
            "key_industry",
            pl.col("area_m2").cast(pl.Float64),
        )
        .join(buildings, on="building_id")
        .join(before, on=["tenant_id", "building_id"], how="left")
        .join(windows, on=["tenant_id", "building_id"], how="left")
        .with_columns(
            pl.col("tax_last_window_yuan").fill_null(0.0),
            pl.col("tax_previous_window_yuan").fill_null(0.0),
            (pl.col("area_m2") - pl.col("area_m2_before")).alias("area_change_m2"),
        )
        .with_columns(
            (pl.col("area_m2") < pl.col("area_m2_before")).fill_null(False).alias("shrank"),
            dropped.alias("tax_dropped"),
            pl.when(pl.col("tax_previous_window_yuan") > 0)
            .then(pl.col("tax_last_window_yuan") / pl.col("tax_previous_window_yuan") - 1)
            .otherwise(None)
            .alias("tax_change_rate"),
        )
        .filter(pl.col("shrank") | pl.col("tax_dropped"))
        .select(
            pl.lit(month).alias("month"),
            "tenant_id",
            "tenant_name",
            "building_id",
            "building_name",
            "street",
            "reporting_area",
            "industry",
            "key_industry",
            "area_m2",
            "area_m2_before",
            "area_change_m2",
            "tax_last_window_yuan",
            "tax_previous_window_yuan",
            "tax_change_rate",
            "shrank",
            "tax_dropped",
        )
        .sort(
            ["tax_previous_window_yuan", "tenant_id", "building_id"],
            descending=[True, False, False],
        )
        .collect()
    )
    return validate_frame(out, "TenantsAtRiskList")


def lists_from_log(
    log: Any,
    month: str,
    kinds: Sequence[ListKind] = LIST_KINDS,
    *,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
    settings: Settings | None = None,
    divisions: pl.DataFrame | None = None,
) -> dict[ListKind, Pinned]:
    """The lists `kinds` of `month` as the log knew them at the cut-off (read once)."""
    unknown = [k for k in kinds if k not in LIST_KINDS]
    if unknown:
        raise ValueError(f"unknown list {unknown[0]!r} (one of {', '.join(LIST_KINDS)})")
    month = parse_month(month)
    cut: dict[str, Any] = {"recorded_by": recorded_by, "upto_seq": upto_seq}
    inp = read_inputs(log, [month], settings=settings, **cut)
    s = inp.settings
    sheet = building_sheet(inp.figures("building", divisions).frame, inp.panel, month)
    out: dict[ListKind, Pinned] = {}
    for kind in kinds:
        if kind == "key":
            frame = key_buildings(sheet, s)
        elif kind == "vacancy":
            frame = vacancy_list(sheet, s)
        elif kind == "low-output":
            frame = low_output_list(sheet, s)
        elif kind == "featured":
            frame = featured_list(sheet, s)
        else:
            now = log.replay(month_end(month), settings=s, **cut).tenancies
            earlier = shift_month(month, -s.at_risk_window_months)
            before = log.replay(month_end(earlier), settings=s, **cut).tenancies
            frame = tenants_at_risk(sheet, now, before, inp.tax, month, s)
        out[kind] = Pinned(frame, s, inp.position)
    return out


def list_from_log(
    log: Any,
    kind: ListKind,
    month: str,
    *,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
    settings: Settings | None = None,
    divisions: pl.DataFrame | None = None,
) -> Pinned:
    """One list of `month` as the log knew it at the cut-off (default HEAD)."""
    return lists_from_log(
        log,
        month,
        [kind],
        recorded_by=recorded_by,
        upto_seq=upto_seq,
        settings=settings,
        divisions=divisions,
    )[kind]
