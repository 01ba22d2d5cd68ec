"""Everything a quarterly report shows, read from the log once: `gather` → `ReportInputs`.

This is the report's only I/O: it opens the log at the pinned position, replays it, computes
the figures, targets, ranking and lists the sections need, re-reads the plan figures as an
earlier report published them, and reads the previous quarter's manifest under `reports/`.
The sections (`report.sections`) are pure functions of the immutable `ReportInputs` it
returns, so a test can hand them a small frame-by-frame `ReportInputs` of its own.

Conventions fixed here:
- the months a report can speak of run from the first month the log recorded anything to the
  last business month it holds (`log_months`);
- a quarter is published from the log as recorded by the end of the month after it
  (`publication_cutoff`), and a report compares the previous quarter's figures with what the
  previous report published (`previous_cutoff`: its manifest's position when there is one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl

from louyu_research.city.profile import City
from louyu_research.city.settings import Settings
from louyu_research.core.periods import Month, MonthLike, Quarter, QuarterError, QuarterLike
from louyu_research.indicators import figures as ind
from louyu_research.indicators.figures import PLAN_INDICATORS

#: The plan's indicators that are rates (shown in %, their changes in percentage points).
RATE_INDICATORS = frozenset({"occupancy_rate", "registration_rate", "tax_share_ytd"})
#: Kinds of events recorded after the previous report about what it covered, in report order.
LATE_KINDS = ("late", "restated", "retracted", "other")


@dataclass(frozen=True)
class ReportInputs:
    """Every frame and value the report's sections read, for one quarter at one log position.

    Frames keep the indicator and list columns of `indicators`; `tax` and `tenancies` hold
    tenant-level rows (disclosure control decides what of them a public edition shows).
    """

    quarter: Quarter
    position: Mapping[str, Any]  # seq, recorded_at, hash of the log position read
    profile: City  # the city the log is about: report title, plan, key industries
    settings: Settings
    first_month: Month  # the months the log covers (see `log_months`)
    last_month: Month
    city: pl.DataFrame  # city figures, every month since the log starts
    areas: pl.DataFrame  # reporting-area figures of the quarter's last month (and `compare_months`)
    streets: pl.DataFrame  # street figures of the quarter's last month, the month before (and
    # the previous quarter's last month)
    buildings: pl.DataFrame  # building figures of the quarter's last month
    tax: pl.DataFrame  # tax reports (tenant, building, period, amount_yuan)
    targets: pl.DataFrame  # `track_targets` of every plan year
    ranking: pl.DataFrame  # street ranking of the months `streets` holds
    lists: Mapping[str, pl.DataFrame]  # key, vacancy, low_output, featured, at_risk
    tenancies: pl.DataFrame  # tenancies at the quarter's end
    findings: pl.DataFrame  # the replay's findings at the quarter's end
    revisions: pl.DataFrame  # previous quarter's plan figures: as published vs now
    late: pl.DataFrame  # events since the previous report about what it covered, by kind
    previous_cutoff: Mapping[str, Any] = field(default_factory=dict)
    #: a revised edition: the position the published edition read, and its figures vs now
    published_seq: int | None = None
    revision: pl.DataFrame | None = None
    #: where each building stands (building_id, lon, lat) at the quarter's end
    locations: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"building_id": pl.String, "lon": pl.Float64, "lat": pl.Float64}
        )
    )

    def __post_init__(self) -> None:
        for name in ("position", "lists", "previous_cutoff"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def month(self) -> Month:
        """The quarter's last month: the report's figures are those at its end."""
        return self.quarter.last_month

    @property
    def seq(self) -> int | None:
        return self.position.get("seq")

    def compare_months(self) -> dict[str, Month]:
        """The months a quarter's figures are compared with: `prev_q` (the previous quarter's
        last month) and `prev_y` (the same month a year before)."""
        return {"prev_q": self.quarter.shift(-1).last_month, "prev_y": self.month.shift(-12)}


# --- where a report reads the log -------------------------------------------------------------


def log_months(log: Any, upto_seq: int | None = None) -> tuple[Month, Month]:
    """The months a report can speak of: from the first month the log recorded anything (in
    the city's time zone; opening stock is back-dated to old completion dates, so business
    dates start earlier) to the last business month it holds."""
    first, last = ind.covered_months(log, upto_seq=upto_seq)
    tz = log.city.time_zone
    recorded = (
        log.scan(upto_seq=upto_seq)
        .select(pl.col("recorded_at").min().dt.convert_time_zone(tz).dt.strftime("%Y-%m"))
        .collect()
        .item()
    )
    return Month.parse(max(first, recorded or first)), Month.parse(last)


def check_quarter(quarter: QuarterLike, first_month: MonthLike, last_month: MonthLike) -> Quarter:
    """The quarter, checked well formed and inside the log's months."""
    q = Quarter.parse(quarter)
    covered = Quarter.covered(first_month, last_month)
    if q not in covered:
        span = f"{covered[0]} to {covered[-1]}" if covered else "none"
        raise QuarterError(f"quarter {q} is outside the log (quarters covered: {span})")
    return q


