"""Reasons instead of silence: unknown ids, dates outside the log, figures left empty.

* An id the log does not know is an error naming the closest ids it does know (`jx0215` →
  `JX0215`), never an empty result.
* A business date outside the log's business dates is a warning (`OutsideLogWarning`): the
  state then is empty or partial, which is a fact worth saying, not an error.
* A figure left empty (null) gets its reason (`null_reasons`): a missing city total behind a
  tax share, no rentable area behind an occupancy rate, and so on.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable
from datetime import date
from typing import Any

import polars as pl

from louyu_research.core.instants import DateLike, as_of_date

__all__ = [
    "OutsideLogWarning",
    "UnknownIdError",
    "business_dates",
    "check_as_of",
    "check_ids",
    "check_months",
    "closest",
    "first_tax_period",
    "notes",
    "null_reasons",
]


class UnknownIdError(KeyError):
    """An id the log does not know; the message names the closest known ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class OutsideLogWarning(UserWarning):
    """A business date before the first or after the last date the log holds."""


def closest(value: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` known ids closest to `value`: a case-insensitive match first, then the most
    similar (difflib's ratio over upper-cased ids)."""
    pool = sorted(set(known))
    upper = {k.upper(): k for k in pool}
    exact = [upper[value.upper()]] if value.upper() in upper else []
    near = difflib.get_close_matches(value.upper(), list(upper), n=n, cutoff=0.5)
    return list(dict.fromkeys([*exact, *[upper[u] for u in near]]))[:n]


def _known(log: Any, column: str, recorded_by: DateLike | None, upto_seq: int | None) -> list[str]:
    cut = log.cut_off(recorded_by)
    return (
        log.scan(upto_seq=upto_seq, recorded_by=cut)
        .select(pl.col(column).drop_nulls().unique())
        .collect()
        .to_series()
        .to_list()
    )


def check_ids(
    log: Any,
    ids: str | Iterable[str],
    *,
    kind: str = "building",
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
) -> list[str]:
    """The ids, checked known to the log by the cut-off (`kind`: building or tenant); an
    unknown one raises `UnknownIdError` naming the closest known ids."""
    wanted = [ids] if isinstance(ids, str) else list(ids)
    column = {"building": "building_id", "tenant": "tenant_id"}[kind]
    known = _known(log, column, recorded_by, upto_seq)
    have = set(known)
    for value in wanted:
        if value not in have:
            near = closest(value, known)
            hint = f" (closest: {', '.join(near)})" if near else ""
            raise UnknownIdError(f"unknown {kind} id {value!r}: not in the log{hint}")
    return wanted


def business_dates(
    log: Any, *, recorded_by: DateLike | None = None, upto_seq: int | None = None
) -> tuple[date, date] | None:
    """First and last business date (`occurred_on`) the log holds by the cut-off (None: no
    event)."""
    lo, hi = (
        log.scan(upto_seq=upto_seq, recorded_by=log.cut_off(recorded_by))
        .select(pl.col("occurred_on").min(), pl.col("occurred_on").max().alias("hi"))
        .collect()
        .row(0)
    )
    return None if lo is None else (lo, hi)


def check_as_of(
    log: Any,
    as_of: DateLike,
    *,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
) -> date:
    """The business date of `as_of`; warns (`OutsideLogWarning`) when it lies outside the
    log's business dates by the cut-off, saying what the state will then be."""
    day = as_of_date(as_of, log.city.time_zone)
    span = business_dates(log, recorded_by=recorded_by, upto_seq=upto_seq)
    if span is None:
        warnings.warn(
            OutsideLogWarning("the log holds no events by that cut-off: every frame is empty"),
            stacklevel=2,
        )
    elif day < span[0]:
        warnings.warn(
            OutsideLogWarning(
                f"as of {day} is before the log's first business date {span[0]}: "
                "no building exists yet and there is no tax"
            ),
            stacklevel=2,
        )
    elif day > span[1]:
        _after(day, span[1])
    else:
        first_tax = first_tax_period(log, recorded_by=recorded_by, upto_seq=upto_seq)
        if first_tax is not None and str(day)[:7] < first_tax:
            warnings.warn(
                OutsideLogWarning(
                    f"as of {day} is before the first tax period the log holds ({first_tax}): "
                    "tax figures of that time are 0 because nothing was reported, not because "
                    "nothing was paid"
                ),
                stacklevel=2,
            )
    return day


def _after(day: date, last: date) -> None:
    warnings.warn(
        OutsideLogWarning(
            f"as of {day} is after the log's last business date {last}: "
            f"the state is that of {last}, carried forward"
        ),
        stacklevel=3,
    )


def first_tax_period(
    log: Any, *, recorded_by: DateLike | None = None, upto_seq: int | None = None
) -> str | None:
    """The first tax period (YYYY-MM) the log holds by the cut-off (None: no tax)."""
    return (
        log.scan(upto_seq=upto_seq, recorded_by=log.cut_off(recorded_by))
        .filter(pl.col("type") == "TaxReported")
        .select(pl.col("period").min())
        .collect()
        .item()
    )


def check_months(
    log: Any,
    months: Iterable[str],
    *,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
) -> None:
    """Warn (`OutsideLogWarning`) about months before the first tax period the log holds."""
    first_tax = first_tax_period(log, recorded_by=recorded_by, upto_seq=upto_seq)
    early = sorted(m for m in months if first_tax is None or m < first_tax)
    if early:
        warnings.warn(
            OutsideLogWarning(
                f"month {', '.join(early)} is before the first tax period the log holds "
                f"({first_tax or 'none'}): its tax figures are 0 because nothing was reported"
            ),
            stacklevel=2,
        )


# --- empty figures --------------------------------------------------------------------------

#: rate column → (denominator column, reason when it is not positive)
_RATIO_REASONS = {
    "occupancy_rate": ("rentable_area_m2", "no rentable area in scope"),
    "vacancy_rate": ("rentable_area_m2", "no rentable area in scope"),
    "registration_rate": ("tenancies", "no tenancies in scope"),
    "tax_per_m2_ytd": ("rentable_area_m2", "no rentable area in scope"),
    "top10_tax_share": ("tax_yuan_ytd", "no positive tax year to date"),
}
#: figure column → why it is empty when the log holds nothing to compute it from (not a
#: missing denominator); descriptive columns (grade, designated industry) are empty by nature
_FACT_REASONS = {
    "completed_on": "the log records no completion date for the building",
    "age_years": "the log records no completion date, so the age is unknown",
    "leading_industry": "no tenancy in a key industry at the month's end",
    "leading_area_share": "no tenancy in a key industry at the month's end",
    "leading_tenancy_share": "no tenancy in a key industry at the month's end",
    "leading_tax_share_ytd": "no leading industry, or no positive tax year to date",
    "area_m2_before": "the tenancy did not exist at the start of the comparison window",
    "area_change_m2": "the tenancy did not exist at the start of the comparison window",
    "tax_change_rate": "no tax in the previous window, so no rate of change",
}
_KEYS = ("tenant_id", "building_id", "street", "reporting_area")


def _missing_city_months(frame: pl.DataFrame, city_tax: pl.DataFrame) -> pl.DataFrame:
    """month → the months of its year (Jan..month) without a city total, as text."""
    have = set(
        city_tax.filter(pl.col("district").is_null()).get_column("period").unique().to_list()
    )
    rows = []
    for month in sorted(set(frame.get_column("month").to_list())):
        year, m = month[:4], int(month[5:7])
        lacking = [f"{year}-{i:02d}" for i in range(1, m + 1) if f"{year}-{i:02d}" not in have]
        rows.append((month, ", ".join(lacking) if lacking else None))
    return pl.DataFrame(rows, schema={"month": pl.String, "lacking": pl.String}, orient="row")


def null_reasons(frame: pl.DataFrame, city_tax: pl.DataFrame) -> pl.DataFrame:
    """Why each empty figure of a figures or list frame is empty: one row per empty cell with
    `month`, `key` (the tenant, building, street or area; empty at city level), `column` and
    `reason`.
    Empty when no figure is null. `city_tax`: the state's city_tax frame at the same cut-off."""
    key = next((k for k in _KEYS if k in frame.columns), None)
    keyed = frame.with_columns(
        (pl.col(key) if key else pl.lit(None, dtype=pl.String)).cast(pl.String).alias("key")
    )
    parts = []
    if "tax_share_ytd" in frame.columns:
        lacking = _missing_city_months(frame, city_tax)
        parts.append(
            keyed.filter(pl.col("tax_share_ytd").is_null())
            .join(lacking, on="month", how="left")
            .select(
                "month",
                "key",
                pl.lit("tax_share_ytd").alias("column"),
                pl.when(pl.col("lacking").is_not_null())
                .then(
                    pl.format(
                        "the city's total tax (CityTaxReported without district) is not "
                        "recorded by this cut-off for {}",
                        pl.col("lacking"),
                    )
                )
                .otherwise(pl.lit("the city's total tax year to date is not positive"))
                .alias("reason"),
            )
        )
    reasons = {col: f"{why} ({den} is not positive)" for col, (den, why) in _RATIO_REASONS.items()}
    for column, why in {**_FACT_REASONS, **reasons}.items():
        if column in frame.columns:
            parts.append(
                keyed.filter(pl.col(column).is_null()).select(
                    "month",
                    "key",
                    pl.lit(column).alias("column"),
                    pl.lit(why).alias("reason"),
                )
            )
    schema = {"month": pl.String, "key": pl.String, "column": pl.String, "reason": pl.String}
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts).cast(schema).sort("month", "column", "key", nulls_last=False)


def notes(reasons: pl.DataFrame) -> list[str]:
    """One line per month, column and reason (`null_reasons`), with how many rows it covers:
    what the CLI prints beside a table."""
    grouped = (
        reasons.group_by("month", "column", "reason")
        .agg(pl.len().alias("rows"))
        .sort("month", "column", "reason")
    )
    return [
        f"{r['month']} {r['column']} is empty"
        + (f" in {r['rows']} rows" if r["rows"] > 1 else "")
        + f": {r['reason']}"
        for r in grouped.iter_rows(named=True)
    ]
