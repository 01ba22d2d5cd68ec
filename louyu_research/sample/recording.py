"""Recording: what the log learns of the world, and when.

The January 2014 census (buildings standing or under construction, tenancies already in
them), then each street's monthly return in the first weeks of the next month (five lagging
streets file later, and a few entries wait for a later return), the tax bureau's monthly file
(some returns late), the statistics bureau's recoding to GB/T 4754-2017, the city's monthly
budget revenue and the building-economy office's acts (completions, the boundary change,
featured designations and their revocation).

`record` turns a world and its tax into drafts held by a `Recorder`, each with its
`recorded_at`; nothing may be recorded before what it refers to. `Recorder.finish` puts them
in `recorded_at` order and cuts them into the log's monthly batches (`Recorder.segments`,
made a month at a time, the monthly tax reports only then): a `Simulation`.
"""

from __future__ import annotations

import functools
import json
import os
import random
import tempfile
import weakref
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from louyu_research.log.store import segment_of as log_segment_of

from .calibration import CITY
from .money import TaxTable, city_tax
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
    """A simulated log, its drafts produced on demand in `recorded_at` order, and what was
    planted in it.

    The drafts are not held: `segments` (and `batches`, `lines`, `drafts`) produce them anew
    on each call, one recorded month at a time, from the recorder's compact state, so a
    city-scale log is written with memory bounded by the world and one month's drafts.
    """

    seed: int
    scale: float
    findings: list[Finding]
    retracted: list[Finding]
    buildings: int
    tenants: int
    tenancies: int
    events: int  # how many drafts `segments` produces
    recorder: Recorder = field(repr=False)

    def segments(self) -> Iterator[tuple[str, list[bytes]]]:
        """The drafts (JSON bytes) of each log segment (UTC month of `recorded_at`), in order."""
        return self.recorder.segments()

    def batches(self) -> Iterator[list[bytes]]:
        """The drafts one batch per log segment (UTC month of `recorded_at`), as a writer
        appending each month's returns would. (A caller that keeps no batch once it asks for
        the next holds one month's drafts at a time.)"""
        for _, batch in self.segments():
            yield batch
            del batch  # not kept while the next month is made

    @property
    def lines(self) -> Lines:
        """Every draft (JSON bytes), in `recorded_at` order: iterable, sized, comparable."""
        return Lines(self)

    def drafts(self) -> Iterator[dict[str, Any]]:
        """The drafts as dicts, in `recorded_at` order."""
        return (json.loads(line) for line in self.lines)


class Lines:
    """A simulation's drafts as JSON bytes, produced when iterated (never all held)."""

    def __init__(self, sim: Simulation):
        self._sim = sim

    def __len__(self) -> int:
        return self._sim.events

    def __iter__(self) -> Iterator[bytes]:
        for batch in self._sim.batches():
            yield from batch

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Lines | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class _Item(NamedTuple):
    """A draft waiting to be recorded: what orders it and what it refers to. Its JSON waits in
    the recorder's spill file. Every draft but the monthly tax reports is held so until
    written: one or a few per building and tenancy."""

    when: datetime
    priority: int
    n: int
    type: str
    building_id: str | None
    tenant_id: str | None


def _encode(draft: dict[str, Any]) -> bytes:
    return json.dumps(draft, ensure_ascii=False, separators=(",", ":")).encode()


def street_source(street: str) -> str:
    """The source of a street's returns: its reporting area and name (经开区城南街道 …)."""
    return f"{CITY.divisions[street][1]}{street}"


_TAX_PRIORITY = _PRIORITY["TaxReported"]
_MINUTE = timedelta(minutes=1)
_LATE_TAX = timedelta(hours=2)


