"""The BuildingMonth panel: one row per registered building and month, at each month's end.

Built from the same preparation as `replay.state_at`, without a grid of tenancies × months:
each tenancy's end-of-day states become step changes (deltas) of its building's occupied area,
tenancy counts and key-industry mix; a cumulative sum per building turns them into step
functions (`occupancy`, made once per preparation), and an as-of join reads them at every
month end. Tax is summed per month and accumulated within each year. So the cost grows with
the number of events, not with tenancies × months. See `log.py` for the rules and decisions.
"""

from __future__ import annotations

import polars as pl

from louyu_research.city.settings import Settings
from louyu_research.core.periods import Month, MonthError, MonthLike

from . import frames
from .log import (
    ENGINE,
    MONTH_SPAN,
    PER_AREA_UNIT,
    PER_FEN,
    Prepared,
    building_texts,
    buildings_at,
    group_cum_sum,
    group_shift,
    group_start,
    month_index,
)
from .occupancy import OCCUPANCY_COLUMNS, industry_code, key_industry_order

__all__ = ["building_month_panel", "month_range"]


def month_range(start: MonthLike, end: MonthLike) -> pl.DataFrame:
    """Months from `start` to `end` inclusive: month, month_idx, month_start, month_end."""
    try:
        a, b = Month.parse(start), Month.parse(end)
    except MonthError as err:
        which = "start" if not _is_month(start) else "end"
        raise MonthError(f"{which}: {err}") from None
    if a > b:
        raise MonthError(f"start {a} is after end {b}")
    idx = pl.Series("month_idx", range(a.index, b.index + 1), dtype=pl.Int32)
    return _months(idx)


def _is_month(value: MonthLike) -> bool:
    try:
        Month.parse(value)
    except MonthError:
        return False
    return True


