"""Corrections and mistakes: what a real log holds besides the world's truth.

Recorded after `recording.record`, into the same `Recorder`:

- restatements: tax reports restated months later (the latest report for a tenant, building
  and period wins) and two months of the city's revenue;
- planted data-quality problems, each a `Finding` (listed in events/README.md, which shows
  that a replay reports exactly these): an area typed ten times too large, a move-out entered
  twice, an area change after the move-out, a move-out dated before the move-in, tax of a
  departed tenant, an update dated before the building was registered;
- wrong events and their retractions (`EventRetracted`), each a `Finding` of its own kind:
  void for every replay recorded after the retraction.

At a toy scale there is no room for most of them: only the over-full building is planted.
"""

from __future__ import annotations

import heapq
import random
from datetime import date, datetime, timedelta
from typing import Any

from .recording import (
    CITY_SOURCE,
    LAST_DAY,
    LAST_RECORD,
    OFFICE_SOURCE,
    TAX_SOURCE,
    Finding,
    Recorder,
    tax_file,
)
from .timeline import at, month_end, month_of, period
from .world import Tenancy, World, in_scope, property_manager

#: The window in which the planted over-full building holds more than its rentable area.
OVERFULL_FROM, OVERFULL_UNTIL = date(2016, 9, 12), date(2016, 12, 1)


def correct(r: Recorder, w: World) -> tuple[list[Finding], list[Finding]]:
    """Restate, plant the data-quality problems, record wrong events and retract them.

    Returns the planted problems and the retracted events.
    """
    rng = random.Random(f"louyu:{w.seed}:corrections")
    _restate(r, rng)
    ended = [
        t
        for t in w.tenancies
        if t.end and t.end <= LAST_DAY and not t.census and t.end.year in (2016, 2017)
    ]
    ended.sort(key=lambda t: (t.end, t.tenant.tenant_id))
    live = [t for t in w.tenancies if t.end is None and t.start < date(2016, 1, 1)]
    live.sort(key=lambda t: (t.start, t.tenant.tenant_id))
    findings = _overfull(r, live)
    if len(ended) < 10 or len(live) < 10:  # a toy scale: no room for the planted problems
        return findings, []
    findings += _planted(r, w, rng, ended)
    return findings, _retracted(r, w, live)


def _ref(ten: Tenancy) -> dict[str, Any]:
    """The data naming a tenancy (tenant, building)."""
    return {"tenant_id": ten.tenant.tenant_id, "building_id": ten.building.building_id}


def _area_entered(r: Recorder, ten: Tenancy, d: date, area: float, after: str) -> str:
    """A wrong area of `ten` on day `d`, returned by its street but recorded after the event
    `after` (which a replay must know first)."""
    tid, bid = ten.tenant.tenant_id, ten.building.building_id
    when, src = r.filed(ten.building, d)
    return r.add(
        f"area-{tid}-{bid}-{d:%Y%m%d}",
        "TenantAreaChanged",
        d,
        max(when, r.at(after)) + timedelta(minutes=1),
        src,
        {**_ref(ten), "area_m2": area},
    )


def _restate(r: Recorder, rng: random.Random) -> None:
    """Tax reports restated months later (0.6 %), and two months of the city's revenue."""
    for eid, m, amount in r.tax_reports():
        if rng.random() < 0.006:
            when = r.at(eid) + timedelta(days=rng.randint(45, 240))
            when = when.replace(hour=14, minute=rng.randint(0, 59))
            if when > LAST_RECORD:
                continue
            factor = rng.uniform(0.6, 0.95) if rng.random() < 0.5 else rng.uniform(1.05, 1.5)
            d = r.draft(eid)
            r.add(
                f"{eid}-r1",
                "TaxReported",
                month_end(m),
                when,
                TAX_SOURCE,
                {**d["data"], "amount_yuan": round(amount * factor, 2)},
            )
    for p, when, factor in (
        ("2016-05", at(date(2016, 9, 21), 16), 1.0035),
        ("2017-12", at(date(2018, 3, 20), 16), 0.9962),
    ):
        d = r.draft(f"city-{p}")
        r.add(
            f"city-{p}-r1",
            "CityTaxReported",
            date.fromisoformat(d["occurred_on"]),
            when,
            CITY_SOURCE,
            {**d["data"], "amount_yuan": round(d["data"]["amount_yuan"] * factor, 2)},
        )


