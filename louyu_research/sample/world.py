"""The monthly world: buildings, tenants, their tenancies and moves, and the city's own acts.

Buildings spread over the city's streets (`calibration.CITY`); month by month tenants move
in towards each building's target occupancy, move out, relocate, expand, shrink and move their
registration in. Key industries cluster in "themed" buildings, so featured buildings
(INDICATORS.md) emerge over 2015–2017, and each December the city designates some. Before
the months run, the city's other acts are planned: one retirement, a street boundary change,
re-surveys, re-measures and updates.

This is the truth the log will later learn, imperfectly: nothing here knows of events, sources
or recording dates. `make_world` builds it from a seed and a scale; every draw comes from
generators seeded by the seed, so the same seed and scale give the same world.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from .calibration import (
    BASE_MIX,
    BUILDINGS_AT_SCALE_1,
    CITY,
    DESIGNATIONS,
    HEADQUARTERS_CODE,
    KEY_CODES,
    OCCUPANCY_PATH,
    OTHER_CODES,
    REGISTRATION_OF_NEW,
    REGISTRATION_PULL,
    SUPPLY_BY_YEAR,
)
from .timeline import (
    FIRST_YEAR,
    MONTHS,
    day_in,
    interp,
    month_end,
    month_of,
    month_start,
    year_months,
)

#: The day the one featured designation that is revoked loses it.
REVOKED_ON = date(2018, 6, 28)
#: The day the retired building is converted.
RETIRED_ON = date(2017, 6, 30)

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def make_uscc(rng: random.Random, division: str, new_style: bool) -> str:
    """A unified social credit code (GB 32100-2015) with both check characters right.

    `9` (registered by market regulation) `1` (enterprise), the 6-digit division, a 9-char
    organisation code (GB 11714: 8 characters and its own check; firms founded after the
    2015 reform get the `MA` prefix), and the GB 32100 check character.
    """
    if new_style:
        body = "MA" + "".join(
            rng.choice(_USCC_CHARS[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(6)
        )
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    total = sum(
        (int(c) if c.isdigit() else ord(c) - 55) * w
        for c, w in zip(body, _ORG_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    org = body + ("X" if check == 10 else "0" if check == 11 else str(check))
    head = "91" + division + org
    s = sum(_USCC_CHARS.index(c) * w for c, w in zip(head, _USCC_WEIGHTS, strict=True))
    return head + _USCC_CHARS[(31 - s % 31) % 31]


def property_manager(rng: random.Random, company: str = "物业服务有限公司") -> str:
    """A property management firm's name (嘉兴…物业服务有限公司)."""
    return f"{CITY.name}{rng.choice(CITY.names.building_words)}{company}"


@dataclass(slots=True)
class Building:
    building_id: str
    name: str
    street: str
    district: str
    area: str  # reporting area
    gfa: float
    rentable: float
    category: str
    grade: str
    standalone: bool
    completed_on: date
    announced: str  # "census" (existing), "census_uc" (under construction in 2014), "new"
    lon: float
    lat: float
    owner: str
    manager: str
    address: str
    self_held: float | None
    typical_area: float
    offset: float  # target occupancy relative to the city's path
    intensity: float  # tax per m² relative to the average building
    theme: str | None = None
    theme_from: int = 0
    theme_strength: float = 0.0
    retire_on: date | None = None
    standalone_from: date | None = None  # re-surveyed as standalone (enters the scope)
    remeasure: tuple[date, float] | None = None  # re-measured rentable area
    street_from: tuple[date, str] | None = None  # moved to another street (boundary change)
    tenancies: list[Tenancy] = field(default_factory=list)
    rentable_initial: float = 0.0

    def __post_init__(self) -> None:
        self.rentable_initial = self.rentable

    def street_on(self, d: date) -> str:
        if self.street_from and self.street_from[0] <= d:
            return self.street_from[1]
        return self.street

    def completed_by(self, d: date) -> bool:
        return self.completed_on <= d

    def occupied(self) -> float:
        return sum(t.area for t in self.tenancies if t.end is None)


