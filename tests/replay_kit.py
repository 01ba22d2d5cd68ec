"""Helpers to write small hand-built logs for the replay and panel tests (drafts as dicts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from louyu_research.log import EventLog
from louyu_research.replay import Log, open_log


class Kit:
    """Builds drafts with readable ids and strictly increasing `recorded_at` (one minute apart)."""

    def __init__(self, start: datetime = datetime(2015, 1, 1, tzinfo=UTC)):
        self.clock = start
        self.n = 0

    def event(
        self,
        type_: str,
        on: str,
        *,
        event_id: str | None = None,
        at: datetime | None = None,
        **data: Any,
    ) -> dict[str, Any]:
        self.n += 1
        if at is not None:
            self.clock = at
        else:
            self.clock += timedelta(minutes=1)
        return {
            "event_id": event_id or f"e{self.n}",
            "type": type_,
            "occurred_on": on,
            "recorded_at": self.clock.isoformat().replace("+00:00", "Z"),
            "data": {k: v for k, v in data.items() if v is not None},
        }

    def building(self, bid: str, on: str = "2015-01-01", **over: Any) -> dict[str, Any]:
        data = {
            "building_id": bid,
            "name": f"{bid}大厦",
            "district": "南湖区",
            "street": "新兴街道",
            "gross_floor_area_m2": 10000.0,
            "rentable_area_m2": 8000.0,
            "category": "office",
            "standalone": True,
            "status": "completed",
        }
        data.update(over)
        return self.event("BuildingRegistered", on, **data)

    def move_in(
        self, tid: str, bid: str, on: str, area: float = 100.0, **over: Any
    ) -> dict[str, Any]:
        data = {
            "tenant_id": tid,
            "tenant_name": f"{tid}公司",
            "building_id": bid,
            "area_m2": area,
            "industry": "I65",
            "registered_here": True,
        }
        data.update(over)
        return self.event("TenantMovedIn", on, **data)

    def move_out(self, tid: str, bid: str, on: str, **over: Any) -> dict[str, Any]:
        return self.event("TenantMovedOut", on, tenant_id=tid, building_id=bid, **over)

    def tax(
        self, tid: str, bid: str, period: str, amount: float, on: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        on = on or f"{period}-28"
        return self.event(
            "TaxReported",
            on,
            tenant_id=tid,
            building_id=bid,
            period=period,
            amount_yuan=amount,
            **kw,
        )

    def retract(self, event_id: str, on: str = "2015-01-01", **kw: Any) -> dict[str, Any]:
        return self.event("EventRetracted", on, data_event_id=event_id, **kw)


def retraction(kit: Kit, target: str, on: str = "2015-01-01", **kw: Any) -> dict[str, Any]:
    """An EventRetracted draft (its data field is called `event_id`, like the envelope's)."""
    d = kit.event("EventRetracted", on, **kw)
    d["data"] = {"event_id": target, "reason": "entered by mistake"}
    return d


def write_log(path: Path, drafts: list[dict[str, Any]], *, batch: int | None = None) -> Log:
    """A new log at `path` holding `drafts` (appended in batches through the validated API)."""
    EventLog.init(path)
    log = EventLog(path)
    step = batch or len(drafts) or 1
    for i in range(0, len(drafts), step):
        log.append(drafts[i : i + step])
    return open_log(path)
