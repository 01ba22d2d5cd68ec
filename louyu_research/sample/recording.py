"""Recording: what the log learns of the world, and when.

The January 2014 census (buildings standing or under construction, tenancies already in
them), then each street's monthly return in the first weeks of the next month (five lagging
streets file later, and a few entries wait for a later return), the tax bureau's monthly file
(some returns late), the statistics bureau's recoding to GB/T 4754-2017, the city's monthly
budget revenue and the building-economy office's acts (completions, the boundary change,
featured designations and their revocation).

`record` turns a world and its tax into drafts held by a `Recorder`, each with its
`recorded_at`; nothing may be recorded before what it refers to. `Recorder.finish` puts them
in `recorded_at` order and cuts them into the log's monthly batches: a `Simulation`.
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, cast

from louyu_research.log.store import segment_of

from .calibration import CITY
from .money import TenancyTax, city_tax
from .timeline import (
    FIRST_YEAR,
    LAST_YEAR,
    MONTHS,
    TZ,
    at,
    month_end,
    month_of,
    month_start,
    period,
)
from .world import Building, Tenancy, World

CENSUS_SOURCE = "import:louyu-census-2013.xlsx"
TAX_SOURCE = "市税务局"
CITY_SOURCE = "市财政局"
OFFICE_SOURCE = "市楼宇经济办公室"
STATS_SOURCE = "市统计局"
#: When the census is recorded.
CENSUS_AT = at(date(FIRST_YEAR, 1, 16), 10)
#: The last day of the simulated span: events after it are not recorded.
LAST_DAY = month_end(MONTHS - 1)
#: Nothing is recorded after this (restatements that would come later are not made).
LAST_RECORD = datetime(LAST_YEAR + 1, 3, 31, 18, 0, tzinfo=TZ)
#: The day GB/T 4754-2017 replaces the 2011 edition.
RECODED_ON = date(2017, 10, 1)

#: Order of events recorded at the same moment: what others refer to first.
_PRIORITY = {
    "BuildingRegistered": 0,
    "BuildingCompleted": 1,
    "BuildingUpdated": 2,
    "BuildingFeaturedDesignated": 3,
    "BuildingFeaturedRevoked": 3,
    "TenantMovedIn": 4,
    "TenantUpdated": 5,
    "TenantAreaChanged": 6,
    "TenantRegistrationChanged": 6,
    "TenantMovedOut": 7,
    "BuildingRetired": 8,
    "TaxReported": 9,
    "CityTaxReported": 10,
    "EventRetracted": 11,
}


@dataclass
class Finding:
    """A note on one recorded event: a deliberate data-quality problem the sample holds, or a
    wrong event and its retraction (both listed in events/README.md)."""

    event_id: str
    problem: str


@dataclass
class Simulation:
    """The drafts of a simulated log, in `recorded_at` order, and what was planted in it.

    The drafts are kept as JSON bytes (`lines`): at benchmark scale there are millions.
    """

    seed: int
    scale: float
    lines: list[bytes]
    segments: list[tuple[str, int]]  # (log segment, how many of `lines` fall in it), in order
    findings: list[Finding]
    retracted: list[Finding]
    buildings: int
    tenants: int
    tenancies: int

    def drafts(self) -> Iterator[dict[str, Any]]:
        """The drafts as dicts, in `recorded_at` order."""
        return (json.loads(line) for line in self.lines)

    def batches(self) -> Iterator[list[bytes]]:
        """The drafts one batch per log segment (UTC month of `recorded_at`), as a writer
        appending each month's returns would."""
        start = 0
        for _, n in self.segments:
            yield self.lines[start : start + n]
            start += n


class _Item(NamedTuple):
    """A draft waiting to be recorded, kept compact (its JSON as bytes): a city-scale run
    holds millions of them until they can be put in `recorded_at` order."""

    when: datetime
    priority: int
    n: int
    type: str
    building_id: str | None
    tenant_id: str | None
    payload: bytes

    def line(self) -> bytes:
        """The draft as the log receives it: its JSON with `recorded_at` as the last field."""
        return self.payload[:-1] + b',"recorded_at":"' + self.when.isoformat().encode() + b'"}'


