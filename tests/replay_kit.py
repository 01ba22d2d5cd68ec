"""Helpers to write small hand-built logs for the replay and panel tests (drafts as dicts)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from louyu_research.log.store import EventLog
from louyu_research.replay.log import Log, open_log


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


# --- random valid logs for the differential tests ------------------------------------------------

PERIODS = ["2015-01", "2015-02", "2015-06", "2015-12", "2016-01", "2016-02", "2016-03"]
CODES = ["I65", "J66", "J6813", "Q83", "Q84", "L7211", "C18", "A01", "F5294", "F5292", "R9030"]


def random_drafts(draw: Any, max_events: int = 40) -> list[dict[str, Any]]:
    """A random log that the append API accepts: ids only refer to what the log already knows.

    Business dates are drawn independently of the recording order, so events arrive out of
    order, are backdated, retracted (retractions too), restated and sometimes make no sense in
    order (findings), which is what replay must get right.
    """
    from hypothesis import strategies as st

    kit = Kit()
    day = st.dates(date(2015, 1, 1), date(2016, 3, 31)).map(str)
    drafts: list[dict[str, Any]] = []
    buildings: list[str] = []
    tenancies: list[tuple[str, str]] = []
    tenants: list[str] = []
    n = draw(st.integers(1, max_events))
    for _ in range(n):
        kinds = ["register", "city"]
        if buildings:
            kinds += ["move_in"] * 4 + ["update", "complete", "designate", "revoke", "retire"]
        if tenancies:
            kinds += ["tax"] * 4 + ["area", "registration", "move_out", "move_out"]
        if tenants:
            kinds += ["tenant_update"]
        if drafts:
            kinds += ["retract"]
        kind = draw(st.sampled_from(kinds))
        on = draw(day)
        if kind == "register":
            free = [b for b in ("B0", "B1", "B2", "B3") if b not in buildings]
            if not free:
                continue
            b = free[0]
            status = draw(
                st.sampled_from(["completed", "completed", "under_construction", "planned"])
            )
            completed_on = draw(st.one_of(st.none(), day)) if status == "completed" else None
            drafts.append(
                kit.building(
                    b,
                    on,
                    street=draw(st.sampled_from(["甲街道", "乙街道"])),
                    gross_floor_area_m2=draw(st.sampled_from([999.0, 1000.0, 3000.0])),
                    rentable_area_m2=draw(st.sampled_from([500.0, 800.0, 2000.0])),
                    standalone=draw(st.booleans()),
                    status=status,
                    completed_on=completed_on,
                    grade=draw(st.sampled_from([None, "A", "B"])),
                )
            )
            buildings.append(b)
        elif kind == "city":
            drafts.append(
                kit.event(
                    "CityTaxReported",
                    on,
                    period=draw(st.sampled_from(PERIODS)),
                    amount_yuan=float(draw(st.sampled_from([1000, 2000, 3500]))),
                    district=draw(st.sampled_from([None, "南湖区"])),
                )
            )
        elif kind == "move_in":
            t = draw(st.sampled_from(["T0", "T1", "T2", "T3"]))
            b = draw(st.sampled_from(buildings))
            drafts.append(
                kit.move_in(
                    t,
                    b,
                    on,
                    area=float(draw(st.sampled_from([100, 250, 400, 900]))),
                    industry=draw(st.sampled_from(CODES)),
                    industry_edition=draw(st.sampled_from([None, "2011", "2017"])),
                    registered_here=draw(st.booleans()),
                    headquarters=draw(st.sampled_from([None, True, False])),
                    headcount=draw(st.sampled_from([None, 5, 40])),
                    tenant_name=draw(st.sampled_from([f"{t}公司", f"{t}集团"])),
                )
            )
            if (t, b) not in tenancies:
                tenancies.append((t, b))
            if t not in tenants:
                tenants.append(t)
        elif kind == "update":
            fields = draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "street": st.sampled_from(["甲街道", "乙街道", "丙街道"]),
                        "rentable_area_m2": st.sampled_from([600.0, 2500.0]),
                        "gross_floor_area_m2": st.sampled_from([999.0, 1500.0]),
                        "standalone": st.booleans(),
                        "name": st.just("新名大厦"),
                    },
                )
            )
            fields = fields or {"name": "新名大厦"}  # an update names at least one attribute
            drafts.append(
                kit.event(
                    "BuildingUpdated", on, building_id=draw(st.sampled_from(buildings)), **fields
                )
            )
        elif kind == "complete":
            drafts.append(
                kit.event("BuildingCompleted", on, building_id=draw(st.sampled_from(buildings)))
            )
        elif kind == "designate":
            drafts.append(
                kit.event(
                    "BuildingFeaturedDesignated",
                    on,
                    building_id=draw(st.sampled_from(buildings)),
                    industry=draw(st.sampled_from(["finance", "information"])),
                )
            )
        elif kind == "revoke":
            drafts.append(
                kit.event(
                    "BuildingFeaturedRevoked", on, building_id=draw(st.sampled_from(buildings))
                )
            )
        elif kind == "retire":
            drafts.append(
                kit.event(
                    "BuildingRetired",
                    on,
                    building_id=draw(st.sampled_from(buildings)),
                    reason="demolished",
                )
            )
        elif kind == "tax":
            t, b = draw(st.sampled_from(tenancies))
            drafts.append(
                kit.tax(
                    t,
                    b,
                    draw(st.sampled_from(PERIODS)),
                    float(draw(st.sampled_from([0, 100, 250.5, 1000, -50, 0.1, 0.2]))),
                    on=on,
                    part=draw(st.sampled_from([None, None, "national", "local"])),
                )
            )
        elif kind == "area":
            t, b = draw(st.sampled_from(tenancies))
            area = float(draw(st.sampled_from([50, 300, 700])))
            drafts.append(
                kit.event("TenantAreaChanged", on, tenant_id=t, building_id=b, area_m2=area)
            )
        elif kind == "registration":
            t, b = draw(st.sampled_from(tenancies))
            drafts.append(
                kit.event(
                    "TenantRegistrationChanged",
                    on,
                    tenant_id=t,
                    building_id=b,
                    registered_here=draw(st.booleans()),
                )
            )
        elif kind == "move_out":
            t, b = draw(st.sampled_from(tenancies))
            drafts.append(kit.move_out(t, b, on))
        elif kind == "tenant_update":
            fields = draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "industry": st.sampled_from(CODES),
                        "industry_edition": st.sampled_from(["2011", "2017"]),
                        "headquarters": st.booleans(),
                        "tenant_name": st.just("改名公司"),
                        "headcount": st.just(12),
                    },
                )
            )
            fields = fields or {"headcount": 12}  # an update names at least one attribute
            drafts.append(
                kit.event("TenantUpdated", on, tenant_id=draw(st.sampled_from(tenants)), **fields)
            )
        elif kind == "retract":
            target = draw(st.sampled_from(drafts))["event_id"]
            drafts.append(retraction(kit, target, on))
    return drafts
