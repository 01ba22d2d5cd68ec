"""Replay: the bitemporal event log → the state of the building economy as of a business date.

`open_log(path).replay(as_of, recorded_by=… | upto_seq=…)` answers two questions at once
(EVENTS.md): *as of* which business date (`occurred_on` ≤ D; an event on day D counts as of D),
and *as recorded by* which point of the log (a `recorded_at` cut-off or a `seq`). Everything is
vectorised Polars: events → versions/intervals (forward fills and as-of joins over sorted keys)
→ frames; there is no Python loop per event. `Log.panel` (panel.py) builds the monthly
BuildingMonth panel from the same intermediate frames, so both always agree.

Memory grows with buildings × months and tenancies, not with the tax reports (most of a log):
the reports are read in one streaming query that gives each its integer codes (tenancy,
building, tenant, month) and keeps integers only; the latest report per key and the per
building-month sums work on those codes, the few reports a finding names get their ids back
by `seq`, and the `tax` frame of a state, the one output with a row per report, is made with
its string ids when first read (once per preparation, `validated_tax`).

Beyond what EVENTS.md promises (every column is there with its meaning), additions only:
`Building.registered_on`, `Tenancy.unit`, `Finding.code` (with `FINDING_CODES_ZH`), and in the
panel `registered` (registration occurred by month end) and
`tenancy_area_m2` (the uncapped sum; `occupied_area_m2` is capped at rentable area). The `tax`
frame is in the order of the reports (`seq`), not sorted: it has millions of rows, and sorting
is left to whoever shows it (`louyu state` does).

Rules, as EVENTS.md states them:

- Only events with `seq` within the cut-off take part. A retraction voids its target for every
  replay whose cut-off includes the retraction (it takes effect at its own `seq`, whatever the
  business date). A retraction may itself be retracted, which revives its target.
- Attribute state as of D: per building / tenant / tenancy, the latest value among events with
  `occurred_on` ≤ D, ties broken by `seq`. An event sets only the fields it carries.
- Tax: the latest recorded `TaxReported` (highest `seq`) for (tenant, building, period, part)
  replaces earlier ones; the amount of (tenant, building, period) is the latest total (no
  `part`) or the sum of the latest of each part (national, local), whichever form was recorded
  later (the higher `seq`). A key with both forms is a `tax_parts_mixed` finding, reported on
  its latest report. The same latest-wins rule for `CityTaxReported` per (period, district).

Decisions where the contract is silent (a careful statistician's reading, tested):

- Tax is a flow keyed by `period`: the `tax` and `city_tax` frames hold every period recorded by
  the cut-off, whatever `as_of` is (the panel picks periods by month). Tax of a tenancy whose
  move-in was retracted is kept (money was reported) and flagged; so is tax reported for a
  period in which, as of D, the tenancy was active on no day (after its move-out, before its
  move-in: `tax_inactive`): the tax bureau's attribution is a fact, the finding a question.
- A building exists as of D when its `BuildingRegistered` occurred on or before D. The panel has
  a row for every registered building and month; before the registration date `registered` is
  false, `in_scope` is false and the attributes shown are those of the registration.
- Completion: a building registered with `status` completed is completed from its
  `completed_on` (or always, when that is absent); otherwise from its first `BuildingCompleted`.
  The effective `completed_on` is the earliest of these dates known by D. Retirement: from the
  first `BuildingRetired`.
- Tenant attributes (`tenant_name`, `industry`, `industry_edition`, `headcount`,
  `headquarters`) belong to the enterprise: a `TenantMovedIn` into any building and a
  `TenantUpdated` both set them, for all its tenancies. A code given without an edition is in
  the 2017 edition (the default applies to the code it comes with).
- A tenancy is the pair (tenant, building) and may have several spells (moved out, moved back).
  It is active at the end of D when its latest `TenantMovedIn`/`TenantMovedOut` with
  `occurred_on` ≤ D (ties by `seq`) is a move-in; `since` is the date of the move-in that
  opened the current spell. A move-in to an active tenancy does not reopen it (`since` stays)
  but its area and registration count as values; a move-out of an inactive tenancy is ignored.
- Occupied area is capped at the building's rentable area; the uncapped sum is kept
  (`tenancy_area_m2` in the panel) and the excess is a finding in the state.
- Areas are summed in units of 10⁻⁴ m² and money in fen as integers, so sums are exact and ties
  in the leading industry are real ties.
- The leading industry's tax share counts the YTD tax of every tenant that paid tax in the
  building this year (moved out or not, like the denominator) whose key industry *at month end*
  is the leading one: the building as it is composed now, as a tax roll would be read.

Data-quality findings (`findings` frame: seq, event_id, type, code, problem) are events that make
no sense in order, with `occurred_on` ≤ D: events about a building whose registration is not in
the replay (retracted), building events dated before the registration, a second completion or
retirement, a revocation of a building not designated, a move-in to an active tenancy, a
move-out of (or a change to) an inactive tenancy, a move-in to a retired building, a tenant
update or tax report for a tenant or tenancy without a move-in, tax reported (by D) for a period
outside every spell of its tenancy as known at D, and tenancies whose areas exceed the building's
rentable area at D. They are reported, never fatal. `FINDING_CODES_ZH` names each
code in Chinese for the report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from louyu_research.city.industries import classify
from louyu_research.city.profile import City, default_city, load_city
from louyu_research.city.settings import Settings
from louyu_research.core.instants import DateLike, as_of_date, cut_off
from louyu_research.core.periods import Month, MonthLike
from louyu_research.log import catalogue as ev
from louyu_research.log.cache import file_stat
from louyu_research.log.chain import Head, stored_file
from louyu_research.log.store import EventLog

from . import frames

__all__ = ["FINDING_CODES_ZH", "Log", "Prepared", "State", "open_log", "prepare", "state_at"]

# Polars 2 runs queries on its streaming engine by default; replay's queries (sorts, as-of joins
# and group shifts over a few hundred thousand rows) run faster in memory (`make bench`).
ENGINE: Any = "in-memory"

AREA_UNIT = 10_000  # areas are summed as integers in 1e-4 m²
FEN = 100  # money is summed as integers in fen
# Back to m² and yuan by multiplying with the reciprocal: what Polars does for a column divided
# by a constant, except on chunks of one or two rows, where it divides. Written out, a value
# never depends on how a frame happens to be chunked (which differs between Polars' engines).
PER_AREA_UNIT = 1 / AREA_UNIT
#: Months in a packed key: month_idx < 2**16, so a code and a month pack into one 64-bit integer.
MONTH_SPAN = 65_536
PER_FEN = 1 / FEN

BUILDING_ATTRS = (
    "name",
    "district",
    "street",
    "community",
    "address",
    "gross_floor_area_m2",
    "rentable_area_m2",
    "category",
    "grade",
    "standalone",
    "owner",
    "property_manager",
    "self_held_ratio",
    "lon",
    "lat",
)
TENANT_ATTRS = ("tenant_name", "industry", "industry_edition", "headcount", "headquarters")
TENANCY_TYPES = (
    "TenantMovedIn",
    "TenantAreaChanged",
    "TenantRegistrationChanged",
    "TenantMovedOut",
)
BUILDING_SCOPED = (
    "BuildingCompleted",
    "BuildingUpdated",
    "BuildingFeaturedDesignated",
    "BuildingFeaturedRevoked",
    "BuildingRetired",
    *TENANCY_TYPES,
    "TaxReported",
)
TENANCY = ("tenant_id", "building_id")

FINDING_CODES_ZH = {
    "unknown_building": "楼宇未登记（登记事件已撤销）",
    "before_registration": "事件日期早于楼宇登记日期",
    "already_completed": "楼宇重复竣工",
    "already_retired": "楼宇重复退出",
    "not_designated": "撤销未认定楼宇的特色认定",
    "retired_building": "企业入驻已退出统计的楼宇",
    "move_in_active": "企业重复入驻（租户关系已存续）",
    "move_out_inactive": "迁出不存在的租户关系",
    "change_inactive": "变更不存续的租户关系",
    "unknown_tenant": "更新未入驻的企业",
    "unknown_tenancy": "税收所属租户关系不存在（入驻已撤销）",
    "tax_parts_mixed": "同一企业、楼宇和所属期的税收既有合计又有国税、地税分项",
    "tax_inactive": "税收所属期不在租户关系存续期内（已迁出或尚未入驻）",
    "over_rentable": "入驻面积超过楼宇可租面积",
}

# A tax finding's columns: `type` is TaxReported for all of them, set, not read.
_TAX_FINDING_COLUMNS = (
    "seq",
    "event_id",
    "type",
    "occurred_on",
    "tenant_id",
    "building_id",
    "period",
)
_EVENT_SCHEMA = ev.EVENT_FRAME_SCHEMA
#: `part` of a tax report as a small integer: null (the total), national, local.
_PARTS = {"national": 1, "local": 2}

# Columns of the flat event frame that replay reads (projection pushdown into the Parquet cache).
_COLUMNS = (
    "seq",
    "event_id",
    "type",
    "occurred_on",
    "building_id",
    "tenant_id",
    *BUILDING_ATTRS,
    "status",
    "completed_on",
    "industry",
    "reason",
    "tenant_name",
    "area_m2",
    "industry_edition",
    "registered_here",
    "headcount",
    "headquarters",
    "unit",
    "period",
    "amount_yuan",
    "retracted_event_id",
)


@dataclass(frozen=True)
class State:
    """The state of the building economy as of `as_of`, as the log knew it at `position`."""

    as_of: date
    position: dict[str, Any]
    buildings: pl.DataFrame
    tenancies: pl.DataFrame
    tenants: pl.DataFrame
    city_tax: pl.DataFrame
    findings: pl.DataFrame
    prepared: Prepared = field(repr=False, compare=False)

    @property
    def tax(self) -> pl.DataFrame:
        """Tax per (tenant, building, period) at the cut-off (`TenantTax`), in the order of the
        reports (`seq`). Tax is a flow: the same at every as-of date of one cut-off. It is
        most of the rows a replay returns, so it is made and validated when first read, once per
        preparation (`validated_tax`): a replay read only for its state and panel never holds
        millions of tenant ids as strings."""
        return validated_tax(self.prepared)

    def frame(self, name: str) -> pl.DataFrame:
        if name not in ("buildings", "tenancies", "tenants", "tax", "city_tax", "findings"):
            raise KeyError(f"unknown frame {name!r}")
        return getattr(self, name)


@dataclass(frozen=True)
class Prepared:
    """What replay derives from the events of one cut-off, independent of the business date.

    Every per-key sequence is sorted by (`occurred_on`, `seq`), so the state as of D is the
    prefix of each sequence with `occurred_on` ≤ D: one preparation serves any as-of date and
    the whole panel.
    """

    position: dict[str, Any]
    key_industries: tuple[str, ...]  # the city's key industries (codes)
    registry: (
        pl.DataFrame
    )  # one row per registered building: registration and first completion/retirement
    building_versions: pl.DataFrame  # building_id, valid_from, BUILDING_ATTRS (end-of-day state)
    featured_versions: (
        pl.DataFrame
    )  # building_id, valid_from, featured_designated, designated_industry
    tenancy_events: pl.DataFrame  # event-level tenancy sequence with state before/after
    tenant_versions: pl.DataFrame  # tenant_id, valid_from, TENANT_ATTRS, key_industry
    tax: pl.DataFrame  # latest report per (tenant, building, period), by codes; amount in fen
    tax_by_month: pl.DataFrame  # _b, month_idx, tax_fen: the tax summed per building and period
    tax_ids: pl.DataFrame  # seq, tenant_id, building_id of the reports without a tenancy code
    spells: pl.DataFrame  # tenant_id, building_id, since, until (move-out date or null)
    building_codes: pl.DataFrame  # building_id, _b: integer codes in id order (the tax's `_b`)
    tenant_codes: pl.DataFrame  # tenant_id, _t: integer codes in id order (the tax's `_t`)
    tax_unspelled: pl.DataFrame  # tax reports that may lie outside every spell (see _tax_inactive)
    city_tax: pl.DataFrame  # latest per (period, district)
    findings: pl.DataFrame  # event-level findings (before the as-of filter)
    # occupancy step functions (`occupancy.step_functions`): per building and date, and per
    # building, key industry and date; what the panel reads at each month end
    occupancy_steps: pl.DataFrame
    industry_steps: pl.DataFrame
    # the validated tax frame with its ids, made once on first use (`validated_tax`)
    _tax: list[pl.DataFrame] = field(default_factory=list, compare=False, repr=False)


# --- preparation: events → versions and intervals ---------------------------------------------


def _voided_ids(retractions: pl.DataFrame) -> pl.Series:
    """Ids voided by effective retractions (a retraction retracted by another is void itself).

    A retraction can only name an earlier event, so chains are short: iterate to a fixed point
    over chain depth (a handful of small joins), not over events.
    """
    voided = pl.Series("event_id", [], dtype=pl.String)
    for _ in range(retractions.height + 1):
        effective = retractions.filter(~pl.col("event_id").is_in(voided.implode()))
        new = effective["retracted_event_id"].unique().sort().rename("event_id")
        if new.equals(voided):
            break
        voided = new
    return voided


voided_ids = _voided_ids  # the public name (intake reads the log's retractions too)


def _fmt(template: str, *columns: str | pl.Expr) -> pl.Expr:
    """`pl.format` by concatenation (pl.format panics on some empty string views in Polars 2.1)."""
    pieces = template.split("{}")
    if len(pieces) != len(columns) + 1:
        raise ValueError(f"{template!r} needs {len(pieces) - 1} column(s)")
    parts: list[pl.Expr] = [pl.lit(pieces[0])]
    for col, piece in zip(columns, pieces[1:], strict=True):
        expr = pl.col(col) if isinstance(col, str) else col
        parts += [expr.cast(pl.String).fill_null("?"), pl.lit(piece)]
    return pl.concat_str(parts)


def _finding(
    frame: pl.LazyFrame, code: str, problem: pl.Expr, as_of: date | None = None
) -> pl.LazyFrame:
    """Rows of `frame` as findings; a finding about the state on `as_of` is dated then."""
    return frame.select(
        "seq",
        "event_id",
        "type",
        pl.lit(as_of).alias("occurred_on") if as_of else "occurred_on",
        pl.lit(code).alias("code"),
        problem.alias("problem"),
    )


def _ffill(columns: tuple[str, ...] | list[str], keys: str | list[str] | pl.Expr) -> list[pl.Expr]:
    """Forward fill within the groups of a frame sorted by `keys` (or a group-start mask).

    Each row takes the value of the nearest row at or above it, in its group, that has one: the
    row number of such rows is forward-filled and gathered. No `.over()` window, which is slow
    on hundreds of thousands of small groups keyed by strings.
    """
    start = keys if isinstance(keys, pl.Expr) else group_start(keys)
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    return [
        pl.col(c).gather(pl.when(start | pl.col(c).is_not_null()).then(row).forward_fill()).alias(c)
        for c in columns
    ]


def group_start(keys: str | list[str] | tuple[str, ...]) -> pl.Expr:
    """True on the first row of each group of a frame sorted by `keys`.

    With `group_shift` and `group_cum_sum` this replaces `.over()` windows on the hot paths:
    on hundreds of thousands of small groups a global shift with a mask is tens of times faster.
    """
    keys = [keys] if isinstance(keys, str) else list(keys)
    exprs = [pl.col(k).ne_missing(pl.col(k).shift(1)) for k in keys]
    return pl.any_horizontal(exprs)


def group_shift(
    expr: pl.Expr, keys: str | list[str] | tuple[str, ...], fill: Any = None
) -> pl.Expr:
    """The previous row's value within the group (frame sorted by keys), `fill` on a group's first row."""
    return pl.when(group_start(keys)).then(pl.lit(fill)).otherwise(expr.shift(1))


def group_cum_sum(expr: pl.Expr, keys: str | list[str] | tuple[str, ...]) -> pl.Expr:
    """Cumulative sum within each group of a frame sorted by keys (integers: exact)."""
    total = expr.cum_sum()
    return total - pl.when(group_start(keys)).then(total - expr).forward_fill()


def _end_of_day(
    frame: pl.LazyFrame, keys: list[str], date_col: str = "occurred_on"
) -> pl.LazyFrame:
    """Keep the last row per (keys, date) of a frame sorted by (keys, date, seq)."""
    return frame.unique(subset=[*keys, date_col], keep="last", maintain_order=True)


def prepare(
    events: pl.LazyFrame | pl.DataFrame,
    position: dict[str, Any] | None = None,
    city: City | None = None,
) -> Prepared:
    """Effective events of one cut-off → the versioned frames every replay and panel reads.

    `city` (default: the shipped profile) says which codes are key industries."""
    city = city or default_city()
    # Tax reports are most of a log and need 8 of its columns: they are read apart, narrow,
    # after the other events (whose retractions say which reports are void: filtered in the
    # same read).
    src = events.lazy()
    is_tax = pl.col("type") == "TaxReported"
    raw = src.filter(~is_tax).select(_COLUMNS).collect()
    retractions = raw.filter(pl.col("type") == "EventRetracted").select(
        "seq", "event_id", "retracted_event_id"
    )
    voided = (
        _voided_ids(retractions)
        if retractions.height
        else pl.Series("event_id", [], dtype=pl.String)
    )
    lf = raw.lazy().filter(pl.col("type") != "EventRetracted")
    if voided.len():
        lf = lf.filter(~pl.col("event_id").is_in(voided.implode()))
        is_tax = is_tax & ~pl.col("event_id").is_in(voided.implode())
    tax_src = src.filter(is_tax)
    lf = lf.with_columns(
        (pl.col("area_m2") * AREA_UNIT).round(0).cast(pl.Int64).alias("area_u"),
        (pl.col("amount_yuan") * FEN).round(0).cast(pl.Int64).alias("amount_fen"),
        # a code given without an edition is in the default edition (2017)
        pl.when(
            pl.col("industry").is_not_null()
            & pl.col("type").is_in(["TenantMovedIn", "TenantUpdated"])
        )
        .then(pl.col("industry_edition").fill_null("2017"))
        .otherwise(pl.col("industry_edition"))
        .alias("industry_edition"),
    )
    effective = lf.collect(engine=ENGINE)
    e = effective.lazy()

    # Registry: one registration per building (the append API refuses a second one).
    registry = (
        e.filter(pl.col("type") == "BuildingRegistered")
        .select(
            "building_id",
            pl.col("occurred_on").alias("registered_on"),
            pl.col("seq").alias("registered_seq"),
            pl.col("status").alias("registered_status"),
            pl.when(pl.col("status") == "completed")
            .then(pl.col("completed_on"))
            .alias("registered_completed_on"),
            ((pl.col("status") == "completed") & pl.col("completed_on").is_null()).alias(
                "completed_always"
            ),
        )
        .collect(engine=ENGINE)
    )
    reg = registry.lazy().select(
        "building_id", "registered_on", "registered_status", "completed_always"
    )
    # Events about a building whose registration is not in this replay are set apart once, and
    # the rest is split by type once, so every branch below reads only its own events.
    scoped = effective.get_column("type").is_in(BUILDING_SCOPED)
    registered_ids = registry.get_column("building_id").implode()
    is_known = ~scoped | effective.get_column("building_id").is_in(registered_ids).fill_null(False)
    unknown = effective.filter(~is_known).lazy()
    known_events = effective.filter(is_known) if not is_known.all() else effective
    kinds = known_events.get_column("type")
    # one filter per type present (cheaper than partitioning every column of every type)
    by_type = {t: known_events.filter(kinds == t) for t in kinds.unique().to_list()}
    empty = effective.clear()

    def known(*types: str) -> pl.LazyFrame:
        frames_ = [by_type[t] for t in types if t in by_type]
        return (pl.concat(frames_) if frames_ else empty).lazy()

    findings = [
        _finding(
            unknown.filter(pl.col("type") != "TaxReported"),
            "unknown_building",
            _fmt(
                "building {} is not registered in this replay (its registration was retracted)",
                "building_id",
            ),
        ),
    ]
    dated = known(*BUILDING_SCOPED).join(reg, on="building_id", how="left")
    findings.append(
        _finding(
            dated.filter(
                ~pl.col("type").is_in(["BuildingCompleted", "TaxReported"])
                & (pl.col("occurred_on") < pl.col("registered_on"))
            ),
            "before_registration",
            _fmt(
                "dated {} but building {} was registered on {}",
                "occurred_on",
                "building_id",
                "registered_on",
            ),
        )
    )

    # Building attributes: registration and updates, forward-filled per building.
    bseq = known("BuildingRegistered", "BuildingUpdated").sort("building_id", "occurred_on", "seq")
    building_versions = _end_of_day(
        bseq.select("building_id", "occurred_on", "seq", *_ffill(BUILDING_ATTRS, "building_id")),
        ["building_id"],
    ).select("building_id", pl.col("occurred_on").alias("valid_from"), *BUILDING_ATTRS)

    # Completions and retirements: the first of each counts; later ones are findings.
    life = (
        known("BuildingCompleted", "BuildingRetired")
        .join(reg, on="building_id", how="left")
        .sort("building_id", "type", "occurred_on", "seq")
        .with_columns(pl.int_range(pl.len()).over("building_id", "type").alias("_nth"))
    )
    findings += [
        _finding(
            life.filter(
                (pl.col("type") == "BuildingCompleted")
                & ((pl.col("_nth") > 0) | pl.col("registered_status").eq("completed"))
            ),
            "already_completed",
            _fmt("building {} was already completed", "building_id"),
        ),
        _finding(
            life.filter((pl.col("type") == "BuildingRetired") & (pl.col("_nth") > 0)),
            "already_retired",
            _fmt("building {} was already retired", "building_id"),
        ),
    ]
    firsts = (
        life.filter(pl.col("_nth") == 0)
        .group_by("building_id")
        .agg(
            pl.col("occurred_on")
            .filter(pl.col("type") == "BuildingCompleted")
            .first()
            .alias("first_completion_on"),
            pl.col("occurred_on")
            .filter(pl.col("type") == "BuildingRetired")
            .first()
            .alias("first_retired_on"),
        )
        .collect(engine=ENGINE)
    )
    registry = registry.join(firsts, on="building_id", how="left").sort("building_id")

    # Featured designation: the latest designation/revocation decides.
    fseq = (
        known("BuildingFeaturedDesignated", "BuildingFeaturedRevoked")
        .sort("building_id", "occurred_on", "seq")
        .with_columns(
            (pl.col("type") == "BuildingFeaturedDesignated").alias("featured_designated"),
            pl.when(pl.col("type") == "BuildingFeaturedDesignated")
            .then(pl.col("industry"))
            .alias("designated_industry"),
        )
        .with_columns(
            pl.col("featured_designated")
            .shift(1)
            .over("building_id")
            .fill_null(False)
            .alias("_was"),
        )
    )
    findings.append(
        _finding(
            fseq.filter((pl.col("type") == "BuildingFeaturedRevoked") & ~pl.col("_was")),
            "not_designated",
            _fmt("revokes the designation of building {}, which is not designated", "building_id"),
        )
    )
    featured_versions = _end_of_day(fseq, ["building_id"]).select(
        "building_id",
        pl.col("occurred_on").alias("valid_from"),
        "featured_designated",
        "designated_industry",
    )

    # Tenancies: event-level state machine (active iff the latest in/out event is a move-in).
    tseq = (
        known(*TENANCY_TYPES)
        .sort("tenant_id", "building_id", "occurred_on", "seq")
        .with_columns(
            pl.when(pl.col("type") == "TenantMovedIn")
            .then(1)
            .when(pl.col("type") == "TenantMovedOut")
            .then(0)
            .alias("_inout"),
            group_start(list(TENANCY)).alias("_gs"),
        )
        .with_columns(*_ffill(["_inout", "area_u", "registered_here", "unit"], pl.col("_gs")))
        .with_columns(pl.col("_inout").fill_null(0).cast(pl.Int8).alias("active"))
        .with_columns(
            pl.when(pl.col("_gs"))
            .then(0)
            .otherwise(pl.col("active").shift(1))
            .cast(pl.Int8)
            .alias("active_before")
        )
        .with_columns(
            pl.when((pl.col("type") == "TenantMovedIn") & (pl.col("active_before") == 0))
            .then(pl.col("occurred_on"))
            .alias("since"),
            (pl.col("area_u").fill_null(0) * pl.col("active")).alias("active_area_u"),
        )
        .with_columns(
            *_ffill(["since"], pl.col("_gs")),
            pl.when(pl.col("_gs"))
            .then(0)
            .otherwise(pl.col("active_area_u").shift(1))
            .alias("active_area_before_u"),
        )
        # read by the findings, the tenancy events and the spells: computed once
        .collect(engine=ENGINE)
        .lazy()
    )
    findings += [
        _finding(
            tseq.filter((pl.col("type") == "TenantMovedIn") & (pl.col("active_before") == 1)),
            "move_in_active",
            _fmt(
                "tenant {} moves into building {} but is already there", "tenant_id", "building_id"
            ),
        ),
        _finding(
            tseq.filter((pl.col("type") == "TenantMovedOut") & (pl.col("active_before") == 0)),
            "move_out_inactive",
            _fmt("tenant {} moves out of building {} but is not there", "tenant_id", "building_id"),
        ),
        _finding(
            tseq.filter(
                pl.col("type").is_in(["TenantAreaChanged", "TenantRegistrationChanged"])
                & (pl.col("active_before") == 0)
            ),
            "change_inactive",
            _fmt(
                "changes the tenancy of {} in building {}, which is not active",
                "tenant_id",
                "building_id",
            ),
        ),
        _finding(
            tseq.filter(pl.col("type") == "TenantMovedIn")
            .join(registry.lazy().select("building_id", "first_retired_on"), on="building_id")
            .filter(pl.col("occurred_on") >= pl.col("first_retired_on")),
            "retired_building",
            _fmt(
                "tenant {} moves into building {}, retired on {}",
                "tenant_id",
                "building_id",
                "first_retired_on",
            ),
        ),
    ]
    tenancy_events = tseq.select(
        "seq",
        "event_id",
        "type",
        "occurred_on",
        "tenant_id",
        "building_id",
        "active_before",
        "active",
        "area_u",
        "registered_here",
        "unit",
        "since",
        "active_area_before_u",
        "active_area_u",
    )
    # Spells: a move-in that opens a tenancy and the move-out that closes it (null: still open).
    spells = (
        tseq.filter(
            ((pl.col("type") == "TenantMovedIn") & (pl.col("active_before") == 0))
            | ((pl.col("type") == "TenantMovedOut") & (pl.col("active_before") == 1))
        )
        .select("tenant_id", "building_id", "type", "occurred_on", "seq")
        .sort("tenant_id", "building_id", "occurred_on", "seq")
        .with_columns(
            pl.when(group_start(TENANCY).shift(-1).fill_null(True))
            .then(None)
            .otherwise(pl.col("occurred_on").shift(-1))
            .alias("until")
        )
        .filter(pl.col("type") == "TenantMovedIn")
        .select("tenant_id", "building_id", pl.col("occurred_on").alias("since"), "until")
    )

    # Tenants: enterprise attributes from move-ins (any building) and updates.
    moved_in = known("TenantMovedIn").select("tenant_id").unique()
    updates = known("TenantUpdated")
    findings.append(
        _finding(
            updates.join(moved_in, on="tenant_id", how="anti"),
            "unknown_tenant",
            _fmt("updates tenant {}, which has no move-in in this replay", "tenant_id"),
        )
    )
    useq = (
        known("TenantMovedIn")
        .select(empty.columns)
        .pipe(lambda m: pl.concat([m, updates.join(moved_in, on="tenant_id", how="semi")]))
        .sort("tenant_id", "occurred_on", "seq")
        .select("tenant_id", "occurred_on", "seq", *_ffill(TENANT_ATTRS, "tenant_id"))
    )
    tenant_versions = classify(
        _end_of_day(useq, ["tenant_id"]).select(
            "tenant_id",
            pl.col("occurred_on").alias("valid_from"),
            *[pl.col(c) for c in TENANT_ATTRS if c != "headquarters"],
            pl.col("headquarters").fill_null(False),
        ),
        city.industry_codes,
    )

    # Tax: the reports are read once, in one streaming query that gives each its tenancy's
    # integer codes and keeps integers only (the string ids of millions of reports are never
    # held); the latest report per key wins. Tax of a building not in the replay, or of a
    # tenancy without a move-in, is kept too (those few reports keep their ids as strings).
    spells = spells.collect(engine=ENGINE)
    coded = _code_tax(tax_src, spells, registry)
    reports, building_codes, tenant_codes = coded.reports, coded.building_codes, coded.tenant_codes
    if position is None:
        last = max(raw["seq"].max() or 0, reports["seq"].max() or 0)
        position = {"seq": int(last), "recorded_at": None, "hash": None}
    # reports split by bureau (`part`) are rare: without any, parts cost nothing
    has_parts = bool(reports.get_column("part").is_not_null().any())
    latest = _latest_rows(reports, coded.orphans, by_part=has_parts)
    tax = reports.select(
        "seq",
        "occurred_on",
        "month_idx",
        "_k",
        "_b",
        "_t",
        "amount_fen",
        *(["part"] if has_parts else []),
    )
    if not latest.all():
        tax = tax.filter(latest)
    mixed = None
    if has_parts:
        tax, mixed = _combine_parts(tax, coded)
    unregistered, orphans, unspelled = _tax_against_spells(reports, spells, coded.pairs)
    # the few reports a finding names: their ids as stored, in one read of those rows only
    needed = pl.concat(
        [f.select("seq") for f in (unregistered, orphans, unspelled, mixed) if f is not None]
    )
    named = (
        tax_src.filter(pl.col("seq").is_in(needed.get_column("seq").implode()))
        .select("seq", "event_id", "tenant_id", "building_id", "period")
        .collect(engine="streaming")
        if needed.height
        else pl.DataFrame(
            schema={
                k: _EVENT_SCHEMA[k]
                for k in ("seq", "event_id", "tenant_id", "building_id", "period")
            }
        )
    )

    def with_ids(frame: pl.DataFrame) -> pl.LazyFrame:
        return (
            frame.lazy()
            .join(named.lazy(), on="seq", how="left", maintain_order="left")
            .with_columns(pl.lit("TaxReported").alias("type"))
        )

    tax_unspelled = (
        with_ids(unspelled).select(*_TAX_FINDING_COLUMNS, "p_start", "p_end").collect(engine=ENGINE)
    )
    if mixed is not None:
        findings.append(
            _finding(
                with_ids(mixed),
                "tax_parts_mixed",
                _fmt(
                    "tax of tenant {} in building {} for {} is reported both as a total and by "
                    "bureau (national, local); the form recorded later counts: {}",
                    "tenant_id",
                    "building_id",
                    "period",
                    "_form",
                ),
            )
        )
    findings += [
        _finding(
            with_ids(unregistered),
            "unknown_tenancy",
            _fmt(
                "tax of tenant {} in building {}, which is not registered in this replay; the tax is kept",
                "tenant_id",
                "building_id",
            ),
        ),
        _finding(
            with_ids(orphans),
            "unknown_tenancy",
            _fmt(
                "tax of tenant {} in building {}, a tenancy with no move-in in this replay; the tax is kept",
                "tenant_id",
                "building_id",
            ),
        ),
    ]
    city_tax = (
        known("CityTaxReported")
        .sort("seq")
        .unique(subset=["period", "district"], keep="last")
        .select("period", "district", "amount_fen", "seq")
    )

    collected = pl.collect_all(
        [
            building_versions,
            featured_versions,
            tenancy_events,
            tenant_versions,
            city_tax,
            pl.concat(findings),
        ],
        engine=ENGINE,
    )
    bv, fv, te, tv, ct, fd = collected
    te = te.sort("tenant_id", "building_id", "occurred_on", "seq")
    tv = tv.sort("tenant_id", "valid_from")
    from .occupancy import step_functions  # it builds on this module's helpers

    occupancy_steps, industry_steps = step_functions(
        te, building_codes, tv, city.key_industry_codes
    )
    return Prepared(
        position=position,
        key_industries=city.key_industry_codes,
        registry=registry,
        building_versions=bv.sort("building_id", "valid_from"),
        featured_versions=fv.sort("building_id", "valid_from"),
        tenancy_events=te,
        tenant_versions=tv,
        tax=tax,
        tax_by_month=_tax_by_month(tax),
        tax_ids=coded.orphans,
        spells=spells,
        building_codes=building_codes,
        tenant_codes=tenant_codes,
        tax_unspelled=tax_unspelled,
        city_tax=ct,
        findings=fd.sort("seq", "code"),
        occupancy_steps=occupancy_steps,
        industry_steps=industry_steps,
    )


def _tax_by_month(tax: pl.DataFrame) -> pl.DataFrame:
    """The tax of each building (`_b`) and period (`month_idx`), in fen, sorted by both: what
    the panel reads of millions of reports (a few hundred thousand rows)."""
    key = pl.col("_b").cast(pl.Int64) * MONTH_SPAN + pl.col("month_idx")
    return (
        tax.lazy()
        .filter(pl.col("_b").is_not_null())
        .group_by(key.alias("_key"))
        .agg(pl.col("amount_fen").sum())
        .collect(engine="streaming")  # millions of rows into a few hundred thousand groups
        .sort("_key")
        .select(
            (pl.col("_key") // MONTH_SPAN).cast(pl.UInt32).alias("_b"),
            (pl.col("_key") % MONTH_SPAN).cast(pl.Int32).alias("month_idx"),
            pl.col("amount_fen").alias("tax_fen"),
        )
    )


@dataclass(frozen=True)
class _Coded:
    """Tax reports by integer codes (`_code_tax`)."""

    reports: pl.DataFrame  # seq, occurred_on, month_idx, _k, _b, _t, amount_fen, part, _covers
    orphans: pl.DataFrame  # seq, tenant_id, building_id of the reports with no tenancy code
    pairs: pl.DataFrame  # one row per tenancy: _k, tenant_id, building_id, _b, _t
    building_codes: pl.DataFrame
    tenant_codes: pl.DataFrame


def month_index(col: str) -> pl.Expr:
    """The month of a date column as an integer: year × 12 + month − 1 (`Month.index`)."""
    return pl.col(col).dt.year().cast(pl.Int32) * 12 + pl.col(col).dt.month().cast(pl.Int32) - 1


def _month_start(idx: pl.Expr) -> pl.Expr:
    return pl.date(idx // 12, idx % 12 + 1, 1)


def _code_tax(reports: pl.LazyFrame, spells: pl.DataFrame, registry: pl.DataFrame) -> _Coded:
    """Tax reports (the `TaxReported` rows of the events) with integer codes, in `seq` order:
    `_k` the tenancy (null: no move-in), `_b` the building (null: not registered), `_t` the
    tenant (null: never moved in anywhere), `month_idx` of the period, the amount in fen, `part`
    as 1 (national) or 2 (local), and `_covers`: the tenancy has one spell, and it covers the
    period from the report's date on (see `_tax_against_spells`).

    Codes follow the sort order of the ids (buildings, tenants, and tenancies by tenant then
    building), so sorting by a code sorts by its id. The reports are read in one streaming
    query, joined to the tenancies on the (tenant, building) pair, keeping integers only: the
    reports without a tenancy code (rare) are read again by `seq` for their string ids, and
    looked up by building and by tenant.
    """
    pairs = spells.group_by(TENANCY, maintain_order=True).agg(
        pl.len().alias("_spells"),
        pl.col("since").min().alias("_since"),
        pl.col("until").sort_by("since").first().alias("_until"),
    )
    pairs = pairs.sort(TENANCY).with_row_index("_k")
    tenants = pairs.select("tenant_id").unique(maintain_order=True).with_row_index("_t")
    buildings = registry.select("building_id").sort("building_id").with_row_index("_b")
    pairs = pairs.join(tenants, on="tenant_id", maintain_order="left").join(
        buildings, on="building_id", maintain_order="left"
    )
    lookup = pairs.lazy().select(
        *TENANCY,
        "_k",
        "_b",
        "_t",
        "_spells",
        "_since",
        month_index("_since").alias("_since_m"),
        month_index("_until").alias("_until_m"),
    )
    month = (
        pl.col("period").str.slice(0, 4).cast(pl.Int32) * 12
        + pl.col("period").str.slice(5, 2).cast(pl.Int32)
        - 1
    )
    # since ≤ the period's last day ⟺ since's month ≤ the period's month; until ≥ the period's
    # first day ⟺ until's month ≥ the period's month
    covers = (
        (pl.col("_spells") == 1)
        & (pl.col("_since_m") <= pl.col("month_idx"))
        & (pl.col("_since") <= pl.col("occurred_on"))
        & (pl.col("_until_m").is_null() | (pl.col("_until_m") >= pl.col("month_idx")))
    ).fill_null(False)
    coded = (
        reports.select(
            "seq", "occurred_on", "tenant_id", "building_id", "period", "amount_yuan", "part"
        )
        .join(lookup, on=list(TENANCY), how="left")  # in any order: sorted by seq below
        .with_columns(month.alias("month_idx"))
        .select(
            "seq",
            "occurred_on",
            "month_idx",
            "_k",
            "_b",
            "_t",
            (pl.col("amount_yuan") * FEN).round(0).cast(pl.Int64).alias("amount_fen"),
            pl.col("part").replace_strict(_PARTS, default=None, return_dtype=pl.Int8),
            covers.alias("_covers"),
        )
        .collect(engine="streaming")
    )
    if not coded.get_column("seq").is_sorted():
        coded = coded.sort("seq")
    is_orphan = coded.get_column("_k").is_null()
    # the ids of the reports without a tenancy code (few), read again for those rows only
    seqs = coded.get_column("seq").filter(is_orphan)
    orphans = (
        reports.filter(pl.col("seq").is_in(seqs.implode()))
        .select("seq", *TENANCY)
        .collect(engine="streaming")
        .sort("seq")
        if seqs.len()
        else pl.DataFrame(
            schema={"seq": pl.Int64, "tenant_id": pl.String, "building_id": pl.String}
        )
    )
    if orphans.height:
        rows = is_orphan.arg_true()
        found = orphans.join(buildings, on="building_id", how="left", maintain_order="left").join(
            tenants, on="tenant_id", how="left", maintain_order="left"
        )
        coded = coded.with_columns(
            coded.get_column("_b").scatter(rows, found.get_column("_b")),
            coded.get_column("_t").scatter(rows, found.get_column("_t")),
        )
    return _Coded(
        reports=coded,
        orphans=orphans,
        pairs=pairs.select("_k", *TENANCY, "_b", "_t"),
        building_codes=buildings,
        tenant_codes=tenants,
    )


def _distinct(key: pl.Series) -> int:
    """How many distinct values a series of non-negative integer keys holds: marked in a bitmap
    when their range is small enough (a few times faster than hashing millions of them)."""
    if key.is_empty():
        return 0
    top = int(key.max())  # type: ignore[arg-type]
    if top < 64_000_000:
        marks = pl.repeat(False, top + 1, dtype=pl.Boolean, eager=True).scatter(key, True)
        return int(marks.sum())
    return key.n_unique()


def _report_keys(tax: pl.DataFrame, coded: _Coded) -> pl.Series:
    """One integer per (tenant, building) of each report: its tenancy code, or for a report
    without one, a code after every tenancy's, one per distinct (tenant, building) pair."""
    key = tax.get_column("_k").cast(pl.Int64)
    rows = key.is_null().arg_true()
    if rows.len():
        ids = (
            tax[rows]
            .select("seq")
            .join(coded.orphans, on="seq", how="left", maintain_order="left")
            .select(*TENANCY)
        )
        dense = ids.select(pl.struct(TENANCY).rank("dense").cast(pl.Int64)).to_series()
        key = key.scatter(rows, dense + coded.pairs.height)
    return key.rename("_key")


