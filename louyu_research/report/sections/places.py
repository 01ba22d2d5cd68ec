"""四、片区与街道: reporting areas and streets at the quarter's end (tax held to disclosure
control in the public edition)."""

from __future__ import annotations

import polars as pl

from louyu_research.report import disclosure
from louyu_research.report.inputs import ReportInputs
from louyu_research.report.tables import Column, Table

from . import words
from .common import Section, suppressed_note, wan


def with_level_disclosure(
    inputs: ReportInputs, frame: pl.DataFrame, key: str, edition: str
) -> pl.DataFrame:
    """`frame` (one row per `key`: street or reporting_area) with `tax_suppressed`."""
    control = disclosure.level_control(
        inputs.tax, inputs.buildings, str(inputs.month), inputs.settings, key
    )
    return disclosure.apply(frame, control, edition, key=key)


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    label = words.label
    figure_columns = (
        Column("buildings", label("buildings", lang), "int"),
        Column("rentable_area_m2", label("rentable_area_m2", lang), "area"),
        Column("occupancy_rate", label("occupancy_rate", lang), "pct"),
        Column("registration_rate", label("registration_rate", lang), "pct"),
        Column("tax_yuan_ytd", wan("tax_yuan_ytd", lang), "wan"),
        Column("tax_share_ytd", label("tax_share_ytd", lang), "pct"),
    )
    withheld = {"tax_yuan_ytd": "tax_suppressed", "tax_share_ytd": "tax_suppressed"}
    notes = (suppressed_note(inputs, lang),) if edition == "public" else ()
    areas = with_level_disclosure(inputs, inputs.areas, "reporting_area", edition)
    areas_title = words.text("places.areas", lang)
    t_areas = Table(
        "reporting_areas",
        areas_title,
        areas.sort("reporting_area"),
        (Column("reporting_area", label("reporting_area", lang)), *figure_columns),
        sheet=areas_title,
        notes=notes,
        suppressed=withheld,
    )
    streets = with_level_disclosure(
        inputs, inputs.streets.filter(pl.col("month") == str(inputs.month)), "street", edition
    )
    t_streets = Table(
        "streets",
        words.text("places.streets", lang),
        streets.sort("reporting_area", "street"),
        (
            Column("reporting_area", label("reporting_area", lang)),
            Column("street", label("street", lang)),
            *figure_columns,
        ),
        sheet=words.text("places.streets.sheet", lang),
        notes=notes,
        suppressed=withheld,
    )
    heading = words.text("places.heading", lang)
    return Section("places", lang, edition, heading, (t_areas, t_streets))
