"""The appendices: the full tables behind the body's summaries (every plan year's targets,
every street and its ranking, the featured and key buildings, the vacancy, low-output and
at-risk lists, the market by quarter and the industry structure). Each is a section of its
own (`targets`, `places`, `buildings`, `lists`, `market`), after 七、数据质量; the method
section closes the report as the last appendix."""

from __future__ import annotations

import polars as pl

from louyu_research.report.inputs import ReportInputs
from louyu_research.report.tables import Column, Table

from . import featured as featured_section
from . import headline as headline_section
from . import industry as industry_section
from . import lists as lists_section
from . import market as market_section
from . import places as places_section
from . import ranking as ranking_section
from . import words
from .common import Section, suppressed_note


def _section(key: str, inputs: ReportInputs, lang: str, edition: str, blocks: tuple) -> Section:
    text = words.text(f"appendix.{key}.text", lang)
    heading = words.text(f"appendix.{key}.heading", lang)
    return Section(f"appendix_{key}", lang, edition, heading, (text, *blocks))


def targets(inputs: ReportInputs, lang: str, edition: str) -> Section:
    """附录一: every plan year's targets."""
    return _section(
        "targets", inputs, lang, edition, (headline_section.targets_table(inputs, lang),)
    )


def streets_table(inputs: ReportInputs, lang: str, edition: str) -> Table:
    label = words.label
    streets = places_section.with_level_disclosure(
        inputs, inputs.streets.filter(pl.col("month") == str(inputs.month)), "street", edition
    )
    return Table(
        "streets",
        words.text("places.streets", lang),
        streets.sort("reporting_area", "street"),
        (
            Column("reporting_area", label("reporting_area", lang)),
            Column("street", label("street", lang)),
            *places_section.figure_columns(lang),
        ),
        sheet=words.text("places.streets.sheet", lang),
        notes=(suppressed_note(inputs, lang),) if edition == "public" else (),
        suppressed=places_section.WITHHELD,
    )


def places(inputs: ReportInputs, lang: str, edition: str) -> Section:
    """附录二: every street's figures, its ranking and the ranking's chart."""
    blocks = (
        streets_table(inputs, lang, edition),
        ranking_section.full_table(inputs, lang),
        ranking_section.ranking_chart(inputs, lang),
    )
    return _section("places", inputs, lang, edition, blocks)


def buildings(inputs: ReportInputs, lang: str, edition: str) -> Section:
    """附录三: the featured and key buildings."""
    blocks = (
        featured_section.featured_table(inputs, lang),
        featured_section.key_table(inputs, lang, edition),
    )
    return _section("buildings", inputs, lang, edition, blocks)


def lists(inputs: ReportInputs, lang: str, edition: str) -> Section:
    """附录四: the vacancy, low-output and at-risk lists in full."""
    blocks = (
        lists_section.vacancy_table(inputs, lang),
        lists_section.low_output_table(inputs, lang, edition),
        lists_section.at_risk_table(inputs, lang, edition),
    )
    return _section("lists", inputs, lang, edition, blocks)


def market(inputs: ReportInputs, lang: str, edition: str) -> Section:
    """附录五: the market by quarter and the industry structure."""
    blocks = (
        market_section.market_table(inputs, lang),
        industry_section.industry_table(inputs, lang),
    )
    return _section("market", inputs, lang, edition, blocks)
