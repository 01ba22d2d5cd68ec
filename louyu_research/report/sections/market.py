"""三、楼宇市场: supply, absorption, take-up and vacancy by quarter; this quarter's new leases by
key industry."""

from __future__ import annotations

import polars as pl

from louyu_research.report import charts as ch
from louyu_research.report.inputs import ReportInputs
from louyu_research.report.tables import Column, Table

from . import words
from .common import Section, industry_names, pct, points


def market_frame(inputs: ReportInputs) -> pl.DataFrame:
    """By quarter: new supply, net absorption, gross take-up (sums of the months) and the
    vacancy rate at the quarter's last month (complete quarters up to this one)."""
    month_number = pl.col("month").str.slice(5, 2).cast(pl.Int32)
    c = inputs.city.with_columns(
        (
            pl.col("month").str.slice(0, 4) + "Q" + ((month_number - 1) // 3 + 1).cast(pl.String)
        ).alias("quarter")
    )
    q = (
        c.group_by("quarter")
        .agg(
            pl.len().alias("months"),
            pl.col("new_supply_m2").sum(),
            pl.col("net_absorption_m2").sum(),
            pl.col("gross_take_up_m2").sum(),
            pl.col("vacant_area_m2").sort_by("month").last(),
            pl.col("rentable_area_m2").sort_by("month").last(),
        )
        .filter(pl.col("months") == 3)
        .with_columns((pl.col("vacant_area_m2") / pl.col("rentable_area_m2")).alias("vacancy_rate"))
        .sort("quarter")
    )
    return q.filter(pl.col("quarter") <= str(inputs.quarter)).drop("months")


def leasing_by_industry(inputs: ReportInputs, lang: str) -> pl.DataFrame:
    """Area of tenancies that started in the quarter and are in place at its end, in in-scope
    buildings, by key industry (largest first; no key industry counts as `other`)."""
    start = inputs.quarter.first_month.first_day
    scope = inputs.buildings.filter(pl.col("in_scope")).select("building_id")
    ten = inputs.tenancies.join(scope, on="building_id", how="semi")
    since = "since" if "since" in ten.columns else "moved_in_on"
    out = (
        ten.filter(pl.col(since) >= start)
        .with_columns(pl.col("key_industry").fill_null("other"))
        .group_by("key_industry")
        .agg(pl.col("area_m2").sum().alias("take_up_m2"))
    )
    return out.with_columns(
        industry_names(inputs, "key_industry", lang).alias("industry_label")
    ).sort(["take_up_m2", "key_industry"], descending=[True, False])


def market_table(inputs: ReportInputs, lang: str) -> Table:
    label = words.label
    cols = (
        Column("quarter", label("quarter", lang)),
        Column("new_supply_m2", label("new_supply_m2", lang), "area"),
        Column("net_absorption_m2", label("net_absorption_m2", lang), "area"),
        Column("gross_take_up_m2", label("gross_take_up_m2", lang), "area"),
        Column("vacant_area_m2", label("vacant_area_m2", lang), "area"),
        Column("vacancy_rate", label("vacancy_rate", lang), "pct"),
    )
    title = words.text("market.table", lang)
    return Table("market", title, market_frame(inputs).sort("quarter"), cols, sheet=title)


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    q = market_frame(inputs)
    label = words.label
    m2 = words.text("unit.m2", lang)
    names = {c: label(c, lang) for c in ("new_supply_m2", "net_absorption_m2")}
    long = (
        q.select("quarter", "new_supply_m2", "net_absorption_m2", "vacancy_rate")
        .unpivot(
            index=["quarter", "vacancy_rate"],
            on=["new_supply_m2", "net_absorption_m2"],
            variable_name="measure_code",
            value_name="area",
        )
        .with_columns(pl.col("measure_code").replace_strict(names).alias("measure"))
        .sort("quarter", "measure_code")
    )
    rows = {r["quarter"]: r for r in q.to_dicts()}
    now = rows.get(str(inputs.quarter))
    prev_q = rows.get(str(inputs.quarter.shift(-1)))
    prev_y = rows.get(str(inputs.quarter.shift(-4)))

    def chg(before: dict | None) -> str:
        if now is None or before is None:
            return "—"
        return points(now["vacancy_rate"] - before["vacancy_rate"], lang)

    supply = ch.Figure(
        "market_supply_absorption",
        ch.market_chart(
            long,
            period="quarter",
            measure="measure",
            value="area",
            line="vacancy_rate",
            title=words.text(
                "market.chart.supply_absorption",
                lang,
                vacancy=pct(now["vacancy_rate"]) if now else "—",
                change=chg(prev_y),
            ),
            bars_title=words.text("market.axis.area", lang),
            line_title=words.text("market.axis.vacancy", lang),
            x_title=label("quarter", lang),
        ),
    )
    lease = leasing_by_industry(inputs, lang)
    total = lease.get_column("take_up_m2").sum() if lease.height else 0.0
    named = lease.filter(pl.col("key_industry") != "other")
    first = named.row(0, named=True) if named.height else None
    leasing = ch.Figure(
        "leasing_by_industry",
        ch.bar_chart(
            lease,
            category="industry_label",
            value="take_up_m2",
            title=(
                words.text(
                    "market.chart.leasing",
                    lang,
                    industry=first["industry_label"],
                    share=pct(first["take_up_m2"] / total if total else None),
                )
                if first
                else words.text("market.chart.leasing.none", lang)
            ),
            value_title=words.text("market.axis.area", lang),
        ),
    )
    text = ""
    if now:
        text = words.text(
            "market.text",
            lang,
            new_supply=now["new_supply_m2"],
            net_absorption=now["net_absorption_m2"],
            gross_take_up=now["gross_take_up_m2"],
            vacancy=pct(now["vacancy_rate"]),
        )
        if prev_q or prev_y:
            text += words.text(
                "market.text.changes",
                lang,
                chg_q=chg(prev_q),
                chg_y=chg(prev_y),
                take_up_y=(
                    f"{now['gross_take_up_m2'] - prev_y['gross_take_up_m2']:+,.0f} {m2}"
                    if prev_y
                    else "—"
                ),
            )
    blocks = (text, supply, leasing)
    return Section("market", lang, edition, words.text("market.heading", lang), blocks)
