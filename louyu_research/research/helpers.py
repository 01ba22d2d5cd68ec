"""Helpers for the questions researchers ask of the log, in the package's one vocabulary.

Every function takes the log (`open_log`), months as `YYYY-MM` text, a `date` or a `Month`,
dates and cut-offs as a `date`, a `datetime` or ISO text (a date as `recorded_by` is the end of
that day in the city's time zone), levels `building | street | reporting_area | city` (`area`
is accepted for `reporting_area`), and returns sorted Polars frames whose every column is in
the glossary.

* `figures`: the plan's figures with the reason of every empty one (`Figures.reasons`).
* `plan_list`: one of the plan's lists (key, vacancy, low-output, featured, at-risk), with the
  reason of every empty cell.
* `panel`: the BuildingMonth panel, by default only rows in scope at the month's end, so that
  summing it gives the figures (out-of-scope rows carry area and tax that do not count).
* `state`: a replay that warns when the date lies outside the log.
* `tenant_history`: every move of a tenant or in a building, with the tenant's name at the time.
* `tax_by_section`: tax by GB/T 4754 section (门类) and month, each tenant in the section of its
  industry at the end of that month; `SECTIONS` names the sections (shipped as data).
* `uscc_check_digit`: the check character of a unified social credit code (GB 32100-2015).
* `featured_preset`: settings with a named featured-rule preset (`FEATURED_PRESETS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from louyu_research.city.settings import FEATURED_PRESETS, Settings
from louyu_research.core.instants import DateLike
from louyu_research.core.periods import Month, MonthLike
from louyu_research.indicators.figures import Pinned, month_end, parse_level, read_inputs
from louyu_research.indicators.lists import ListKind, list_from_log

from .checks import check_as_of, check_ids, check_months, null_reasons

__all__ = [
    "FEATURED_PRESETS",
    "SECTIONS",
    "Figures",
    "featured_preset",
    "figures",
    "panel",
    "plan_list",
    "section_names",
    "state",
    "tax_by_section",
    "tenant_history",
    "uscc_check_digit",
]

SECTIONS_FILE = Path(__file__).with_name("gbt4754_sections.csv")


def section_names() -> pl.DataFrame:
    """The twenty sections (门类) of GB/T 4754 (A–T, the same letters and names in the 2011
    and 2017 editions): section, name_zh, name_en."""
    return pl.read_csv(SECTIONS_FILE, schema_overrides={"section": pl.String})


SECTIONS: dict[str, str] = dict(
    zip(section_names()["section"], section_names()["name_zh"], strict=True)
)


def featured_preset(name: str, settings: Settings | None = None) -> Settings:
    """`settings` (default: the defaults) with the featured rule of preset `name`
    (`FEATURED_PRESETS`: default, wuhan-wuchang)."""
    if name not in FEATURED_PRESETS:
        raise ValueError(f"unknown featured preset {name!r} ({', '.join(FEATURED_PRESETS)})")
    return (settings or Settings()).model_copy(update={"featured": FEATURED_PRESETS[name]})


@dataclass(frozen=True)
class Figures(Pinned):
    """Pinned figures with `reasons`: why each empty figure is empty (`checks.null_reasons`)."""

    reasons: pl.DataFrame = field(default_factory=pl.DataFrame)

    def _repr_html_(self) -> str:
        html = super()._repr_html_()
        if self.reasons.is_empty():
            return html
        from .checks import notes

        items = "".join(f"<li>{n}</li>" for n in notes(self.reasons))
        return html + f"<p><b>Empty figures</b></p><ul>{items}</ul>"


def figures(
    log: Any,
    months: MonthLike | Sequence[MonthLike],
    level: str = "city",
    *,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
    settings: Settings | None = None,
    divisions: pl.DataFrame | None = None,
) -> Figures:
    """The plan's monthly figures of `months` at `level`, pinned to the cut-off, with the
    reason of every empty figure; warns about months before the first tax period."""
    wanted = (
        [months] if isinstance(months, str | Month) or not isinstance(months, Sequence) else months
    )
    texts = [str(Month.parse(m)) for m in wanted]
    check_months(log, texts, recorded_by=recorded_by, upto_seq=upto_seq)
    inp = read_inputs(log, texts, recorded_by=recorded_by, upto_seq=upto_seq, settings=settings)
    pinned = inp.figures(parse_level(level), divisions)
    return Figures(
        pinned.frame, pinned.settings, pinned.position, null_reasons(pinned.frame, inp.city_tax)
    )


def plan_list(
    log: Any,
    kind: ListKind,
    month: MonthLike,
    *,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
    settings: Settings | None = None,
    divisions: pl.DataFrame | None = None,
) -> Figures:
    """One of the plan's lists of `month`, pinned to the cut-off, with the reason of every
    empty cell; warns about a month before the first tax period."""
    text = str(Month.parse(month))
    cut = {"recorded_by": recorded_by, "upto_seq": upto_seq}
    check_months(log, [text], **cut)
    pinned = list_from_log(log, kind, text, settings=settings, divisions=divisions, **cut)
    city_tax = pl.DataFrame(schema={"district": pl.String, "period": pl.String})
    shares = pinned.frame.get_column("tax_share_ytd") if "tax_share_ytd" in pinned.frame else None
    if shares is not None and shares.has_nulls():  # only then is the city's total needed
        city_tax = log.replay(month_end(text), settings=settings, **cut).city_tax
    reasons = null_reasons(pinned.frame, city_tax)
    return Figures(pinned.frame, pinned.settings, pinned.position, reasons)


def panel(
    log: Any,
    start: MonthLike,
    end: MonthLike,
    *,
    in_scope_only: bool = True,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
    settings: Settings | None = None,
) -> pl.DataFrame:
    """The BuildingMonth panel; by default only the rows in scope at each month's end (what
    the figures sum). `in_scope_only=False` keeps every registered building's row: its areas
    and tax are the building's own, to be filtered on `in_scope` before summing."""
    frame = log.panel(start, end, recorded_by=recorded_by, upto_seq=upto_seq, settings=settings)
    return frame.filter(pl.col("in_scope")) if in_scope_only else frame


