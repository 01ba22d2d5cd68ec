"""An independent, deliberately simple replay: a plain-Python fold over `EventLog.iter_records()`.

It shares no code with `louyu_research.replay.log`/`panel`/`industries` (only the shipped mapping
CSV, read here with the csv module), so agreement between the two on many random logs is
evidence that both implement EVENTS.md's rules. It favours obviousness over speed: the panel is
one full fold per month end.
"""

from __future__ import annotations

import calendar
import csv
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

MAPPING = (
    Path(__file__).resolve().parents[1]
    / "louyu_research"
    / "city"
    / "jiaxing"
    / "key_industries.csv"
)
KEY = {
    "information",
    "environment",
    "health",
    "fashion",
    "tourism",
    "finance",
    "ecommerce",
    "outsourcing",
    "headquarters",
}
BUILDING_FIELDS = (
    "name",
    "district",
    "street",
    "community",
    "address",
    "gross_floor_area_m2",
    "rentable_area_m2",
    "category",
    "grade",
    "standalone",
    "owner",
    "property_manager",
    "self_held_ratio",
    "lon",
    "lat",
)


def load_mapping() -> dict[tuple[str, str], str]:
    with open(MAPPING, encoding="utf-8") as f:
        return {
            (row["edition"], row["code_prefix"]): row["key_industry"] for row in csv.DictReader(f)
        }


def key_industry(
    code: str | None, edition: str | None, mapping: dict[tuple[str, str], str]
) -> str | None:
    if code is None:
        return None
    for n in range(len(code), 0, -1):
        hit = mapping.get((edition or "2017", code[:n]))
        if hit:
            return hit
    return "other"


def cut(
    records: list[dict[str, Any]],
    *,
    upto_seq: int | None = None,
    recorded_by: datetime | None = None,
) -> list[dict[str, Any]]:
    """The events within the cut-off, retractions applied (a retracted retraction revives)."""
    recs = [r for r in records if upto_seq is None or r["seq"] <= upto_seq]
    if recorded_by is not None:
        recs = [r for r in recs if datetime.fromisoformat(r["recorded_at"]) <= recorded_by]
    voided: set[str] = set()
    for r in sorted((r for r in recs if r["type"] == "EventRetracted"), key=lambda r: -r["seq"]):
        if r["event_id"] not in voided:  # only an effective retraction voids its target
            voided.add(r["data"]["event_id"])
    return [r for r in recs if r["type"] != "EventRetracted" and r["event_id"] not in voided]


def latest_tax(
    live: list[dict[str, Any]],
) -> tuple[dict[tuple[str, str, str], float], dict[tuple[str, str | None], float]]:
    # the latest report per (tenant, building, period, part); part None is the total
    by_part: dict[tuple[str, str, str, str | None], tuple[int, float]] = {}
    city: dict[tuple[str, str | None], tuple[int, float]] = {}
    for r in live:
        d = r["data"]
        if r["type"] == "TaxReported":
            k = (d["tenant_id"], d["building_id"], d["period"], d.get("part"))
            if k not in by_part or by_part[k][0] < r["seq"]:
                by_part[k] = (r["seq"], d["amount_yuan"])
        elif r["type"] == "CityTaxReported":
            k2 = (d["period"], d.get("district"))
            if k2 not in city or city[k2][0] < r["seq"]:
                city[k2] = (r["seq"], d["amount_yuan"])
    # the total, or the sum of the latest parts, whichever form was recorded later
    forms: dict[tuple[str, str, str], dict[str, list[tuple[int, float]]]] = defaultdict(
        lambda: {"total": [], "parts": []}
    )
    for (t, b, period, part), seq_amount in by_part.items():
        forms[(t, b, period)]["total" if part is None else "parts"].append(seq_amount)
    tax: dict[tuple[str, str, str], float] = {}
    for k, f in forms.items():
        total_seq = max((s for s, _ in f["total"]), default=0)
        parts_seq = max((s for s, _ in f["parts"]), default=0)
        if total_seq > parts_seq:
            tax[k] = f["total"][0][1]
        else:
            tax[k] = round(sum(a for _, a in f["parts"]), 2)  # money in fen
    return tax, {k: v[1] for k, v in city.items()}


