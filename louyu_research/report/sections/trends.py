"""二、月度走势: the plan's indicators month by month since the log starts, with the targets."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from louyu_research.indicators.figures import PLAN_INDICATORS as PLAN
from louyu_research.report import charts as ch
from louyu_research.report.inputs import ReportInputs

from . import words
from .common import Section, month_fields, pct, points


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


def key_by_year(inputs: ReportInputs, years: int = 3) -> pl.DataFrame:
    """The key-building count (a year-to-date measure) of the last `years` years up to the
    quarter's end, one row per year and month number."""
    last = inputs.month.year
    return (
        inputs.city.select("month", "key_buildings")
        .drop_nulls("key_buildings")
        .filter(pl.col("month") <= str(inputs.month))
        .with_columns(
            pl.col("month").str.slice(0, 4).cast(pl.Int64).alias("year"),
            pl.col("month").str.slice(5, 2).cast(pl.Int64).alias("month_number"),
        )
        .filter(pl.col("year") > last - years)
        .with_columns(pl.col("year").cast(pl.String))
        .sort("year", "month_number")
    )


def _at(inputs: ReportInputs, month: object, column: str) -> float | None:
    rows = inputs.city.filter(pl.col("month") == str(month)).get_column(column)
    return rows[0] if rows.len() else None


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    month = inputs.month
    cmp = inputs.compare_months()
    now = {c: _at(inputs, month, c) for c in PLAN}
    before_y = {c: _at(inputs, cmp["prev_y"], c) for c in PLAN}
    before_q = {c: _at(inputs, cmp["prev_q"], c) for c in PLAN}

    def chg(column: str, before: dict) -> str:
        if now[column] is None or before[column] is None:
            return "—"
        return points(now[column] - before[column], lang)

    target = {
        r["indicator"]: r["target"]
        for r in inputs.targets.filter(pl.col("year") == month.year).to_dicts()
    }
    month_title = words.label("month", lang)
    figs = []
    data, targets = trend_series(inputs, ("occupancy_rate", "registration_rate"), lang)
    figs.append(
        ch.Figure(
            "trend_rates",
            ch.trend_chart(
                data,
                x="date",
                y="value",
                series="series",
                title=words.text(
                    "trends.chart.rates",
                    lang,
                    occupancy=pct(now["occupancy_rate"]),
                    registration=pct(now["registration_rate"]),
                    chg_y=chg("occupancy_rate", before_y),
                    **month_fields(inputs),
                ),
                y_title=words.text("trends.axis.rate", lang),
                x_title=month_title,
                targets=targets,
                height=220,
            ),
        )
    )
    data, targets = trend_series(inputs, ("tax_share_ytd",), lang)
    figs.append(
        ch.Figure(
            "trend_tax_share",
            ch.trend_chart(
                data,
                x="date",
                y="value",
                series="series",
                title=words.text(
                    "trends.chart.tax_share",
                    lang,
                    value=pct(now["tax_share_ytd"]),
                    target=pct(target.get("tax_share_ytd")),
                    **month_fields(inputs),
                ),
                y_title=words.text("trends.axis.share", lang),
                x_title=month_title,
                targets=targets,
                height=180,
            ),
        )
    )
    featured_data, featured_targets = trend_series(inputs, ("featured_buildings",), lang)
    half = (ch.WIDTH - 40) // 2
    featured = ch.trend_chart(
        featured_data,
        x="date",
        y="value",
        series="series",
        title=words.text(
            "trends.chart.featured", lang, value=f"{now['featured_buildings'] or 0:,.0f}"
        ),
        y_title=words.text("trends.axis.buildings", lang),
        x_title=month_title,
        targets=featured_targets,
        percent=False,
        width=half,
        height=180,
    )
    key = ch.year_lines_chart(
        key_by_year(inputs),
        month="month_number",
        value="key_buildings",
        year="year",
        title=words.text(
            "trends.chart.key",
            lang,
            value=f"{now['key_buildings'] or 0:,.0f}",
            **month_fields(inputs),
        ),
        x_title=words.text("trends.axis.month_number", lang),
        y_title=words.text("trends.axis.buildings", lang),
        target=target.get("key_buildings"),
        width=half,
        height=180,
    )
    figs.append(ch.Figure("trend_counts", alt.hconcat(featured, key, spacing=30)))
    first = inputs.city.row(0, named=True)
    text = words.text(
        "trends.text",
        lang,
        first=first["month"],
        occupancy_first=pct(first["occupancy_rate"]),
        occupancy_last=pct(now["occupancy_rate"]),
        registration_first=pct(first["registration_rate"]),
        registration_last=pct(now["registration_rate"]),
        occupancy_chg_q=chg("occupancy_rate", before_q),
        occupancy_chg_y=chg("occupancy_rate", before_y),
        registration_chg_y=chg("registration_rate", before_y),
        tax_share_chg_y=chg("tax_share_ytd", before_y),
    )
    return Section("trends", lang, edition, words.text("trends.heading", lang), (text, *figs))
