"""Money: each tenancy's monthly tax, scaled year by year to the city, and the city's revenue.

A tenancy's raw monthly tax is its area × the building's intensity × its industry's tax per m²
× the firm's size, with seasonality, a drift per firm, noise, a young firm's ramp-up and the
fall of business before a move-out. A factor per month then scales every tenancy's tax so that
in-scope buildings pay each year the designed share of the city's budget revenue
(`calibration.TAX_SHARE_PATH`, `calibration.CITY_REVENUE`). The city's monthly revenue is its
yearly revenue spread by seasonality.

Reads the world; knows nothing of events or recording. The amounts are kept compact
(`TaxTable`: one float per tenancy-month, no object per amount), since a city-scale world has
tens of millions of them.
"""

from __future__ import annotations

import math
import random
from array import array
from dataclasses import dataclass
from datetime import timedelta

from .calibration import CITY_REVENUE, CITY_SEASON, INDUSTRY_TAX, TAX_SHARE_PATH, TENANT_SEASON
from .timeline import MONTHS, interp, month_end, month_of, month_start, year_months
from .world import World, in_scope


@dataclass
class TaxTable:
    """Monthly tax per tenancy (its index in `World.tenancies`), compact.

    Tenancy `i` owns the slots `offset[i]` to `offset[i + 1]` of `amount`, one per month from
    month index `first[i]` on; a slot holds the month's tax in yuan, or NaN when nothing is
    reported that month (amounts under ¥1, or a month the tenancy does not reach).
    """

    first: array[int]
    offset: array[int]
    amount: array[float]
    reported: int  # how many slots hold an amount

    def months(self, i: int) -> range:
        """The slots of tenancy `i`."""
        return range(self.offset[i], self.offset[i + 1])

    def of(self, i: int) -> dict[int, float]:
        """Tenancy `i`'s tax as {month index: yuan}, in month order."""
        first, start = self.first[i], self.offset[i]
        return {first + j - start: a for j in self.months(i) if (a := self.amount[j]) == a}


def tenancy_tax(w: World) -> TaxTable:
    """Monthly tax per tenancy, calibrated to the city (amounts under ¥1 are not reported)."""
    rng = random.Random(f"louyu:{w.seed}:tax")
    first_of, offset, raw = array("h"), array("q", [0]), array("d")
    nan = math.nan
    in_scope_raw = [0.0] * MONTHS
    scope = {
        b.building_id: bytes(in_scope(b, month_end(m)) for m in range(MONTHS)) for b in w.buildings
    }
    for ten in w.tenancies:
        t, b = ten.tenant, ten.building
        # the many grow, the few giants (real estate, old industry) stagnate: more buildings
        # cross ¥10 m a year as the plan goes on
        drift = -0.12 if t.giant else rng.gauss(0.06, 0.10)
        declining = ten.end is not None and rng.random() < 0.35
        base = b.intensity * INDUSTRY_TAX.get(t.key, 1.0) * t.size
        first = max(0, month_of(ten.start))
        last = MONTHS - 1 if ten.end is None else min(MONTHS - 1, month_of(ten.end))
        in_scope_on = scope[b.building_id]
        for m in range(first, last + 1):
            ms, me = month_start(m), month_end(m)
            lo, hi = max(ms, ten.start), min(me, (ten.end - timedelta(days=1)) if ten.end else me)
            if hi < lo:
                raw.append(nan)
                continue
            frac = ((hi - lo).days + 1) / ((me - ms).days + 1)
            mid = lo + (hi - lo) / 2
            amount = ten.area_on(mid) * base * TENANT_SEASON[m % 12] * frac
            amount *= math.exp(drift * (m / 12)) * rng.lognormvariate(0, 0.15)
            if (ms - t.founded).days < 365 and m - first < 6:
                amount *= 0.4 + 0.1 * (m - first)  # a young firm ramps up
            if declining and ten.end and (ten.end - ms).days < 200:
                amount *= 0.35  # business falls before the move-out (an at-risk signal)
            raw.append(amount)
            if in_scope_on[m]:
                in_scope_raw[m] += amount
        first_of.append(first)
        offset.append(len(raw))
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
    reported = 0
    for i, first in enumerate(first_of):  # scaled in place: no second copy
        start = offset[i]
        for j in range(start, offset[i + 1]):
            a = raw[j]
            if a == a:  # not NaN
                a = round(a * factor[first + j - start], 2)
                if a >= 1.0:
                    raw[j] = a
                    reported += 1
                else:
                    raw[j] = nan
    return TaxTable(first_of, offset, raw, reported)


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
