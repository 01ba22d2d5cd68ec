"""Occupancy as step functions of time: what a building's tenancies add up to at every date.

Each tenancy's end-of-day states (active, area, registered here, headquarters, its tenant's key
industry) become step changes of its building's totals at the dates they change; a cumulative
sum per building (and per building and key industry) turns them into step functions, which
the panel reads at every month end with an as-of join. They depend only on a preparation, not
on the months a panel asks for, so they are made once per preparation (`prepare`) and saved
with it.
"""

from __future__ import annotations

import polars as pl

from .log import ENGINE, TENANCY, group_cum_sum, group_shift, group_start

__all__ = ["OCCUPANCY_COLUMNS", "industry_code", "key_industry_order", "step_functions"]

#: The per-building totals of the occupancy steps: area (1e-4 m²), tenancies, tenancies
#: registered here, headquarters.
OCCUPANCY_COLUMNS = ("c_area", "c_n", "c_reg", "c_hq")


def key_industry_order(key_industries: tuple[str, ...] | list[str]) -> list[str]:
    """The city's key industries by code: alphabetical, so codes sort like names."""
    return sorted(key_industries)


def industry_code(col: str, key_industries: tuple[str, ...] | list[str]) -> pl.Expr:
    """A key industry's integer code (its position in `key_industry_order`); `other` is null."""
    ki = key_industry_order(key_industries)
    return pl.col(col).replace_strict(ki, range(len(ki)), default=None, return_dtype=pl.Int64)


def _timeline(
    tenancy_events: pl.DataFrame, building_codes: pl.DataFrame, tenant_versions: pl.DataFrame
) -> pl.LazyFrame:
    """End-of-day state of every tenancy at each date its own or its tenant's attributes change,
    by building code `_b` (tenancies of a building not registered are left out).

    Tenancies and tenants get integer keys first (the events are sorted by tenant, building),
    so the sorts, as-of joins and group shifts below compare integers, not strings.
    """
    te = (
        tenancy_events.lazy()
        .join(building_codes.lazy(), on="building_id", maintain_order="left")
        .with_columns(
            group_start(list(TENANCY)).cum_sum().alias("_k"),
            group_start("tenant_id").cum_sum().alias("_t"),
        )
    )
    td = (
        te.unique(subset=["_k", "occurred_on"], keep="last", maintain_order=True)
        .select(
            "_k",
            "_t",
            "_b",
            pl.col("occurred_on").alias("date"),
            "active",
            "area_u",
            "registered_here",
        )
        .collect(engine=ENGINE)
    )
    tenants = td.lazy().select("_t", "_k", "_b").unique()
    codes = te.filter(group_start("tenant_id")).select("tenant_id", "_t")
    tv = (
        tenant_versions.lazy()
        .join(codes, on="tenant_id")
        .select("_t", pl.col("valid_from").alias("date"), "key_industry", "headquarters")
    )
    # A tenant's first version is dated by its first move-in (or an update before any): no
    # tenancy of the tenant is active before that day's events, so only later versions add dates.
    later = (
        tenant_versions.lazy()
        .filter(~group_start("tenant_id"))
        .join(codes, on="tenant_id")
        .select("_t", pl.col("valid_from").alias("date"))
    )
    dates = pl.concat(
        [
            td.lazy().select("_k", "_t", "_b", "date"),
            later.join(tenants, on="_t").select("_k", "_t", "_b", "date"),
        ]
    ).unique(subset=["_k", "date"])
    return (
        dates.sort("_k", "date")
        .join_asof(
            td.lazy().select("_k", "date", "active", "area_u", "registered_here"),
            on="date",
            by="_k",
            check_sortedness=False,
        )
        .sort("_t", "date")
        .join_asof(tv.sort("_t", "date"), on="date", by="_t", check_sortedness=False)
        .with_columns(pl.col("active").fill_null(0))
        .with_columns(
            (pl.col("active") * pl.col("area_u").fill_null(0)).alias("c_area"),
            pl.col("active").cast(pl.Int64).alias("c_n"),
            (pl.col("active") * pl.col("registered_here").fill_null(False).cast(pl.Int64)).alias(
                "c_reg"
            ),
            (pl.col("active") * pl.col("headquarters").fill_null(False).cast(pl.Int64)).alias(
                "c_hq"
            ),
        )
        .sort("_k", "date")
        .with_columns(
            group_shift(pl.col(c), "_k", 0).alias(f"p_{c}")
            for c in ("c_area", "c_n", "c_reg", "c_hq")
        )
        .with_columns(group_shift(pl.col("key_industry"), "_k").alias("p_key_industry"))
    )


def step_functions(
    tenancy_events: pl.DataFrame,
    building_codes: pl.DataFrame,
    tenant_versions: pl.DataFrame,
    key_industries: tuple[str, ...],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The occupancy step functions of a preparation's frames:

    - per building (`_b`) and `date`: `OCCUPANCY_COLUMNS` as they stand at the end of that day,
      sorted by (`_b`, `date`);
    - per building, key industry code (`ki`, `industry_code`) and `date`: the area (`a`) and
      the tenancies (`n`) of that industry, sorted by (`_b`, `ki`, `date`).
    """
    tl = _timeline(tenancy_events, building_codes, tenant_versions).collect(engine=ENGINE).lazy()
    cols = list(OCCUPANCY_COLUMNS)
    steps = (
        tl.select("_b", "date", *[(pl.col(c) - pl.col(f"p_{c}")).alias(c) for c in cols])
        .group_by("_b", "date")
        .agg(pl.col(c).sum() for c in cols)
        .sort("_b", "date")
        .with_columns(group_cum_sum(pl.col(c), "_b") for c in cols)
    )
    by_industry = pl.concat(
        [
            tl.select(
                "_b",
                industry_code("key_industry", key_industries).alias("ki"),
                "date",
                pl.col("c_area").alias("a"),
                pl.col("c_n").alias("n"),
            ),
            tl.select(
                "_b",
                industry_code("p_key_industry", key_industries).alias("ki"),
                "date",
                (-pl.col("p_c_area")).alias("a"),
                (-pl.col("p_c_n")).alias("n"),
            ),
        ]
    ).filter(pl.col("ki").is_not_null() & ((pl.col("a") != 0) | (pl.col("n") != 0)))
    industry_steps = (
        by_industry.group_by("_b", "ki", "date")
        .agg(pl.col("a").sum(), pl.col("n").sum())
        .sort("_b", "ki", "date")
        .with_columns(group_cum_sum(pl.col(c), ["_b", "ki"]) for c in ("a", "n"))
    )
    occupancy, industries = pl.collect_all([steps, industry_steps], engine=ENGINE)
    return occupancy, industries
