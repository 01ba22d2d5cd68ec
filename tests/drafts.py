"""Builders of valid drafts for tests (plain dicts, as a writer would submit them)."""

from __future__ import annotations

from typing import Any

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc(body17: str) -> str:
    """Complete 17 characters with the GB 32100-2015 check character (written out independently)."""
    total = 0
    for ch, w in zip(body17, WEIGHTS, strict=True):
        total += USCC_CHARS.index(ch) * w
    check = 31 - total % 31
    return body17 + USCC_CHARS[0 if check == 31 else check]


def building(
    bid: str, when: str = "2015-01-01", rec: str | None = "2015-01-05T09:00:00+08:00", **data: Any
) -> dict[str, Any]:
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
    d.update(data)
    return envelope(f"reg-{bid}", "BuildingRegistered", when, rec, d)


def moved_in(
    tid: str, bid: str, when: str, rec: str | None, area: float = 500, **data: Any
) -> dict[str, Any]:
    d = {
        "tenant_id": tid,
        "tenant_name": f"{tid}公司",
        "building_id": bid,
        "area_m2": area,
        "industry": "I65",
        "registered_here": True,
    }
    d.update(data)
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