def _months(idx: pl.Series) -> pl.DataFrame:
    return (
        pl.DataFrame({"month_idx": idx})
        .with_columns(
            (pl.col("month_idx") // 12).cast(pl.Int32).alias("year"),
            (pl.col("month_idx") % 12 + 1).alias("_m"),
        )
        .with_columns(
            pl.format("{}-{}", "year", pl.col("_m").cast(pl.String).str.zfill(2)).alias("month"),
            pl.date("year", "_m", 1).alias("month_start"),
            pl.date("year", "_m", 1).dt.month_end().alias("month_end"),
        )
        .drop("_m")
    )


def _month_idx_of(col: str) -> pl.Expr:
    return month_index(col).alias("month_idx")


def _pair_key(ki: str = "ki") -> pl.Expr:
    """(building code, industry code `ki`) as one integer (null when the industry is null)."""
    return pl.col("_b").cast(pl.Int64) * 16 + pl.col(ki)


def _bkm_key(month: pl.Expr, ki: str = "ki") -> pl.Expr:
    """(building code, industry code, month) as one 64-bit group key (null without industry)."""
    return (_pair_key(ki) * MONTH_SPAN + month).alias("_key")


def _sum_by_key(frame: pl.LazyFrame, value: str, alias: str) -> pl.LazyFrame:
    """Sum `value` per `_key` (millions of rows into thousands of groups, on Polars' streaming
    engine, which aggregates them fastest)."""
    return (
        frame.group_by("_key")
        .agg(pl.col(value).sum().alias(alias))
        .collect(engine="streaming")
        .lazy()
    )


def _industry_tax_ytd(p: Prepared, tax: pl.DataFrame, lead_pairs: pl.LazyFrame) -> pl.LazyFrame:
    """Tax YTD per (building, key industry, year, month) classifying tenants at that month's end.

    The YTD tax of a (building, tenant) pair counts in the industry the tenant has at month M.
    It changes only in months with a tax report or a change of the tenant's attributes, so the
    pair's (cumulative tax, industry) is evaluated at those months only and turned into deltas
    per (building, industry, year): sparse, never tenants × months.

    Most tenants keep one key industry from their first move-in on; their tax simply counts
    from the month of that move-in (a report for an earlier month of the same year joins the
    YTD then). Only the tenants whose industry changes take the general path.

    `tax` has the reports' integer codes (`_b`, `_t`, month_idx, amount_fen); `lead_pairs`
    the (building code, industry code `ki`) pairs that lead some month: only those are summed.
    The result is keyed by codes: `_b`, `ki`, year, month_idx, lead_ytd_fen.
    """
    # A tenant is classified at a month end only once it has moved in somewhere (an update
    # dated before its first move-in sets attributes but makes no tenant yet): its versions by
    # month start at the month of its first move-in, with the version holding then.
    first_in = (
        p.tenancy_events.lazy()
        .filter(pl.col("type") == "TenantMovedIn")
        .group_by("tenant_id")
        .agg(_month_idx_of("occurred_on").min().alias("_first_in"))
    )
    tv = (
        p.tenant_versions.lazy()
        .select("tenant_id", "valid_from", "key_industry")
        .join(first_in, on="tenant_id")
        .with_columns(pl.max_horizontal(_month_idx_of("valid_from"), "_first_in"))
        .sort("tenant_id", "month_idx", "valid_from")
        .unique(subset=["tenant_id", "month_idx"], keep="last", maintain_order=True)
        .collect(engine=ENGINE)
        .lazy()
    )
    kinds = (
        tv.group_by("tenant_id")
        .agg(
            (pl.col("key_industry").n_unique() == 1).alias("stable"),
            pl.col("key_industry").sort_by("month_idx").first(),
            pl.col("month_idx").min().alias("_from"),
        )
        .join(p.tenant_codes.lazy(), on="tenant_id")
        .collect(engine=ENGINE)
    )
    # Each report meets its tenant's kind by the tenant's code (`_t`), gathered from a table
    # indexed by that code; tenants without a move-in (null `_t`) drop out.
    by_t = (
        pl.DataFrame({"_t": pl.arange(0, p.tenant_codes.height, dtype=pl.UInt32, eager=True)})
        .join(kinds, on="_t", how="left", maintain_order="left")
        .select(
            pl.when(pl.col("stable"))
            .then(industry_code("key_industry", p.key_industries))
            .alias("ki"),
            "_from",
            (~pl.col("stable")).fill_null(False).alias("unstable"),
        )
    )
    t = tax.get_column("_t")
    month = pl.max_horizontal("month_idx", "_from")
    # only (building, industry) pairs that lead the building in some month are needed
    leads = lead_pairs.select(_pair_key()).collect(engine=ENGINE).to_series().implode()
    simple = _sum_by_key(
        tax.select("_b", "month_idx", "amount_fen")
        .with_columns(by_t.get_column("ki").gather(t), by_t.get_column("_from").gather(t))
        .lazy()
        .filter(
            pl.col("ki").is_not_null()
            & ((month // 12) == (pl.col("month_idx") // 12))
            & _pair_key().is_in(leads)
        )
        .select(_bkm_key(month), "amount_fen"),
        "amount_fen",
        "d",
    )
    unstable = kinds.filter(~pl.col("stable")).select("tenant_id", "_t")
    bt = tax.filter(by_t.get_column("unstable").gather(t).fill_null(False)).lazy()
    # Tenants whose key industry changes: the industry holding at each month end, as intervals
    # of months; a report adds to the industry of its own month, and at each change the year's
    # earlier reports of the (building, tenant) move from the old industry to the new one.
    versions = (
        tv.join(unstable.lazy(), on="tenant_id", how="inner")
        .sort("tenant_id", "month_idx")
        .with_columns(
            group_shift(pl.col("key_industry"), "tenant_id").alias("p_key_industry"),
            pl.col("month_idx").shift(-1).alias("_to"),
            group_start("tenant_id").shift(-1).fill_null(True).alias("_last"),
        )
        .with_columns(pl.when(pl.col("_last")).then(None).otherwise(pl.col("_to")).alias("_to"))
        .select(
            "_t",
            pl.col("month_idx").alias("_from"),
            "_to",
            "key_industry",
            "p_key_industry",
            industry_code("key_industry", p.key_industries).alias("ki"),
            industry_code("p_key_industry", p.key_industries).alias("p_ki"),
        )
        .collect(engine=ENGINE)
    )
    own = _sum_by_key(
        bt.join(versions.lazy().select("_t", "_from", "_to", "ki"), on="_t")
        .filter(
            _pair_key().is_in(leads)
            & (pl.col("month_idx") >= pl.col("_from"))
            & (pl.col("_to").is_null() | (pl.col("month_idx") < pl.col("_to")))
        )
        .select(_bkm_key(pl.col("month_idx")), "amount_fen"),
        "amount_fen",
        "d",
    )
    moved = (
        versions.lazy()
        .filter(pl.col("key_industry").ne_missing(pl.col("p_key_industry")))
        .select("_t", pl.col("_from").alias("_at"), "ki", "p_ki")
        .join(bt, on="_t")
        .filter(
            ((pl.col("_at") // 12) == (pl.col("month_idx") // 12))
            & (pl.col("month_idx") < pl.col("_at"))
        )
        .group_by("_b", "_at", "ki", "p_ki")
        .agg(pl.col("amount_fen").sum().alias("c"))
    )
    deltas = pl.concat(
        [
            simple,
            own,
            moved.select(_bkm_key(pl.col("_at")), pl.col("c").alias("d")),
            moved.select(_bkm_key(pl.col("_at"), "p_ki"), (-pl.col("c")).alias("d")),
        ]
    ).filter((pl.col("_key") // MONTH_SPAN).is_in(leads))
    # the key sorts like (building, industry, month), and so like (building, industry, year, month)
    pair, month = pl.col("_key") // MONTH_SPAN, pl.col("_key") % MONTH_SPAN
    return (
        deltas.group_by("_key")
        .agg(pl.col("d").sum())
        .sort("_key")
        .select(
            (pair // 16).cast(pl.UInt32).alias("_b"),
            (pair % 16).alias("ki"),
            (month // 12).cast(pl.Int32).alias("year"),
            month.cast(pl.Int32).alias("month_idx"),
            pair.alias("_pair"),
            "d",
        )
        .select(
            "_b",
            "ki",
            "year",
            "month_idx",
            group_cum_sum(pl.col("d"), ["_pair", "year"]).alias("lead_ytd_fen"),
        )
    )


def _leaders(present: pl.DataFrame) -> pl.DataFrame:
    """Per (building, month), the row of the industry that leads: the largest area, ties to the
    alphabetically first industry (codes sort so). `present`: _b, ki, a, n, month_idx.

    The order (area, then industry reversed) and the tenancy count pack into one 64-bit score,
    so a maximum per group finds the leader without sorting a million rows; when the figures
    are too large to pack (areas over ~27 million m²), it sorts.
    """
    if present.is_empty() or (
        present.get_column("a").max() < 2**38 and present.get_column("n").max() < 2**20
    ):
        packed = (
            present.lazy()
            .group_by("_b", "month_idx")
            .agg(((pl.col("a") * 16 + (15 - pl.col("ki"))) * 2**20 + pl.col("n")).max().alias("_s"))
            .collect(engine="streaming")
        )
        order = pl.col("_s") // 2**20
        return packed.select(
            "_b",
            "month_idx",
            (15 - order % 16).alias("ki"),
            (order // 16).alias("a"),
            (pl.col("_s") % 2**20).alias("n"),
        ).sort("_b", "month_idx")
    return (
        present.sort(["_b", "month_idx", "a", "ki"], descending=[False, False, True, False])
        .unique(subset=["_b", "month_idx"], keep="first", maintain_order=True)
        .select("_b", "month_idx", "ki", "a", "n")
    )


def _steps_at(
    steps: pl.LazyFrame, grid: pl.LazyFrame, by: list[str], values: list[str]
) -> pl.LazyFrame:
    """Read cumulative step functions (`steps`: by, date, values) at each grid row's month_end."""
    return (
        grid.sort(*by, "month_end")
        .join_asof(
            steps.sort(*by, "date"),
            left_on="month_end",
            right_on="date",
            by=by,
            check_sortedness=False,
        )
        .with_columns(pl.col(v).fill_null(0) for v in values)
        .drop("date")
    )


def building_month_panel(
    p: Prepared, start: str, end: str, settings: Settings | None = None
) -> pl.DataFrame:
    """The validated BuildingMonth panel from `start` to `end` (months YYYY-MM, inclusive)."""
    settings = settings or Settings()
    months = month_range(start, end)
    first_idx, last_idx = int(months["month_idx"].min()), int(months["month_idx"].max())
    # Buildings go by their integer code `_b` (in the order of their ids) from here on: the
    # joins, sorts and as-of joins over buildings × months compare integers, not strings, and
    # carry no text: the ids and text attributes are joined once, to the sorted panel.
    codes = p.building_codes.lazy()
    grid = (
        codes.select("_b")
        .join(months.lazy(), how="cross")
        .with_columns(pl.col("month_end").alias("at"))
    )
    attrs = buildings_at(p, grid, settings, narrow=True)

    # Occupancy step functions per building and per (building, key industry), made once per
    # preparation (`occupancy`)
    steps, ind_steps = p.occupancy_steps.lazy(), p.industry_steps.lazy()
    occ_cols = list(OCCUPANCY_COLUMNS)

    # Flows within each month: spell starts and ends, and increments of active area.
    te = p.tenancy_events.lazy().with_columns(_month_idx_of("occurred_on"))
    te = te.filter(pl.col("month_idx").is_between(first_idx, last_idx))
    flows = (
        te.group_by("building_id", "month_idx")
        .agg(
            ((pl.col("type") == "TenantMovedIn") & (pl.col("active_before") == 0))
            .sum()
            .cast(pl.Int64)
            .alias("move_ins"),
            ((pl.col("type") == "TenantMovedOut") & (pl.col("active_before") == 1))
            .sum()
            .cast(pl.Int64)
            .alias("move_outs"),
            (pl.col("active_area_u") - pl.col("active_area_before_u"))
            .clip(lower_bound=0)
            .sum()
            .alias("take_up_u"),
        )
        .join(codes, on="building_id")
        .drop("building_id")
    )

    # Tax: per month, year to date, and by the tenant's key industry at the period's month end,
    # summed over the reports' integer codes (millions of rows) and named per building after.
    ytd_from = (first_idx // 12) * 12
    tax = p.tax.filter(
        pl.col("month_idx").is_between(ytd_from, last_idx) & pl.col("_b").is_not_null()
    ).select("_b", "_t", "month_idx", "amount_fen")
    tax_b = p.tax_by_month.lazy().filter(pl.col("month_idx").is_between(ytd_from, last_idx))
    # the panel's first year before its first month, for the year to date
    carried = (
        tax_b.filter(pl.col("month_idx") < first_idx)
        .group_by("_b")
        .agg(pl.col("tax_fen").sum().alias("_carried_fen"))
    )
    # Leading key industry at each month end (by occupied area; its tax YTD joins below): each
    # (building, industry) step holds from its month to the month before its next step, so the
    # months where the industry is present come from intervals, not from a grid of all pairs.
    leading_occ = (
        ind_steps.with_columns(_month_idx_of("date"))
        .unique(subset=["_b", "ki", "month_idx"], keep="last", maintain_order=True)
        .with_columns(
            pl.max_horizontal("month_idx", pl.lit(first_idx)).alias("_from"),
            pl.when(group_start(["_b", "ki"]).shift(-1).fill_null(True))
            .then(pl.lit(last_idx + 1))
            .otherwise(pl.min_horizontal(pl.col("month_idx").shift(-1), pl.lit(last_idx + 1)))
            .alias("_to"),
        )
        .filter((pl.col("n") > 0) & (pl.col("_from") < pl.col("_to")))
        .select(
            "_b",
            "ki",
            "a",
            "n",
            pl.int_ranges("_from", "_to", dtype=pl.Int32).alias("month_idx"),
        )
        .explode("month_idx")
        .collect(engine=ENGINE)
    )
    leading_occ = _leaders(leading_occ).with_columns(
        (pl.col("month_idx") // 12).cast(pl.Int32).alias("year"),
        pl.lit(pl.Series(key_industry_order(p.key_industries)))
        .gather(pl.col("ki"))
        .alias("key_industry"),
    )
    lead_pairs = leading_occ.lazy().select("_b", "ki").unique()
    tax_k = _industry_tax_ytd(p, tax, lead_pairs)
    # (building, industry, year) as one integer; the leaders come by (building, month), so each
    # such group is in month order, as the as-of join needs
    group = (_pair_key() * 4096 + pl.col("year")).alias("_g")
    leading = (
        leading_occ.lazy()
        .with_columns(group)
        .join_asof(
            tax_k.select(group, "month_idx", "lead_ytd_fen"),
            on="month_idx",
            by="_g",
            check_sortedness=False,
        )
        .select(
            "_b",
            "month_idx",
            pl.col("key_industry").alias("leading_industry"),
            pl.col("a").alias("lead_a"),
            pl.col("n").alias("lead_n"),
            pl.col("lead_ytd_fen").fill_null(0),
        )
    )

    # in the grid's order (building, month) throughout: the year to date is a running sum
    first_year = pl.col("month_idx") < ytd_from + 12
    bm = ["_b", "month_idx"]
    panel = (
        _steps_at(steps, attrs, ["_b"], occ_cols)
        .join(flows, on=bm, how="left", maintain_order="left")
        .join(
            tax_b.filter(pl.col("month_idx") >= first_idx), on=bm, how="left", maintain_order="left"
        )
        .join(carried, on="_b", how="left", maintain_order="left")
        .with_columns(
            (
                group_cum_sum(pl.col("tax_fen").fill_null(0), ["_b", "year"])
                + pl.when(first_year).then(pl.col("_carried_fen").fill_null(0)).otherwise(0)
            ).alias("ytd_fen")
        )
        .join(leading, on=bm, how="left", maintain_order="left")
    )
    panel = building_texts(p, panel).join(codes, on="_b", how="left", maintain_order="left")
    tenancy_area = pl.col("c_area") * PER_AREA_UNIT
    panel = panel.select(
        "building_id",
        "month",
        "month_end",
        "name",
        "district",
        "street",
        "category",
        "grade",
        "standalone",
        "gross_floor_area_m2",
        "rentable_area_m2",
        "completed_on",
        "retired_on",
        "registered",
        "in_scope",
        pl.min_horizontal(tenancy_area, pl.col("rentable_area_m2")).alias("occupied_area_m2"),
        tenancy_area.alias("tenancy_area_m2"),
        pl.col("c_n").alias("tenancies"),
        pl.col("c_reg").alias("registered_tenancies"),
        pl.col("c_hq").alias("headquarters_tenancies"),
        (pl.col("tax_fen").fill_null(0) * PER_FEN).alias("tax_yuan"),
        (pl.col("ytd_fen").fill_null(0) * PER_FEN).alias("tax_yuan_ytd"),
        pl.col("move_ins").fill_null(0),
        pl.col("move_outs").fill_null(0),
        (pl.col("take_up_u").fill_null(0) * PER_AREA_UNIT).alias("gross_take_up_m2"),
        pl.col("completed_on")
        .is_between(pl.col("month_start"), pl.col("month_end"))
        .fill_null(False)
        .alias("completed_in_month"),
        pl.col("retired_on")
        .is_between(pl.col("month_start"), pl.col("month_end"))
        .fill_null(False)
        .alias("retired_in_month"),
        "featured_designated",
        "designated_industry",
        "leading_industry",
        (pl.col("lead_a") / pl.col("c_area")).alias("leading_area_share"),
        (pl.col("lead_n") / pl.col("c_n")).alias("leading_tenancy_share"),
        pl.when(pl.col("leading_industry").is_not_null() & (pl.col("ytd_fen").fill_null(0) > 0))
        .then(pl.col("lead_ytd_fen") / pl.col("ytd_fen"))
        .alias("leading_tax_share_ytd"),
    )
    out = panel.collect(engine=ENGINE)
    return frames.validate(frames.BuildingMonth, out)