def _encode(draft: dict[str, Any]) -> bytes:
    return json.dumps(draft, ensure_ascii=False, separators=(",", ":")).encode()


def street_source(street: str) -> str:
    """The source of a street's returns: its reporting area and name (经开区城南街道 …)."""
    return f"{CITY.divisions[street][1]}{street}"


class Recorder:
    """The drafts recorded so far (by `event_id`), and when each street files its returns."""

    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(f"louyu:{seed}:recording")
        self.items: list[_Item] = []
        self.index: dict[str, int] = {}  # event_id → position in `items`
        self.laggards = set(random.Random(f"louyu:{seed}:laggards").sample(sorted(CITY.streets), 5))
        self._returns: dict[tuple[str, int], datetime] = {}
        #: (event_id, month, amount) of every monthly tax report, in the order recorded.
        self.tax_reports: list[tuple[str, int, float]] = []

    def uid(self, base: str) -> str:
        eid, k = base, 1
        while eid in self.index:
            k += 1
            eid = f"{base}-{k}"
        return eid

    def add(
        self,
        eid: str,
        type_: str,
        occurred: date,
        recorded: datetime,
        source: str | None,
        data: dict[str, Any],
    ) -> str:
        """Record a draft; its `event_id` is `eid`, made unique. Returns the `event_id`."""
        eid = self.uid(eid)
        draft: dict[str, Any] = {
            "event_id": eid,
            "type": type_,
            "occurred_on": occurred.isoformat(),
        }
        if source:
            draft["source"] = source
        draft["data"] = data
        n = len(self.items)
        self.index[eid] = n
        self.items.append(
            _Item(
                recorded,
                _PRIORITY[type_],
                n,
                type_,
                data.get("building_id"),
                data.get("tenant_id"),
                _encode(draft),
            )
        )
        return eid

    def draft(self, eid: str) -> dict[str, Any]:
        return json.loads(self.items[self.index[eid]].payload)

    def at(self, eid: str) -> datetime:
        """When the event is recorded."""
        return self.items[self.index[eid]].when

    def redate(self, eid: str, occurred: date) -> None:
        k = self.index[eid]
        draft = json.loads(self.items[k].payload)
        draft["occurred_on"] = occurred.isoformat()
        self.items[k] = self.items[k]._replace(payload=_encode(draft))

    def returned(
        self, b: Building, eid: str, type_: str, occurred: date, data: dict[str, Any]
    ) -> str:
        """An event of building `b` that its street returns: recorded with that return."""
        when, src = self.recorded_for(b, occurred)
        return self.add(eid, type_, occurred, when, src, data)

    def street_return(self, street: str, m: int) -> datetime:
        """When a street's return for month m is filed: early next month (laggards later)."""
        key = (street, m)
        if key not in self._returns:
            rng = random.Random(f"louyu:{self.seed}:return:{street}:{m}")
            nxt = month_start(m + 1)
            day = rng.randint(14, 27) if street in self.laggards else rng.randint(2, 10)
            if street in self.laggards and rng.random() < 0.15:
                day += 28  # filed in the month after next
            self._returns[key] = at(
                nxt + timedelta(days=day - 1), rng.randint(9, 16), rng.randint(0, 59)
            )
        return self._returns[key]

    def filed(self, b: Building, d: date) -> tuple[datetime, str]:
        """When and by whom building `b`'s events of day `d` are returned: with its street's
        return for that month."""
        street = b.street_on(d)
        return self.street_return(street, max(0, month_of(d))), street_source(street)

    def recorded_for(self, b: Building, d: date) -> tuple[datetime, str]:
        """As `filed`, but a few entries (2.5 %) wait for one of the next three returns."""
        when, src = self.filed(b, d)
        if self.rng.random() < 0.025:  # a late entry, filed with a later return
            m = max(0, month_of(d)) + self.rng.randint(1, 3)
            when = self.street_return(b.street_on(d), m) + timedelta(minutes=1)
        return when, src

    def finish(self) -> tuple[list[bytes], list[tuple[str, int]]]:
        """The drafts (JSON) in `recorded_at` order, and how many fall in each log segment (UTC
        month of `recorded_at`). The recorder is empty afterwards."""
        items = self.items
        self.items = []
        items.sort(key=lambda it: (it.when, it.priority, it.n))
        batches: list[tuple[str, int]] = []  # (segment, drafts in it)
        for k, it in enumerate(items):
            seg = segment_of(it.when.astimezone(UTC))
            if batches and batches[-1][0] == seg:
                batches[-1] = (seg, batches[-1][1] + 1)
            else:
                batches.append((seg, 1))
            items[k] = it.line()  # type: ignore[call-overload]  # freed item by item: no second copy
        return cast(list[bytes], items), batches