def publication_cutoff(log: Any, quarter: QuarterLike, upto_seq: int) -> dict[str, Any]:
    """Where a quarter's report reads the log by convention: what was recorded by the end of
    the month after the quarter, 24:00 in the city's time zone (a month's returns arrive in
    the next month), within `upto_seq`."""
    cutoff = Quarter.parse(quarter).publication_cutoff(log.city.time_zone)
    seq = (
        log.scan(upto_seq=upto_seq)
        .filter(pl.col("recorded_at") < cutoff)
        .select(pl.col("seq").max())
        .collect()
        .item()
    )
    return {
        "seq": int(seq) if seq is not None else 0,
        "how": f"recorded before {cutoff.date().isoformat()}",
    }


def previous_cutoff(
    log: Any, quarter: QuarterLike, upto_seq: int, reports: Path = Path("reports")
) -> dict[str, Any]:
    """Where the previous quarter's report read the log: its manifest's position when one is
    published under reports/, else `publication_cutoff` of the previous quarter."""
    prev = Quarter.parse(quarter).shift(-1)
    manifest = reports / str(prev) / "manifest.json"
    if manifest.exists():
        try:
            pos = json.loads(manifest.read_text("utf-8")).get("log_position", {})
        except ValueError:
            pos = {}
        if isinstance(pos.get("seq"), int):
            return {"seq": min(pos["seq"], upto_seq), "how": f"reports/{prev}/manifest.json"}
    return publication_cutoff(log, prev, upto_seq)


# --- gathering ------------------------------------------------------------------------------


def gather(
    quarter: QuarterLike,
    log: str | Path = "events",
    *,
    upto_seq: int | None = None,
    settings: Settings | None = None,
    published_seq: int | None = None,
    previous: Mapping[str, Any] | None = None,
    reports: Path = Path("reports"),
    city: City | str | Path | None = None,
) -> ReportInputs:
    """Read the log once at a pinned position (its head when `upto_seq` is None).

    `published_seq`: a revised edition, which shows what changed against the edition
    published from that log position. `previous`: where the previous quarter's report read
    the log, pinned by the manifest so a rebuild agrees (else `previous_cutoff`). `city`: the
    profile (or its folder) of the city the log is about (default: the shipped one); its
    divisions, targets and settings (unless `settings` is given) make the figures.
    """
    from louyu_research.indicators import lists as li
    from louyu_research.replay.log import open_log

    lg = open_log(log, city=city)
    s = settings or lg.city.settings
    seq = upto_seq if upto_seq is not None else lg.head.seq
    first, last = log_months(lg, seq)
    q = check_quarter(quarter, first, last)
    month = str(q.last_month)
    prev_month = str(q.last_month.shift(-1))
    prev_q = str(q.shift(-1).last_month)
    prev_y = str(q.last_month.shift(-12))
    trend_months = [str(m) for m in Month.range(first.shift(1), q.last_month)]
    inp = ind.read_inputs(lg, trend_months, upto_seq=seq, settings=s)
    common = {
        "tax": inp.tax,
        "city_tax": inp.city_tax,
        "settings": s,
        "divisions": lg.city.divisions,
    }
    city_figures = ind.figures(inp.panel, level="city", months=trend_months, **common)
    covered = set(trend_months)
    areas = ind.figures(
        inp.panel,
        level="reporting_area",
        months=sorted({m for m in (prev_y, prev_q) if m in covered} | {month}),
        **common,
    )
    streets = ind.figures(
        inp.panel,
        level="street",
        months=sorted({m for m in (prev_q, prev_month) if m in covered} | {month}),
        **common,
    )
    buildings = ind.figures(inp.panel, level="building", months=[month], **common)
    sheet = li.building_sheet(buildings, inp.panel, month)
    now = lg.replay(q.last_month.last_day, settings=s, upto_seq=seq)
    before = lg.replay(
        q.last_month.shift(-s.at_risk_window_months).last_day, settings=s, upto_seq=seq
    )
    lists = {
        "key": li.key_buildings(sheet, s),
        "vacancy": li.vacancy_list(sheet, s),
        "low_output": li.low_output_list(sheet, s),
        "featured": li.featured_list(sheet, s),
        "at_risk": li.tenants_at_risk(sheet, now.tenancies, before.tenancies, inp.tax, month, s),
    }
    cutoff = dict(previous) if previous else previous_cutoff(lg, q, seq, reports)
    return ReportInputs(
        quarter=q,
        position=dict(inp.position),
        profile=lg.city,
        settings=s,
        first_month=first,
        last_month=last,
        city=city_figures,
        areas=areas,
        streets=streets,
        buildings=buildings,
        tax=inp.tax,
        targets=ind.track_targets(city_figures, lg.city.targets),
        ranking=ind.rank_streets(streets, s),
        lists=lists,
        tenancies=now.tenancies,
        findings=now.findings,
        revisions=plan_figures_compared(lg, q.shift(-1).last_month, cutoff.get("seq"), seq, s),
        late=late_events(lg.scan(upto_seq=seq), q, cutoff.get("seq")),
        previous_cutoff=cutoff,
        published_seq=published_seq,
        revision=(
            plan_figures_compared(lg, q.last_month, published_seq, seq, s)
            if published_seq
            else None
        ),
        locations=now.buildings.select("building_id", "lon", "lat"),
    )


