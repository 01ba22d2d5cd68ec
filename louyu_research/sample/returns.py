"""The sample as the city's files: the returns behind the shipped log, in the order received.

`write_returns(log, out)` writes what the city would have received to build the log in
`events/` (seed 20150723, scale 1): the January 2014 census workbook (the buildings register
and every building's enterprises at the end of 2013), every street's monthly roster (入驻企业名录;
some streets send GB18030 CSV, the others `.xlsx`), the buildings register whenever a building
is registered, completed, re-measured, moved to another street or retired, the tax bureaus'
files by taxpayer (before 2018 one per bureau: the national bureau's `.xlsx` in 元, the local
bureau's CSV in 万元; taxpayers under their legacy 15-character 税务登记号 until the end of 2015;
from 2018 the merged bureau's one file) and the finance bureau's revenue (CSV). `manifest.csv`
lists them in the order received, with the month received, kind, month and sender of each, so
that `take_in` can replay them through intake into an empty log.

**Derived from the log, by replay.** The files are not drawn from the simulator's world: they
are read off the shipped log by replaying it at each month end, as the log knew it at the end
of each month of receipt (its cut-off), so the files and the log stay in step by construction.
At the end of month K the city has received, for the month M = K−1, every street's roster (a
full snapshot of its buildings as of M's end: the enterprises in them, and those that moved out
during M, listed 已迁出 with the date and reason), the tax files of period M (every taxpayer) and
the city's revenue of M. What the log learned in month K about an earlier month is a later
file for that month:

- a late entry or a retraction of a tenancy event → a *corrected roster* of the street for
  that month (and each later month whose snapshot it changes);
- a building event learned late, or a retraction of one → a corrected buildings register;
- a tax report filed late, restated or retracted → a *later tax file* for that period, listing
  the taxpayers whose total for it changed;
- a restated city revenue → a later finance-bureau file.

A building retired during a month still returns that month's roster (who left it), and its
retirement comes in a register file after the rosters (intake takes no roster of a retired
building).

Where files cannot say what the log says (`tests/test_returns.py` lists each with its
reason): a tax file is by taxpayer, so the tax of an enterprise with tenancies in several
buildings in one month is attributed by intake's rule, not as the simulator placed it, and tax
taken in before a late roster entry of the taxpayer's move stays where intake put it; tax
reported for a tenancy that had ended matches no tenancy; a retracted move-in or move-out
becomes a corrected roster (a move-out or a move-in at that month's end); the office's featured
designations are acts, not returns; a tenancy that starts and ends within one month would be
in no month-end snapshot (the sample has none); and intake dates area, registration and
attribute changes and building updates at the end of the return's month, not on the day
(every month-end figure agrees).
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from louyu_research.core.periods import Month
from louyu_research.intake.api import IntakeOptions, plan
from louyu_research.intake.change import Change
from louyu_research.intake.templates import CATEGORY_ZH, GRADE_ZH, STATUS_ZH, YES_NO_ZH
from louyu_research.log.store import EventLog
from louyu_research.replay import Log, open_log
from louyu_research.replay.log import Prepared, State, state_at, tax_frame, voided_ids

from .timeline import FIRST_YEAR, LAST_YEAR, TZ

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("order", "received", "kind", "month", "file", "sender", "why")
#: The census describes the city at the end of the year before the first year.
CENSUS_MONTH = str(Month(FIRST_YEAR, 1).shift(-1))
CENSUS_FILE = "louyu-census-2013.xlsx"
FIRST_MONTH, LAST_MONTH = f"{FIRST_YEAR}-01", f"{LAST_YEAR}-12"
#: Tax periods before this are reported by two bureaus (national and local).
MERGER = "2018-01"
#: Tax files name taxpayers by their legacy 15-character number for periods before this.
USCC_FROM = "2016-01"
#: The sheet names the files use.
ROSTER_SHEET, REGISTER_SHEET, TAX_SHEET = "入驻企业名录", "楼宇基本信息表", "纳税人税收明细"
TAX_SENDER = {"national": "国家税务局", "local": "地方税务局", None: "税务局"}
FINANCE_SENDER = "市财政局"
OFFICE = "市楼宇经济办公室"

RETIRE_ZH = {"demolished": "拆除", "converted": "改变用途", "merged": "合并", "other": "其他"}
MOVE_OUT_ZH = {
    "relocated_in_city": "市内迁移",
    "left_city": "迁出本市",
    "closed": "注销",
    "unknown": "不详",
}

ROSTER_COLUMNS = {
    "building_id": "楼宇编号",
    "building_name": "楼宇名称",
    "tenant_id": "统一社会信用代码",
    "tenant_name": "企业名称",
    "area_m2": "租用面积（㎡）",
    "since": "入驻日期",
    "registered_here": "是否注册在本楼",
    "industry": "行业代码",
    "industry_edition": "行业代码版本",
    "headcount": "从业人数",
    "headquarters": "是否总部",
    "unit": "房号",
    "status": "状态",
    "moved_out_on": "迁出日期",
    "reason": "迁出原因",
}
REGISTER_COLUMNS = {
    "building_id": "楼宇编号",
    "name": "楼宇名称",
    "district": "所属区县",
    "street": "所属街道（镇）",
    "community": "所属社区",
    "address": "地址",
    "gross_floor_area_m2": "总建筑面积（㎡）",
    "rentable_area_m2": "可出租面积（㎡）",
    "category": "楼宇类别",
    "grade": "等级",
    "standalone": "是否独栋",
    "status": "状态",
    "completed_on": "竣工日期",
    "owner": "产权单位",
    "property_manager": "物业公司",
    "self_held_ratio": "自持比例",
    "lon": "经度",
    "lat": "纬度",
    "retired_on": "退出日期",
    "retire_reason": "退出原因",
}
ROSTER_TYPES = (
    "TenantMovedIn",
    "TenantMovedOut",
    "TenantAreaChanged",
    "TenantRegistrationChanged",
    "TenantUpdated",
)
BUILDING_TYPES = ("BuildingRegistered", "BuildingUpdated", "BuildingCompleted", "BuildingRetired")


@dataclass(frozen=True)
class Received:
    """One file of the manifest: when the city received it, what it is, who sent it."""

    received: str  # the month of receipt, YYYY-MM
    kind: str  # an intake kind: buildings, roster, tax, city-tax
    month: str  # the month it describes (a roster's snapshot month, a tax file's period)
    file: str  # path relative to the returns folder
    sender: str
    why: str  # census, monthly, corrected, late-or-restated


# --- cut-offs -------------------------------------------------------------------------------


def _month_after(month: str) -> str:
    return str(Month.parse(month).shift(1))


def _month_end(month: str) -> date:
    return Month.parse(month).last_day


def _cut_off(month: str) -> datetime:
    """The end of month `month` in the city's time zone: what the city had received by then."""
    end = _month_end(month)
    return datetime(end.year, end.month, end.day, tzinfo=TZ) + timedelta(days=1)