def mixed_tax_forms(live: list[dict[str, Any]], as_of: date) -> set[tuple[str, str, str]]:
    """(tenant, building, period) keys reported both as a total and by part: a finding, dated
    by the key's latest report (so it shows in a replay as of that date on)."""
    total = set()
    parts = set()
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in live:
        if r["type"] == "TaxReported":
            d = r["data"]
            k = (d["tenant_id"], d["building_id"], d["period"])
            (total if d.get("part") is None else parts).add(k)
            if k not in latest or latest[k]["seq"] < r["seq"]:
                latest[k] = r
    return {k for k in total & parts if date.fromisoformat(latest[k]["occurred_on"]) <= as_of}


def fold(
    live: list[dict[str, Any]],
    as_of: date,
    mapping: dict[tuple[str, str], str],
    *,
    min_gfa: float = 1000.0,
    standalone_only: bool = True,
) -> dict[str, Any]:
    """The state as of `as_of`: buildings, active tenancies, tenants and the flows of each day."""
    registered = {r["data"]["building_id"]: r for r in live if r["type"] == "BuildingRegistered"}
    events = [
        r
        for r in live
        if date.fromisoformat(r["occurred_on"]) <= as_of
        and r["type"] not in ("TaxReported", "CityTaxReported")
    ]
    events.sort(key=lambda r: (r["occurred_on"], r["seq"]))
    attrs: dict[str, dict[str, Any]] = defaultdict(dict)
    completed_evt: dict[str, date] = {}
    retired: dict[str, date] = {}
    featured: dict[str, tuple[bool, str | None]] = {}
    tenants: dict[str, dict[str, Any]] = defaultdict(dict)
    movers = {
        r["data"]["tenant_id"]
        for r in live
        if r["type"] == "TenantMovedIn" and r["data"]["building_id"] in registered
    }
    moved_in_by_now: set[str] = set()
    tenancies: dict[tuple[str, str], dict[str, Any]] = {}
    flows: list[tuple[str, date, str, float]] = []  # building, date, "in"/"out"/"take_up", amount
    for r in events:
        d, t, on = r["data"], r["type"], date.fromisoformat(r["occurred_on"])
        b = d.get("building_id")
        if b is not None and b not in registered:
            continue  # its registration was retracted: ignored (a finding)
        if t in ("BuildingRegistered", "BuildingUpdated"):
            for f in BUILDING_FIELDS:
                if d.get(f) is not None:
                    attrs[b][f] = d[f]
        elif t == "BuildingCompleted":
            completed_evt.setdefault(b, on)
        elif t == "BuildingRetired":
            retired.setdefault(b, on)
        elif t == "BuildingFeaturedDesignated":
            featured[b] = (True, d["industry"])
        elif t == "BuildingFeaturedRevoked":
            featured[b] = (False, None)
        if t in ("TenantMovedIn", "TenantUpdated"):
            if d["tenant_id"] not in movers:
                continue  # an update of a tenant without a move-in: ignored (a finding)
            if t == "TenantMovedIn":
                moved_in_by_now.add(d["tenant_id"])
            ten = tenants[d["tenant_id"]]
            for f in ("tenant_name", "headcount", "headquarters"):
                if d.get(f) is not None:
                    ten[f] = d[f]
            if d.get("industry") is not None:
                ten["industry"] = d["industry"]
                ten["industry_edition"] = d.get("industry_edition") or "2017"
            elif d.get("industry_edition") is not None:
                ten["industry_edition"] = d["industry_edition"]
        if t in (
            "TenantMovedIn",
            "TenantAreaChanged",
            "TenantRegistrationChanged",
            "TenantMovedOut",
        ):
            key = (d["tenant_id"], b)
            ty = tenancies.setdefault(
                key,
                {
                    "active": False,
                    "area": None,
                    "registered_here": None,
                    "since": None,
                    "unit": None,
                },
            )
            before = ty["area"] if ty["active"] else 0.0
            if t == "TenantMovedIn":
                if not ty["active"]:
                    ty["since"] = on
                    flows.append((b, on, "in", 1))
                ty["active"] = True
                ty["area"] = d["area_m2"]
                ty["registered_here"] = d["registered_here"]
                if d.get("unit") is not None:
                    ty["unit"] = d["unit"]
            elif t == "TenantAreaChanged":
                ty["area"] = d["area_m2"]
            elif t == "TenantRegistrationChanged":
                ty["registered_here"] = d["registered_here"]
            elif t == "TenantMovedOut":
                if ty["active"]:
                    flows.append((b, on, "out", 1))
                ty["active"] = False
            after = ty["area"] if ty["active"] else 0.0
            if after > before:
                flows.append((b, on, "take_up", after - before))

    buildings = {}
    for b, reg in registered.items():
        reg_on = date.fromisoformat(reg["occurred_on"])
        if reg_on > as_of:
            continue
        a = dict(attrs[b])
        rd = reg["data"]
        dates = []
        if (
            rd["status"] == "completed"
            and rd.get("completed_on")
            and date.fromisoformat(rd["completed_on"]) <= as_of
        ):
            dates.append(date.fromisoformat(rd["completed_on"]))
        if b in completed_evt:
            dates.append(completed_evt[b])
        completed_on = min(dates) if dates else None
        is_completed = (
            rd["status"] == "completed" and not rd.get("completed_on")
        ) or completed_on is not None
        if is_completed:
            status = "completed"
        elif rd["status"] == "completed":
            status = "under_construction"
        else:
            status = rd["status"]
        is_retired = b in retired
        in_scope = (
            is_completed
            and not is_retired
            and (a["standalone"] or not standalone_only)
            and a["gross_floor_area_m2"] >= min_gfa
        )
        fd = featured.get(b, (False, None))
        buildings[b] = {
            **{f: a.get(f) for f in BUILDING_FIELDS},
            "building_id": b,
            "registered_on": reg_on,
            "status": status,
            "completed_on": completed_on,
            "retired": is_retired,
            "retired_on": retired.get(b),
            "in_scope": in_scope,
            "featured_designated": fd[0],
            "designated_industry": fd[1],
        }
    tenant_rows = {}
    for tid, ten in tenants.items():
        if tid not in moved_in_by_now:
            continue
        tenant_rows[tid] = {
            "tenant_id": tid,
            "tenant_name": ten.get("tenant_name"),
            "industry": ten.get("industry"),
            "industry_edition": ten.get("industry_edition"),
            "key_industry": key_industry(ten.get("industry"), ten.get("industry_edition"), mapping),
            "headcount": ten.get("headcount"),
            "headquarters": bool(ten.get("headquarters", False)),
        }
    active = {}
    for (tid, b), ty in tenancies.items():
        if ty["active"]:
            tr = tenant_rows[tid]
            active[(tid, b)] = {
                "tenant_id": tid,
                "building_id": b,
                "tenant_name": tr["tenant_name"],
                "area_m2": ty["area"],
                "industry": tr["industry"],
                "industry_edition": tr["industry_edition"],
                "key_industry": tr["key_industry"],
                "registered_here": ty["registered_here"],
                "headquarters": tr["headquarters"],
                "headcount": tr["headcount"],
                "since": ty["since"],
                "unit": ty["unit"],
            }
    return {"buildings": buildings, "tenancies": active, "tenants": tenant_rows, "flows": flows}


