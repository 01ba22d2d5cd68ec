"""The simulated span and its calendar: months counted from January of `FIRST_YEAR`.

Every part of the generator speaks of a month by its index `m` (0 is January 2014, `MONTHS - 1`
December 2018; indices outside the span are allowed, for returns filed after it). This module
turns indices into `Month` values, days and China-time timestamps, and interpolates the
month-by-month paths the generator follows. Nothing here draws a random number except
`day_in`, from the generator given to it.
"""

from __future__ import annotations

import functools
import itertools
import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from louyu_research.city.profile import default_city
from louyu_research.core.periods import Month

FIRST_YEAR, LAST_YEAR = 2014, 2018
MONTHS = (LAST_YEAR - FIRST_YEAR + 1) * 12
#: Every `recorded_at` is back-filled at the offset of the city's time zone (China keeps one
#: offset all year: +08:00).
TZ = timezone(ZoneInfo(default_city().time_zone).utcoffset(datetime(FIRST_YEAR, 1, 1)))
FIRST_MONTH = Month(FIRST_YEAR, 1)


# Cached: a city-scale run asks for the same few hundred months millions of times.
@functools.cache
def month(m: int) -> Month:
    """The calendar month of index `m`."""
    return FIRST_MONTH.shift(m)


@functools.cache
def month_start(m: int) -> date:
    return month(m).first_day


@functools.cache
def month_end(m: int) -> date:
    return month(m).last_day


@functools.cache
def period(m: int) -> str:
    """`YYYY-MM`, as tax reports name their period."""
    return str(month(m))


def month_of(d: date) -> int:
    """The index of the month `d` falls in."""
    return Month.parse(d).index - FIRST_MONTH.index


def year_months(year: int) -> range:
    """The indices of the twelve months of `year`."""
    first = (year - FIRST_YEAR) * 12
    return range(first, first + 12)


def day_in(rng: random.Random, m: int) -> date:
    """A day of month `m`, drawn uniformly."""
    start = month_start(m)
    return start + timedelta(days=rng.randrange((month_end(m) - start).days + 1))


def at(d: date, hour: int, minute: int = 0) -> datetime:
    """A China-time timestamp on day `d`."""
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=TZ)


def interp(m: float, points: dict[float, float], extrapolate: bool = False) -> float:
    """The value at month `m` of the path through `points` ({month: value}), linear between
    them; before the first and after the last point the path stays flat, or with `extrapolate`
    continues the line through its first or last two points."""
    keys = sorted(points)
    if m <= keys[0]:
        if not extrapolate:
            return points[keys[0]]
        a, b = keys[0], keys[1]
    elif m > keys[-1]:
        if not extrapolate:
            return points[keys[-1]]
        a, b = keys[-2], keys[-1]
    else:
        a, b = next((lo, hi) for lo, hi in itertools.pairwise(keys) if m <= hi)
    return points[a] + (points[b] - points[a]) * (m - a) / (b - a)
