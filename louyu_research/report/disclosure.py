"""Disclosure control: what the public edition may show of tenants and their tax.

The public edition names no tenant and shows no tenant-level figure; it publishes tax only in
aggregates that cannot be traced back to one tenant:
- a building's tax (year to date, and what is derived from it) is withheld, marked ‡, when
  fewer than `disclosure_min_tenants` tenants pay tax in it or one tenant pays more than
  `disclosure_max_dominance` of it (settings);
- a street's or a reporting area's tax is held to the same rule with its tenants as the
  contributors, so a street of one building cannot publish the figure withheld for that
  building;
- tenants at risk are published only as counts per street.
The internal edition shows everything (and says so on every page).

`check_public` is the last guard: the report refuses to show a public table that carries a
tenant-level column, or a tax column without its withheld marks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import polars as pl

Edition = Literal["public", "internal"]
EDITIONS: tuple[Edition, ...] = ("public", "internal")

#: Columns that identify a tenant or give one tenant's figures: never in a public table.
TENANT_COLUMNS = frozenset(
    {
        "tenant_id",
        "tenant_name",
        "industry",
        "area_m2_before",
        "area_change_m2",
        "tax_last_window_yuan",
        "tax_previous_window_yuan",
        "tax_change_rate",
    }
)
#: Tax columns of a building, street or area: in a public table only with withheld marks.
TAX_COLUMNS = frozenset({"tax_yuan", "tax_yuan_ytd", "tax_share_ytd", "tax_per_m2_ytd"})


class DisclosureError(ValueError):
    """A table the public edition must not show (the message names the table and column)."""


def check_edition(edition: str) -> Edition:
    if edition not in EDITIONS:
        raise ValueError(f"edition must be public or internal, got {edition!r}")
    return edition  # type: ignore[return-value]


def control(
    tax: pl.DataFrame,
    month: str,
    *,
    min_tenants: int,
    max_dominance: float,
    groups: pl.DataFrame | None = None,
    key: str = "building_id",
) -> pl.DataFrame:
    """Per building (or per `key` of `groups`, a building_id → key map): tax-paying tenants and
    the largest tenant's share of the tax YTD (January to `month`), and whether that tax must
    be withheld in the public edition (`tax_suppressed`). Only tenants whose tax YTD is
    positive count as paying."""
    lf = tax.lazy().filter((pl.col("period") >= f"{month[:4]}-01") & (pl.col("period") <= month))
    if groups is not None:
        lf = lf.join(groups.lazy().select("building_id", key).unique(), on="building_id")
    ytd = (
        lf.group_by(key, "tenant_id")
        .agg(pl.col("amount_yuan").sum())
        .filter(pl.col("amount_yuan") > 0)
        .group_by(key)
        .agg(
            pl.len().alias("tax_payers"),
            (pl.col("amount_yuan").max() / pl.col("amount_yuan").sum()).alias("top_tenant_share"),
        )
    )
    return (
        ytd.with_columns(
            (
                (pl.col("tax_payers") < min_tenants) | (pl.col("top_tenant_share") > max_dominance)
            ).alias("tax_suppressed")
        )
        .sort(key)
        .collect()
    )


def building_control(tax: pl.DataFrame, month: str, settings: Any) -> pl.DataFrame:
    """`control` per building with the settings' thresholds."""
    return control(
        tax,
        month,
        min_tenants=settings.disclosure_min_tenants,
        max_dominance=settings.disclosure_max_dominance,
    )


def level_control(
    tax: pl.DataFrame, buildings: pl.DataFrame, month: str, settings: Any, key: str
) -> pl.DataFrame:
    """`control` per street or reporting area (`key`): the tenants of its in-scope buildings
    (`buildings`: building_id, in_scope and `key`) as the contributors."""
    groups = buildings.filter(pl.col("in_scope")).select("building_id", key)
    return control(
        tax,
        month,
        min_tenants=settings.disclosure_min_tenants,
        max_dominance=settings.disclosure_max_dominance,
        groups=groups,
        key=key,
    )


def apply(
    frame: pl.DataFrame, control: pl.DataFrame, edition: str, key: str = "building_id"
) -> pl.DataFrame:
    """`frame` with `tax_suppressed` attached: always false in the internal edition; in the
    public one true when the rule says so, or when the row shows tax but has no tax-paying
    tenant (nothing to hide behind)."""
    out = frame.join(control.select(key, "tax_suppressed"), on=key, how="left")
    if check_edition(edition) == "internal":
        return out.with_columns(pl.lit(False).alias("tax_suppressed"))
    return out.with_columns(pl.col("tax_suppressed").fill_null(True))


def at_risk_by_street(risk: pl.DataFrame) -> pl.DataFrame:
    """Tenancies at risk counted per street: how the public edition shows them (no tenant
    rows): how many, how many shrank, how many paid less tax, and the area given up.

    The area given up is shown for every street, also where one tenancy is at risk: what a
    public edition withholds is who the tenants are and what they pay, and a street's sum
    names neither (its tax columns are counts). Withholding small cells' area too would be a
    stricter rule, and a change to every published quarter that shows one."""
    return (
        risk.group_by("reporting_area", "street")
        .agg(
            pl.len().cast(pl.Int64).alias("at_risk"),
            pl.col("shrank").sum().cast(pl.Int64).alias("shrank_n"),
            pl.col("tax_dropped").sum().cast(pl.Int64).alias("tax_dropped_n"),
            pl.col("area_change_m2")
            .filter(pl.col("area_change_m2") < 0)
            .sum()
            .alias("area_change_sum"),
        )
        .sort("reporting_area", "street")
    )


def check_public(tables: Iterable[Any]) -> None:
    """Raise `DisclosureError` when a table (`tables.Table`) would show a tenant-level column,
    or a tax column that is not withheld where the rule says so."""
    for table in tables:
        for column in table.columns:
            if column.name in TENANT_COLUMNS:
                raise DisclosureError(
                    f"table {table.name}: column {column.name} is tenant-level data, "
                    "not for the public edition"
                )
            if column.name in TAX_COLUMNS and column.name not in table.suppressed:
                raise DisclosureError(
                    f"table {table.name}: tax column {column.name} has no withheld marks "
                    "(disclosure control) in the public edition"
                )


__all__ = [
    "EDITIONS",
    "TAX_COLUMNS",
    "TENANT_COLUMNS",
    "DisclosureError",
    "apply",
    "at_risk_by_street",
    "building_control",
    "check_edition",
    "check_public",
    "control",
    "level_control",
]
