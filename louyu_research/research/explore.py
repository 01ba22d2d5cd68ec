"""Researcher views over the log (used by `notebooks/explore.ipynb`): time travel, one
building's file (一楼一档), a street comparison and an industry map. Pure functions over the
package's frames, every result sorted, so the notebook holds no logic of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import altair as alt
import polars as pl

from louyu_research.indicators import figures as ind
from louyu_research.indicators.figures import PLAN_INDICATORS

from .checks import check_ids

COMPARED = (*PLAN_INDICATORS, "tax_yuan_ytd", "rentable_area_m2", "occupied_area_m2")


def time_travel(log: Any, month: str, recorded_by: datetime, level: str = "city") -> pl.DataFrame:
    """The same month's figures as the log knew them at `recorded_by` and at its head, side
    by side, with the difference (late returns and restatements show up here)."""
    then = ind.figures_from_log(log, month, level, recorded_by=recorded_by).frame  # type: ignore[arg-type]
    now = ind.figures_from_log(log, month, level).frame  # type: ignore[arg-type]
    a = then.select(*[pl.col(c).cast(pl.Float64) for c in COMPARED]).unpivot(
        variable_name="indicator", value_name="then"
    )
    b = now.select(*[pl.col(c).cast(pl.Float64) for c in COMPARED]).unpivot(
        variable_name="indicator", value_name="now"
    )
    order = pl.DataFrame({"indicator": list(COMPARED), "order": list(range(len(COMPARED)))})
    return (
        order.join(a, on="indicator", how="left")
        .join(b, on="indicator", how="left")
        .with_columns((pl.col("now") - pl.col("then")).alias("difference"))
        .sort("order")
        .drop("order")
    )


def building_events(log: Any, building_id: str) -> pl.DataFrame:
    """Every event about one building, in log order (一楼一档: its file); an unknown id is an
    error naming the closest known ones."""
    check_ids(log, building_id)
    cols = [
        "seq",
        "type",
        "occurred_on",
        "recorded_at",
        "tenant_id",
        "tenant_name",
        "area_m2",
        "period",
        "amount_yuan",
    ]
    return (
        log.scan()
        .filter(pl.col("building_id") == building_id)
        .select([c for c in cols if c in log.scan().collect_schema().names()])
        .sort("seq")
        .collect()
    )


def building_months(log: Any, building_id: str, start: str, end: str) -> pl.DataFrame:
    """One building's monthly figures (occupancy, tenancies, tax) from `start` to `end`; an
    unknown id is an error naming the closest known ones."""
    check_ids(log, building_id)
    frame = ind.figures_from_log(log, ind.month_range(start, end), "building").frame
    return (
        frame.filter(pl.col("building_id") == building_id)
        .select(
            "month",
            "in_scope",
            "occupancy_rate",
            "tenancies",
            "registration_rate",
            "tax_yuan",
            "tax_yuan_ytd",
        )
        .sort("month")
    )


def street_comparison(log: Any, month: str) -> pl.DataFrame:
    """Streets of a month, best composite rank first."""
    streets = ind.figures_from_log(log, [ind.shift_month(month, -1), month], "street").frame
    return (
        ind.rank_streets(streets).filter(pl.col("month") == month).sort("composite_rank", "street")
    )


def industry_map(log: Any, month: str, lang: str = "zh") -> pl.DataFrame:
    """Occupied area by street and key industry at a month's end (in-scope buildings)."""
    from louyu_research.indicators.figures import month_end

    state = log.replay(month_end(month))
    scope = ind.figures_from_log(log, month, "building").frame.filter(pl.col("in_scope"))
    ten = state.tenancies.join(scope.select("building_id", "street"), on="building_id", how="inner")
    city = log.city
    names = {k.code: k.label(lang) for k in city.key_industries}  # type: ignore[arg-type]
    names["other"] = city.key_industry_label("other", lang)  # type: ignore[arg-type]
    return (
        ten.with_columns(pl.col("key_industry").fill_null("other"))
        .group_by("street", "key_industry")
        .agg(pl.col("area_m2").sum())
        .with_columns(
            pl.col("key_industry")
            .replace_strict(names, default=pl.col("key_industry"))
            .alias("industry")
        )
        .sort("street", "key_industry")
    )


def industry_heatmap(frame: pl.DataFrame, title: str) -> alt.Chart:
    """Street × industry heat map of occupied area (from `industry_map`)."""
    return (
        alt.Chart(frame, title=title)
        .mark_rect()
        .encode(
            x=alt.X("industry:N", title=None, sort=None),
            y=alt.Y("street:N", title=None, sort=None),
            color=alt.Color("area_m2:Q", title="㎡", scale=alt.Scale(scheme="blues")),
        )
    )