def _months(first: str, last: str) -> list[str]:
    out, m = [], Month.parse(first)
    while str(m) <= last:
        out.append(str(m))
        m = m.shift(1)
    return out


class _Cut:
    """The log at the end of one month of receipt: its preparation and month-end states."""

    def __init__(self, log: Log, seq: int):
        self.seq = seq
        self.prepared: Prepared = log.prepared(upto_seq=seq)
        self.settings = log.city.settings
        self._states: dict[str, State] = {}
        self.memo: dict[tuple[str, str], pl.DataFrame] = {}

    def state(self, month: str) -> State:
        if month not in self._states:
            self._states[month] = state_at(self.prepared, _month_end(month), self.settings)
        return self._states[month]


# --- what a file holds ----------------------------------------------------------------------


def roster_rows(cut: _Cut, month: str, events: pl.DataFrame) -> pl.DataFrame:
    """Every street's roster of `month` as the log knew it at `cut`: the enterprises in each
    building at the month end, and those that moved out during the month (已迁出).
    `events`: the log's events (at least its move-outs and retractions)."""
    if ("roster", month) not in cut.memo:
        cut.memo[("roster", month)] = _roster_rows(cut, month, events)
    return cut.memo[("roster", month)]


def _roster_rows(cut: _Cut, month: str, events: pl.DataFrame) -> pl.DataFrame:
    state = cut.state(month)
    start, end = Month.parse(month).first_day, _month_end(month)
    # a building retired during the month still returns it (its last roster: who left)
    standing = state.buildings.filter(~pl.col("retired") | (pl.col("retired_on") >= start)).select(
        "building_id", pl.col("name").alias("building_name"), "street"
    )
    present = state.tenancies.join(standing, on="building_id").select(
        "street",
        "building_id",
        "building_name",
        "tenant_id",
        "tenant_name",
        "area_m2",
        "since",
        "registered_here",
        "industry",
        "industry_edition",
        "headcount",
        "headquarters",
        "unit",
        pl.lit("在驻").alias("status"),
        pl.lit(None, pl.Date).alias("moved_out_on"),
        pl.lit(None, pl.String).alias("reason"),
    )
    reasons = events.filter(pl.col("type") == "TenantMovedOut").select("event_id", "reason")
    left = (
        cut.prepared.tenancy_events.lazy()
        .filter(
            (pl.col("type") == "TenantMovedOut")
            & pl.col("occurred_on").is_between(start, end)
            & (pl.col("active_before") == 1)
        )
        .sort("occurred_on", "seq")
        .unique(["tenant_id", "building_id"], keep="last")
        .collect()
        .join(
            present.select("tenant_id", "building_id"), on=["tenant_id", "building_id"], how="anti"
        )
        .join(standing, on="building_id")
        .join(state.tenants, on="tenant_id", how="left")
        .join(reasons, on="event_id", how="left")
        .select(
            "street",
            "building_id",
            "building_name",
            "tenant_id",
            "tenant_name",
            (pl.col("active_area_before_u") / 10_000).alias("area_m2"),
            pl.lit(None, pl.Date).alias("since"),
            pl.col("registered_here").fill_null(False),
            "industry",
            "industry_edition",
            "headcount",
            "headquarters",
            "unit",
            pl.lit("已迁出").alias("status"),
            pl.col("occurred_on").alias("moved_out_on"),
            pl.col("reason").replace_strict(MOVE_OUT_ZH, default=None, return_dtype=pl.String),
        )
    )
    rows = pl.concat([present, left], how="vertical_relaxed")
    # A tenancy whose move-out the log retracted is back: its return lists it without a
    # move-in date (intake dates the move-in at the month end, after the void move-out).
    retracted_outs = _retracted_move_outs(cut, events)
    rows = (
        rows.join(retracted_outs, on=["tenant_id", "building_id"], how="left")
        .with_columns(
            pl.when(pl.col("_void_out").is_not_null() & (pl.col("since") <= pl.col("_void_out")))
            .then(None)
            .otherwise(pl.col("since"))
            .alias("since")
        )
        .drop("_void_out")
    )
    return rows.sort("street", "building_id", "tenant_id")