def tax_inactive(live: list[dict[str, Any]], as_of: date) -> set[int]:
    """Seqs of tax reports (dated by `as_of`) for a period in which, as known at `as_of`, the
    tenancy was active on no day: every spell (move-in .. move-out, both days counted) misses
    the period. Tax of an unregistered building or of a tenancy with no move-in at all is
    another finding (`unknown_tenancy`) and not counted here."""
    registered = {r["data"]["building_id"] for r in live if r["type"] == "BuildingRegistered"}
    movers = {
        (r["data"]["tenant_id"], r["data"]["building_id"])
        for r in live
        if r["type"] == "TenantMovedIn" and r["data"]["building_id"] in registered
    }
    events = sorted(
        (
            r
            for r in live
            if r["type"] in ("TenantMovedIn", "TenantMovedOut")
            and r["data"]["building_id"] in registered
            and date.fromisoformat(r["occurred_on"]) <= as_of
        ),
        key=lambda r: (r["occurred_on"], r["seq"]),
    )
    spells: dict[tuple[str, str], list[list[date | None]]] = defaultdict(list)
    for r in events:
        key = (r["data"]["tenant_id"], r["data"]["building_id"])
        on = date.fromisoformat(r["occurred_on"])
        open_ = bool(spells[key]) and spells[key][-1][1] is None
        if r["type"] == "TenantMovedIn" and not open_:
            spells[key].append([on, None])
        elif r["type"] == "TenantMovedOut" and open_:
            spells[key][-1][1] = on
    found = set()
    for r in live:
        d = r["data"]
        if r["type"] != "TaxReported" or date.fromisoformat(r["occurred_on"]) > as_of:
            continue
        key = (d["tenant_id"], d["building_id"])
        if key not in movers:
            continue
        first = date.fromisoformat(d["period"] + "-01")
        last = month_end(d["period"])
        if not any(
            since <= last and (until is None or until >= first) for since, until in spells[key]
        ):
            found.add(r["seq"])
    return found