def plan_figures_compared(
    log: Any, month: MonthLike, published_seq: int | None, seq: int, settings: Settings
) -> pl.DataFrame:
    """The plan's five city figures of `month` as read at `published_seq` (published) and at
    `seq` (revised), their difference, and which are rates; in the plan's order."""
    values: dict[str, dict[str, float | None]] = {}
    m = str(Month.parse(month))
    for key, cut in (("published", published_seq), ("revised", seq)):
        try:
            inp = ind.read_inputs(log, [m], upto_seq=cut, settings=settings)
            city = ind.figures(
                inp.panel,
                tax=inp.tax,
                city_tax=inp.city_tax,
                level="city",
                months=[m],
                settings=settings,
                divisions=log.city.divisions,
            )
            values[key] = {k: city.get_column(k)[0] for k in PLAN_INDICATORS} if city.height else {}
        except ind.MonthError:
            values[key] = {}
    frame = pl.DataFrame(
        {
            "order": list(range(len(PLAN_INDICATORS))),
            "indicator": list(PLAN_INDICATORS),
            "published": [values["published"].get(k) for k in PLAN_INDICATORS],
            "revised": [values["revised"].get(k) for k in PLAN_INDICATORS],
        },
        schema={
            "order": pl.Int64,
            "indicator": pl.String,
            "published": pl.Float64,
            "revised": pl.Float64,
        },
    )
    return frame.with_columns(
        (pl.col("revised") - pl.col("published")).alias("difference"),
        pl.col("indicator").is_in(list(RATE_INDICATORS)).alias("is_rate"),
    ).sort("order")


def late_events(
    events: pl.DataFrame | pl.LazyFrame, quarter: QuarterLike, cutoff_seq: int | None
) -> pl.DataFrame:
    """Events recorded after the previous report's cut-off about business dates on or before
    the previous quarter's end, by kind (`LATE_KINDS`): late tax (a tenant's first report of a
    building and period), restatements (a later report of the same), retractions, other; with
    the tax amounts they carry. Every kind has a row (0 events when none)."""
    prev_end = str(Quarter.parse(quarter).shift(-1).last_month)
    kinds = pl.DataFrame({"kind": list(LATE_KINDS), "order": list(range(len(LATE_KINDS)))})
    if cutoff_seq is None:
        return kinds.with_columns(
            pl.lit(0, pl.Int64).alias("events"), pl.lit(0.0).alias("amount_yuan")
        )
    ev = events.lazy()
    tax = ev.filter(pl.col("type") == "TaxReported")
    first_seq = tax.group_by("tenant_id", "building_id", "period").agg(
        pl.col("seq").min().alias("first_seq")
    )
    new = ev.filter(pl.col("seq") > cutoff_seq)
    about_past = pl.col("occurred_on").dt.strftime("%Y-%m") <= prev_end
    tax_new = (
        new.filter(pl.col("type") == "TaxReported")
        .join(first_seq, on=["tenant_id", "building_id", "period"], how="left")
        .filter(pl.col("period") <= prev_end)
        .with_columns(
            pl.when(pl.col("seq") == pl.col("first_seq"))
            .then(pl.lit("late"))
            .otherwise(pl.lit("restated"))
            .alias("kind")
        )
        .select("kind", "amount_yuan")
    )
    other = new.filter((pl.col("type") != "TaxReported") & about_past).select(
        pl.when(pl.col("type") == "EventRetracted")
        .then(pl.lit("retracted"))
        .otherwise(pl.lit("other"))
        .alias("kind"),
        pl.lit(None, pl.Float64).alias("amount_yuan"),
    )
    counts = (
        pl.concat([tax_new.with_columns(pl.col("amount_yuan").cast(pl.Float64)), other])
        .group_by("kind")
        .agg(pl.len().cast(pl.Int64).alias("events"), pl.col("amount_yuan").sum())
        .collect()
    )
    return (
        kinds.join(counts, on="kind", how="left")
        .with_columns(pl.col("events").fill_null(0), pl.col("amount_yuan").fill_null(0.0))
        .sort("order")
    )


__all__ = [
    "LATE_KINDS",
    "RATE_INDICATORS",
    "ReportInputs",
    "check_quarter",
    "gather",
    "late_events",
    "log_months",
    "plan_figures_compared",
    "previous_cutoff",
    "publication_cutoff",
]
