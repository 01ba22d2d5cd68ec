"""The finance bureau's revenue (全市税收收入) → `CityTaxReported` per period (and district).

An empty 区县 is the whole city. A district must be one of the city's divisions (its profile). A figure equal to the latest one the log holds for the same (period, district)
produces nothing; a different one restates it. The latest figures are read off the log's
`CityTaxReported` events (`latest_city_tax`: the replay's rule, latest per period and district,
retractions applied), without a replay of the city's buildings and tenancies.
"""

from __future__ import annotations

import difflib
from typing import Any

import polars as pl

from .change import Change, draft, month_end, source_of, standing_events
from .issues import Issue
from .table import Table

KIND = "city-tax"
FEN = 100


def latest_city_tax(events: pl.LazyFrame) -> pl.DataFrame:
    """The latest standing `CityTaxReported` per (period, district) of the log's events
    (`EventLog.scan`): period, district, amount_yuan (what a replay's `city_tax` frame holds)."""
    return (
        standing_events(events)
        .filter(pl.col("type") == "CityTaxReported")
        .select("seq", "period", "district", "amount_yuan")
        .sort("seq")
        .unique(subset=["period", "district"], keep="last")
        .select("period", "district", "amount_yuan")
        .collect()
    )


def city_tax_change(
    table: Table,
    logged: pl.DataFrame,
    month: str | None,
    position: dict[str, Any],
    divisions: pl.DataFrame,
) -> tuple[Change, list[Issue]]:
    issues = list(table.issues)
    f = table.frame
    div = divisions
    districts = div.filter(pl.col("level").is_in(["district", "zone"]))["name"].to_list()
    for r in f.filter(
        pl.col("district").is_not_null() & ~pl.col("district").is_in(districts)
    ).iter_rows(named=True):
        hint = "、".join(difflib.get_close_matches(r["district"], districts, n=3, cutoff=0.3))
        issues.append(
            Issue(
                r["_file"],
                r["_sheet"],
                r["_row"],
                table.header(r["_file"], r["_sheet"], "district"),
                f"「{r['district']}」不是本市区县" + (f"，是否为：{hint}？" if hint else ""),
                f"{r['district']!r} is not a district of the city"
                + (f"; did you mean {hint}?" if hint else ""),
            )
        )
    key = ["period", "district"]
    for r in f.filter(pl.struct(key).is_duplicated() & pl.col("period").is_not_null()).iter_rows(
        named=True
    ):
        issues.append(
            Issue(
                r["_file"],
                r["_sheet"],
                r["_row"],
                table.header(r["_file"], r["_sheet"], "period"),
                f"{r['period']} {r['district'] or '全市'} 的税收收入重复",
                f"{r['period']} {r['district'] or 'city'} is listed twice",
            )
        )
    if month is not None:
        for r in f.filter(pl.col("period") > month).iter_rows(named=True):
            issues.append(
                Issue(
                    r["_file"],
                    r["_sheet"],
                    r["_row"],
                    table.header(r["_file"], r["_sheet"], "period"),
                    f"所属期 {r['period']} 晚于本期 {month}",
                    f"period {r['period']} is after the month {month}",
                )
            )
    change = Change(KIND, month, sorted(set(f["_file"].to_list())), position)
    if issues:
        return change, issues
    logged = logged.select(
        "period", "district", (pl.col("amount_yuan") * FEN).round(0).cast(pl.Int64).alias("_logged")
    )
    rows = f.with_columns((pl.col("amount") * FEN).round(0).cast(pl.Int64).alias("fen")).join(
        logged, on=key, how="left", nulls_equal=True, maintain_order="left"
    )
    new = rows.filter(pl.col("_logged").ne_missing(pl.col("fen")))
    change.drafts = [
        draft(
            KIND,
            r["period"],
            "CityTaxReported",
            month_end(r["period"]),
            {
                "period": r["period"],
                "amount_yuan": round(r["fen"] / FEN, 2),
                "district": r["district"],
            },
            source_of(r["_file"], r["_sheet"], r["_row"]),
            keys=[r["district"] or "city"],
            before=r["_logged"],
        )
        for r in new.iter_rows(named=True)
    ]
    change.summary = rows.select(
        "period",
        pl.col("district").fill_null("全市"),
        (pl.col("fen") / FEN).alias("amount_yuan"),
        (pl.col("_logged") / FEN).alias("logged_yuan"),
        pl.col("_logged").ne_missing(pl.col("fen")).alias("new"),
    ).sort("period", "district")
    return change, issues