def month_end(month: str) -> date:
    y, m = int(month[:4]), int(month[5:])
    return date(y, m, calendar.monthrange(y, m)[1])


def panel(
    live: list[dict[str, Any]], months: list[str], mapping: dict[tuple[str, str], str]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Selected BuildingMonth columns, one full fold per month end (registered buildings only)."""
    tax, _ = latest_tax(live)
    out = {}
    for month in months:
        end = month_end(month)
        st = fold(live, end, mapping)
        for b, row in st["buildings"].items():
            mine = [t for t in st["tenancies"].values() if t["building_id"] == b]
            area = sum(t["area_m2"] for t in mine)
            by_ind: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
            for t in mine:
                if t["key_industry"] in KEY:
                    by_ind[t["key_industry"]][0] += t["area_m2"]
                    by_ind[t["key_industry"]][1] += 1
            lead = (
                sorted(by_ind.items(), key=lambda kv: (-kv[1][0], kv[0]))[0][0] if by_ind else None
            )
            year = month[:4]
            ytd = {k: v for k, v in tax.items() if k[1] == b and k[2][:4] == year and k[2] <= month}
            ytd_total = sum(ytd.values())
            lead_tax = sum(
                v
                for (tid, _, _), v in ytd.items()
                if tid in st["tenants"] and st["tenants"][tid]["key_industry"] == lead
            )
            flows = [f for f in st["flows"] if f[0] == b and f[1].strftime("%Y-%m") == month]
            out[(b, month)] = {
                "street": row["street"],
                "in_scope": row["in_scope"],
                "occupied_area_m2": min(area, row["rentable_area_m2"]),
                "tenancy_area_m2": area,
                "tenancies": len(mine),
                "registered_tenancies": sum(1 for t in mine if t["registered_here"]),
                "headquarters_tenancies": sum(1 for t in mine if t["headquarters"]),
                "tax_yuan": sum(v for k, v in tax.items() if k[1] == b and k[2] == month),
                "tax_yuan_ytd": ytd_total,
                "move_ins": sum(1 for f in flows if f[2] == "in"),
                "move_outs": sum(1 for f in flows if f[2] == "out"),
                "gross_take_up_m2": sum(f[3] for f in flows if f[2] == "take_up"),
                "featured_designated": row["featured_designated"],
                "leading_industry": lead,
                "leading_area_share": by_ind[lead][0] / area if lead else None,
                "leading_tenancy_share": by_ind[lead][1] / len(mine) if lead else None,
                "leading_tax_share_ytd": (lead_tax / ytd_total) if lead and ytd_total > 0 else None,
            }
    return out
