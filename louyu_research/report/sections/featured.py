"""五、专业楼宇、千万元楼: featured buildings (rule vs designation) and key buildings (tax YTD
of ¥10m or more; their tax held to disclosure control in the public edition). The body shows
the ten largest key buildings; both full lists are in the appendix (`appendix.buildings`)."""

from __future__ import annotations

import polars as pl

from louyu_research.report import disclosure
from louyu_research.report.inputs import ReportInputs
from louyu_research.report.tables import Column, Table

from . import words
from .common import Section, industry_names, suppressed_note, wan

#: How many key buildings the body shows.
TOP = 10


def featured_table(inputs: ReportInputs, lang: str) -> Table:
    label = words.label
    feat = (
        inputs.lists["featured"]
        .with_columns(
            words.mapped("featured_status", "status", lang).alias("status_label"),
            industry_names(inputs, "leading_industry", lang).alias("leading_industry"),
        )
        .sort("street", "building_id")
    )
    return Table(
        "featured_buildings",
        words.text("featured.table", lang),
        feat,
        (
            Column("name", label("name", lang)),
            Column("street", label("street", lang)),
            Column("tenancies", label("tenancies", lang), "int"),
            Column("leading_industry", label("leading_industry", lang)),
            Column("leading_area_share", label("leading_area_share", lang), "pct"),
            Column("leading_tenancy_share", label("leading_tenancy_share", lang), "pct"),
            Column("status_label", label("status_label", lang)),
        ),
        sheet=words.text("featured.sheet", lang),
    )


def key_frame(inputs: ReportInputs, edition: str) -> pl.DataFrame:
    control = disclosure.building_control(inputs.tax, str(inputs.month), inputs.settings)
    return disclosure.apply(inputs.lists["key"], control, edition).sort("tax_rank", "building_id")


def key_table(
    inputs: ReportInputs, lang: str, edition: str, *, name: str = "key_buildings", top: int = 0
) -> Table:
    """Key buildings by tax rank (the first `top` only when `top` > 0)."""
    label = words.label
    key = key_frame(inputs, edition)
    title = words.text("key.table", lang)
    if top:
        key = key.head(top)
        title = words.text("key.table.top", lang, n=top)
    return Table(
        name,
        title,
        key,
        (
            Column("tax_rank", label("tax_rank", lang), "int"),
            Column("name", label("name", lang)),
            Column("street", label("street", lang)),
            Column("tenancies", label("tenancies", lang), "int"),
            Column("tax_yuan_ytd", wan("tax_yuan_ytd", lang), "wan"),
            Column("tax_per_m2_ytd", label("tax_per_m2_ytd", lang), "yuan"),
        ),
        notes=(suppressed_note(inputs, lang),) if edition == "public" else (),
        suppressed={"tax_yuan_ytd": "tax_suppressed", "tax_per_m2_ytd": "tax_suppressed"},
        sheet=words.text("key.sheet.top" if top else "key.sheet", lang),
    )


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    feat = inputs.lists["featured"]
    key = inputs.lists["key"]
    cmp = inputs.compare_months()
    city = {r["month"]: r for r in inputs.city.to_dicts()}

    def change(column: str, month: object) -> str:
        before = city.get(str(month), {}).get(column)
        now = city.get(str(inputs.month), {}).get(column)
        return "—" if before is None or now is None else f"{now - before:+,.0f}"

    text = words.text(
        "featured.text",
        lang,
        rule=feat.filter(pl.col("featured_rule")).height,
        designated=feat.filter(pl.col("featured_designated")).height,
        both=feat.filter(pl.col("featured_status") == "both").height,
        key=key.height,
        featured_chg_q=change("featured_buildings", cmp["prev_q"]),
        key_chg_y=change("key_buildings", cmp["prev_y"]),
    )
    heading = words.text("featured.heading", lang)
    top = key_table(inputs, lang, edition, name="key_buildings_top", top=TOP)
    return Section("featured", lang, edition, heading, (text, top))
