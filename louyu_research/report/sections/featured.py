"""五、专业楼宇、千万元楼: featured buildings (rule vs designation) and key buildings (tax YTD
of ¥10m or more; their tax held to disclosure control in the public edition)."""

from __future__ import annotations

import polars as pl

from louyu_research.report import disclosure
from louyu_research.report.inputs import ReportInputs
from louyu_research.report.tables import Column, Table

from . import words
from .common import Section, industry_names, suppressed_note, wan


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    label = words.label
    feat = (
        inputs.lists["featured"]
        .with_columns(
            words.mapped("featured_status", "status", lang).alias("status_label"),
            industry_names(inputs, "leading_industry", lang).alias("leading_industry"),
        )
        .sort("street", "building_id")
    )
    t_feat = Table(
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
    control = disclosure.building_control(inputs.tax, str(inputs.month), inputs.settings)
    key = disclosure.apply(inputs.lists["key"], control, edition).sort("tax_rank", "building_id")
    t_key = Table(
        "key_buildings",
        words.text("key.table", lang),
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
        sheet=words.text("key.sheet", lang),
    )
    text = words.text(
        "featured.text",
        lang,
        rule=feat.filter(pl.col("featured_rule")).height,
        designated=feat.filter(pl.col("featured_designated")).height,
        both=feat.filter(pl.col("featured_status") == "both").height,
        key=key.height,
    )
    heading = words.text("featured.heading", lang)
    return Section("featured", lang, edition, heading, (text, t_feat, t_key))
