"""`Month` and `Quarter`: the value types of the periods every figure and report speaks of.

A period enters the package as text (a CLI option, a notebook parameter, an API argument, a
file) and is parsed once, here, into a frozen, ordered value; everything after passes the
value. This is the one definition of the formats: a month is `YYYY-MM`, a quarter `YYYYQn`,
with ASCII digits only (full-width digits such as `２０１７` are refused, so a value that
passes here can never fail later in a date conversion). Data columns keep the text form
(`str(month)`), which sorts like the values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = [
    "MONTH_PATTERN",
    "QUARTER_PATTERN",
    "Month",
    "MonthError",
    "MonthLike",
    "PeriodError",
    "Quarter",
    "QuarterError",
    "QuarterLike",
]

#: `YYYY-MM`, ASCII digits (also used by the frame models and the event catalogue).
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
#: `YYYYQn`, n in 1..4, ASCII digits.
QUARTER_PATTERN = r"^([0-9]{4})Q([1-4])$"
_MONTH_RE = re.compile(MONTH_PATTERN)
_QUARTER_RE = re.compile(QUARTER_PATTERN)
_SHOWABLE = re.compile(r"[0-9A-Za-z_-]{0,12}")

Lang = Literal["zh", "en"]


class PeriodError(ValueError):
    """A period that is malformed or outside what the data covers (one line, bounded)."""


class MonthError(PeriodError):
    """A month that is malformed or outside what the data covers."""


class QuarterError(PeriodError):
    """A quarter that is malformed or outside what the data covers."""


def _shown(value: object) -> str:
    """The value as an error may echo it: short ASCII text as is, anything else described."""
    text = value if isinstance(value, str) else None
    return repr(text) if text is not None and _SHOWABLE.fullmatch(text) else "(not a period)"


@dataclass(frozen=True, order=True, slots=True)
class Month:
    """A calendar month. `Month.parse("2017-12")`; `str(m)` is `2017-12`; ordered by time."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1 <= self.month <= 12 and 1 <= self.year <= 9999):
            raise MonthError(f"not a month: year {self.year}, month {self.month}")

    @classmethod
    def parse(cls, value: MonthLike) -> Month:
        """A `Month` from `YYYY-MM`, a `date`/`datetime` (its month) or a `Month`."""
        if isinstance(value, Month):
            return value
        if isinstance(value, date):  # datetime is a date
            return cls(value.year, value.month)
        if isinstance(value, str) and _MONTH_RE.match(value):
            return cls(int(value[:4]), int(value[5:7]))
        raise MonthError(f"not a month YYYY-MM: {_shown(value)}")

    @classmethod
    def from_index(cls, index: int) -> Month:
        """The month `index` months after January of year 0 (the inverse of `index`)."""
        return cls(index // 12, index % 12 + 1)

    @property
    def index(self) -> int:
        """Months since January of year 0: consecutive months differ by 1."""
        return self.year * 12 + self.month - 1

    def shift(self, by: int) -> Month:
        """This month moved by `by` months (negative: earlier)."""
        return Month.from_index(self.index + by)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.shift(1).first_day - timedelta(days=1)

    @property
    def quarter(self) -> Quarter:
        return Quarter(self.year, (self.month - 1) // 3 + 1)

    @staticmethod
    def range(start: MonthLike, end: MonthLike) -> list[Month]:
        """Every month from `start` to `end` inclusive (empty when start is after end)."""
        a, b = Month.parse(start), Month.parse(end)
        return [Month.from_index(i) for i in range(a.index, b.index + 1)]

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __repr__(self) -> str:
        return f"Month({str(self)!r})"


@dataclass(frozen=True, order=True, slots=True)
class Quarter:
    """A calendar quarter. `Quarter.parse("2017Q4")`; `str(q)` is `2017Q4`; ordered by time."""

    year: int
    number: int

    def __post_init__(self) -> None:
        if not (1 <= self.number <= 4 and 1 <= self.year <= 9999):
            raise QuarterError(f"not a quarter: year {self.year}, quarter {self.number}")

    @classmethod
    def parse(cls, value: QuarterLike) -> Quarter:
        """A `Quarter` from `YYYYQn` or a `Quarter`."""
        if isinstance(value, Quarter):
            return value
        m = _QUARTER_RE.match(value) if isinstance(value, str) else None
        if not m:
            raise QuarterError(f"QUARTER must look like 2017Q4 (year, Q, 1-4), got {_shown(value)}")
        return cls(int(m.group(1)), int(m.group(2)))

    @property
    def months(self) -> tuple[Month, Month, Month]:
        first = 3 * self.number - 2
        return (
            Month(self.year, first),
            Month(self.year, first + 1),
            Month(self.year, first + 2),
        )

    @property
    def first_month(self) -> Month:
        return self.months[0]

    @property
    def last_month(self) -> Month:
        return self.months[-1]

    def shift(self, by: int) -> Quarter:
        """This quarter moved by `by` quarters (negative: earlier)."""
        n = self.year * 4 + self.number - 1 + by
        return Quarter(n // 4, n % 4 + 1)

    @staticmethod
    def covered(first_month: MonthLike, last_month: MonthLike) -> list[Quarter]:
        """Every quarter whose three months lie inside [first_month, last_month]."""
        a, b = Month.parse(first_month), Month.parse(last_month)
        out, q = [], a.quarter
        while q.first_month <= b:
            if q.first_month >= a and q.last_month <= b:
                out.append(q)
            q = q.shift(1)
        return out

    def publication_cutoff(self, tz: str) -> datetime:
        """When a quarter's report reads the log by convention: the end of the month after the
        quarter (a month's returns arrive in the next month), midnight in the city's time zone."""
        local = datetime.combine(self.last_month.shift(2).first_day, time(0), ZoneInfo(tz))
        # A fixed offset (the zone's at that instant): Polars compares it with UTC columns.
        return local.replace(tzinfo=timezone(local.utcoffset() or timedelta(0)))

    def title(self, lang: Lang = "zh") -> str:
        """`2017年第4季度` (zh) or `2017 Q4` (en)."""
        return (
            f"{self.year}年第{self.number}季度" if lang == "zh" else f"{self.year} Q{self.number}"
        )

    def __str__(self) -> str:
        return f"{self.year:04d}Q{self.number}"

    def __repr__(self) -> str:
        return f"Quarter({str(self)!r})"


MonthLike = Month | date | str
QuarterLike = Quarter | str