def _retracted_move_outs(cut: _Cut, events: pl.DataFrame) -> pl.DataFrame:
    within = events.filter(
        pl.col("type").is_in(["EventRetracted", "TenantMovedOut"]) & (pl.col("seq") <= cut.seq)
    )
    retractions = within.filter(pl.col("type") == "EventRetracted").select(
        "seq", "event_id", "retracted_event_id"
    )
    voided = voided_ids(retractions) if retractions.height else pl.Series([], dtype=pl.String)
    return (
        within.filter(
            (pl.col("type") == "TenantMovedOut") & pl.col("event_id").is_in(voided.implode())
        )
        .group_by("tenant_id", "building_id")
        .agg(pl.col("occurred_on").max().alias("_void_out"))
    )


def register_rows(cut: _Cut, month: str, events: pl.DataFrame) -> pl.DataFrame:
    """The buildings register as of `month`'s end as the log knew it at `cut` (`events`: the
    log's events, at least its retirements)."""
    if ("register", month) not in cut.memo:
        cut.memo[("register", month)] = _register_rows(cut, month, events)
    return cut.memo[("register", month)]


def _register_rows(cut: _Cut, month: str, events: pl.DataFrame) -> pl.DataFrame:
    b = cut.state(month).buildings
    reasons = (
        events.filter((pl.col("type") == "BuildingRetired") & (pl.col("seq") <= cut.seq))
        .group_by("building_id")
        .agg(pl.col("reason").first().alias("retire_reason"))
    )
    return (
        b.join(reasons, on="building_id", how="left")
        .select(
            "building_id",
            "name",
            "district",
            "street",
            "community",
            "address",
            "gross_floor_area_m2",
            "rentable_area_m2",
            pl.col("category").replace_strict(CATEGORY_ZH, default=None, return_dtype=pl.String),
            pl.col("grade").replace_strict(GRADE_ZH, default=None, return_dtype=pl.String),
            "standalone",
            pl.col("status").replace_strict(STATUS_ZH, default=None, return_dtype=pl.String),
            pl.when(pl.col("status") == "completed").then(pl.col("completed_on")),
            "owner",
            "property_manager",
            "self_held_ratio",
            "lon",
            "lat",
            pl.when(pl.col("retired")).then(pl.col("retired_on")).alias("retired_on"),
            pl.when(pl.col("retired"))
            .then(
                pl.col("retire_reason").replace_strict(
                    RETIRE_ZH, default="其他", return_dtype=pl.String
                )
            )
            .alias("retire_reason"),
        )
        .sort("building_id")
    )