@functools.cache  # one datetime per month shared by its millions of returns
def tax_file(seed: int, m: int) -> datetime:
    """When the tax bureau files month m's tax: in the middle of the next month."""
    rng = random.Random(f"louyu:{seed}:taxfile:{m}")
    return at(month_start(m + 1) + timedelta(days=rng.randint(10, 16)), 10, rng.randint(0, 59))


def hash_int(text: str) -> int:
    """A stable small integer from a string (Python's `hash` is salted per process)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(text))


def record(w: World, tax: TenancyTax) -> Recorder:
    """Every draft the log receives of world `w` and its tax, each with its `recorded_at`
    (not yet in order: corrections are still to come)."""
    r = Recorder(w.seed)
    _record_buildings(r, w)
    _record_acts(r, w)
    renamed = _renames(r, w)
    _record_tenancies(r, w, tax, renamed)
    _record_tenant_updates(r, w, renamed)
    _record_city_tax(r, w.seed)
    _fix_dependencies(r)
    return r


def _building_data(b: Building, status: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "building_id": b.building_id,
        "name": b.name,
        "district": b.district,
        "street": b.street,
        "address": b.address,
        "gross_floor_area_m2": b.gfa,
        "rentable_area_m2": b.rentable_initial,
        "category": b.category,
        "grade": b.grade,
        "standalone": b.standalone,
        "status": status,
        "owner": b.owner,
        "property_manager": b.manager,
        "lon": b.lon,
        "lat": b.lat,
    }
    if status == "completed":
        data["completed_on"] = b.completed_on.isoformat()
    if b.self_held is not None:
        data["self_held_ratio"] = b.self_held
    return data


def _returned_update(r: Recorder, b: Building, what: str, d: date, fields: dict[str, Any]) -> None:
    """A `BuildingUpdated` of `b` on day `d` (event `bld-<id>-<what>`) with its street's return."""
    r.returned(
        b,
        f"bld-{b.building_id}-{what}",
        "BuildingUpdated",
        d,
        {"building_id": b.building_id, **fields},
    )


def _record_buildings(r: Recorder, w: World) -> None:
    """Each building: registered at the census (standing or under construction, completed
    later) or with its street's return when new; re-surveys, re-measures, the boundary change."""
    for b in w.buildings:
        bid = b.building_id
        if b.announced == "census":
            r.add(
                f"bld-{bid}",
                "BuildingRegistered",
                b.completed_on,
                CENSUS_AT,
                CENSUS_SOURCE,
                _building_data(b, "completed"),
            )
        elif b.announced == "census_uc":
            status = "planned" if b.completed_on > date(2016, 6, 30) else "under_construction"
            r.add(
                f"bld-{bid}",
                "BuildingRegistered",
                date(FIRST_YEAR - 1, 12, 31),
                CENSUS_AT,
                CENSUS_SOURCE,
                _building_data(b, status),
            )
            if b.completed_on <= LAST_DAY:
                r.add(
                    f"bld-{bid}-completed",
                    "BuildingCompleted",
                    b.completed_on,
                    r.filed(b, b.completed_on)[0],
                    OFFICE_SOURCE,
                    {"building_id": bid},
                )
        elif b.completed_on <= LAST_DAY:
            when, src = r.filed(b, b.completed_on)
            r.add(
                f"bld-{bid}",
                "BuildingRegistered",
                b.completed_on,
                when,
                src,
                _building_data(b, "completed"),
            )
        if b.standalone_from:
            _returned_update(r, b, "standalone", b.standalone_from, {"standalone": True})
        if b.remeasure:
            d, area = b.remeasure
            _returned_update(r, b, "remeasured", d, {"rentable_area_m2": area})
        if b.street_from:
            d, street = b.street_from
            r.add(
                f"bld-{bid}-street",
                "BuildingUpdated",
                d,
                at(d + timedelta(days=5), 10),
                OFFICE_SOURCE,
                {"building_id": bid, "street": street},
            )