def _combine_parts(tax: pl.DataFrame, coded: _Coded) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The latest report of each (tenant, building, period, part) → one amount per (tenant,
    building, period): the total (no `part`) or the sum of the parts, whichever form holds the
    later report. Returns the combined reports (in `seq` order, each keyed by the latest report
    of the form that counts) and, for keys holding both forms, that latest report (seq,
    occurred_on, `_form`) for a finding.
    """
    columns = [c for c in tax.columns if c != "part"]
    tax = tax.with_columns(_report_keys(tax, coded))
    keys = ["_key", "month_idx"]
    is_part = pl.col("part").is_not_null()
    split = tax.filter(is_part).select(keys).unique()
    whole = tax.join(split, on=keys, how="anti")
    grouped = (
        tax.join(split, on=keys, how="semi")
        .sort("seq")
        .group_by(keys, maintain_order=True)
        .agg(
            pl.col("seq").filter(~is_part).max().alias("_total_seq"),
            pl.col("seq").filter(is_part).max().alias("_parts_seq"),
            pl.col("amount_fen").filter(~is_part).last().alias("_total_fen"),
            pl.col("amount_fen").filter(is_part).sum().alias("_parts_fen"),
            pl.col("seq").last(),
            pl.col("occurred_on").last(),
            pl.col("_k").first(),
            pl.col("_b").first(),
            pl.col("_t").first(),
        )
    )
    total_later = pl.col("_total_seq").is_not_null() & (
        pl.col("_parts_seq").is_null() | (pl.col("_total_seq") > pl.col("_parts_seq"))
    )
    chosen = grouped.with_columns(
        pl.when(total_later)
        .then(pl.col("_total_fen"))
        .otherwise(pl.col("_parts_fen"))
        .alias("amount_fen"),
        pl.when(total_later)
        .then(pl.lit("the total"))
        .otherwise(pl.lit("the sum of the parts"))
        .alias("_form"),
    )
    mixed = chosen.filter(
        pl.col("_total_seq").is_not_null() & pl.col("_parts_seq").is_not_null()
    ).select("seq", "occurred_on", "_form")
    combined = pl.concat([whole.select(columns), chosen.select(columns)]).sort("seq")
    return combined, mixed


def _latest_rows(coded: pl.DataFrame, orphans: pl.DataFrame, *, by_part: bool = False) -> pl.Series:
    """Rows holding the latest report (highest `seq`) of their (tenant, building, period) or,
    `by_part`, of their (tenant, building, period, part). `orphans`: the ids of the reports
    without a tenancy code, in the same order as those reports.

    Restatements are rare among millions of reports: the integer key (tenancy code, month) of
    the reports of known tenancies proves them distinct with one count in the usual case;
    otherwise the last of each integer key is found by hashing those integers (exact), and the
    few reports of tenancies without a move-in are compared by their string ids.
    """
    keep = pl.repeat(True, coded.height, dtype=pl.Boolean, eager=True)
    if coded.is_empty():
        return keep
    has_k = coded.get_column("_k").is_not_null()
    month = coded.get_column("month_idx")
    first, span = month.min(), month.max() - month.min() + 1  # type: ignore[operator]
    key = (coded.get_column("_k").cast(pl.Int64) * span + (month - first)).rename("key")
    part = coded.get_column("part").fill_null(0).cast(pl.Int64)
    if by_part:  # a third of the key per part: total (null), national, local
        key = (key * 3 + part).rename("key")
    known_rows = has_k.arg_true()
    known_key = key if known_rows.len() == key.len() else key.gather(known_rows)
    if _distinct(known_key) < known_key.len():
        last = known_key.is_last_distinct()
        keep = keep.scatter(known_rows.filter(~last), False)
    other = (~has_k).arg_true()
    if other.len():
        ids = orphans.select(
            *TENANCY, month.gather(other).alias("month_idx"), part.gather(other).alias("part")
        )
        fields = [*TENANCY, "month_idx", *(["part"] if by_part else [])]
        last = ids.select(pl.struct(fields).is_last_distinct())
        keep = keep.scatter(other.filter(~last.to_series()), False)
    return keep


def _tax_against_spells(
    reports: pl.DataFrame, spells: pl.DataFrame, pairs: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Tax reports (`_code_tax` output) against their building and their tenancy's spells.

    Returns (seq and date of) the reports of buildings not registered and of tenancies with no
    move-in at all (both `unknown_tenancy` findings), and the reports that may, as of some date,
    lie outside every spell (with their period's first and last day; checked against the date
    by `_tax_inactive`). As of D a tenancy's spells are the prefix of its event sequence up to
    D: spells that began by D, a spell whose move-out comes after D still open. So a report
    (dated ≤ D) overlapping a final spell that began by the report's own date overlaps it at
    every D from then on and is never a finding. Nearly every tenancy has one spell, which
    decides its reports row by row (`_covers`); the reports of the few with several go
    through a join.
    """
    cols = ["seq", "occurred_on"]
    # a tenancy code implies a registered building (the tenancies come from known events)
    unregistered = reports.filter(pl.col("_b").is_null()).select(cols)
    orphans = reports.filter(pl.col("_k").is_null() & pl.col("_b").is_not_null()).select(cols)
    rest = (
        reports.filter(pl.col("_k").is_not_null() & ~pl.col("_covers"))
        .select(*cols, "_k", _month_start(pl.col("month_idx")).alias("p_start"))
        .with_columns(pl.col("p_start").dt.month_end().alias("p_end"))
    )
    by_k = spells.join(pairs.select("_k", *TENANCY), on=list(TENANCY)).select(
        "_k", "since", "until"
    )
    covered = (
        rest.join(by_k, on="_k", how="inner")
        .filter(
            (pl.col("since") <= pl.min_horizontal("p_end", "occurred_on"))
            & (pl.col("until").is_null() | (pl.col("until") >= pl.col("p_start")))
        )
        .select("seq")
    )
    unspelled = rest.join(covered, on="seq", how="anti", maintain_order="left").drop("_k")
    return unregistered, orphans, unspelled


