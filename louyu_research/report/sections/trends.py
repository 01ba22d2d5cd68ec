"""二、月度走势: the plan's indicators month by month since the log starts, with the targets."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from louyu_research.report import charts as ch
from louyu_research.report.inputs import ReportInputs

from . import words
from .common import Section, pct


def trend_series(
    inputs: ReportInputs, indicators: Sequence[str], lang: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(values, targets) of some plan indicators for a trend chart: one row per indicator and
    month (`date`, `value`, `series` = the plan's name); the targets repeated on every month
    of their year."""
    city = inputs.city.select("month", *indicators).with_columns(
        pl.col("month").str.to_date("%Y-%m").alias("date")
    )
    data = (
        city.select("date", *indicators)
        .unpivot(index="date", variable_name="indicator", value_name="value")
        .with_columns(words.plan_labels(lang).alias("series"))
        .drop_nulls("value")
        .sort("indicator", "date")
    )
    months = city.select("date", pl.col("date").dt.year().cast(pl.Int64).alias("year"))
    targets = inputs.targets.select(pl.col("year").cast(pl.Int64), "indicator", "target").filter(
        pl.col("indicator").is_in(list(indicators))
    )
    tg = (
        months.join(targets, on="year")
        .with_columns(words.plan_labels(lang).alias("series"))
        .sort("indicator", "date")
    )
    return data, tg


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    charts = (
        ("trend_rates", "rates", ("occupancy_rate", "registration_rate"), True),
        ("trend_tax_share", "tax_share", ("tax_share_ytd",), True),
        ("trend_counts", "counts", ("featured_buildings", "key_buildings"), False),
    )
    figs = []
    for name, key, indicators, percent in charts:
        data, targets = trend_series(inputs, indicators, lang)
        chart = ch.trend_chart(
            data,
            x="date",
            y="value",
            series="series",
            title=words.text(f"trends.chart.{key}", lang),
            y_title="",
            targets=targets,
            percent=percent,
        )
        figs.append(ch.Figure(name, chart))
    last = inputs.city.filter(pl.col("month") == str(inputs.month)).row(0, named=True)
    first = inputs.city.row(0, named=True)
    text = words.text(
        "trends.text",
        lang,
        first=first["month"],
        occupancy_first=pct(first["occupancy_rate"]),
        occupancy_last=pct(last["occupancy_rate"]),
        registration_first=pct(first["registration_rate"]),
        registration_last=pct(last["registration_rate"]),
    )
    return Section("trends", lang, edition, words.text("trends.heading", lang), (text, *figs))