def _record_acts(r: Recorder, w: World) -> None:
    """Updates and the retirement (with the street's return); the office's designations and
    revocation."""
    for b, d, fields in w.updates:
        d = max(d, b.completed_on + timedelta(days=30)) if b.announced == "new" else d
        if d > LAST_DAY or (b.retire_on and d >= b.retire_on):
            continue
        _returned_update(r, b, f"upd-{d:%Y%m%d}", d, fields)
    for b, d in w.retirements:
        r.returned(
            b,
            f"bld-{b.building_id}-retired",
            "BuildingRetired",
            d,
            {"building_id": b.building_id, "reason": "converted"},
        )
    for b, d, lead in w.designations:
        when = at(month_start(month_of(d) + 1) + timedelta(days=r.rng.randint(8, 14)), 15)
        r.add(
            f"bld-{b.building_id}-featured",
            "BuildingFeaturedDesignated",
            d,
            when,
            OFFICE_SOURCE,
            {"building_id": b.building_id, "industry": lead},
        )
    for b, d in w.revocations:
        r.add(
            f"bld-{b.building_id}-featured-revoked",
            "BuildingFeaturedRevoked",
            d,
            at(d + timedelta(days=14), 15),
            OFFICE_SOURCE,
            {"building_id": b.building_id},
        )


def _renames(r: Recorder, w: World) -> dict[str, tuple[date, str]]:
    """The tenants that change their name (1 %): tenant_id → (day, new name)."""
    renamed: dict[str, tuple[date, str]] = {}
    for t in w.tenant_list:
        if r.rng.random() < 0.01:
            first = w.by_tenant[t.tenant_id][0]
            d = max(first.start, date(FIRST_YEAR, 1, 1)) + timedelta(days=r.rng.randint(60, 900))
            if d < (first.end or LAST_DAY) and d <= LAST_DAY:
                renamed[t.tenant_id] = (
                    d,
                    t.name.replace("有限公司", "科技有限公司", 1)
                    if "科技" not in t.name
                    else CITY.province + t.name.removeprefix(CITY.name),
                )
    return renamed


def _initial_registration(ten: Tenancy) -> bool:
    return ten.registered if len(ten.regs) % 2 == 0 else not ten.registered


def _edition(d: date) -> str:
    """The GB/T 4754 edition in force on day `d`."""
    return "2017" if d >= RECODED_ON else "2011"


def _record_tenancies(
    r: Recorder, w: World, tax: TenancyTax, renamed: dict[str, tuple[date, str]]
) -> None:
    """Each tenancy's move-in (at the census or with its street's return), area and
    registration changes, move-out, and its monthly tax (with the tax bureau's file)."""
    rng = r.rng
    for i, ten in enumerate(w.tenancies):
        t, b = ten.tenant, ten.building
        tid, bid = t.tenant_id, b.building_id
        ed = _edition(ten.start)
        rn = renamed.get(tid)
        data = {
            "tenant_id": tid,
            "tenant_name": rn[1] if rn and rn[0] <= ten.start else t.name,
            "building_id": bid,
            "area_m2": ten.areas[0][1],
            "industry": t.code2017 if ed == "2017" else t.code2011,
            "industry_edition": ed,
            "registered_here": _initial_registration(ten),
            "headcount": max(1, int(ten.areas[0][1] / (9 + (hash_int(tid) % 9)))),
            "headquarters": t.headquarters,
            "unit": ten.unit,
        }
        if ten.census:
            when, src = CENSUS_AT, CENSUS_SOURCE
        else:
            when, src = r.recorded_for(b, ten.start)
        r.add(f"in-{tid}-{bid}", "TenantMovedIn", ten.start, when, src, data)
        for d, area in ten.areas[1:]:
            r.returned(
                b,
                f"area-{tid}-{bid}-{d:%Y%m%d}",
                "TenantAreaChanged",
                d,
                {"tenant_id": tid, "building_id": bid, "area_m2": area},
            )
        for d, reg in ten.regs:
            r.returned(
                b,
                f"reg-{tid}-{bid}-{d:%Y%m%d}",
                "TenantRegistrationChanged",
                d,
                {"tenant_id": tid, "building_id": bid, "registered_here": reg},
            )
        if ten.end and ten.end <= LAST_DAY:
            r.returned(
                b,
                f"out-{tid}-{bid}",
                "TenantMovedOut",
                ten.end,
                {"tenant_id": tid, "building_id": bid, "reason": ten.end_reason},
            )
        for m, amount in tax[i].items():
            when = tax_file(w.seed, m)
            if rng.random() < 0.02:  # a late return
                when = tax_file(w.seed, m + rng.randint(1, 2)) + timedelta(hours=2)
            p = period(m)
            eid = r.add(
                f"tax-{tid}-{bid}-{p}",
                "TaxReported",
                month_end(m),
                when,
                TAX_SOURCE,
                {"tenant_id": tid, "building_id": bid, "period": p, "amount_yuan": amount},
            )
            r.tax_reports.append((eid, m, amount))