def validated_tax(p: Prepared) -> pl.DataFrame:
    """`tax_frame(p)`, validated: made and validated once per preparation.

    Tax is a flow keyed by period, the same at every as-of date of one cut-off, and it is most
    of the rows replay returns: every replay and `tenant_tax` of one preparation shares it
    (frames are immutable), so its full validation (every row, every check) runs once."""
    if not p._tax:
        p._tax.append(frames.validate(frames.TenantTax, tax_frame(p)))
    return p._tax[0]


def tax_frame(p: Prepared) -> pl.DataFrame:
    """The tax of a preparation with its ids (`TenantTax`'s columns), in the reports' order.

    The reports are held by integer codes: ids are gathered from the code tables (a report
    without a tenancy code takes the ids it was reported with) and periods from their months.
    """
    tax = p.tax
    tenant = p.tenant_codes.get_column("tenant_id").gather(tax.get_column("_t"))
    building = p.building_codes.get_column("building_id").gather(tax.get_column("_b"))
    orphan = tax.get_column("_k").is_null()
    if orphan.any():
        rows = orphan.arg_true()
        ids = tax[rows].select("seq").join(p.tax_ids, on="seq", how="left", maintain_order="left")
        tenant = tenant.scatter(rows, ids.get_column("tenant_id"))
        building = building.scatter(rows, ids.get_column("building_id"))
    month = tax.get_column("month_idx")
    if tax.is_empty():
        period = pl.Series("period", [], dtype=pl.String)
    else:
        first, last = int(month.min()), int(month.max())  # type: ignore[arg-type]
        names = (
            pl.select(pl.int_range(first, last + 1, dtype=pl.Int32).alias("m"))
            .select(
                pl.concat_str(
                    (pl.col("m") // 12).cast(pl.String).str.zfill(4),
                    pl.lit("-"),
                    (pl.col("m") % 12 + 1).cast(pl.String).str.zfill(2),
                )
            )
            .to_series()
        )
        period = names.gather(month - first)
    return pl.DataFrame(
        [
            tenant.rename("tenant_id"),
            building.rename("building_id"),
            period.rename("period"),
            (tax.get_column("amount_fen") * PER_FEN).rename("amount_yuan"),
        ]
    )


def _tax_inactive(p: Prepared, as_of: date) -> pl.LazyFrame:
    """Findings: tax reported (by `as_of`) for a period when, as of `as_of`, its tenancy was not
    active on any day of the period: the period lies after a move-out or before a move-in.

    The tax still counts as reported money (the `tax` frame and the panel keep it): the tax
    bureau's attribution is a fact of the log, and whether the tenant really left is a question
    for the street, not for replay.
    """
    reports = p.tax_unspelled.lazy().filter(pl.col("occurred_on") <= as_of)
    spells = (
        p.spells.lazy()
        .filter(pl.col("since") <= as_of)
        .with_columns(pl.when(pl.col("until") <= as_of).then(pl.col("until")).alias("until"))
    )
    near = (
        reports.join(spells, on=list(TENANCY), how="left")
        .group_by("seq")
        .agg(
            (
                (pl.col("since") <= pl.col("p_end"))
                & (pl.col("until").is_null() | (pl.col("until") >= pl.col("p_start")))
            )
            .fill_null(False)
            .any()
            .alias("_covered"),
            pl.col("until").filter(pl.col("until") < pl.col("p_start")).max().alias("_out"),
            pl.col("since").filter(pl.col("since") > pl.col("p_end")).min().alias("_in"),
        )
        .filter(~pl.col("_covered"))
    )
    when = (
        pl.when(pl.col("_out").is_not_null())
        .then(pl.concat_str(pl.lit("after its move-out on "), pl.col("_out").cast(pl.String)))
        .when(pl.col("_in").is_not_null())
        .then(pl.concat_str(pl.lit("before its move-in on "), pl.col("_in").cast(pl.String)))
        .otherwise(pl.lit("with no move-in by then"))
    )
    return _finding(
        reports.join(near, on="seq"),
        "tax_inactive",
        _fmt(
            "tax of {} for tenant {} in building {}, a period {} (as of {}); the tax is kept",
            "period",
            "tenant_id",
            "building_id",
            when,
            pl.lit(as_of.isoformat()),
        ),
        as_of,
    )


# --- the state as of a date -----------------------------------------------------------------


#: The buildings' text attributes, which a panel joins last (`buildings_at(..., narrow=True)`).
BUILDING_TEXT = ("name", "district", "street", "community", "address", "category", "grade")


def buildings_at(
    p: Prepared, grid: pl.LazyFrame, settings: Settings, *, narrow: bool = False
) -> pl.LazyFrame:
    """Building attributes, status and scope at the date `at` of each row of `grid`.

    `grid` has `building_id` (or the buildings' integer codes `_b`, `Prepared.building_codes`:
    then it is sorted and joined by them, integers rather than strings) and `at` (Date), and
    any other columns (kept). Attributes are read at `max(at, registered_on)`, so a row before
    the registration shows the registration's values with `registered` false.

    `narrow`: instead of the text attributes (`BUILDING_TEXT`) and `designated_industry`, the
    row of the building's version (`_v`, in `building_versions`) and of its featured version
    (`_f`, in `featured_versions`; null before any), to be joined once a grid of many rows has
    been sorted and joined with everything else (`building_texts`).
    """
    by = "_b" if "_b" in grid.collect_schema() else "building_id"

    def keyed(frame: pl.DataFrame, index: str = "", texts: tuple[str, ...] = ()) -> pl.LazyFrame:
        lf = frame.lazy()
        if narrow and index:
            lf = lf.with_row_index(index).drop(texts)
        if by == "building_id":
            return lf
        codes = p.building_codes.lazy()
        return lf.join(codes, on="building_id", maintain_order="left").drop("building_id")

    g = (
        grid.join(keyed(p.registry), on=by, how="inner")
        .with_columns(pl.max_horizontal("at", "registered_on").alias("_attr_at"))
        .sort(by, "_attr_at")
        .join_asof(
            keyed(p.building_versions, "_v", BUILDING_TEXT),
            left_on="_attr_at",
            right_on="valid_from",
            by=by,
            check_sortedness=False,
        )
        .sort(by, "at")
        .join_asof(
            keyed(p.featured_versions, "_f", ("designated_industry",)),
            left_on="at",
            right_on="valid_from",
            by=by,
            check_sortedness=False,
        )
    )
    at = pl.col("at")
    completed_on = pl.min_horizontal(
        pl.when(pl.col("registered_completed_on") <= at).then(pl.col("registered_completed_on")),
        pl.when(pl.col("first_completion_on") <= at).then(pl.col("first_completion_on")),
    )
    g = g.with_columns(
        completed_on.alias("completed_on"),
        pl.when(pl.col("first_retired_on") <= at)
        .then(pl.col("first_retired_on"))
        .alias("retired_on"),
        (pl.col("registered_on") <= at).alias("registered"),
        pl.col("featured_designated").fill_null(False),
    )
    completed = pl.col("completed_always") | pl.col("completed_on").is_not_null()
    retired = pl.col("retired_on").is_not_null()
    standalone_ok = pl.col("standalone") if settings.scope_standalone_only else pl.lit(True)
    return g.with_columns(
        pl.when(completed)
        .then(pl.lit("completed"))
        .when(pl.col("registered_status") == "completed")
        .then(pl.lit("under_construction"))
        .otherwise(pl.col("registered_status"))
        .alias("status"),
        completed.alias("completed"),
        retired.alias("retired"),
        (
            pl.col("registered")
            & completed
            & ~retired
            & standalone_ok
            & (pl.col("gross_floor_area_m2") >= settings.scope_min_gross_floor_area_m2)
        ).alias("in_scope"),
    )


def building_texts(p: Prepared, rows: pl.LazyFrame) -> pl.LazyFrame:
    """The text attributes and `designated_industry` of `buildings_at(..., narrow=True)` rows,
    joined by their versions' rows (`_v`, `_f`), in the rows' order."""
    texts = p.building_versions.lazy().with_row_index("_v").select("_v", *BUILDING_TEXT)
    featured = p.featured_versions.lazy().with_row_index("_f").select("_f", "designated_industry")
    return (
        rows.join(texts, on="_v", how="left", maintain_order="left")
        .join(featured, on="_f", how="left", maintain_order="left")
        .drop("_v", "_f")
    )


def _last_by(frame: pl.DataFrame, keys: list[str], as_of: date, date_col: str) -> pl.LazyFrame:
    """The last row per key with `date_col` ≤ as_of of a frame sorted by (keys, date[, seq]):
    the rows whose next row has another key (a comparison with the next row, not a hash)."""
    last = pl.any_horizontal([pl.col(k).ne_missing(pl.col(k).shift(-1)) for k in keys])
    return frame.lazy().filter(pl.col(date_col) <= as_of).filter(last)


def tenants_at(p: Prepared, as_of: date) -> pl.LazyFrame:
    """Enterprises that moved in somewhere by `as_of`, with their attributes at `as_of`."""
    movers = (
        p.tenancy_events.lazy()
        .filter((pl.col("type") == "TenantMovedIn") & (pl.col("occurred_on") <= as_of))
        .select("tenant_id")
        .unique()
    )
    return (
        _last_by(p.tenant_versions, ["tenant_id"], as_of, "valid_from")
        .join(movers, on="tenant_id", how="semi")
        .drop("valid_from")
    )


def state_at(p: Prepared, as_of: date, settings: Settings | None = None) -> State:
    """The `State` as of `as_of` from a preparation (pure: no I/O)."""
    settings = settings or Settings()
    grid = (
        p.registry.lazy()
        .filter(pl.col("registered_on") <= as_of)
        .select("building_id", pl.lit(as_of).alias("at"))
    )
    buildings = buildings_at(p, grid, settings).select(frames.BUILDING_COLUMNS)
    tenants = tenants_at(p, as_of)
    active = _last_by(p.tenancy_events, list(TENANCY), as_of, "occurred_on").filter(
        pl.col("active") == 1
    )
    tenancies = active.join(tenants, on="tenant_id", how="left").select(
        "tenant_id",
        "building_id",
        "tenant_name",
        (pl.col("area_u") * PER_AREA_UNIT).alias("area_m2"),
        "industry",
        "industry_edition",
        "key_industry",
        "registered_here",
        "headquarters",
        "headcount",
        "since",
        "unit",
    )
    b, t, tn = pl.collect_all(
        [buildings, tenancies, tenants.select(frames.TENANT_COLUMNS)], engine=ENGINE
    )

    # tenancies whose areas exceed the building's rentable area at D
    over = _finding(
        active.group_by("building_id")
        .agg(pl.col("area_u").sum().alias("_area_u"), pl.col("seq").max().alias("seq"))
        .join(b.lazy().select("building_id", "rentable_area_m2"), on="building_id")
        .filter(pl.col("_area_u") > (pl.col("rentable_area_m2") * AREA_UNIT).round(0))
        .join(p.tenancy_events.lazy().select("seq", "event_id", "type"), on="seq"),
        "over_rentable",
        _fmt(
            "tenancies in building {} occupy {} m², more than its rentable {} m² on {}; occupied area is capped",
            "building_id",
            (pl.col("_area_u") * PER_AREA_UNIT).round(2),
            "rentable_area_m2",
            pl.lit(as_of.isoformat()),
        ),
        as_of,
    )
    findings = (
        pl.concat(
            [
                p.findings.lazy().filter(pl.col("occurred_on") <= as_of),
                over,
                _tax_inactive(p, as_of),
            ]
        )
        .select("seq", "event_id", "type", "code", "problem")
        .sort("seq", "code")
    )
    city = p.city_tax.lazy().select(
        "period", "district", (pl.col("amount_fen") * PER_FEN).alias("amount_yuan")
    )
    fd, ct = pl.collect_all([findings, city], engine=ENGINE)
    return State(
        as_of=as_of,
        position=p.position,
        buildings=frames.validate(frames.Building, b.sort("building_id")),
        tenancies=frames.validate(frames.Tenancy, t.sort("building_id", "tenant_id")),
        tenants=frames.validate(frames.Tenant, tn.sort("tenant_id")),
        city_tax=frames.validate(frames.CityTax, ct.sort("period", "district", nulls_last=False)),
        findings=frames.validate(frames.Finding, fd),
        prepared=p,
    )


# --- the log with replay -------------------------------------------------------------------


class Log(EventLog):
    """An event log that replays itself (`replay`, `panel`); see the module docstring."""

    _memo_size = 2
    #: Logs with at least this many events keep their preparations on disk (`saved`), read
    #: back by the next process that replays the same cut-off; None: never.
    save_from_events: int | None = 200_000

    def __init__(self, path: str | os.PathLike[str] = "events", *, city: City | None = None):
        super().__init__(path, city=city)
        self._memo: dict[tuple[Any, ...], Prepared] = {}

    def cut_off(self, recorded_by: DateLike | None) -> datetime | None:
        """A `recorded_by` as a person passes it (a date: the end of that day in the city's time
        zone; a naive time: in that zone; ISO text), as the instant it means."""
        return None if recorded_by is None else cut_off(recorded_by, self.city.time_zone)

    def prepared(
        self, *, recorded_by: DateLike | None = None, upto_seq: int | None = None
    ) -> Prepared:
        """The preparation of one cut-off (memoised for the last few cut-offs of this head)."""
        if recorded_by is not None and upto_seq is not None:
            raise ValueError("give one cut-off: recorded_by or upto_seq, not both")
        recorded_by = self.cut_off(recorded_by)
        if upto_seq is not None and upto_seq < 0:
            raise ValueError("upto_seq must be ≥ 0")
        head = self.checked_head()  # the cut-off is read once: the key and the scan agree
        rb = recorded_by.astimezone(UTC) if recorded_by is not None else None
        key = (head.seq, head.hash, rb, upto_seq)
        if key not in self._memo:
            if len(self._memo) >= self._memo_size:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = self._prepare_cut_off(key, head, rb, upto_seq)
        return self._memo[key]

    def _prepare_cut_off(
        self, key: tuple[Any, ...], head: Head, rb: datetime | None, upto_seq: int | None
    ) -> Prepared:
        """Prepare a cut-off, or read its saved preparation (`saved`: logs of at least
        `save_from_events` events)."""
        from . import saved

        keep = self.save_from_events is not None and head.seq >= self.save_from_events
        name = saved.preparation_key(key, self.city.digest) if keep else ""
        cache = self._cache.folder
        files = self._segment_files(head) if keep else {}
        if keep and (found := saved.load(cache, name)) is not None:
            prepared, checked = found
            if checked != files:
                # the segments changed on disk since they were last checked (a copied folder, a
                # compressed segment, a damaged log): checked as a replay checks them, once
                self.scan(upto_seq=upto_seq, recorded_by=rb, head=head)
                saved.record_segments(cache, name, files)
            return prepared
        # the scan checks that the segments follow each other up to HEAD
        lf = self.scan(upto_seq=upto_seq, recorded_by=rb, head=head)
        whole = rb is None and (upto_seq is None or upto_seq >= head.seq)
        prepared = prepare(lf, self._cut_off_position(lf, head, whole), self.city)
        if keep:
            saved.save(cache, name, prepared, files)
        return prepared

    def _segment_files(self, head: Head) -> dict[str, list[int]]:
        """The stored file of each segment up to HEAD's, with its stat (device, inode, size,
        mtime, ctime): what a replay served by a saved preparation compares with the files
        that were checked when it was saved."""
        out: dict[str, list[int]] = {}
        for segment in self._acknowledged_segments(head):
            path = stored_file(self.path, segment)
            try:
                out[path.name] = file_stat(path)
            except OSError:
                out[segment] = []  # missing: the scan names it
        return out

    def _cut_off_position(
        self, lf: pl.LazyFrame, head: Any, cut_is_head: bool = False
    ) -> dict[str, Any]:
        """The position of the last event inside the cut-off, in `EventLog.position`'s one form."""
        if cut_is_head:  # every acknowledged event is inside: the head, without a scan
            return self.position(head.seq)
        last = lf.select(pl.col("seq").max()).collect(engine=ENGINE).item()
        return self.position(last if last is not None else 0)

    def replay(
        self,
        as_of: DateLike,
        *,
        recorded_by: DateLike | None = None,
        upto_seq: int | None = None,
        settings: Settings | None = None,
    ) -> State:
        """The state as of business date `as_of`, as recorded by the cut-off (default: HEAD).

        `as_of` and `recorded_by` take a `date`, a `datetime` or ISO text
        (`core.instants`): a date as `recorded_by` is the end of that day in the city's
        time zone."""
        as_of = as_of_date(as_of, self.city.time_zone)
        p = self.prepared(recorded_by=recorded_by, upto_seq=upto_seq)
        return state_at(p, as_of, settings or self.city.settings)

    def panel(
        self,
        start: MonthLike,
        end: MonthLike,
        *,
        recorded_by: DateLike | None = None,
        upto_seq: int | None = None,
        settings: Settings | None = None,
    ) -> pl.DataFrame:
        """The BuildingMonth panel from month `start` to `end` (YYYY-MM, a date or a `Month`;
        inclusive)."""
        from .panel import building_month_panel

        return building_month_panel(
            self.prepared(recorded_by=recorded_by, upto_seq=upto_seq),
            str(Month.parse(start)),
            str(Month.parse(end)),
            settings or self.city.settings,
        )

    def findings_at(
        self,
        dates: list[date],
        *,
        recorded_by: DateLike | None = None,
        upto_seq: int | None = None,
    ) -> pl.DataFrame:
        """The findings of a replay at each of `dates` (one preparation), long: as_of + Finding."""
        p = self.prepared(recorded_by=recorded_by, upto_seq=upto_seq)
        parts = [state_at(p, d).findings.select(pl.lit(d).alias("as_of"), pl.all()) for d in dates]
        if not parts:
            raise ValueError("findings_at needs at least one date")
        return pl.concat(parts).sort("seq", "code", "as_of")

    def tenant_tax(
        self, *, recorded_by: DateLike | None = None, upto_seq: int | None = None
    ) -> pl.DataFrame:
        """Tax per (tenant, building, period) at the cut-off: the `tax` frame of any replay."""
        p = self.prepared(recorded_by=recorded_by, upto_seq=upto_seq)
        return validated_tax(p)


def open_log(
    path: str | os.PathLike[str] = "events", *, city: City | str | os.PathLike[str] | None = None
) -> Log:
    """Open an event log folder for replay, about `city`: a profile or its folder (default:
    the city the log records)."""
    profile = city if isinstance(city, City) or city is None else load_city(city)
    return Log(path, city=profile)
