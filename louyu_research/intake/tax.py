"""Tax by taxpayer (the tax bureaus' monthly files) → `TaxReported` per tenancy.

Tax files are by taxpayer, not by building (INTAKE.md). A taxpayer is matched to the log's
enterprises by its 18-character unified social credit code, or by a legacy 15-character
税务登记号, which is the 6-digit area code followed by the 9-character organisation code
that a USCC carries at characters 9–17. The tax of a period goes to the enterprise's tenancies
active in that period (on any day of it): one tenancy takes it all; of several, the one
registered in its building (是否注册在本楼) takes it, and otherwise (or with the setting
`attribution="area"`) it is split by area, in fen, the rounding carried so the parts add up
exactly. Taxpayers that match no tenancy are counted and listed, never errors: most of a city's
enterprises are not in buildings.

征收机关 says which bureau sent a row: 国税 → part `national`, 地税 → `local` (before the 2018
merger they reported apart), 税务 or empty → the total. A report equal to the latest one the
log holds for the same (tenant, building, period, part) produces nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from ..replay.log import Prepared
from .change import Change, draft, month_end, month_start, source_of, standing_events
from .issues import Issue
from .table import Table

KIND = "tax"
FEN = 100


@dataclass(frozen=True)
class TaxSettings:
    attribution: Literal["registered", "area"] = "registered"


def _issue(row: dict[str, Any], column: str | None, zh: str, en: str) -> Issue:
    return Issue(row["_file"], row["_sheet"], row["_row"], column, zh, en)


def _checks(table: Table, f: pl.DataFrame, month: str | None, issues: list[Issue]) -> None:
    h = table.header
    key = ["taxpayer_id", "period", "part"]
    dup = f.filter(
        pl.col("taxpayer_id").is_not_null()
        & pl.col("period").is_not_null()
        & pl.struct(key).is_duplicated()
    ).with_columns(pl.col("_row").min().over(key).alias("_first"))
    for r in dup.filter(pl.col("_row") != pl.col("_first")).iter_rows(named=True):
        issues.append(
            _issue(
                r,
                h(r["_file"], r["_sheet"], "taxpayer_id"),
                f"纳税人 {r['taxpayer_id']} 的 {r['period']} 税收重复（另见第{r['_first']}行）",
                f"taxpayer {r['taxpayer_id']} appears twice for {r['period']} (see row {r['_first']})",
            )
        )
    both = f.filter(
        (pl.col("part").is_null().any() & pl.col("part").is_not_null().any()).over(
            "taxpayer_id", "period"
        )
        & pl.col("part").is_not_null()
    )
    for r in both.iter_rows(named=True):
        issues.append(
            _issue(
                r,
                h(r["_file"], r["_sheet"], "bureau"),
                f"纳税人 {r['taxpayer_id']} 的 {r['period']} 税收既有合计又有国税/地税分项：请只报一种",
                f"taxpayer {r['taxpayer_id']} has both a total and a bureau's part for {r['period']}: send one form",
            )
        )
    if month is not None:
        for r in f.filter(pl.col("period") > month).iter_rows(named=True):
            issues.append(
                _issue(
                    r,
                    h(r["_file"], r["_sheet"], "period"),
                    f"税款所属期 {r['period']} 晚于本期 {month}",
                    f"period {r['period']} is after the month {month}",
                )
            )


def match_taxpayers(f: pl.DataFrame, tenant_ids: pl.Series) -> pl.DataFrame:
    """`f` with `tenant_id` (null when unmatched) and `match` (uscc · legacy · none · ambiguous)."""
    known = pl.DataFrame({"tenant_id": tenant_ids.unique()})
    direct = known.select(pl.col("tenant_id").alias("_direct"))
    by_org = (
        known.filter(pl.col("tenant_id").str.len_chars() == 18)
        .with_columns(pl.col("tenant_id").str.slice(8, 9).alias("_org"))
        .group_by("_org")
        .agg(pl.col("tenant_id").sort().alias("_by_org"))
    )
    legacy = pl.col("taxpayer_id").str.len_chars() == 15
    out = (
        f.with_row_index("_i")
        .join(direct, left_on="taxpayer_id", right_on="_direct", how="left", coalesce=False)
        .with_columns(pl.when(legacy).then(pl.col("taxpayer_id").str.slice(6, 9)).alias("_org"))
        .join(by_org, on="_org", how="left")
        .sort("_i")
    )
    n_org = pl.col("_by_org").list.len().fill_null(0)
    return out.with_columns(
        pl.when(pl.col("_direct").is_not_null())
        .then(pl.col("_direct"))
        .when(legacy & (n_org == 1))
        .then(pl.col("_by_org").list.first())
        .alias("tenant_id"),
        pl.when(pl.col("_direct").is_not_null())
        .then(pl.lit("uscc"))
        .when(legacy & (n_org == 1))
        .then(pl.lit("legacy"))
        .when(legacy & (n_org > 1))
        .then(pl.lit("ambiguous"))
        .otherwise(pl.lit("none"))
        .alias("match"),
    ).drop("_direct", "_org", "_by_org", "_i")


def tenancies_in_period(p: Prepared, periods: list[str]) -> pl.DataFrame:
    """Tenancies active on some day of each period (as recorded at the preparation's cut-off):
    tenant_id, building_id, period, area_m2 and registered_here on the last such day."""
    parts = []
    events = p.tenancy_events.lazy()
    for period in periods:
        start, end = month_start(period), month_end(period)
        last = (
            events.filter(pl.col("occurred_on") <= end)
            .unique(subset=["tenant_id", "building_id"], keep="last", maintain_order=True)
            .filter(
                (pl.col("active") == 1)
                | (
                    (pl.col("type") == "TenantMovedOut")
                    & (pl.col("occurred_on") >= start)
                    & (pl.col("active_before") == 1)
                )
            )
        )
        parts.append(
            last.select(
                "tenant_id",
                "building_id",
                pl.lit(period).alias("period"),
                (pl.col("area_u") / 10_000).alias("area_m2"),
                pl.col("registered_here").fill_null(False),
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={
                "tenant_id": pl.String,
                "building_id": pl.String,
                "period": pl.String,
                "area_m2": pl.Float64,
                "registered_here": pl.Boolean,
            }
        )
    return pl.concat(pl.collect_all(parts))


def attribute(
    matched: pl.DataFrame, candidates: pl.DataFrame, how: Literal["registered", "area"]
) -> pl.DataFrame:
    """Each matched row's amount over its tenancies in its period: one row per (row, building)
    with `amount_fen` and `attribution` (single · registered · area)."""
    c = matched.select("_key", "tenant_id", "period", "fen").join(
        candidates, on=["tenant_id", "period"], how="inner"
    )
    c = c.with_columns(
        pl.len().over("_key").alias("_n"),
        pl.col("registered_here").sum().over("_key").alias("_n_reg"),
    )
    if how == "registered":
        single_reg = (pl.col("_n") > 1) & (pl.col("_n_reg") == 1)
        c = c.filter(~single_reg | pl.col("registered_here"))
        rule = (
            pl.when(pl.col("_n") == 1)
            .then(pl.lit("single"))
            .when(single_reg)
            .then(pl.lit("registered"))
            .otherwise(pl.lit("area"))
        )
    else:
        rule = pl.when(pl.col("_n") == 1).then(pl.lit("single")).otherwise(pl.lit("area"))
    c = c.with_columns(rule.alias("attribution")).sort("_key", "building_id")
    # by area: the cumulative share rounded to the fen, so the parts add up to the whole
    cum_area = pl.col("area_m2").cum_sum().over("_key")
    total_area = pl.col("area_m2").sum().over("_key")
    c = c.with_columns(
        (pl.col("fen") * cum_area / total_area).round(0).cast(pl.Int64).alias("_cum_fen")
    )
    prev = pl.col("_cum_fen").shift(1, fill_value=0).over("_key")
    return c.with_columns(
        pl.when(pl.col("attribution") == "area")
        .then(pl.col("_cum_fen") - prev)
        .otherwise(pl.col("fen"))
        .alias("amount_fen")
    ).select("_key", "tenant_id", "building_id", "period", "amount_fen", "attribution", "area_m2")


def latest_reports(events: pl.LazyFrame, periods: list[str]) -> pl.DataFrame:
    """The latest effective `TaxReported` per (tenant, building, period, part) of these periods,
    from the log's events (`EventLog.scan`)."""
    return (
        standing_events(events)
        .filter((pl.col("type") == "TaxReported") & pl.col("period").is_in(periods))
        .select("seq", "tenant_id", "building_id", "period", "part", "amount_yuan")
        .sort("seq")
        .unique(subset=["tenant_id", "building_id", "period", "part"], keep="last")
        .select(
            "tenant_id",
            "building_id",
            "period",
            "part",
            (pl.col("amount_yuan") * FEN).round(0).cast(pl.Int64).alias("_logged_fen"),
        )
        .collect()
    )


def tax_change(
    table: Table,
    events: pl.LazyFrame,
    prepared: Prepared,
    month: str | None,
    position: dict[str, Any],
    settings: TaxSettings | None = None,
) -> tuple[Change, list[Issue]]:
    """The tax reports a tax file adds to the log, and every issue found: `events` are the
    log's events (`EventLog.scan`) and `prepared` their preparation at the same head (its
    tenancies and tenants; its tax is not read, so a preparation without the tax reports
    serves)."""
    settings = settings or TaxSettings()
    issues = list(table.issues)
    f = table.frame.rename({"bureau": "part"}).with_columns(
        pl.when(pl.col("part") != "").then(pl.col("part")).alias("part")
    )
    _checks(table, f, month, issues)
    change = Change(KIND, month, sorted(set(f["_file"].to_list())), position)
    if issues:
        return change, issues

    f = f.with_row_index("_key").with_columns(
        (pl.col("amount") * FEN).round(0).cast(pl.Int64).alias("fen")
    )
    m = match_taxpayers(f, prepared.tenant_codes["tenant_id"])
    periods = sorted(m["period"].unique().to_list())
    candidates = tenancies_in_period(prepared, periods)
    parts = attribute(m.filter(pl.col("tenant_id").is_not_null()), candidates, settings.attribution)
    placed = m.join(parts.select("_key").unique(), on="_key", how="semi")
    no_tenancy = m.filter(pl.col("tenant_id").is_not_null()).join(
        parts.select("_key").unique(), on="_key", how="anti"
    )
    unmatched = pl.concat(
        [
            m.filter(pl.col("tenant_id").is_null()),
            no_tenancy.with_columns(pl.lit("no_tenancy").alias("match")),
        ]
    )

    rows = parts.join(
        m.select(
            "_key", "part", "taxpayer_id", "taxpayer_name", "_file", "_sheet", "_row", "match"
        ),
        on="_key",
    )
    logged = latest_reports(events, periods)
    rows = rows.join(
        logged, on=["tenant_id", "building_id", "period", "part"], how="left", nulls_equal=True
    )
    new = rows.filter(pl.col("_logged_fen").ne_missing(pl.col("amount_fen")))
    drafts = []
    for r in new.sort("_key", "building_id").iter_rows(named=True):
        data = {
            "tenant_id": r["tenant_id"],
            "building_id": r["building_id"],
            "period": r["period"],
            "amount_yuan": round(r["amount_fen"] / FEN, 2),
            "part": r["part"],
        }
        drafts.append(
            draft(
                KIND,
                r["period"],
                "TaxReported",
                month_end(r["period"]),
                data,
                source_of(r["_file"], r["_sheet"], r["_row"]),
                keys=[r["building_id"], r["tenant_id"], *([r["part"]] if r["part"] else [])],
                before=r["_logged_fen"],
            )
        )
    change.drafts = drafts
    split = rows.filter(pl.col("attribution") == "area")
    change.report = {
        "matched": rows.select(
            "taxpayer_id",
            "taxpayer_name",
            "tenant_id",
            "match",
            "building_id",
            "period",
            "part",
            (pl.col("amount_fen") / FEN).alias("amount_yuan"),
            "attribution",
            pl.col("_logged_fen").is_not_null().alias("already_logged"),
            "_file",
            "_row",
        ).sort("_file", "_row", "building_id"),
        "unmatched": unmatched.select(
            "taxpayer_id",
            "taxpayer_name",
            "period",
            "part",
            "amount",
            pl.col("match").alias("reason"),
            "_file",
            "_row",
        ).sort("_file", "_row"),
        "split": split.select(
            "taxpayer_id",
            "taxpayer_name",
            "tenant_id",
            "building_id",
            "period",
            "area_m2",
            (pl.col("amount_fen") / FEN).alias("amount_yuan"),
            "attribution",
        ).sort("taxpayer_id", "period", "building_id"),
    }
    change.summary = (
        rows.group_by("building_id")
        .agg(
            pl.len().alias("tax_rows"),
            (pl.col("amount_fen").sum() / FEN).alias("tax_yuan"),
            (pl.col("attribution") == "area").sum().cast(pl.Int64).alias("split"),
            pl.col("_logged_fen")
            .ne_missing(pl.col("amount_fen"))
            .sum()
            .cast(pl.Int64)
            .alias("new"),
        )
        .join(
            prepared.building_versions.unique("building_id", keep="last").select(
                "building_id", "name"
            ),
            on="building_id",
            how="left",
        )
        .select("building_id", "name", "tax_rows", "new", "tax_yuan", "split")
        .sort("building_id")
    )
    legacy = placed.filter(pl.col("match") == "legacy").height
    change.notes.append(
        f"纳税人 {m.height} 行：匹配楼宇企业 {placed.height} 行（其中按15位税务登记号匹配 {legacy} 行），"
        f"未匹配 {unmatched.height} 行，分摊 {split['_key'].n_unique()} 行 / "
        f"{m.height} taxpayer rows: {placed.height} matched to tenancies ({legacy} by a legacy "
        f"15-character number), {unmatched.height} unmatched, {split['_key'].n_unique()} split"
    )
    return change, issues
