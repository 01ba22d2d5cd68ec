"""The industry structure at the quarter's end (occupied area by key industry), under 五: the
chart in the body, the table in the appendix (`appendix.market`)."""

from __future__ import annotations

import polars as pl

from louyu_research.report import charts as ch
from louyu_research.report.inputs import ReportInputs
from louyu_research.report.tables import Column, Table

from . import words
from .common import Section, industry_names, pct


def industry_structure(inputs: ReportInputs, lang: str) -> pl.DataFrame:
    """Tenancies in in-scope buildings at the quarter's end by key industry (none: `other`):
    how many, their area and its share of the occupied area; largest first."""
    scope = inputs.buildings.filter(pl.col("in_scope")).select("building_id")
    ten = inputs.tenancies.join(scope, on="building_id", how="semi").with_columns(
        pl.col("key_industry").fill_null("other")
    )
    total = ten.get_column("area_m2").sum()
    out = ten.group_by("key_industry").agg(pl.len().alias("tenancies"), pl.col("area_m2").sum())
    return out.with_columns(
        (pl.col("area_m2") / total if total else pl.lit(None, pl.Float64)).alias("occupied_share"),
        industry_names(inputs, "key_industry", lang).alias("industry_label"),
        pl.col("tenancies").cast(pl.Int64),
    ).sort(["area_m2", "key_industry"], descending=[True, False])


def industry_table(inputs: ReportInputs, lang: str) -> Table:
    label = words.label
    return Table(
        "industry_structure",
        words.text("industry.table", lang),
        industry_structure(inputs, lang),
        (
            Column("industry_label", label("key_industry", lang)),
            Column("tenancies", label("tenancies", lang), "int"),
            Column("area_m2", label("occupied_area_m2", lang), "area"),
            Column("occupied_share", label("occupied_share", lang), "pct"),
        ),
        sheet=words.text("industry.sheet", lang),
    )


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    struct = industry_structure(inputs, lang)
    key = struct.filter(pl.col("key_industry") != "other")
    lead = key.row(0, named=True) if key.height else None
    key_share = key.get_column("occupied_share").sum() if key.height else None
    title = (
        words.text(
            "industry.chart",
            lang,
            industry=lead["industry_label"],
            share=pct(lead["occupied_share"]),
            key_share=pct(key_share),
        )
        if lead
        else words.text("industry.chart.none", lang)
    )
    fig = ch.Figure(
        "industry_structure",
        ch.bar_chart(
            struct,
            category="industry_label",
            value="occupied_share",
            percent=True,
            title=title,
            value_title=words.text("industry.chart.axis", lang),
        ),
    )
    return Section("industry", lang, edition, "", (fig,))