class Recorder:
    """The drafts recorded so far, and when each street files its returns.

    Every draft is numbered in the order recorded (`n`, the tie-break of equal `recorded_at`
    and priority). All but the monthly tax reports are held as `_Item`s (by `event_id` in
    `index`). A tax report is not held: it is a slot of the `TaxTable` (its amount) and of
    `late` (how many months late it is filed, 0 when on time), numbered from `tax_n[i]` on
    for tenancy `i`; its draft is made again whenever it is needed. Its `event_id`
    (`tax-<tenant>-<building>-<period>`) is unique by construction: a tenant holds one tenancy
    per building, and a tenancy one report per month.
    """

    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(f"louyu:{seed}:recording")
        self.items: list[_Item] = []
        self.index: dict[str, int] = {}  # event_id → position in `items`
        # the JSON of each held draft (without `recorded_at`), in an unnamed temporary file:
        # `items[k]`'s is `_size[k]` bytes from `_start[k]`
        self._spill = tempfile.TemporaryFile(prefix="louyu-simulate-")  # noqa: SIM115 (lives with the recorder)
        weakref.finalize(self, self._spill.close)
        self._spilled = 0
        self._start, self._size = array("q"), array("q")
        self.n = 0  # drafts recorded so far, tax reports included
        self.laggards = set(random.Random(f"louyu:{seed}:laggards").sample(sorted(CITY.streets), 5))
        self._returns: dict[tuple[str, int], datetime] = {}
        # the monthly tax reports (see the class docstring), set by `record`
        self.tax = TaxTable(array("h"), array("q", [0]), array("d"), 0)
        self.late = bytearray()
        self.tax_n = array("q")
        self.tenancy_keys: list[str] = []  # "<tenant>-<building>" of each tenancy
        self.tenancy_of: dict[str, int] = {}
        # when tenancy i's move-in and its building's registration are recorded (set once the
        # dependencies are fixed): no tax report is recorded before them
        self.moved_in_at: list[datetime] = []
        self.registered_at: list[datetime] = []

    def uid(self, base: str) -> str:
        eid, k = base, 1
        while eid in self.index or self._tax_slot(eid) is not None:
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
        self.index[eid] = len(self.items)
        self.items.append(
            _Item(
                recorded,
                _PRIORITY[type_],
                self.n,
                type_,
                data.get("building_id"),
                data.get("tenant_id"),
            )
        )
        self._start.append(0)
        self._size.append(0)
        self._keep(len(self.items) - 1, _encode(draft))
        self.n += 1
        return eid

    def _keep(self, k: int, payload: bytes) -> None:
        """Spill `items[k]`'s JSON."""
        self._start[k], self._size[k] = self._spilled, len(payload)
        self._spill.write(payload)
        self._spilled += len(payload)

    def _payload(self, k: int) -> bytes:
        """`items[k]`'s JSON, without `recorded_at`."""
        self._spill.flush()
        return os.pread(self._spill.fileno(), self._size[k], self._start[k])

    def _line(self, k: int) -> bytes:
        """`items[k]`'s draft as the log receives it: its JSON, `recorded_at` the last field."""
        when = self.items[k].when.isoformat().encode()
        return self._payload(k)[:-1] + b',"recorded_at":"' + when + b'"}'

    # the monthly tax reports -------------------------------------------------------------------

    def _tax_slot(self, eid: str) -> tuple[int, int, int] | None:
        """(tenancy, month index, slot) of a tax report's `event_id`, or None if there is none."""
        if not eid.startswith("tax-") or len(eid) < 13 or eid[-8] != "-":
            return None
        i = self.tenancy_of.get(eid[4:-8])
        if i is None:
            return None
        try:
            m = month_of(date.fromisoformat(eid[-7:] + "-01"))
        except ValueError:
            return None
        j = self.tax.offset[i] + m - self.tax.first[i]
        if not self.tax.offset[i] <= j < self.tax.offset[i + 1]:
            return None
        a = self.tax.amount[j]
        return (i, m, j) if a == a else None

    def tax_id(self, i: int, m: int) -> str:
        return f"tax-{self.tenancy_keys[i]}-{period(m)}"

    def tax_at(self, i: int, m: int, j: int) -> datetime:
        """When tenancy i's tax report of month m (slot j) is recorded: with the tax bureau's
        file (or a later one), never before the move-in and the building are known."""
        late = self.late[j]
        when = tax_file(self.seed, m) if not late else tax_file(self.seed, m + late) + _LATE_TAX
        moved_in, registered = self.moved_in_at[i], self.registered_at[i]
        if moved_in > when or registered > when:
            if registered > when:
                when = registered + _MINUTE
            if moved_in > when:
                when = moved_in + _MINUTE
        return when

    def tax_reports(self) -> Iterator[tuple[str, int, float]]:
        """(event_id, month index, amount) of every monthly tax report, in the order recorded."""
        for i, key in enumerate(self.tenancy_keys):
            first, start = self.tax.first[i], self.tax.offset[i]
            for j in self.tax.months(i):
                a = self.tax.amount[j]
                if a == a:
                    m = first + j - start
                    yield f"tax-{key}-{period(m)}", m, a

    def tax_amounts(self, lo: int, hi: int) -> Iterator[tuple[float, int, int]]:
        """(amount, tenancy, month index) of the tax reports of months lo to hi - 1."""
        amount = self.tax.amount
        for i in range(len(self.tenancy_keys)):
            first, start, end = self.tax.first[i], self.tax.offset[i], self.tax.offset[i + 1]
            for j in range(start + max(0, lo - first), min(end, start + max(0, hi - first))):
                a = amount[j]
                if a == a:
                    yield a, i, first + j - start

    # any draft ---------------------------------------------------------------------------------

    def draft(self, eid: str) -> dict[str, Any]:
        slot = self._tax_slot(eid) if eid not in self.index else None
        if slot is not None:
            i, m, j = slot
            return json.loads(self._tax_line(i, m, self.tax.amount[j], self.tax_at(i, m, j)))
        return json.loads(self._payload(self.index[eid]))

    def at(self, eid: str) -> datetime:
        """When the event is recorded."""
        slot = self._tax_slot(eid) if eid not in self.index else None
        if slot is not None:
            return self.tax_at(*slot)
        return self.items[self.index[eid]].when

    def redate(self, eid: str, occurred: date) -> None:
        k = self.index[eid]
        draft = json.loads(self._payload(k))
        draft["occurred_on"] = occurred.isoformat()
        self._keep(k, _encode(draft))

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

    # writing -----------------------------------------------------------------------------------

    def _tax_line(self, i: int, m: int, amount: float, when: datetime) -> bytes:
        """A tax report's draft as `_Item.line` makes it (the same JSON, byte for byte)."""
        key, p = self.tenancy_keys[i], period(m)
        tid, bid = key.split("-")
        return (
            f'{{"event_id":"tax-{key}-{p}","type":"TaxReported","occurred_on":"{month_end(m)}",'
            f'"source":"{TAX_SOURCE}","data":{{"tenant_id":"{tid}","building_id":"{bid}",'
            f'"period":"{p}","amount_yuan":{amount!r}}},"recorded_at":"{when.isoformat()}"}}'
        ).encode()

    def segments(self) -> Iterator[tuple[str, list[bytes]]]:
        """The drafts (JSON) in `recorded_at` order, one list per log segment (UTC month of
        `recorded_at`), in order.

        The tax reports are made business month by business month. Month m's are recorded no
        earlier than the tax bureau's file of month m (in month m + 1), so once month m is made
        every segment before the one holding the file of month m + 1 is complete and is
        written: only the few reports filed late wait, and one month's drafts are held.
        """
        # the held drafts by segment (their positions), and each segment's drafts to write:
        # (recorded_at, priority, n, the draft: its JSON, or the position of a held draft)
        held: dict[str, array[int]] = {}
        for k, it in enumerate(self.items):
            held.setdefault(segment_of(it.when), array("q")).append(k)
        pending: dict[str, list[tuple[datetime, int, int, bytes | int]]] = {}
        tax, late_of = self.tax, self.late
        starting: list[list[int]] = [[] for _ in range(MONTHS)]
        for i, first in enumerate(tax.first):
            if tax.offset[i + 1] > tax.offset[i]:
                starting[first].append(i)
        reported = array("q", bytes(8 * len(self.tenancy_keys)))  # reports made per tenancy
        active: list[int] = []
        for m in range(MONTHS):
            active = sorted(
                [i for i in active if tax.offset[i] + m - tax.first[i] < tax.offset[i + 1]]
                + starting[m]
            )
            on_time = tax_file(self.seed, m)
            segment = segment_of(on_time)
            p, occurred, recorded = period(m), month_end(m), on_time.isoformat()
            head = f'","type":"TaxReported","occurred_on":"{occurred}","source":"{TAX_SOURCE}",'
            batch = pending.setdefault(segment, [])
            for i in active:
                j = tax.offset[i] + m - tax.first[i]
                a = tax.amount[j]
                if a != a:
                    continue
                n = self.tax_n[i] + reported[i]
                reported[i] += 1
                key = self.tenancy_keys[i]
                if late_of[j] or self.moved_in_at[i] > on_time or self.registered_at[i] > on_time:
                    when = self.tax_at(i, m, j)
                    pending.setdefault(segment_of(when), []).append(
                        (when, _TAX_PRIORITY, n, self._tax_line(i, m, a, when))
                    )
                    continue
                tid, bid = key.split("-")
                batch.append(
                    (
                        on_time,
                        _TAX_PRIORITY,
                        n,
                        (
                            f'{{"event_id":"tax-{key}-{p}{head}"data":{{"tenant_id":"{tid}",'
                            f'"building_id":"{bid}","period":"{p}","amount_yuan":{a!r}}},'
                            f'"recorded_at":"{recorded}"}}'
                        ).encode(),
                    )
                )
            done = segment_of(tax_file(self.seed, m + 1))
            for name in sorted({*pending, *held}):
                if name < done:
                    yield self._written(name, pending.pop(name, []), held.pop(name, array("q")))
        for name in sorted({*pending, *held}):
            yield self._written(name, pending.pop(name, []), held.pop(name, array("q")))

    def _written(
        self, name: str, drafts: list[tuple[datetime, int, int, bytes | int]], held: array[int]
    ) -> tuple[str, list[bytes]]:
        """A segment's drafts in `recorded_at` order (then priority, then the order recorded:
        `n` is unique, so the drafts themselves are never compared), the held ones with them."""
        items = self.items
        drafts += ((items[k].when, items[k].priority, items[k].n, k) for k in held)
        drafts.sort()
        self._spill.flush()
        return name, [d if isinstance(d, bytes) else self._line(d) for *_, d in drafts]


