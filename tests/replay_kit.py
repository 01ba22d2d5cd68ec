"""Random valid logs for the differential tests of replay and panel (built with `drafts.Kit`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from drafts import Kit, retraction

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
                    street=draw(st.sampled_from(["新兴街道", "解放街道"])),
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
                        "street": st.sampled_from(["新兴街道", "解放街道", "建设街道"]),
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
