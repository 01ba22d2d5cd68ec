"""The simulated sample log: deterministic, equal to what ships in events/, and calibrated.

The calibration figures are folded here from the raw events with plain Python (not with the
generator's or the indicators' code), following INDICATORS.md's definitions at each
December 31st, as recorded at the head of the log.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from louyu_research.log import EventLog

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "events"
YEARS = (2014, 2015, 2016, 2017, 2018)

# Key industries by GB/T 4754 code prefix and edition (INDICATORS.md, DOMAIN_NOTES.md).
KEY_PREFIXES = {
    "2017": {
        "I63": "information", "I64": "information", "I65": "information", "I6591": "outsourcing",
        "N77": "environment", "M746": "environment", "Q84": "health", "Q85": "health",
        "C17": "fashion", "C18": "fashion", "C19": "fashion", "F5132": "fashion", "F5232": "fashion",
        "L7291": "tourism", "H61": "tourism", "H62": "tourism",
        "J66": "finance", "J67": "finance", "J68": "finance", "J69": "finance",
        "F5292": "ecommerce", "L726": "outsourcing", "M73": "outsourcing", "L7211": "headquarters",
    },
    "2011": {
        "I63": "information", "I64": "information", "I65": "information", "I6592": "outsourcing",
        "N77": "environment", "M746": "environment", "Q83": "health", "Q84": "health",
        "C17": "fashion", "C18": "fashion", "C19": "fashion", "F5132": "fashion", "F5232": "fashion",
        "L727": "tourism", "H61": "tourism", "H62": "tourism",
        "J66": "finance", "J67": "finance", "J68": "finance", "J69": "finance",
        "F5294": "ecommerce", "L726": "outsourcing", "M73": "outsourcing", "L7211": "headquarters",
    },
}  # fmt: skip


def key_industry(code: str, edition: str) -> str | None:
    table = KEY_PREFIXES[edition]
    for n in range(len(code), 0, -1):
        if code[:n] in table:
            return table[code[:n]]
    return None


def latest(events: list[dict[str, Any]], day: date) -> list[dict[str, Any]]:
    """Events that took effect on or before `day`, in (occurred_on, seq) order."""
    return sorted(
        (e for e in events if e["occurred_on"] <= day.isoformat()),
        key=lambda e: (e["occurred_on"], e["seq"]),
    )


def yearly_figures(records: list[dict[str, Any]]) -> dict[int, dict[str, float]]:
    """The city's December figures of each year, by a deliberately simple fold."""
    retracted = {r["data"]["event_id"] for r in records if r["type"] == "EventRetracted"}
    live = [r for r in records if r["event_id"] not in retracted]
    by_building: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_tenancy: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    by_tenant: dict[str, list[dict[str, Any]]] = defaultdict(list)
    tax: dict[tuple[str, str, str], dict[str, Any]] = {}
    city: dict[str, float] = {}
    for r in live:
        d, t = r["data"], r["type"]
        if t.startswith("Building"):
            by_building[d["building_id"]].append(r)
        elif t in (
            "TenantMovedIn",
            "TenantAreaChanged",
            "TenantRegistrationChanged",
            "TenantMovedOut",
        ):
            by_tenancy[(d["tenant_id"], d["building_id"])].append(r)
            if t == "TenantMovedIn":
                by_tenant[d["tenant_id"]].append(r)
        elif t == "TenantUpdated":
            by_tenant[d["tenant_id"]].append(r)
        elif t == "TaxReported":
            tax[(d["tenant_id"], d["building_id"], d["period"])] = d  # records are in seq order
        elif t == "CityTaxReported" and "district" not in d:
            city[d["period"]] = d["amount_yuan"]

    out = {}
    for year in YEARS:
        day = date(year, 12, 31)
        scope: dict[str, float] = {}  # in-scope building → rentable area
        for bid, evs in by_building.items():
            state: dict[str, Any] = {}
            completed = retired = False
            for e in latest(evs, day):
                if e["type"] in ("BuildingRegistered", "BuildingUpdated"):
                    state.update(e["data"])
                completed |= e["type"] == "BuildingCompleted" or (
                    e["type"] == "BuildingRegistered" and e["data"]["status"] == "completed"
                )
                retired |= e["type"] == "BuildingRetired"
            if (
                state
                and completed
                and not retired
                and state["standalone"]
                and state["gross_floor_area_m2"] >= 1000
            ):
                scope[bid] = state["rentable_area_m2"]
        industry = {}
        for tid, evs in by_tenant.items():
            code = edition = None
            for e in latest(evs, day):
                code = e["data"].get("industry", code)
                edition = e["data"].get("industry_edition", edition)
            if code:
                industry[tid] = key_industry(code, edition or "2017")
        occupied = registered = tenancies = 0.0
        per_building: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for (tid, bid), evs in by_tenancy.items():
            if bid not in scope:
                continue
            area, reg, active = 0.0, False, False
            for e in latest(evs, day):
                active = (
                    e["type"] != "TenantMovedOut"
                    if e["type"] in ("TenantMovedIn", "TenantMovedOut")
                    else active
                )
                area = e["data"].get("area_m2", area)
                reg = e["data"].get("registered_here", reg)
            if active:
                occupied += area
                tenancies += 1
                registered += reg
                per_building[bid].append((tid, area))
        building_tax: dict[str, float] = defaultdict(float)
        tenant_tax: dict[tuple[str, str], float] = defaultdict(float)
        for (tid, bid, period), d in tax.items():
            if period.startswith(str(year)) and bid in scope:
                building_tax[bid] += d["amount_yuan"]
                tenant_tax[(tid, bid)] += d["amount_yuan"]
        featured = 0
        for bid, rows in per_building.items():
            if len(rows) < 5:
                continue
            area_by, count_by, tax_by = defaultdict(float), defaultdict(int), defaultdict(float)
            for tid, area in rows:
                k = industry.get(tid)
                if k:
                    area_by[k] += area
                    count_by[k] += 1
                    tax_by[k] += tenant_tax[(tid, bid)]
            if not area_by:
                continue
            lead = max(area_by, key=lambda k: (area_by[k], k))
            total_area = sum(a for _, a in rows)
            shares = [area_by[lead] / total_area, count_by[lead] / len(rows)]
            if building_tax[bid] > 0:
                shares.append(tax_by[lead] / building_tax[bid])
            featured += max(shares) >= 0.5
        city_total = sum(v for p, v in city.items() if p.startswith(str(year)))
        out[year] = {
            "buildings": len(scope),
            "occupancy_rate": occupied / sum(scope.values()),
            "registration_rate": registered / tenancies,
            "city_tax": city_total,
            "building_tax": sum(building_tax.values()),
            "tax_share": sum(building_tax.values()) / city_total,
            "key_buildings": sum(v >= 10_000_000 for v in building_tax.values()),
            "featured_buildings": featured,
        }
    return out


@cache
def shipped_records() -> list[dict[str, Any]]:
    return list(EventLog(SHIPPED).iter_records())


def segment_bytes(path: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in sorted(path.iterdir())
        if p.is_file() and p.name not in (".lock",)
    }
