"""The one builder of valid drafts for tests (plain dicts, as a writer would submit them).

Single drafts with explicit `recorded_at` (`building`, `moved_in`, `tax`, `envelope`), and
`Kit`, which numbers events and records them one minute apart, for hand-built logs. Both take
their data from `building_data` and `tenancy_data`, so a field's default is written once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from louyu_research.log.store import EventLog
from louyu_research.replay.log import Log, open_log

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc(body17: str) -> str:
    """Complete 17 characters with the GB 32100-2015 check character (written out independently)."""
    total = 0
    for ch, w in zip(body17, WEIGHTS, strict=True):
        total += USCC_CHARS.index(ch) * w
    check = 31 - total % 31
    return body17 + USCC_CHARS[0 if check == 31 else check]


def building_data(bid: str, **over: Any) -> dict[str, Any]:
    """A BuildingRegistered's data: a completed standalone office in 南湖区 新兴街道 (`over` wins;
    a None value leaves the field out)."""
    d = {
        "building_id": bid,
        "name": f"{bid}大厦",
        "district": "南湖区",
        "street": "新兴街道",
        "gross_floor_area_m2": 12000,
        "rentable_area_m2": 10000,
        "category": "office",
        "standalone": True,
        "status": "completed",
        "completed_on": "2010-06-30",
    }
    d.update(over)
    return {k: v for k, v in d.items() if v is not None}


def tenancy_data(tid: str, bid: str, area: float, **over: Any) -> dict[str, Any]:
    """A TenantMovedIn's data: a registered information-industry (I65) enterprise."""
    d = {
        "tenant_id": tid,
        "tenant_name": f"{tid}公司",
        "building_id": bid,
        "area_m2": area,
        "industry": "I65",
        "registered_here": True,
    }
    d.update(over)
    return {k: v for k, v in d.items() if v is not None}


def building(
    bid: str, when: str = "2015-01-01", rec: str | None = "2015-01-05T09:00:00+08:00", **data: Any
) -> dict[str, Any]:
    return envelope(f"reg-{bid}", "BuildingRegistered", when, rec, building_data(bid, **data))


def moved_in(
    tid: str, bid: str, when: str, rec: str | None, area: float = 500, **data: Any
) -> dict[str, Any]:
    d = tenancy_data(tid, bid, area, **data)
    return envelope(f"in-{tid}-{bid}-{when}", "TenantMovedIn", when, rec, d)


def tax(
    tid: str, bid: str, period: str, amount: float, rec: str | None, eid: str | None = None
) -> dict[str, Any]:
    d = {"tenant_id": tid, "building_id": bid, "period": period, "amount_yuan": amount}
    return envelope(eid or f"tax-{tid}-{bid}-{period}", "TaxReported", f"{period}-28", rec, d)


def envelope(
    eid: str, type_: str, when: str, rec: str | None, data: dict[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {"event_id": eid, "type": type_, "occurred_on": when, "data": data}
    if rec is not None:
        out["recorded_at"] = rec
    return out


class Kit:
    """Builds drafts with readable ids (`e1`, `e2`, …) and strictly increasing `recorded_at`
    (one minute apart from `start`), keeping them in `items`.

    `building_defaults` / `tenancy_defaults`: this kit's own defaults over `building_data`
    and `tenancy_data` (a test's hand-computed figures rely on its defaults).
    """

    def __init__(
        self,
        start: datetime | str = datetime(2015, 1, 1, tzinfo=UTC),
        *,
        building_defaults: dict[str, Any] | None = None,
        tenancy_defaults: dict[str, Any] | None = None,
    ):
        self.clock = datetime.fromisoformat(start) if isinstance(start, str) else start
        self.n = 0
        self.items: list[dict[str, Any]] = []
        self.building_defaults = {
            "gross_floor_area_m2": 10000.0,
            "rentable_area_m2": 8000.0,
            "completed_on": None,
            **(building_defaults or {}),
        }
        self.tenancy_defaults = tenancy_defaults or {}

    def event(
        self,
        type_: str,
        on: str,
        *,
        event_id: str | None = None,
        at: datetime | str | None = None,
        **data: Any,
    ) -> dict[str, Any]:
        self.n += 1
        if at is not None:
            self.clock = datetime.fromisoformat(at) if isinstance(at, str) else at
        else:
            self.clock += timedelta(minutes=1)
        draft = {
            "event_id": event_id or f"e{self.n}",
            "type": type_,
            "occurred_on": on,
            "recorded_at": self.clock.isoformat().replace("+00:00", "Z"),
            "data": {k: v for k, v in data.items() if v is not None},
        }
        self.items.append(draft)
        return draft

    add = event

    def building(self, bid: str, on: str = "2015-01-01", **over: Any) -> dict[str, Any]:
        data = building_data(bid, **{**self.building_defaults, **over})
        return self.event("BuildingRegistered", on, **data)

    def move_in(
        self, tid: str, bid: str, on: str, area: float = 100.0, **over: Any
    ) -> dict[str, Any]:
        data = tenancy_data(tid, bid, area, **{**self.tenancy_defaults, **over})
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

    def write(self, path: Path) -> Log:
        """A new log at `path` holding every draft of this kit, appended as one batch."""
        return write_log(path, self.items)


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