def _overfull(r: Recorder, live: list[Tenancy]) -> list[Finding]:
    """F1: an area typed ten times too large pushes a building over its rentable area, until a
    later return corrects it."""
    d0, d1 = OVERFULL_FROM, OVERFULL_UNTIL
    for ten in live:
        b = ten.building
        if not in_scope(b, d0) or any(
            d0 - timedelta(days=40) <= d <= d1 + timedelta(days=40) for d, _ in ten.areas[1:]
        ):
            continue
        occupied = sum(
            x.area_on(d0) for x in b.tenancies if x.start <= d0 and (x.end is None or x.end > d1)
        )
        area = ten.area_on(d0)
        if area >= 150 and occupied + 9 * area > b.rentable * 1.05 and occupied < b.rentable:
            tid, bid = ten.tenant.tenant_id, b.building_id
            eid = _area_entered(r, ten, d0, area * 10, after=f"in-{tid}-{bid}")
            when, src = r.filed(b, d1)
            fix = r.add(
                f"area-{tid}-{bid}-{d1:%Y%m%d}",
                "TenantAreaChanged",
                d1,
                when,
                src,
                {**_ref(ten), "area_m2": area},
            )
            return [
                Finding(
                    eid,
                    f"{bid} {b.name}: a tenancy's area entered as {area * 10:g} m² instead of {area:g} m²; "
                    f"the tenancies' areas exceed the building's rentable area ({b.rentable:g} m²) from {d0} until the correction {fix} on {d1}",
                )
            ]
    return []


