"""What an intake would do: the event drafts, a summary per building, and the intake report.

Drafts get `event_id`s derived from their content — kind of return, month, event type,
building, tenant, the new values and the values they replace — so importing the same file
twice appends nothing (the second diff is empty, and re-appending the same drafts is a no-op
of the log), and a corrected file for the same month yields only the corrections. `source`
names the file, sheet and row (`import:roster-2016-03.xlsx#入驻企业名录!12`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from ..core.periods import Month, MonthError
from ..log.catalogue import canonical_json
from ..replay.log import voided_ids

#: Short names of the event types in ids.
_ABBR = {
    "BuildingRegistered": "reg",
    "BuildingUpdated": "bupd",
    "BuildingCompleted": "done",
    "BuildingRetired": "ret",
    "TenantMovedIn": "in",
    "TenantMovedOut": "out",
    "TenantAreaChanged": "area",
    "TenantRegistrationChanged": "regd",
    "TenantUpdated": "tupd",
    "TaxReported": "tax",
    "CityTaxReported": "city",
}

#: Columns of the summary per building, in Chinese for the printed table.
SUMMARY_ZH = {
    "building_id": "楼宇编号",
    "name": "楼宇名称",
    "active_before": "原在驻",
    "moved_in": "迁入",
    "moved_out": "迁出",
    "area_changed": "面积变更",
    "registration_changed": "注册变更",
    "updated": "信息变更",
    "active_after": "现在驻",
    "tax_rows": "税收行",
    "tax_yuan": "税收（元）",
    "split": "分摊",
}


def is_month(value: str) -> bool:
    try:
        Month.parse(value)
    except MonthError:
        return False
    return True


def standing_events(events: pl.LazyFrame) -> pl.LazyFrame:
    """The log's events (`EventLog.scan`) without those a retraction voids (`voided_ids`)."""
    retractions = (
        events.filter(pl.col("type") == "EventRetracted")
        .select("seq", "event_id", "retracted_event_id")
        .collect()
    )
    if retractions.is_empty():
        return events
    return events.filter(~pl.col("event_id").is_in(voided_ids(retractions).implode()))


@functools.lru_cache(maxsize=1024)
def month_end(month: str) -> date:
    """The last day of a month `YYYY-MM` (remembered: a tax file asks it once a row)."""
    return Month.parse(month).last_day


def month_start(month: str) -> date:
    return Month.parse(month).first_day


def previous_month(month: str) -> str:
    return str(Month.parse(month).shift(-1))


def source_of(file: str, sheet: str | None, row: int | None) -> str:
    """`import:FILE#SHEET!ROW` (a CSV has no sheet; a move-out of an unlisted tenant no row)."""
    out = f"import:{file}"
    if sheet:
        out += f"#{sheet}"
    if row is not None:
        out += f"!{row}" if sheet else f"#{row}"
    return out[:500]


def event_id(kind: str, month: str, type_: str, keys: list[str], content: dict[str, Any]) -> str:
    """A content-derived id: readable prefix, and a hash of everything that makes it this event."""
    digest = hashlib.sha256(
        canonical_json({"kind": kind, "month": month, "type": type_, **content}).encode("utf-8")
    ).hexdigest()[:16]
    prefix = "-".join(["im", _ABBR[type_], month, *keys])
    return f"{prefix[:100]}-{digest}"


def draft(
    kind: str,
    month: str,
    type_: str,
    occurred_on: date,
    data: dict[str, Any],
    source: str,
    *,
    keys: list[str],
    before: Any = None,
) -> dict[str, Any]:
    """A draft dict as `EventLog.append` takes it (absent optional fields dropped)."""
    data = {k: v for k, v in data.items() if v is not None}
    eid = event_id(
        kind,
        month,
        type_,
        keys,
        {"occurred_on": occurred_on.isoformat(), "data": data, "before": before},
    )
    return {
        "event_id": eid,
        "type": type_,
        "occurred_on": occurred_on.isoformat(),
        "source": source,
        "data": data,
    }


@dataclass
class Change:
    """The result of reading returns against the log: drafts and what they mean."""

    kind: str
    month: str | None
    files: list[str]
    position: dict[str, Any]  # the log position the change was computed from
    drafts: list[dict[str, Any]] = field(default_factory=list)
    summary: pl.DataFrame = field(default_factory=pl.DataFrame)  # per building (or per period)
    report: dict[str, pl.DataFrame] = field(default_factory=dict)  # matched, unmatched, split …
    notes: list[str] = field(default_factory=list)  # things worth knowing that are not errors
    applied: bool = False
    appended: int = 0
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.drafts:
            out[d["type"]] = out.get(d["type"], 0) + 1
        return dict(sorted(out.items()))

    def drafts_jsonl(self) -> str:
        return "".join(
            json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n" for d in self.drafts
        )
