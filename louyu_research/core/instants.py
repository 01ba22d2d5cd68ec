"""Dates and cut-offs as a person passes them: a `date`, a `datetime` or ISO text, everywhere.

Two questions take a point in time (EVENTS.md): *as of* which business date, and *as recorded
by* which instant. Both accept the same three forms, parsed here once:

* `as_of`: a `date`; a `datetime` (its calendar date, in the city's time zone when it has an
  offset); or text `YYYY-MM-DD` (or an ISO timestamp, read the same way as a `datetime`).
* `recorded_by`: a zone-aware `datetime` as it is; a naive one is read in the city's time zone;
  a `date`, or text `YYYY-MM-DD`, means the *end of that day* in the city's time zone (every
  event recorded on that day is included); text with an offset (`2016-10-15T00:00+08:00`,
  also `2016-10-15+08:00`: the end of that day at that offset) is read as written.

The result of `cut_off` has a fixed offset (the zone's at that instant), which Polars compares
with the log's UTC `recorded_at` column.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

__all__ = ["DateError", "DateLike", "as_of_date", "cut_off"]

DateLike = date | datetime | str

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_WITH_OFFSET = re.compile(r"^(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})$")


class DateError(ValueError):
    """A date or timestamp that cannot be read (one line naming the value and the forms)."""


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "…'"


def _fixed(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone(moment.utcoffset() or timedelta(0)))


def as_of_date(value: DateLike, tz: str, *, what: str = "as_of") -> date:
    """The business date of `value` (module docstring); `what` names the argument in errors."""
    if isinstance(value, datetime):
        return (value.astimezone(ZoneInfo(tz)) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DATE.match(text):
                return date.fromisoformat(text)
            return as_of_date(datetime.fromisoformat(text), tz, what=what)
        except ValueError:
            pass
    raise DateError(f"{what}: not a date: {_shown(value)} (a date, a datetime or text YYYY-MM-DD)")


def cut_off(value: DateLike, tz: str, *, what: str = "recorded_by") -> datetime:
    """The recorded-by instant of `value` (module docstring), with a fixed offset."""
    zone = ZoneInfo(tz)
    if isinstance(value, datetime):
        return _fixed(value if value.tzinfo else value.replace(tzinfo=zone))
    if isinstance(value, date):
        return _fixed(datetime.combine(value, time.max, zone))
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DATE.match(text):
                return cut_off(date.fromisoformat(text), tz, what=what)
            m = _DATE_WITH_OFFSET.match(text)
            if m:
                at = datetime.fromisoformat(f"{m.group(1)}T23:59:59.999999{m.group(2)}")
                return _fixed(at)
            return cut_off(datetime.fromisoformat(text), tz, what=what)
        except ValueError:
            pass
    raise DateError(
        f"{what}: not a date or timestamp: {_shown(value)} "
        "(a date YYYY-MM-DD = the end of that day in the city's time zone, "
        "or a timestamp such as 2016-10-15T00:00+08:00)"
    )