def _record_tenant_updates(r: Recorder, w: World, renamed: dict[str, tuple[date, str]]) -> None:
    """Renames (with the street's return of the tenant's first building) and the statistics
    bureau's recoding of tenants whose code differs in GB/T 4754-2017."""
    for tid, (d, name) in renamed.items():
        b = w.by_tenant[tid][0].building
        r.returned(
            b,
            f"tupd-{tid}-{d:%Y%m%d}",
            "TenantUpdated",
            d,
            {"tenant_id": tid, "tenant_name": name},
        )
    for t in w.tenant_list:
        if t.code2011 != t.code2017 and any(
            x.start < RECODED_ON and (x.end is None or x.end > RECODED_ON)
            for x in w.by_tenant[t.tenant_id]
        ):
            r.add(
                f"tupd-{t.tenant_id}-gbt4754-2017",
                "TenantUpdated",
                RECODED_ON,
                at(date(2017, 11, 8), 11),
                STATS_SOURCE,
                {"tenant_id": t.tenant_id, "industry": t.code2017, "industry_edition": "2017"},
            )


def _record_city_tax(r: Recorder, seed: int) -> None:
    """The finance bureau's monthly budget revenue of the whole city (no district)."""
    for m, amount in sorted(city_tax(seed).items()):
        r.add(
            f"city-{period(m)}",
            "CityTaxReported",
            month_end(m),
            at(month_start(m + 1) + timedelta(days=18), 16),
            CITY_SOURCE,
            {"period": period(m), "amount_yuan": amount},
        )


def _fix_dependencies(r: Recorder) -> None:
    """No event may be recorded before what it refers to: late references wait for them."""
    first_seen: dict[str, datetime] = {
        it.building_id: it.when
        for it in r.items
        if it.type == "BuildingRegistered" and it.building_id is not None
    }
    tenancy_seen: dict[tuple[str | None, str | None], datetime] = {}
    tenant_seen: dict[str | None, datetime] = {}
    # buildings, then move-ins, then the rest
    for k in sorted(range(len(r.items)), key=lambda k: r.items[k].priority):
        it = r.items[k]
        when = it.when
        need = []
        if it.type != "BuildingRegistered" and it.building_id is not None:
            need.append(first_seen[it.building_id])
        if it.type in (
            "TenantAreaChanged",
            "TenantRegistrationChanged",
            "TenantMovedOut",
            "TaxReported",
        ):
            need.append(tenancy_seen[(it.tenant_id, it.building_id)])
        if it.type == "TenantUpdated":
            need.append(tenant_seen[it.tenant_id])
        for dep in need:
            if dep > when:
                when = dep + timedelta(minutes=1)
        if it.type == "TenantMovedIn":
            tenancy_seen[(it.tenant_id, it.building_id)] = when
            tenant_seen[it.tenant_id] = min(when, tenant_seen.get(it.tenant_id, when))
        if when != it.when:
            r.items[k] = it._replace(when=when)
