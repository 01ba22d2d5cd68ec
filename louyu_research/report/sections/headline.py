"""一、主要指标完成情况: the plan's five indicators at the quarter's end against the year's
targets, and every plan year's targets."""

from __future__ import annotations

import polars as pl

from louyu_research.indicators.figures import PLAN_INDICATORS
from louyu_research.report.inputs import RATE_INDICATORS, ReportInputs
from louyu_research.report.tables import Column, Table

from . import words
from .common import Section, fmt_value, met_label, month_fields, points


def headline_frame(inputs: ReportInputs) -> pl.DataFrame:
    """The five indicators at the quarter's end (`now`) against the year's target: the gap,
    whether it is met, the straight-line monthly pace from the quarter's end that reaches the
    target by December (0 when met, empty in December), and the changes on the previous
    quarter's end (`chg_q`) and on the same month a year before (`chg_y`). Plan order."""
    month = inputs.month
    months = {
        "now": str(month),
        "prev_q": str(inputs.quarter.shift(-1).last_month),
        "prev_y": str(month.shift(-12)),
    }
    long = inputs.city.select("month", *PLAN_INDICATORS).unpivot(
        index="month", variable_name="indicator", value_name="value"
    )
    at = {
        k: long.filter(pl.col("month") == m).select("indicator", pl.col("value").alias(k))
        for k, m in months.items()
    }
    tgt = inputs.targets.filter(pl.col("year") == month.year).select(
        "indicator", "target", "comparison", "pace_needed_per_month", "months_left"
    )
    order = pl.DataFrame(
        {"indicator": list(PLAN_INDICATORS), "order": list(range(len(PLAN_INDICATORS)))}
    )
    frame = order.join(at["now"], on="indicator", how="left")
    for k in ("prev_q", "prev_y"):
        frame = frame.join(at[k], on="indicator", how="left")
    frame = frame.join(tgt, on="indicator", how="left").with_columns(
        (pl.col("now") - pl.col("target")).alias("gap"),
        pl.when(pl.col("target").is_null())
        .then(None)
        .when(pl.col("comparison") == "<=")
        .then(pl.col("now") <= pl.col("target"))
        .otherwise(pl.col("now") >= pl.col("target"))
        .alias("met"),
        (pl.col("now") - pl.col("prev_q")).alias("chg_q"),
        (pl.col("now") - pl.col("prev_y")).alias("chg_y"),
        pl.col("indicator").is_in(list(RATE_INDICATORS)).alias("is_rate"),
    )
    left = 12 - month.month
    frame = frame.with_columns(
        pl.when(pl.col("met"))
        .then(0.0)
        .when(pl.lit(left) > 0)
        .then((pl.col("target") - pl.col("now")) / left)
        .otherwise(None)
        .alias("pace")
    )
    return frame.sort("order")


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    f = headline_frame(inputs)
    rows = f.to_dicts()
    items = [
        words.text(
            "headline.item.met" if r["met"] else "headline.item.unmet",
            lang,
            name=words.plan_label(r["indicator"], lang),
            value=fmt_value(r["indicator"], r["now"]),
            target=fmt_value(r["indicator"], r["target"]),
        )
        for r in rows
    ]
    lead = words.text(
        "headline.lead",
        lang,
        met=sum(1 for r in rows if r["met"]),
        items=words.text("list.separator", lang).join(items),
        **month_fields(inputs),
    )
    shown = f.with_columns(
        words.plan_labels(lang).alias("indicator_label"), met_label(lang).alias("met_label")
    )
    w = {
        k: words.text(f"headline.{k}", lang)
        for k in ("now", "target", "met", "pace", "chg_q", "chg_y")
    }
    table = Table(
        "headline",
        words.text("headline.table", lang),
        shown,
        (
            Column("indicator_label", words.label("indicator", lang)),
            Column("now", w["now"], "mixed", percent_if="is_rate"),
            Column("target", w["target"], "mixed", percent_if="is_rate"),
            Column("gap", words.label("gap", lang), "mixed_delta", percent_if="is_rate"),
            Column("met_label", w["met"]),
            Column("pace", w["pace"], "mixed_delta", percent_if="is_rate"),
            Column("chg_q", w["chg_q"], "mixed_delta", percent_if="is_rate"),
            Column("chg_y", w["chg_y"], "mixed_delta", percent_if="is_rate"),
        ),
        notes=(words.text("headline.note", lang),),
        sheet=words.text("headline.sheet", lang),
    )

    def changes(key: str) -> str:
        parts = [
            words.text(
                "headline.change",
                lang,
                name=words.plan_label(r["indicator"], lang),
                change=(
                    points(r[key], lang)
                    if r["is_rate"]
                    else ("—" if r[key] is None else f"{r[key]:+,.0f}")
                ),
            )
            for r in rows
            if r[key] is not None
        ]
        return words.text("list.names", lang).join(parts) or words.text("summary.none", lang)

    lead += words.text("headline.changes", lang, chg_q=changes("chg_q"), chg_y=changes("chg_y"))
    heading = words.text("headline.heading", lang)
    return Section("headline", lang, edition, heading, (lead, table))


def targets_table(inputs: ReportInputs, lang: str) -> Table:
    """Every plan year's targets: value at the year's last month with data, target, gap, met."""
    order = pl.DataFrame(
        {"indicator": list(PLAN_INDICATORS), "order": list(range(len(PLAN_INDICATORS)))}
    )
    f = (
        inputs.targets.with_columns(
            words.plan_labels(lang).alias("indicator_label"),
            pl.col("indicator").is_in(list(RATE_INDICATORS)).alias("is_rate"),
            met_label(lang).alias("met_label"),
            pl.col("year").cast(pl.Int64),
        )
        .join(order, on="indicator")
        .sort("year", "order")
    )
    label = words.label
    cols = (
        Column("year", label("year", lang), "text_int"),
        Column("indicator_label", label("indicator", lang)),
        Column("month", label("month", lang)),
        Column("value", label("value", lang), "mixed", percent_if="is_rate"),
        Column("target", label("target", lang), "mixed", percent_if="is_rate"),
        Column("gap", label("gap", lang), "mixed_delta", percent_if="is_rate"),
        Column("met_label", label("met", lang)),
    )
    title = words.text("targets.table", lang)
    return Table("targets", title, f, cols, sheet=title)