def _changed(now: pl.DataFrame, *before: pl.DataFrame | None) -> pl.DataFrame:
    """Rows of `now` not found, identical, in every one of `before` (a missing frame: none)."""
    parts = [
        now if b is None else now.join(b, on=now.columns, how="anti", nulls_equal=True)
        for b in before
    ]
    return pl.concat(parts).unique(maintain_order=True) if parts else now


def _differing_streets(now: pl.DataFrame, before: pl.DataFrame) -> list[str]:
    a = now.join(before, on=now.columns, how="anti", nulls_equal=True)
    b = before.join(now, on=now.columns, how="anti", nulls_equal=True)
    return sorted(set(a["street"].to_list()) | set(b["street"].to_list()))


def tax_totals(cut: _Cut) -> pl.DataFrame:
    """Tax per taxpayer and period in fen (restatements and retractions applied at `cut`)."""
    p = cut.prepared
    # the reports' ids in their order (`tax_frame`), beside their exact amounts in fen
    ids = tax_frame(p).select("tenant_id", "period")
    return (
        ids.with_columns(p.tax.get_column("amount_fen"))
        .group_by("tenant_id", "period")
        .agg(pl.col("amount_fen").sum())
    )


# --- writing files --------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return YES_NO_ZH[value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _write_xlsx(path: Path, sheet: str, frame: pl.DataFrame, headers: dict[str, str]) -> None:
    import xlsxwriter

    with xlsxwriter.Workbook(path, {"in_memory": True}) as wb:
        _sheet(wb, sheet, frame, headers)


def _sheet(wb: Any, name: str, frame: pl.DataFrame, headers: dict[str, str]) -> None:
    ws = wb.add_worksheet(name)
    cols = [c for c in headers if c in frame.columns]
    ws.write_row(0, 0, [headers[c] for c in cols])
    for i, row in enumerate(frame.select(cols).iter_rows(), start=1):
        for j, v in enumerate(row):
            if v is not None:
                v = _cell(v)
                if isinstance(v, str):
                    ws.write_string(i, j, v)
                else:
                    ws.write_number(i, j, v)