@dataclass(slots=True)
class Tenant:
    tenant_id: str
    name: str
    key: str  # key industry or an OTHER_CODES code (e.g. "K70")
    code2011: str
    code2017: str
    headquarters: bool
    size: float  # tax multiplier of the firm
    founded: date
    giant: bool = False  # one of the few very large payers


@dataclass(slots=True)
class Tenancy:
    tenant: Tenant
    building: Building
    start: date
    area: float
    registered: bool
    unit: str
    end: date | None = None
    end_reason: str | None = None
    areas: list[tuple[date, float]] = field(default_factory=list)  # (from, area)
    regs: list[tuple[date, bool]] = field(default_factory=list)  # changes after the start
    census: bool = False  # known at the census (moved in before 2014)

    def area_on(self, d: date) -> float:
        area = self.areas[0][1]
        for since, a in self.areas:
            if since <= d:
                area = a
        return area


def make_world(seed: int, scale: float) -> World:
    """The world of `seed` at `scale` (1.0 ≈ 470 buildings), its months run."""
    w = World(seed, scale)
    w.make_buildings()
    w.assign_themes()
    w.plan_acts()
    w.census()
    w.run()
    return w


class World:
    def __init__(self, seed: int, scale: float):
        self.seed = seed
        self.scale = scale
        self.rng = random.Random(f"louyu:{seed}:world")
        self.buildings: list[Building] = []
        self.tenants: dict[str, Tenant] = {}
        self.tenancies: list[Tenancy] = []
        self.building_names: set[str] = set()
        self.relocating: list[tuple[Tenant, int, Building]] = []
        self.updates: list[tuple[Building, date, dict[str, Any]]] = []
        self.designations: list[tuple[Building, date, str]] = []
        self.revocations: list[tuple[Building, date]] = []
        self.retirements: list[tuple[Building, date]] = []
        self.by_tenant: defaultdict[str, list[Tenancy]] = defaultdict(list)
        self.tenant_list: list[Tenant] = []

    # buildings ---------------------------------------------------------------------------------

    def make_buildings(self) -> None:
        rng = self.rng
        n = max(12, round(BUILDINGS_AT_SCALE_1 * self.scale))
        streets = list(CITY.streets)
        weights = [CITY.streets[s][0] for s in streets]
        for i in range(n):
            street = rng.choices(streets, weights=weights)[0]
            district, area = CITY.divisions[street]
            self.buildings.append(self._building(i, street, district, area))
        self.buildings.sort(key=lambda b: b.building_id)

    def _building(self, i: int, street: str, district: str, area: str) -> Building:
        rng = self.rng
        county = area not in CITY.urban_areas
        category = _wchoice(
            rng, {"office": 0.55, "complex": 0.12, "industrial": 0.23, "mixed": 0.10}
        )
        kind = rng.random()
        # when it is (was) completed: most before 2014; new supply 2014–2018
        r = rng.random()
        if r < 0.80:
            completed = date(rng.randint(1996, 2013), rng.randint(1, 12), rng.randint(1, 28))
            announced = "census"
        elif r < 0.93:
            completed = day_in(
                rng,
                rng.choices(range(MONTHS), weights=[_supply_weight(m) for m in range(MONTHS)])[0],
            )
            announced = "new"
        else:
            completed = day_in(
                rng, rng.choices(range(6, MONTHS + 18), weights=[1.0] * (MONTHS + 12))[0]
            )
            announced = "census_uc"
        standalone = True
        if kind < 0.05:  # a small building below the 1,000 m² threshold
            gfa = float(rng.randint(380, 990))
        elif kind < 0.11:  # part of a larger estate: not standalone (裙楼, 商住楼)
            gfa = float(round(rng.lognormvariate(math.log(9000), 0.5), -1))
            standalone = False
        else:
            median = {"office": 17000, "complex": 42000, "industrial": 13000, "mixed": 15000}[
                category
            ]
            if county:
                median *= 0.7
            gfa = float(
                round(min(100000, max(1000, rng.lognormvariate(math.log(median), 0.55))), -1)
            )
        gfa = max(gfa, 380.0)
        rentable = float(round(gfa * rng.uniform(0.64, 0.82), 1))
        newer = completed.year >= 2008
        grade = _wchoice(
            rng,
            {"A": 0.45 if newer and gfa > 15000 else 0.12, "B": 0.45, "C": 0.1 if newer else 0.4},
        )
        lon0, lat0 = CITY.streets[street][1:]
        bid = f"JX{i + 1:04d}"
        name = self._building_name(category, street, county)
        n_typical = min(40.0, max(3.0, rng.lognormvariate(math.log(10.5), 0.45)))
        if category == "complex":
            n_typical *= 1.4
        offset = rng.gauss(0, 0.09)
        if rng.random() < 0.07:
            offset -= rng.uniform(0.2, 0.35)  # a building that fails to let (the 盘活 list)
        intensity = rng.lognormvariate(0, 0.8) * {"A": 1.5, "B": 1.0, "C": 0.6}[grade]
        intensity *= {"office": 1.15, "complex": 0.75, "industrial": 0.75, "mixed": 0.9}[category]
        if county:
            intensity *= 0.85
        names = CITY.names
        road = rng.choice(names.county_roads if county else names.roads)
        word = rng.choice(names.building_words)
        return Building(
            building_id=bid,
            name=name,
            street=street,
            district=district,
            area=area,
            gfa=gfa,
            rentable=rentable,
            category=category,
            grade=grade,
            standalone=standalone,
            completed_on=completed,
            announced=announced,
            lon=round(lon0 + rng.uniform(-0.012, 0.012), 5),
            lat=round(lat0 + rng.uniform(-0.010, 0.010), 5),
            owner=rng.choice(
                [
                    f"{CITY.name}{word}置业有限公司",
                    f"{CITY.province}{word}房地产开发有限公司",
                    f"{CITY.name}{word}投资集团有限公司",
                ]
            ),
            manager=property_manager(rng),
            address=f"{district}{road}{rng.randint(1, 1999)}号",
            self_held=round(rng.uniform(0, 0.4), 2) if rng.random() < 0.5 else None,
            typical_area=rentable / n_typical,
            offset=offset,
            intensity=intensity,
        )

    def _building_name(self, category: str, street: str, county: bool) -> str:
        rng = self.rng
        words, suffixes = CITY.names.building_words, CITY.names.building_suffix[category]
        for _ in range(50):
            word = rng.choice(words)
            if county and rng.random() < 0.3:
                word = street[:2] + word[-1]
            name = word + rng.choice(suffixes)
            if rng.random() < 0.12:
                name += rng.choice(["A座", "B座", "1号楼", "2号楼", "东楼"])
            if name not in self.building_names:
                self.building_names.add(name)
                return name
        name = f"{rng.choice(words)}{rng.choice(suffixes)}{len(self.building_names)}号楼"
        self.building_names.add(name)
        return name

    def assign_themes(self) -> None:
        """Themed buildings attract one key industry: featured buildings emerge from them."""
        rng = self.rng
        for b in self.buildings:
            p = {"office": 0.55, "industrial": 0.62, "mixed": 0.35, "complex": 0.08}[b.category]
            if rng.random() >= p:
                continue
            b.theme = _wchoice(rng, CITY.themes[b.area])
            r = rng.random()
            if b.announced != "census":
                b.theme_from = max(0, month_of(b.completed_on))  # new buildings open themed
            elif r < 0.12:
                b.theme_from = 0  # featured before the plan
            else:
                b.theme_from = rng.randint(4, 38)  # the plan's campaigns, 2014H2–2017
            b.theme_strength = rng.uniform(0.6, 0.95)

    # official acts planned before the months run ------------------------------------------------

    def plan_acts(self) -> None:
        """One retirement, one street boundary change, re-surveys, re-measures, updates."""
        rng = random.Random(f"louyu:{self.seed}:acts")
        census = [
            b
            for b in self.buildings
            if b.announced == "census" and in_scope(b, date(FIRST_YEAR, 1, 1))
        ]
        old = sorted(census, key=lambda b: (b.completed_on, b.building_id))
        if old:
            b = next((x for x in old if x.street in CITY.retire_in), old[0])
            b.retire_on = RETIRED_ON
            self.retirements.append((b, b.retire_on))
        change = CITY.boundary_change
        moved = sorted(
            (b for b in self.buildings if b.street == change.street),
            key=lambda b: (b.lat, b.building_id),
        )
        for b in moved[: max(2, round(4 * self.scale))]:
            b.street_from = (change.on, change.to)
        annexes = [b for b in self.buildings if not b.standalone and b.gfa >= 1000]
        for b in rng.sample(annexes, min(len(annexes), max(1, round(3 * self.scale)))):
            b.standalone_from = date(2015, rng.randint(4, 9), 1)
        for b in rng.sample(census, min(len(census), max(1, round(10 * self.scale)))):
            if b.retire_on is None:
                b.remeasure = (
                    day_in(rng, rng.randint(14, 46)),
                    round(b.rentable * rng.uniform(1.01, 1.05), 1),
                )
        for b in rng.sample(self.buildings, max(1, round(14 * self.scale))):
            self.updates.append(
                (
                    b,
                    day_in(rng, rng.randint(3, 57)),
                    {"property_manager": property_manager(rng, "物业管理有限公司")},
                )
            )
        renamed = rng.choice(census)
        self.updates.append(
            (renamed, date(2016, 3, 1), {"name": renamed.name.removesuffix("大厦") + "国际大厦"})
        )

    # tenants -----------------------------------------------------------------------------------

    def new_tenant(self, b: Building, m: int, founded: date | None = None) -> Tenant:
        rng = self.rng
        key = None
        if b.theme and m >= b.theme_from and rng.random() < b.theme_strength:
            key = b.theme
        else:
            mix = dict(BASE_MIX)
            mix["other"] = 1 - sum(BASE_MIX.values())
            key = _wchoice(rng, mix)
        if key == "other":
            c2011, c2017, _ = rng.choices(OTHER_CODES, weights=[w for *_, w in OTHER_CODES])[0]
            key = c2011
        else:
            c2011, c2017, _ = rng.choices(KEY_CODES[key], weights=[w for *_, w in KEY_CODES[key]])[
                0
            ]
        if founded is None:
            founded = date(rng.randint(1998, 2013), rng.randint(1, 12), rng.randint(1, 28))
            if m > 0 and rng.random() < 0.45:  # a new firm, founded shortly before moving in
                founded = month_start(m) - timedelta(days=rng.randint(5, 200))
        hq = rng.random() < 0.035
        size = rng.lognormvariate(0, 0.95) * (3.0 if hq else 1.0)
        giant = rng.random() < 0.04
        if giant:
            size *= rng.uniform(12, 60)  # a few very large payers (the 亿元楼 makers)
        division = CITY.district_codes.get(b.district, CITY.division_code)
        new_style = founded >= date(2015, 10, 1)
        while True:
            tid = make_uscc(rng, division, new_style)
            if tid not in self.tenants:
                break
        if hq and rng.random() < 0.2:
            c2011 = c2017 = HEADQUARTERS_CODE
            key = "headquarters"
        t = Tenant(tid, self._firm_name(b, key, hq), key, c2011, c2017, hq, size, founded, giant)
        self.tenants[tid] = t
        return t

    def _firm_name(self, b: Building, key: str, hq: bool) -> str:
        rng = self.rng
        city, words = CITY.name, CITY.names.firm_words
        trade = rng.choice(CITY.names.firm_trade.get(key, ("企业管理",)))
        prefix = rng.choice([city, city, CITY.province, f"{city}市", b.district[:2]])
        suffix = (
            "集团有限公司"
            if hq
            else rng.choice(["有限公司", "有限公司", "有限公司", "股份有限公司"])
        )
        if key == "finance" and rng.random() < 0.25:
            return f"{rng.choice(CITY.names.bank_words)}{rng.choice(['银行', '证券', '保险'])}{city}{rng.choice(words)}支行"
        if key == "health" and trade == "门诊部":
            return f"{city}{rng.choice(words)}门诊部有限公司"
        return f"{prefix}{rng.choice(words)}{rng.choice(words)[-1]}{trade}{suffix}"

    def _unit(self, b: Building) -> str:
        floors = max(2, min(40, int(b.gfa / 1200)))
        return f"{self.rng.randint(1, floors)}{self.rng.randint(1, 20):02d}室"

    def move_in(
        self, b: Building, m: int, when: date, area: float, reg_p: float, t: Tenant | None = None
    ) -> Tenancy:
        t = t or self.new_tenant(b, m)
        registered = self.rng.random() < reg_p
        ten = Tenancy(t, b, when, round(area, 1), registered, self._unit(b))
        ten.areas.append((when, ten.area))
        b.tenancies.append(ten)
        self.tenancies.append(ten)
        if not self.by_tenant[t.tenant_id]:
            self.tenant_list.append(t)
        self.by_tenant[t.tenant_id].append(ten)
        return ten

    # the monthly process -----------------------------------------------------------------------

    def census(self) -> None:
        """Tenancies that already exist when the log starts (moved in before 2014)."""
        rng = self.rng
        for b in self.buildings:
            if b.completed_on >= date(FIRST_YEAR, 1, 1):
                continue
            target = _clamp(_city_occupancy(0) + b.offset, 0.1, 0.97) * b.rentable
            first = max(b.completed_on, date(2006, 1, 1))
            while b.occupied() < target * 0.97:
                area = self._draw_area(b, target - b.occupied())
                if area is None:
                    break
                span = (date(FIRST_YEAR - 1, 12, 31) - first).days
                when = first + timedelta(days=rng.randint(0, max(0, span)))
                ten = self.move_in(b, 0, when, area, 0.80)
                ten.census = True
                if ten.tenant.founded > when:
                    ten.tenant.founded = when - timedelta(days=rng.randint(30, 900))

    def _draw_area(self, b: Building, room: float) -> float | None:
        vacant = b.rentable - b.occupied()
        cap = min(vacant, max(room, 0.0) * 1.2 + 0.3 * b.typical_area)
        if cap < 30:
            return None
        area = b.typical_area * self.rng.lognormvariate(0, 0.55)
        area = min(area, cap, 0.45 * b.rentable)
        area = max(area, min(40.0, cap))
        return float(max(5, math.floor(area / 5) * 5))  # whole 5 m², never more than is vacant

    def run(self) -> None:
        # official designations each December, with that year's quota
        quotas = {year_months(year)[-1]: quota for year, quota in DESIGNATIONS.items()}
        for m in range(MONTHS):
            for b in self.buildings:
                self.step(b, m)
            self.relocating = [r for r in self.relocating if r[1] >= m - 3]
            if m in quotas:
                self.designate(m, quotas[m])
        self.revoke()

    def step(self, b: Building, m: int) -> None:
        rng = self.rng
        start, end = month_start(m), month_end(m)
        if not b.completed_by(end) or (b.retire_on and b.retire_on < start):
            return
        if b.remeasure and month_of(b.remeasure[0]) == m:
            b.rentable = b.remeasure[1]
        active = [t for t in b.tenancies if t.end is None]
        closing = b.retire_on is not None and b.retire_on <= end + timedelta(days=200)
        # departures, area changes, registration
        for ten in active:
            if closing and b.retire_on is not None and b.retire_on <= end:
                self.move_out(
                    ten,
                    max(
                        ten.start + timedelta(days=1),
                        b.retire_on - timedelta(days=rng.randint(1, 20)),
                    ),
                    m,
                    "relocated_in_city",
                )
                continue
            p_out = 0.0085 if ten.area > 300 else 0.013
            if closing:
                p_out = 0.2
            if rng.random() < p_out and ten.start < start:
                reason = rng.choices(
                    ["relocated_in_city", "left_city", "closed", "unknown"], [0.35, 0.2, 0.35, 0.1]
                )[0]
                self.move_out(ten, day_in(rng, m), m, reason)
                continue
            r = rng.random()
            if r < 0.006 and ten.start < start:
                new = min(ten.area * rng.uniform(1.15, 1.7), ten.area + b.rentable - b.occupied())
                if new > ten.area + 20:
                    self.change_area(ten, day_in(rng, m), new)
            elif r < 0.0105 and ten.start < start:
                self.change_area(ten, day_in(rng, m), ten.area * rng.uniform(0.45, 0.85))
            if not ten.registered and rng.random() < interp(m, REGISTRATION_PULL):
                ten.registered = True
                ten.regs.append((max(day_in(rng, m), ten.start + timedelta(days=1)), True))
            elif ten.registered and rng.random() < 0.0009:
                ten.registered = False
                ten.regs.append((max(day_in(rng, m), ten.start + timedelta(days=1)), False))
        if closing:
            return
        # arrivals towards the building's target occupancy
        target = self.target_occupancy(b, m) * b.rentable
        gap = target - b.occupied()
        expected = max(0.0, gap) * 0.3 / b.typical_area + 0.05
        for _ in range(_poisson(rng, expected)):
            area = self._draw_area(b, target - b.occupied())
            if area is None:
                break
            when = day_in(rng, m)
            if when < b.completed_on:
                when = b.completed_on + timedelta(days=rng.randint(0, 10))
                if when > end:
                    continue
            tenant = self.relocated_tenant(b, m)
            if tenant is None and self.tenant_list and rng.random() < 0.012:
                branch = rng.choice(self.tenant_list)  # a firm opens a second office
                if all(x.tenant is not branch for x in b.tenancies) and any(
                    x.end is None for x in self.by_tenant[branch.tenant_id]
                ):
                    tenant = branch
            self.move_in(b, m, when, area, interp(m, REGISTRATION_OF_NEW), tenant)
        self._no_overlap(b, start, end)

    @staticmethod
    def _no_overlap(b: Building, start: date, end: date) -> None:
        """Space taken in a month (move-ins, expansions) is taken after it was freed that month.

        Otherwise a move-in on the 3rd into space vacated on the 25th would overfill the
        building for three weeks: a data-quality finding nobody planted.
        """
        freed = start
        for t in b.tenancies:
            if t.end and start <= t.end <= end:
                freed = max(freed, t.end)
            for (d, a), (_, before) in zip(t.areas[1:], t.areas, strict=False):
                if start <= d <= end and a < before:
                    freed = max(freed, d)
        if freed == start:
            return
        for t in b.tenancies:
            if start <= t.start < freed and t.areas[0][0] == t.start:
                t.start = freed
                t.areas[0] = (freed, t.areas[0][1])
            for k in range(1, len(t.areas)):
                d, a = t.areas[k]
                if start <= d < freed and a > t.areas[k - 1][1]:
                    t.areas[k] = (freed, a)

    def target_occupancy(self, b: Building, m: int) -> float:
        level = _clamp(_city_occupancy(m) + b.offset, 0.08, 0.98)
        age = m - month_of(b.completed_on)
        if b.completed_on >= date(FIRST_YEAR, 1, 1):
            level = min(level, 0.12 + 0.85 * min(1.0, max(0, age) / 26))  # lease-up of new supply
        return level

    def relocated_tenant(self, b: Building, m: int) -> Tenant | None:
        """The first tenant in `relocating` (in the order they left) that left before month
        m, from another building, and was never in `b`; it is no longer relocating."""
        for i, (t, since, old) in enumerate(self.relocating):
            if since >= m:  # this month's and later ones follow: the list is in month order
                break
            if old is not b and all(x.tenant is not t for x in b.tenancies):
                del self.relocating[i]
                return t
        return None

    def move_out(self, ten: Tenancy, when: date, m: int, reason: str) -> None:
        ten.end = max(when, ten.start + timedelta(days=1))
        ten.end_reason = reason
        if reason == "relocated_in_city" and not any(
            x.end is None and x is not ten for x in self.by_tenant[ten.tenant.tenant_id]
        ):
            self.relocating.append((ten.tenant, m, ten.building))

    def change_area(self, ten: Tenancy, when: date, area: float) -> None:
        area = float(math.floor(area / 5) * 5)
        if area <= 0 or abs(area - ten.area) < 5:
            return
        when = max(when, ten.start + timedelta(days=1))
        ten.area = area
        ten.areas.append((when, area))

    # official acts -----------------------------------------------------------------------------

    def designate(self, m: int, quota: int) -> None:
        """Each December the city recognises featured buildings: mostly ones that meet the rule."""
        rng = self.rng
        already = {b.building_id for b, _, _ in self.designations}
        candidates = []
        for b in self.buildings:
            if b.building_id in already or not in_scope(b, month_end(m)):
                continue
            lead, share, n = _leading_share(b)
            if n >= 5 and lead and share >= 0.6:
                candidates.append((share, b.building_id, b, lead))
        candidates.sort(key=lambda c: (-c[0], c[1]))
        picked = candidates[: max(1, round(quota * self.scale))]
        # and one that does not meet the rule (a disagreement the report should show)
        others = [
            b
            for b in self.buildings
            if b.building_id not in already
            and b.theme
            and in_scope(b, month_end(m))
            and all(b is not p[2] for p in picked)
        ]
        if others:
            b = rng.choice(others)
            picked.append((0.0, b.building_id, b, b.theme))
        when = month_end(m) - timedelta(days=rng.randint(3, 12))
        for _, _, b, lead in picked:
            self.designations.append((b, when, lead))

    def revoke(self) -> None:
        if not self.designations:
            return
        weakest = min(self.designations, key=lambda d: (_leading_share(d[0])[1], d[0].building_id))
        self.revocations.append((weakest[0], REVOKED_ON))


