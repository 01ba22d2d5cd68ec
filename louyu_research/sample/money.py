"""Money: each tenancy's monthly tax, scaled year by year to the city, and the city's revenue.

A tenancy's raw monthly tax is its area × the building's intensity × its industry's tax per m²
× the firm's size, with seasonality, a drift per firm, noise, a young firm's ramp-up and the
fall of business before a move-out. A factor per month then scales every tenancy's tax so that
in-scope buildings pay each year the designed share of the city's budget revenue
(`calibration.TAX_SHARE_PATH`, `calibration.CITY_REVENUE`). The city's monthly revenue is its
yearly revenue spread by seasonality.

Reads the world; knows nothing of events or recording.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

from .calibration import CITY_REVENUE, CITY_SEASON, INDUSTRY_TAX, TAX_SHARE_PATH, TENANT_SEASON
from .timeline import MONTHS, interp, month_end, month_of, month_start, year_months
from .world import World, in_scope

#: Monthly tax per tenancy (its index in `World.tenancies`) → {month index: yuan}.
TenancyTax = dict[int, dict[int, float]]


def tenancy_tax(w: World) -> TenancyTax:
    """Monthly tax per tenancy, calibrated to the city (amounts under ¥1 are not reported)."""
    rng = random.Random(f"louyu:{w.seed}:tax")
    raw: TenancyTax = {}
    in_scope_raw = [0.0] * MONTHS
    scope = {
        (b.building_id, m): in_scope(b, month_end(m)) for b in w.buildings for m in range(MONTHS)
    }
    for i, ten in enumerate(w.tenancies):
        t, b = ten.tenant, ten.building
        # the many grow, the few giants (real estate, old industry) stagnate: more buildings
        # cross ¥10 m a year as the plan goes on
        drift = -0.12 if t.giant else rng.gauss(0.06, 0.10)
        declining = ten.end is not None and rng.random() < 0.35
        base = b.intensity * INDUSTRY_TAX.get(t.key, 1.0) * t.size
        first = max(0, month_of(ten.start))
        last = MONTHS - 1 if ten.end is None else min(MONTHS - 1, month_of(ten.end))
        series: dict[int, float] = {}
        for m in range(first, last + 1):
            ms, me = month_start(m), month_end(m)
            lo, hi = max(ms, ten.start), min(me, (ten.end - timedelta(days=1)) if ten.end else me)
            if hi < lo:
                continue
            frac = ((hi - lo).days + 1) / ((me - ms).days + 1)
            mid = lo + (hi - lo) / 2
            amount = ten.area_on(mid) * base * TENANT_SEASON[m % 12] * frac
            amount *= math.exp(drift * (m / 12)) * rng.lognormvariate(0, 0.15)
            if (ms - t.founded).days < 365 and m - first < 6:
                amount *= 0.4 + 0.1 * (m - first)  # a young firm ramps up
            if declining and ten.end and (ten.end - ms).days < 200:
                amount *= 0.35  # business falls before the move-out (an at-risk signal)
            series[m] = amount
            if scope[(b.building_id, m)]:
                in_scope_raw[m] += amount
        raw[i] = series
    # scale: a factor per month, log-linear between mid-year anchors, so that each year's
    # in-scope total is the designed share of the city's revenue
    noise = {y: rng.uniform(-0.002, 0.002) for y in TAX_SHARE_PATH}
    want = {y: (TAX_SHARE_PATH[y] + noise[y]) * CITY_REVENUE[y] for y in TAX_SHARE_PATH}
    anchors = {y: want[y] / max(1.0, sum(in_scope_raw[m] for m in year_months(y))) for y in want}
    for _ in range(6):
        factor = _monthly_factor(anchors)
        for y in anchors:
            got = sum(in_scope_raw[m] * factor[m] for m in year_months(y))
            anchors[y] *= want[y] / max(got, 1.0)
    factor = _monthly_factor(anchors)
    out: TenancyTax = {}
    for i, series in raw.items():
        scaled = {m: round(a * factor[m], 2) for m, a in series.items()}
        out[i] = {m: a for m, a in scaled.items() if a >= 1.0}
    return out


def _monthly_factor(anchors: dict[int, float]) -> list[float]:
    """A factor per month: log-linear through each year's factor at mid-year."""
    points = {year_months(y)[0] + 5.5: math.log(k) for y, k in anchors.items()}
    return [math.exp(interp(m, points, extrapolate=True)) for m in range(MONTHS)]


def city_tax(seed: int) -> dict[int, float]:
    """The city's general public budget revenue per month index (yuan)."""
    rng = random.Random(f"louyu:{seed}:city")
    out = {}
    for y, total in CITY_REVENUE.items():
        months = [CITY_SEASON[k] * rng.uniform(0.97, 1.03) for k in range(12)]
        s = sum(months)
        for k, m in enumerate(year_months(y)):
            out[m] = round(total * months[k] / s, 2)
    return out