def state(
    log: Any,
    as_of: DateLike,
    *,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
    settings: Settings | None = None,
) -> Any:
    """`log.replay`, warning (`OutsideLogWarning`) when `as_of` lies outside the log."""
    day = check_as_of(log, as_of, recorded_by=recorded_by, upto_seq=upto_seq)
    return log.replay(day, recorded_by=recorded_by, upto_seq=upto_seq, settings=settings)


_HISTORY_TYPES = (
    "TenantMovedIn",
    "TenantAreaChanged",
    "TenantRegistrationChanged",
    "TenantMovedOut",
)


def tenant_history(
    log: Any,
    *,
    tenant_id: str | None = None,
    building_id: str | None = None,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
) -> pl.DataFrame:
    """Every tenancy event of a tenant, of a building, or of both, in business-date order, with
    the tenant's name, industry and key industry as the log knew them on the event's date
    (a move-out carries no name of its own). Unknown ids are errors naming the closest ones.

    The frame names tenants: keep it out of public outputs."""
    if tenant_id is None and building_id is None:
        raise ValueError("give tenant_id, building_id or both")
    cut = {"recorded_by": recorded_by, "upto_seq": upto_seq}
    if tenant_id is not None:
        check_ids(log, tenant_id, kind="tenant", **cut)
    if building_id is not None:
        check_ids(log, building_id, kind="building", **cut)
    p = log.prepared(**cut)
    events = p.tenancy_events.lazy()
    if tenant_id is not None:
        events = events.filter(pl.col("tenant_id") == tenant_id)
    if building_id is not None:
        events = events.filter(pl.col("building_id") == building_id)
    versions = (
        p.tenant_versions.lazy()
        .select("tenant_id", "valid_from", "tenant_name", "industry", "key_industry")
        .sort("valid_from")
    )
    return (
        events.filter(pl.col("type").is_in(_HISTORY_TYPES))
        .select(
            "seq",
            "occurred_on",
            "type",
            "tenant_id",
            "building_id",
            (pl.col("area_u") * 1e-4).alias("area_m2"),
            "registered_here",
            "unit",
        )
        .sort("occurred_on")
        .join_asof(
            versions,
            left_on="occurred_on",
            right_on="valid_from",
            by="tenant_id",
            strategy="backward",
            check_sortedness=False,  # both sides sorted by date above
        )
        .drop("valid_from")
        .sort("occurred_on", "seq")
        .collect()
    )