def _planted(r: Recorder, w: World, rng: random.Random, ended: list[Tenancy]) -> list[Finding]:
    """F2–F6, each on a tenancy or building picked from the sorted lists (so the same seed
    plants them on the same events)."""
    findings: list[Finding] = []
    # F2: a move-out entered twice (a second return repeats it two months later)
    ten = ended[len(ended) // 5]
    tid, bid = ten.tenant.tenant_id, ten.building.building_id
    assert ten.end is not None
    later = ten.end + timedelta(days=61)
    eid = r.add(
        f"out-{tid}-{bid}-dup",
        "TenantMovedOut",
        later,
        r.at(f"out-{tid}-{bid}") + timedelta(days=75),
        "import:street-cleanup-2017.xlsx",
        {**_ref(ten), "reason": "unknown"},
    )
    findings.append(
        Finding(
            eid,
            f"{bid}: moves tenant {tid} out on {later}, but its tenancy already ended on {ten.end} (out-{tid}-{bid})",
        )
    )
    # F3: an area change after the tenancy ended
    ten = ended[len(ended) // 3]
    tid, bid = ten.tenant.tenant_id, ten.building.building_id
    assert ten.end is not None
    later = ten.end + timedelta(days=20)
    eid = _area_entered(r, ten, later, round(ten.areas[-1][1] * 0.5, 1), after=f"out-{tid}-{bid}")
    findings.append(
        Finding(
            eid,
            f"{bid}: changes the area of tenant {tid} on {later}, after its tenancy ended on {ten.end}",
        )
    )
    # F4: a move-out whose date was typed a year early, before the move-in
    for ten in ended[len(ended) // 2 :]:
        assert ten.end is not None
        typo = (
            ten.end.replace(year=ten.end.year - 1)
            if not (ten.end.month == 2 and ten.end.day == 29)
            else None
        )
        if typo and typo < ten.start and ten.start.year >= 2016:
            eid = f"out-{ten.tenant.tenant_id}-{ten.building.building_id}"
            r.redate(eid, typo)
            findings.append(
                Finding(
                    eid,
                    f"{ten.building.building_id}: tenant {ten.tenant.tenant_id} moves out on {typo}, before it moved in on {ten.start} (the year was mistyped; meant {ten.end}); so the tenancy never ends in a replay and, once its space is let again, the building looks fuller than its rentable area",
                )
            )
            break
    # F5: the tax bureau keeps attributing a departed tenant's tax to its old building
    for ten in ended[len(ended) * 2 // 3 :]:
        if ten.end_reason == "left_city" and ten.end and ten.end.year == 2017:
            tid, bid = ten.tenant.tenant_id, ten.building.building_id
            m_end = month_of(ten.end)
            for k in (1, 2):
                m = m_end + k
                eid = r.add(
                    f"tax-{tid}-{bid}-{period(m)}",
                    "TaxReported",
                    month_end(m),
                    max(tax_file(w.seed, m), r.at(f"in-{tid}-{bid}")),
                    TAX_SOURCE,
                    {
                        **_ref(ten),
                        "period": period(m),
                        "amount_yuan": round(2000 + rng.random() * 30000, 2),
                    },
                )
                findings.append(
                    Finding(
                        eid,
                        f"{bid}: tax of {period(m)} reported for tenant {tid}, whose tenancy ended on {ten.end}",
                    )
                )
            break
    # F6: an update dated before the building entered the registry
    for b in w.buildings:
        if (
            b.announced == "new"
            and b.completed_on.year == 2016
            and f"bld-{b.building_id}" in r.index
        ):
            d = b.completed_on - timedelta(days=95)
            when = r.at(f"bld-{b.building_id}") + timedelta(minutes=2)
            eid = r.add(
                f"bld-{b.building_id}-upd-{d:%Y%m%d}",
                "BuildingUpdated",
                d,
                when,
                OFFICE_SOURCE,
                {"building_id": b.building_id, "property_manager": property_manager(rng)},
            )
            findings.append(
                Finding(
                    eid,
                    f"{b.building_id} {b.name}: updated on {d}, before the building was registered (completed {b.completed_on})",
                )
            )
            break
    return findings


def _large_tax_report(r: Recorder, lo: int, hi: int) -> tuple[str, int, float]:
    """The tax report of months lo to hi - 1 at position n // 50 (n of them) when sorted by
    amount, largest first, then by `event_id`: the one a typo makes conspicuous.

    Found without sorting them all: the amount at that position is the (n // 50 + 1)-th
    largest; the reports with a larger amount come before it, those with the same amount in
    `event_id` order."""
    n = sum(1 for _ in r.tax_amounts(lo, hi))
    k = n // 50
    amount = heapq.nlargest(k + 1, (a for a, _, _ in r.tax_amounts(lo, hi)))[k]
    above = sum(1 for a, _, _ in r.tax_amounts(lo, hi) if a > amount)
    tied = sorted((r.tax_id(i, m), m) for a, i, m in r.tax_amounts(lo, hi) if a == amount)
    eid, m = tied[k - above]
    return eid, m, amount


def _retracted(r: Recorder, w: World, live: list[Tenancy]) -> list[Finding]:
    """Wrong events, each retracted a few weeks later: a tax restatement typed 100 times too
    large, a move-in entered in the wrong building, a rentable area typed 10 times too large,
    a move-out that did not happen."""
    retracted: list[Finding] = []

    def retract(target: str, when: datetime, reason: str, what: str) -> None:
        eid = r.add(
            f"retract-{target}",
            "EventRetracted",
            when.date(),
            when,
            OFFICE_SOURCE if not target.startswith("tax-") else TAX_SOURCE,
            {"event_id": target, "reason": reason},
        )
        retracted.append(Finding(target, f"{what}; retracted by {eid}"))

    eid, m, amount = _large_tax_report(r, 24, 36)
    d = r.draft(eid)
    when = r.at(eid) + timedelta(days=1)
    typo = r.add(
        f"{eid}-x",
        "TaxReported",
        month_end(m),
        when,
        TAX_SOURCE,
        {**d["data"], "amount_yuan": round(amount * 100, 2)},
    )
    retract(
        typo,
        when + timedelta(days=20),
        "金额录入错误(多录两位)",
        f"a restatement of {eid} with the amount typed 100 times too large",
    )

    ten = live[len(live) // 7]
    tid, bid = ten.tenant.tenant_id, ten.building.building_id
    others = [
        b
        for b in w.buildings
        if b.street == ten.building.street
        and b is not ten.building
        and all(x.building is not b for x in w.by_tenant[tid])
        and b.completed_on < date(2016, 1, 1)
    ]
    if others:
        wrong = others[0]
        src_in = r.draft(f"in-{tid}-{bid}")
        bad = r.add(
            f"in-{tid}-{wrong.building_id}",
            "TenantMovedIn",
            date(2016, 3, 15),
            at(date(2016, 4, 7), 11),
            src_in.get("source"),
            {
                **src_in["data"],
                "building_id": wrong.building_id,
                "industry": ten.tenant.code2011,
                "industry_edition": "2011",
            },
        )
        retract(
            bad,
            at(date(2016, 5, 9), 11),
            f"楼宇录错：该企业在{bid}",
            f"a move-in of {tid} entered in the wrong building {wrong.building_id}",
        )

    b = next(
        x
        for x in w.buildings
        if x.announced == "census" and in_scope(x, date(2015, 6, 1)) and x.retire_on is None
    )
    bad = r.add(
        f"bld-{b.building_id}-upd-20150630",
        "BuildingUpdated",
        date(2015, 6, 30),
        at(date(2015, 7, 8), 10),
        OFFICE_SOURCE,
        {"building_id": b.building_id, "rentable_area_m2": round(b.rentable_initial * 10, 1)},
    )
    retract(
        bad,
        at(date(2015, 7, 20), 10),
        "可租面积录入错误",
        f"{b.building_id}'s rentable area typed 10 times too large",
    )

    ten = live[len(live) // 3]
    tid, bid = ten.tenant.tenant_id, ten.building.building_id
    when, src = r.filed(ten.building, date(2018, 4, 16))
    bad = r.add(
        f"out-{tid}-{bid}",
        "TenantMovedOut",
        date(2018, 4, 16),
        when,
        src,
        {**_ref(ten), "reason": "unknown"},
    )
    retract(
        bad,
        when + timedelta(days=33),
        "企业未迁出，误报",
        f"a move-out of {tid} from {bid} that did not happen",
    )
    return retracted