def in_scope(b: Building, d: date) -> bool:
    """In the plan's scope on day `d`: completed, standalone, ≥ 1,000 m², not retired."""
    standalone = b.standalone or (b.standalone_from is not None and b.standalone_from <= d)
    return (
        b.completed_on <= d
        and standalone
        and b.gfa >= 1000
        and not (b.retire_on and b.retire_on <= d)
    )


def _leading_share(b: Building) -> tuple[str | None, float, int]:
    """The leading key industry by occupied area, its area share, and the tenancy count."""
    active = [t for t in b.tenancies if t.end is None]
    total = sum(t.area for t in active)
    by_key: Counter[str] = Counter()
    for t in active:
        if t.tenant.key in KEY_CODES:
            by_key[t.tenant.key] += t.area
    if not by_key or total <= 0:
        return None, 0.0, len(active)
    lead, area = max(by_key.items(), key=lambda kv: (kv[1], kv[0]))
    return lead, area / total, len(active)


def _wchoice(rng: random.Random, options: dict[str, float]) -> str:
    keys = list(options)
    return rng.choices(keys, weights=[options[k] for k in keys])[0]


def _clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-min(lam, 30)), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _supply_weight(m: int) -> float:
    """New supply in month m (the 2015–2017 building boom)."""
    return SUPPLY_BY_YEAR[FIRST_YEAR + m // 12]


def _city_occupancy(m: int) -> float:
    """The occupancy existing buildings drift towards in month m."""
    return interp(m, OCCUPANCY_PATH)