def segment_of(when: datetime) -> str:
    """The log segment of a draft recorded at `when` (its UTC month), without the suffix."""
    return log_segment_of(when).removesuffix(".jsonl")


@functools.cache  # one datetime per month shared by its millions of returns
def tax_file(seed: int, m: int) -> datetime:
    """When the tax bureau files month m's tax: in the middle of the next month."""
    rng = random.Random(f"louyu:{seed}:taxfile:{m}")
    return at(month_start(m + 1) + timedelta(days=rng.randint(10, 16)), 10, rng.randint(0, 59))


def hash_int(text: str) -> int:
    """A stable small integer from a string (Python's `hash` is salted per process)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(text))


def record(w: World, tax: TaxTable) -> Recorder:
    """Every draft the log receives of world `w` and its tax, each with its `recorded_at`
    (not yet in order: corrections are still to come)."""
    r = Recorder(w.seed)
    r.tax, r.late = tax, bytearray(len(tax.amount))
    r.tenancy_keys = [f"{x.tenant.tenant_id}-{x.building.building_id}" for x in w.tenancies]
    r.tenancy_of = {key: i for i, key in enumerate(r.tenancy_keys)}
    _record_buildings(r, w)
    _record_acts(r, w)
    renamed = _renames(r, w)
    _record_tenancies(r, w, tax, renamed)
    _record_tenant_updates(r, w, renamed)
    _record_city_tax(r, w.seed)
    _fix_dependencies(r)
    r.moved_in_at = [r.at(f"in-{key}") for key in r.tenancy_keys]
    registered = {it.building_id: it.when for it in r.items if it.type == "BuildingRegistered"}
    r.registered_at = [registered[x.building.building_id] for x in w.tenancies]
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
    r: Recorder, w: World, tax: TaxTable, renamed: dict[str, tuple[date, str]]
) -> None:
    """Each tenancy's move-in (at the census or with its street's return), area and
    registration changes, move-out, and its monthly tax (with the tax bureau's file)."""
    rng, late = r.rng, r.late
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
        # the monthly tax (not held as drafts: see `Recorder`), filed with the tax bureau's
        # file of the month, or a late return (2 %) with a later one
        r.tax_n.append(r.n)
        for j in tax.months(i):
            if tax.amount[j] == tax.amount[j]:
                if rng.random() < 0.02:  # a late return
                    late[j] = rng.randint(1, 2)
                r.n += 1


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
    """No event may be recorded before what it refers to: late references wait for them.

    The held drafts are fixed here; a monthly tax report the same way when it is made
    (`Recorder.tax_at`: after its building's registration, then after its move-in)."""
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
