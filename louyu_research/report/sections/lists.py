"""六、盘活资源、低效楼宇与迁出预警: the vacancy list, low-output buildings and tenants at risk
(by street only in the public edition). The body shows the first rows of each list; the full
lists are in the appendix (`appendix.lists`) and the workbook."""

from __future__ import annotations

import dataclasses

from louyu_research.report import disclosure
from louyu_research.report.inputs import ReportInputs
from louyu_research.report.tables import Column, Table

from . import words
from .common import Section, industry_names, suppressed_note

#: How many rows of each list the body shows.
TOP = 5


def head(table: Table, name: str, n: int, lang: str) -> Table:
    """The first `n` rows of a list as a table of its own (named `name`), its title saying
    how many of how many it shows."""
    title = words.text(
        "lists.top", lang, title=table.title, n=min(n, table.frame.height), of=table.frame.height
    )
    return dataclasses.replace(
        table, name=name, title=title, frame=table.frame.head(n), sheet=f"{table.sheet[:26]} top"
    )


def vacancy_table(inputs: ReportInputs, lang: str) -> Table:
    label = words.label
    vac = (
        inputs.lists["vacancy"]
        .with_columns(
            words.mapped("category", "category", lang).alias("category"),
            words.mapped("vacancy_reason", "reason", lang).alias("vacancy_reason"),
            industry_names(inputs, "leading_industry", lang).alias("leading_industry"),
        )
        .sort(["vacant_area_m2", "building_id"], descending=[True, False])
    )
    return Table(
        "vacancy_list",
        words.text("vacancy.table", lang),
        vac,
        (
            Column("name", label("name", lang)),
            Column("street", label("street", lang)),
            Column("category", label("category", lang)),
            Column("rentable_area_m2", label("rentable_area_m2", lang), "area"),
            Column("vacant_area_m2", label("vacant_area_m2", lang), "area"),
            Column("vacancy_rate", label("vacancy_rate", lang), "pct"),
            Column("leading_industry", label("leading_industry", lang)),
            Column("vacancy_reason", label("vacancy_reason", lang)),
        ),
        sheet=words.text("vacancy.sheet", lang),
    )


def low_output_table(inputs: ReportInputs, lang: str, edition: str) -> Table:
    label = words.label
    control = disclosure.building_control(inputs.tax, str(inputs.month), inputs.settings)
    low = (
        disclosure.apply(inputs.lists["low_output"], control, edition)
        .with_columns(words.mapped("category", "category", lang).alias("category"))
        .sort("category", "category_rank", "building_id")
    )
    return Table(
        "low_output_list",
        words.text("low_output.table", lang),
        low,
        (
            Column("name", label("name", lang)),
            Column("street", label("street", lang)),
            Column("category", label("category", lang)),
            Column("age_years", label("age_years", lang), "int"),
            Column("rentable_area_m2", label("rentable_area_m2", lang), "area"),
            Column("tax_per_m2_ytd", label("tax_per_m2_ytd", lang), "yuan"),
            Column("category_rank", label("category_rank", lang), "int"),
            Column("category_buildings", label("category_buildings", lang), "int"),
        ),
        notes=(suppressed_note(inputs, lang),) if edition == "public" else (),
        suppressed={"tax_per_m2_ytd": "tax_suppressed"},
        sheet=words.text("low_output.sheet", lang),
    )


def at_risk_table(inputs: ReportInputs, lang: str, edition: str) -> Table:
    """Tenants at risk by name (internal edition) or counted per street (public edition)."""
    label = words.label
    risk = inputs.lists["at_risk"]
    sheet = words.text("at_risk.sheet", lang)
    if disclosure.check_edition(edition) == "internal":
        shown = risk.with_columns(
            industry_names(inputs, "key_industry", lang).alias("key_industry")
        ).sort(
            ["tax_previous_window_yuan", "tenant_id", "building_id"],
            descending=[True, False, False],
        )
        columns: tuple[Column, ...] = (
            Column("tenant_name", label("tenant_name", lang)),
            Column("building_name", label("building_name", lang)),
            Column("street", label("street", lang)),
            Column("key_industry", label("key_industry", lang)),
            Column("area_m2", label("area_m2", lang), "area"),
            Column("area_change_m2", label("area_change_m2", lang), "area"),
            Column("tax_last_window_yuan", label("tax_last_window_yuan", lang), "yuan"),
            Column("tax_previous_window_yuan", label("tax_previous_window_yuan", lang), "yuan"),
            Column("tax_change_rate", label("tax_change_rate", lang), "pct"),
        )
        title = words.text("at_risk.table.internal", lang)
        return Table("tenants_at_risk", title, shown, columns, sheet=sheet)
    columns = (
        Column("reporting_area", label("reporting_area", lang)),
        Column("street", label("street", lang)),
        Column("at_risk", label("at_risk", lang), "int"),
        Column("shrank_n", label("shrank_n", lang), "int"),
        Column("tax_dropped_n", label("tax_dropped_n", lang), "int"),
        Column("area_change_sum", label("area_change_sum", lang), "area"),
    )
    title = words.text("at_risk.table.public", lang)
    return Table("tenants_at_risk", title, disclosure.at_risk_by_street(risk), columns, sheet=sheet)


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    vacancy = vacancy_table(inputs, lang)
    low = low_output_table(inputs, lang, edition)
    risk = at_risk_table(inputs, lang, edition)
    if disclosure.check_edition(edition) == "public":  # streets with the most tenants at risk
        risk = dataclasses.replace(
            risk,
            frame=risk.frame.sort(["at_risk", "street"], descending=[True, False]),
        )
    # the lowest of each category first
    low_first = dataclasses.replace(
        low, frame=low.frame.sort("category_rank", "category", "building_id")
    )
    text = words.text(
        "lists.text",
        lang,
        vacancy=vacancy.frame.height,
        vacant_area=vacancy.frame.get_column("vacant_area_m2").sum(),
        low_output=low.frame.height,
        at_risk=inputs.lists["at_risk"].height,
    )
    heading = words.text("lists.heading", lang)
    blocks = (
        text,
        head(vacancy, "vacancy_top", TOP, lang),
        head(low_first, "low_output_top", TOP, lang),
        head(risk, "at_risk_top", TOP, lang),
    )
    return Section("lists", lang, edition, heading, blocks)