def _write_csv(path: Path, frame: pl.DataFrame, headers: dict[str, str]) -> None:
    cols = [c for c in headers if c in frame.columns]
    with path.open("w", encoding="gb18030", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([headers[c] for c in cols])
        for row in frame.select(cols).iter_rows():
            w.writerow(["" if v is None else _cell(v) for v in row])


def _csv_street(street: str) -> bool:
    """Streets whose office sends its roster as CSV (GB18030, as Excel saves it in China);
    the others send `.xlsx`."""
    return hashlib.sha256(street.encode()).digest()[0] % 3 != 0


def _national_share(tenant_id: pl.Expr) -> pl.Expr:
    """The national bureau's share of a taxpayer's tax before the merger (VAT and enterprise
    income tax to the national bureau, the rest to the local one): 50–79 %, by taxpayer."""
    return 0.5 + (tenant_id.hash(seed=20150723) % 30).cast(pl.Float64) / 100


# --- the returns ----------------------------------------------------------------------------


def write_returns(
    log: str | Path | Log = "events", out: str | Path = "returns", *, force: bool = False
) -> pl.DataFrame:
    """Write the files behind `log` into `out`, and `out/manifest.csv` listing them in the
    order received; returns the manifest. `force` replaces a folder that holds returns."""
    the_log = log if isinstance(log, Log) else open_log(log)
    folder = Path(out)
    if folder.exists() and any(folder.iterdir()):
        if not force:
            raise FileExistsError(f"{folder} is not empty; pass force=True to replace it")
        if not (folder / MANIFEST).exists():
            raise FileExistsError(f"{folder} holds files that are not returns; choose another")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    events = the_log.scan().collect()
    if events.is_empty():
        raise ValueError(f"{the_log.path}: the log is empty")
    received = _receipt_months(events, the_log.city.time_zone)
    # what the files need of single events: move-out and retirement reasons, retractions
    lookups = events.filter(
        pl.col("type").is_in(
            ["TenantMovedOut", "BuildingRetired", "EventRetracted", *BUILDING_TYPES, *ROSTER_TYPES]
        )
    ).select(
        "seq",
        "event_id",
        "type",
        "occurred_on",
        "tenant_id",
        "building_id",
        "reason",
        "retracted_event_id",
    )
    names = _taxpayer_names(the_log)
    legacy_ok = _legacy_ok(events)
    clock = events.select("seq", "recorded_at")
    manifest: list[Received] = []
    prev: _Cut | None = None
    prev_seq = 0
    for k in received:
        seq = int(clock.filter(pl.col("recorded_at") < _cut_off(k))["seq"].max() or 0)  # type: ignore[arg-type]
        if seq == prev_seq and prev is not None:
            continue
        cut = _Cut(the_log, seq)
        new = events.filter(pl.col("seq").is_between(prev_seq + 1, seq))
        manifest += _receipt(folder, k, cut, prev, new, lookups, names, legacy_ok)
        prev, prev_seq = cut, seq
    frame = pl.DataFrame(
        [
            {"order": i + 1, **{c: getattr(r, c) for c in MANIFEST_COLUMNS[1:]}}
            for i, r in enumerate(manifest)
        ],
        schema={c: (pl.Int64 if c == "order" else pl.String) for c in MANIFEST_COLUMNS},
    )
    frame.write_csv(folder / MANIFEST)
    return frame


def _receipt_months(events: pl.DataFrame, time_zone: str) -> list[str]:
    local = events.select(pl.col("recorded_at").dt.convert_time_zone(time_zone))
    first = local["recorded_at"].min().strftime("%Y-%m")  # type: ignore[union-attr]
    last = local["recorded_at"].max().strftime("%Y-%m")  # type: ignore[union-attr]
    return _months(first, max(last, _month_after(LAST_MONTH)))


def _taxpayer_names(log: Log) -> dict[str, str]:
    p = log.prepared()
    names = p.tenant_versions.sort("valid_from").unique("tenant_id", keep="last")
    return dict(zip(names["tenant_id"], names["tenant_name"], strict=True))


def _legacy_ok(events: pl.DataFrame) -> pl.DataFrame:
    """Taxpayers whose organisation code (USCC characters 9–17) is theirs alone: these may
    appear under a legacy number, which intake can match."""
    ids = events.select(pl.col("tenant_id").drop_nulls().unique())
    return ids.filter(
        (pl.col("tenant_id").str.len_chars() == 18)
        & (pl.col("tenant_id").str.slice(8, 9).is_unique())
    )


def _affected_from(new: pl.DataFrame, events: pl.DataFrame, types: tuple[str, ...]) -> str | None:
    """The earliest month an event of `types` learned in this receipt changes (a retraction
    changes its target's month)."""
    targets = new.filter(pl.col("type") == "EventRetracted").select(
        pl.col("retracted_event_id").alias("event_id")
    )
    touched = pl.concat(
        [
            new.filter(pl.col("type").is_in(types)).select("occurred_on"),
            events.join(targets, on="event_id")
            .filter(pl.col("type").is_in(types))
            .select("occurred_on"),
        ]
    )
    if touched.is_empty():
        return None
    return max(touched["occurred_on"].min().strftime("%Y-%m"), CENSUS_MONTH)  # type: ignore[union-attr]


def _receipt(
    folder: Path,
    k: str,
    cut: _Cut,
    prev: _Cut | None,
    new: pl.DataFrame,
    events: pl.DataFrame,
    names: dict[str, str],
    legacy_ok: pl.DataFrame,
) -> list[Received]:
    """The files received in month `k`."""
    out: list[Received] = []
    here = folder / k
    here.mkdir(exist_ok=True)
    regular = str(Month.parse(k).shift(-1))
    if prev is None:  # the census: the register and every building's enterprises
        register = register_rows(cut, CENSUS_MONTH, events)
        roster = roster_rows(cut, CENSUS_MONTH, events)
        import xlsxwriter

        with xlsxwriter.Workbook(here / CENSUS_FILE, {"in_memory": True}) as wb:
            _sheet(wb, REGISTER_SHEET, register, REGISTER_COLUMNS)
            _sheet(wb, ROSTER_SHEET, roster, ROSTER_COLUMNS)
        f = f"{k}/{CENSUS_FILE}"
        return [
            Received(k, "buildings", CENSUS_MONTH, f, OFFICE, "census"),
            Received(k, "roster", CENSUS_MONTH, f, OFFICE, "census"),
        ]
    last_month = min(regular, LAST_MONTH)
    regular_month = regular if FIRST_MONTH <= regular <= LAST_MONTH else None
    b_from = _affected_from(new, events, BUILDING_TYPES)
    r_from = _affected_from(new, events, ROSTER_TYPES)
    months = {regular_month} if regular_month else set()
    for start in (b_from, r_from):
        if start is not None and start <= last_month:
            months |= set(_months(start, last_month))
    for month in sorted(m for m in months if m is not None):
        full = month == regular_month
        # the buildings register: rows that changed in the month or since the last receipt
        now = register_rows(cut, month, events)
        before_month = str(Month.parse(month).shift(-1))
        if full:  # what changed in the month, or since the last receipt
            changed = _changed(
                now,
                register_rows(cut, before_month, events),
                register_rows(prev, month, events),
                register_rows(prev, before_month, events),
            )
        else:  # what changed since the last receipt
            changed = _changed(now, register_rows(prev, month, events))
        # a building retired in the month leaves the register after its street's last roster
        retiring = pl.col("retired_on").is_between(Month.parse(month).first_day, _month_end(month))
        why = "monthly" if full else "corrected"
        before_rosters = changed.filter(~retiring.fill_null(False))
        if before_rosters.height:
            name = f"buildings-{month}.xlsx"
            _write_xlsx(here / name, REGISTER_SHEET, before_rosters, REGISTER_COLUMNS)
            out.append(Received(k, "buildings", month, f"{k}/{name}", OFFICE, why))
        rows = roster_rows(cut, month, events)
        streets = (
            sorted(set(rows["street"].to_list()))
            if full
            else _differing_streets(rows, roster_rows(prev, month, events))
        )
        for street in streets:
            part = rows.filter(pl.col("street") == street)
            if part.is_empty():
                continue
            stem = f"roster-{street}-{month}" + ("" if full else "-更正")
            if _csv_street(street):
                name = f"{stem}.csv"
                _write_csv(here / name, part, ROSTER_COLUMNS)
            else:
                name = f"{stem}.xlsx"
                _write_xlsx(here / name, ROSTER_SHEET, part, ROSTER_COLUMNS)
            out.append(
                Received(
                    k, "roster", month, f"{k}/{name}", street, "monthly" if full else "corrected"
                )
            )
        leaving = changed.filter(retiring.fill_null(False))
        if leaving.height:
            name = f"buildings-{month}-退出.xlsx"
            _write_xlsx(here / name, REGISTER_SHEET, leaving, REGISTER_COLUMNS)
            out.append(Received(k, "buildings", month, f"{k}/{name}", OFFICE, why))
    out += _tax_files(here, k, cut, prev, regular_month, names, legacy_ok)
    out += _city_tax_file(here, k, cut, prev, regular_month)
    return out


def _tax_files(
    here: Path,
    k: str,
    cut: _Cut,
    prev: _Cut,
    regular: str | None,
    names: dict[str, str],
    legacy_ok: pl.DataFrame,
) -> list[Received]:
    now = tax_totals(cut).filter(pl.col("period") <= str(Month.parse(k).shift(-1)))
    before = tax_totals(prev).rename({"amount_fen": "_before"})
    rows = now.join(before, on=["tenant_id", "period"], how="full", coalesce=True).with_columns(
        pl.col("amount_fen").fill_null(0)
    )
    is_regular = pl.col("period") == pl.lit(regular, pl.String)
    rows = rows.filter(
        is_regular.fill_null(False) | pl.col("_before").ne_missing(pl.col("amount_fen"))
    ).filter(pl.col("period") <= str(Month.parse(k).shift(-1)))
    if rows.is_empty():
        return []
    legacy = pl.col("tenant_id").is_in(legacy_ok["tenant_id"].implode()) & (
        pl.col("tenant_id").hash(seed=7) % 4 == 0
    )
    rows = rows.with_columns(
        pl.when(legacy & (pl.col("period") < USCC_FROM))
        .then(pl.col("tenant_id").str.slice(2, 15))
        .otherwise(pl.col("tenant_id"))
        .alias("taxpayer_id"),
        pl.col("tenant_id").replace_strict(names, default=pl.col("tenant_id")).alias("name"),
        (pl.col("amount_fen") * _national_share(pl.col("tenant_id")))
        .round(0)
        .cast(pl.Int64)
        .alias("_national"),
    ).sort("period", "tenant_id")
    out: list[Received] = []
    late = rows.filter(~is_regular.fill_null(False))
    for period, part, why in (
        (regular, rows.filter(is_regular.fill_null(False)), "monthly"),
        (None, late.filter(pl.col("period") < MERGER), "late-or-restated"),
        (None, late.filter(pl.col("period") >= MERGER), "late-or-restated"),
    ):
        if part.is_empty():
            continue
        last = part["period"].max()
        if last < MERGER:  # type: ignore[operator]
            forms = [
                ("national", part.with_columns(pl.col("_national").alias("fen"))),
                (
                    "local",
                    part.with_columns((pl.col("amount_fen") - pl.col("_national")).alias("fen")),
                ),
            ]
        else:
            forms = [(None, part.with_columns(pl.col("amount_fen").alias("fen")))]
        for bureau, frame in forms:
            label = {"national": "国税", "local": "地税", None: "税务"}[bureau]
            stem = f"tax-{label}-{period}" if period else f"tax-{label}-补报更正-{last}"
            out.append(
                Received(
                    k,
                    "tax",
                    last,
                    f"{k}/{_write_tax(here, stem, bureau, frame)}",
                    TAX_SENDER[bureau],
                    why,  # type: ignore[arg-type]
                )
            )
    return out


def _wan(fen: pl.Expr) -> pl.Expr:
    """Fen as 万元 text with six decimals (exact: one fen is 0.000001 万元)."""
    a = fen.abs()
    return pl.concat_str(
        pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (a // 1_000_000).cast(pl.String),
        pl.lit("."),
        (a % 1_000_000).cast(pl.String).str.zfill(6),
    )


def _write_tax(here: Path, stem: str, bureau: str | None, frame: pl.DataFrame) -> str:
    """A tax bureau's file: the local bureau's CSV in 万元, the others' `.xlsx` in 元."""
    label = {"national": "国税", "local": "地税", None: "税务"}[bureau]
    if bureau == "local":
        table = frame.select(
            pl.col("taxpayer_id").alias("纳税人识别号"),
            pl.col("name").alias("纳税人名称"),
            pl.col("period").alias("税款所属期"),
            _wan(pl.col("fen")).alias("税收金额（万元）"),
            pl.lit(label).alias("征收机关"),
        )
        with (here / f"{stem}.csv").open("w", encoding="gb18030", newline="") as fh:
            fh.write(table.write_csv())
        return f"{stem}.csv"
    table = frame.select(
        pl.col("taxpayer_id").alias("纳税人识别号"),
        pl.col("name").alias("纳税人名称"),
        pl.col("period").alias("税款所属期"),
        (pl.col("fen") / 100).alias("税收金额（元）"),
        pl.lit(label).alias("征收机关"),
    )
    _write_xlsx(here / f"{stem}.xlsx", TAX_SHEET, table, {c: c for c in table.columns})
    return f"{stem}.xlsx"


def _city_tax_file(
    here: Path, k: str, cut: _Cut, prev: _Cut, regular: str | None
) -> list[Received]:
    month = str(Month.parse(k).shift(-1))
    now = cut.state(min(month, LAST_MONTH)).city_tax
    before = prev.state(min(month, LAST_MONTH)).city_tax.rename({"amount_yuan": "_before"})
    rows = (
        now.join(before, on=["period", "district"], how="left", nulls_equal=True)
        .filter(
            (pl.col("period") == pl.lit(regular, pl.String)).fill_null(False)
            | pl.col("_before").ne_missing(pl.col("amount_yuan")) & (pl.col("period") <= month)
        )
        .sort("period")
    )
    if rows.is_empty():
        return []
    name = "city-tax.csv"
    table = rows.select(
        pl.col("period").alias("所属期"),
        pl.col("amount_yuan").round(2).alias("税收收入（元）"),
        pl.col("district").fill_null("").alias("区县"),
    )
    with (here / name).open("w", encoding="gb18030", newline="") as fh:
        fh.write(table.write_csv(float_precision=2))
    why = "monthly" if regular in rows["period"].to_list() else "late-or-restated"
    return [Received(k, "city-tax", rows["period"].max(), f"{k}/{name}", FINANCE_SENDER, why)]  # type: ignore[arg-type]


# --- taking them in -------------------------------------------------------------------------


def read_manifest(folder: str | Path) -> pl.DataFrame:
    """The manifest of a returns folder, in the order received."""
    return pl.read_csv(
        Path(folder) / MANIFEST,
        schema={c: (pl.Int64 if c == "order" else pl.String) for c in MANIFEST_COLUMNS},
    ).sort("order")


def receipts(manifest: pl.DataFrame) -> Iterator[tuple[str, str, str, list[str]]]:
    """The manifest as intakes: (received, kind, month, files), consecutive files of one kind
    received together taken in at once (rosters and registers per month, as intake wants)."""
    group: list[str] = []
    key: tuple[str, str, str] | None = None
    for r in manifest.iter_rows(named=True):
        month = r["month"] if r["kind"] in ("roster", "buildings") else ""
        k = (r["received"], r["kind"], month)
        if key is not None and k != key:
            yield (*key, group)
            group = []
        key = k
        group.append(r["file"])
    if key is not None:
        yield (*key, group)


def take_in(folder: str | Path, log: str | Path, *, compress_sealed: bool = True) -> dict[str, Any]:
    """Take in every file of a returns folder, in the order received, into the log at `log`
    (created when missing), each batch recorded at the end of the month it was received.

    Each group of `receipts` is planned by intake against the log as it is then; the city's
    revenue depends on nothing else, so it is planned beside the tax received with it and the
    two are appended in one batch (one replay fewer). Rosters may empty a small building in a
    month (every move-out is in the files): the move-out safety is off here. Returns counts
    and timings."""
    path = Path(log)
    if not (path / "log.json").exists():
        EventLog.init(path, compress_sealed=compress_sealed)
    the_log = open_log(path)
    manifest = read_manifest(folder)
    options = IntakeOptions(allow_mass_move_out=True)
    appended: dict[str, int] = {}
    seconds: dict[str, float] = {}
    intakes = 0
    pending: list[Change] = []

    def flush() -> None:
        drafts = [d for c in pending for d in c.drafts]
        if drafts:
            t0 = time.perf_counter()
            result = the_log.append(drafts, expect_seq=pending[0].position["seq"])
            new = {e["event_id"] for e in result.appended}
            for c in pending:
                appended[c.kind] = appended.get(c.kind, 0) + sum(
                    d["event_id"] in new for d in c.drafts
                )
            seconds["append"] = seconds.get("append", 0.0) + time.perf_counter() - t0
        pending.clear()

    for received, kind, month, files in receipts(manifest):
        if kind != "city-tax":
            flush()
        t0 = time.perf_counter()
        as_month = month or max(manifest.filter(pl.col("file").is_in(files))["month"].to_list())
        change = plan(
            kind, [Path(folder) / f for f in files], log=the_log, month=as_month, options=options
        )
        stamp = (_cut_off(received) - timedelta(hours=6)).isoformat()
        for d in change.drafts:
            d["recorded_at"] = stamp
        pending.append(change)
        seconds[kind] = seconds.get(kind, 0.0) + time.perf_counter() - t0
        intakes += 1
    flush()
    return {
        "files": manifest.height,
        "intakes": intakes,
        "appended": appended,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }
