"""四、片区与街道: the reporting areas at the quarter's end with their changes on the previous
quarter and a year before, and a map of the buildings (tax held to disclosure control in the
public edition). Every street's figures are in the appendix (`appendix.places`)."""

from __future__ import annotations

import polars as pl

from louyu_research.report import charts as ch
from louyu_research.report import disclosure
from louyu_research.report import findings as fd
from louyu_research.report.inputs import ReportInputs
from louyu_research.report.tables import Column, Table

from . import words
from .common import Section, pct, points, suppressed_note, wan


def with_level_disclosure(
    inputs: ReportInputs, frame: pl.DataFrame, key: str, edition: str
) -> pl.DataFrame:
    """`frame` (one row per `key`: street or reporting_area) with `tax_suppressed`."""
    control = disclosure.level_control(
        inputs.tax, inputs.buildings, str(inputs.month), inputs.settings, key
    )
    return disclosure.apply(frame, control, edition, key=key)


def figure_columns(lang: str) -> tuple[Column, ...]:
    label = words.label
    return (
        Column("buildings", label("buildings", lang), "int"),
        Column("rentable_area_m2", label("rentable_area_m2", lang), "area"),
        Column("occupancy_rate", label("occupancy_rate", lang), "pct"),
        Column("registration_rate", label("registration_rate", lang), "pct"),
        Column("tax_yuan_ytd", wan("tax_yuan_ytd", lang), "wan"),
        Column("tax_share_ytd", label("tax_share_ytd", lang), "pct"),
    )


#: Tax columns withheld together by disclosure control.
WITHHELD = {"tax_yuan_ytd": "tax_suppressed", "tax_share_ytd": "tax_suppressed"}


def areas_at_month(inputs: ReportInputs) -> pl.DataFrame:
    """The reporting areas' figures of the quarter's last month."""
    areas = inputs.areas
    if "month" in areas.columns:
        areas = areas.filter(pl.col("month") == str(inputs.month))
    return areas


def areas_table(inputs: ReportInputs, lang: str, edition: str) -> Table:
    """Reporting areas with their occupancy's change on the previous quarter and year."""
    label = words.label
    changes = fd.area_changes(inputs).select("reporting_area", "chg_q", "chg_y")
    areas = with_level_disclosure(inputs, areas_at_month(inputs), "reporting_area", edition)
    frame = areas.join(changes, on="reporting_area", how="left").sort("reporting_area")
    title = words.text("places.areas", lang)
    return Table(
        "reporting_areas",
        title,
        frame,
        (
            Column("reporting_area", label("reporting_area", lang)),
            *figure_columns(lang),
            Column("chg_q", words.text("places.chg_q", lang), "pct_pt"),
            Column("chg_y", words.text("places.chg_y", lang), "pct_pt"),
        ),
        sheet=title,
        notes=(suppressed_note(inputs, lang),) if edition == "public" else (),
        suppressed=WITHHELD,
    )


def map_points(inputs: ReportInputs) -> pl.DataFrame:
    """In-scope buildings with coordinates: rentable area, occupancy, reporting area."""
    return (
        inputs.buildings.filter(pl.col("in_scope"))
        .join(inputs.locations, on="building_id", how="inner")
        .drop_nulls(["lon", "lat"])
        .select("building_id", "reporting_area", "lon", "lat", "rentable_area_m2", "occupancy_rate")
        .sort("building_id")
    )


def building_map(inputs: ReportInputs, lang: str) -> tuple[ch.Figure, str]:
    """The buildings on a map over the city's district outlines (when a package provides
    them), and the note under it."""
    districts = inputs.profile.divisions.filter(pl.col("level") == "district").drop_nulls("code")
    outlines = ch.district_outlines(dict(districts.select("code", "name").iter_rows()))
    pts = map_points(inputs)
    if outlines is not None:
        labels = pl.DataFrame(
            [
                {
                    "name": f["properties"]["name"],
                    "lon": f["properties"]["label_lon"],
                    "lat": f["properties"]["label_lat"],
                }
                for f in outlines["features"]
            ]
        )
        chart = ch.map_chart(
            pts,
            outlines,
            lon="lon",
            lat="lat",
            size="rentable_area_m2",
            color="occupancy_rate",
            title=words.text("places.map", lang, n=pts.height),
            size_title=words.text("places.map.size", lang),
            color_title=words.label("occupancy_rate", lang),
            labels=labels,
        )
        note = words.text("places.map.note", lang, source=ch.OUTLINES_SOURCE)
    else:
        chart = ch.map_chart(
            pts,
            None,
            lon="lon",
            lat="lat",
            size="rentable_area_m2",
            color="reporting_area",
            title=words.text("places.map", lang, n=pts.height),
            size_title=words.text("places.map.size", lang),
            color_title=words.label("reporting_area", lang),
            percent=False,
        )
        note = words.text("places.map.no_outlines", lang)
    return ch.Figure("building_map", chart, caption=note), note


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    changes = fd.area_changes(inputs).drop_nulls("now").sort("now", descending=True)
    text = ""
    if changes.height:
        best, worst = changes.row(0, named=True), changes.row(-1, named=True)
        rising = changes.filter(pl.col("chg_q") > 0).height
        text = words.text(
            "places.text",
            lang,
            areas=changes.height,
            best=best["reporting_area"],
            best_value=pct(best["now"]),
            worst=worst["reporting_area"],
            worst_value=pct(worst["now"]),
            rising=rising,
            best_chg_y=points(best["chg_y"], lang),
        )
    fig, note = building_map(inputs, lang)
    heading = words.text("places.heading", lang)
    blocks = (text, areas_table(inputs, lang, edition), fig, f"*{note}*")
    return Section("places", lang, edition, heading, blocks)