def tax_by_section(
    log: Any,
    start: MonthLike,
    end: MonthLike,
    *,
    in_scope_only: bool = True,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
    settings: Settings | None = None,
) -> pl.DataFrame:
    """Tax by GB/T 4754 section and month from `start` to `end`: each tenant counts in the
    section of its industry at the end of that month (the industry of that time, not of
    today). By default only buildings in scope at the month's end, so a month's sections add up
    to the figures' `tax_yuan`. Columns: month, section, section_name_zh, section_name_en,
    tax_yuan, taxpayers, tax_share (of the month's total)."""
    months = [str(m) for m in Month.range(start, end)]
    if not months:
        raise ValueError(f"start {start} is after end {end}")
    cut = {"recorded_by": recorded_by, "upto_seq": upto_seq}
    tax = log.tenant_tax(**cut).filter(pl.col("period").is_in(months))
    if in_scope_only:
        scope = panel(log, months[0], months[-1], settings=settings, **cut).select(
            "building_id", pl.col("month").alias("period")
        )
        tax = tax.join(scope, on=["building_id", "period"], how="semi")
    ends = pl.DataFrame({"period": months}).with_columns(
        pl.col("period").str.to_date("%Y-%m").dt.month_end().alias("month_end")
    )
    versions = (
        log.prepared(**cut)
        .tenant_versions.select("tenant_id", "valid_from", "industry")
        .sort("valid_from")
    )
    names = section_names()
    return (
        tax.join(ends, on="period")
        .sort("month_end")
        .join_asof(
            versions,
            left_on="month_end",
            right_on="valid_from",
            by="tenant_id",
            check_sortedness=False,
        )
        .with_columns(pl.col("industry").str.slice(0, 1).alias("section"))
        .group_by(pl.col("period").alias("month"), "section")
        .agg(
            pl.col("amount_yuan").sum().round(2).alias("tax_yuan"),
            pl.col("tenant_id").n_unique().alias("taxpayers"),
        )
        .with_columns(
            (pl.col("tax_yuan") / pl.col("tax_yuan").sum().over("month")).alias("tax_share")
        )
        .join(
            names.rename({"name_zh": "section_name_zh", "name_en": "section_name_en"}),
            on="section",
            how="left",
        )
        .select(
            "month",
            "section",
            "section_name_zh",
            "section_name_en",
            "tax_yuan",
            pl.col("taxpayers").cast(pl.Int64),
            "tax_share",
        )
        .sort("month", "section")
    )


# --- unified social credit codes -------------------------------------------------------------

#: GB 32100-2015: the 31 characters of a code (no I, O, S, V, Z) and the weights of positions 1–17.
USCC_CHARACTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_digit(first17: str) -> str:
    """The 18th character of a unified social credit code from its first 17 (GB 32100-2015:
    31 − (Σ value × weight mod 31), 31 written as 0)."""
    code = first17.strip().upper()
    if len(code) != 17 or any(c not in USCC_CHARACTERS for c in code):
        raise ValueError(
            f"not the first 17 characters of a unified social credit code: {first17!r} "
            f"(17 of {USCC_CHARACTERS})"
        )
    total = sum(USCC_CHARACTERS.index(c) * w for c, w in zip(code, USCC_WEIGHTS, strict=True))
    return USCC_CHARACTERS[(31 - total % 31) % 31]
