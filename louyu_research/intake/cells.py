"""Cell values as people type them → typed values, as Polars expressions over a whole column.

Every parser takes the raw text of a column (what the reader gives: strings, with Excel's
dates as `2016-03-15 00:00:00` and numbers as `1234.5`) and returns the typed value and, per
row, what is wrong with it in Chinese and English (null when the cell is fine or empty).
Accepted forms (INTAKE.md): dates as Excel serials, `2016-03-15`, `2016/3/15`, `2016.3.15`,
`2016年3月15日`; numbers with thousands separators and a trailing unit (`1,234.5㎡`);
是/否, Y/N, 1/0. Anything ambiguous is an error, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from ..log.catalogue import _USCC_CHARS, _USCC_WEIGHTS
from .columns import AREA_UNITS, CHOICE_LISTS, CHOICES, MONEY_UNITS, UNITS

EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's 1900 date system (after its 1900-02-29)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")
_SERIAL_RANGE = (32874, 73051)  # 1990-01-01 … 2100-01-01 as Excel serials
_NUMBER = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"


@dataclass(frozen=True)
class Parsed:
    """A column parsed: the value, and the problem of each row in both languages (or null)."""

    value: pl.Expr
    zh: pl.Expr
    en: pl.Expr


def text(raw: pl.Expr) -> pl.Expr:
    """The cell's text without surrounding (also full-width) spaces; empty → null."""
    t = raw.cast(pl.String).str.strip_chars(" \t\r\n\u3000\u00a0")
    return pl.when(t.str.len_chars() > 0).then(t)


def _problem(bad: pl.Expr, zh: str | pl.Expr, en: str | pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    zh_e = pl.lit(zh) if isinstance(zh, str) else zh
    en_e = pl.lit(en) if isinstance(en, str) else en
    return pl.when(bad).then(zh_e), pl.when(bad).then(en_e)


def _first(*pairs: tuple[pl.Expr, pl.Expr]) -> tuple[pl.Expr, pl.Expr]:
    """The first problem of several checks (each null when fine)."""
    return pl.coalesce([p[0] for p in pairs]), pl.coalesce([p[1] for p in pairs])


def plain_text(raw: pl.Expr, max_len: int = 500) -> Parsed:
    t = text(raw)
    zh, en = _problem(
        t.str.len_chars() > max_len,
        f"文字过长（最多{max_len}字）",
        f"longer than {max_len} characters",
    )
    return Parsed(t, zh, en)


def identifier(raw: pl.Expr) -> Parsed:
    """An id as typed; a whole number typed in Excel (`12.0`) keeps its digits."""
    t = text(raw).str.replace(r"^(\d+)\.0+$", "${1}")
    return plain_text(t, 128)


def _uscc_check(code: pl.Expr) -> pl.Expr:
    """The GB 32100-2015 check character of the first 17 characters (null if not computable)."""
    index = {c: i for i, c in enumerate(_USCC_CHARS)}
    total = pl.sum_horizontal(
        code.str.slice(i, 1).replace_strict(index, default=None, return_dtype=pl.Int64) * w
        for i, w in enumerate(_USCC_WEIGHTS)
    )
    check = (31 - total % 31) % 31
    return check.replace_strict(dict(enumerate(_USCC_CHARS)), default=None, return_dtype=pl.String)


_USCC_SHAPE = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
_SCIENTIFIC = r"^\d(\.\d+)?[eE]\+?\d+$"


def code_text(raw: pl.Expr) -> pl.Expr:
    """A code as typed, without spaces or dashes."""
    return text(raw).str.replace_all(r"[\s-]", "")


def uscc_check(raw: pl.Expr) -> pl.Expr:
    """The check character a code's first 17 characters call for (a column worth computing
    once: every message about the code reads it)."""
    return _uscc_check(code_text(raw))


def uscc(raw: pl.Expr, check: pl.Expr | None = None) -> Parsed:
    """An 18-character unified social credit code with a valid check character."""
    t = code_text(raw)
    check = uscc_check(raw) if check is None else check
    zh, en = _first(
        _problem(
            t.str.contains(_SCIENTIFIC) | t.str.contains(r"^\d{16,}\.0+$"),
            "被Excel存成了数字，末几位已丢失：请把该列设为文本后重新填写",
            "stored as a number by Excel, which lost its last digits: format the column as text and type it again",
        ),
        _problem(
            t.str.len_chars() != 18,
            pl.concat_str(
                pl.lit("应为18位，实为"), t.str.len_chars().cast(pl.String), pl.lit("位")
            ),
            pl.concat_str(
                pl.lit("should have 18 characters, has "), t.str.len_chars().cast(pl.String)
            ),
        ),
        _problem(
            t.str.contains(r"[a-z]"),
            pl.concat_str(pl.lit("字母应为大写："), t.str.to_uppercase()),
            pl.concat_str(pl.lit("letters must be upper case: "), t.str.to_uppercase()),
        ),
        _problem(
            ~t.str.contains(_USCC_SHAPE),
            "含有不允许的字符（不使用 I、O、Z、S、V；第3-8位为数字）",
            "has characters a code cannot have (no I, O, Z, S, V; characters 3-8 are digits)",
        ),
        _problem(
            check != t.str.slice(17, 1),
            pl.concat_str(pl.lit("校验位应为 "), check),
            pl.concat_str(pl.lit("check digit should be "), check),
        ),
    )
    return Parsed(t, zh, en)


def taxpayer(raw: pl.Expr, check: pl.Expr | None = None) -> Parsed:
    """A USCC (18) or a legacy 15-character 税务登记号 (6-digit area code + organisation code)."""
    t = code_text(raw)
    as_uscc = uscc(t, check)
    legacy = t.str.len_chars() == 15
    zh, en = _first(
        _problem(
            legacy & ~t.str.contains(r"^\d{6}[0-9A-Z]{8}[0-9X]$"),
            "15位税务登记号应为6位行政区划代码加9位组织机构代码",
            "a 15-character tax registration number is a 6-digit area code and a 9-character organisation code",
        ),
        _problem(
            ~legacy & (t.str.len_chars() != 18),
            pl.concat_str(
                pl.lit("应为18位统一社会信用代码或15位税务登记号，实为"),
                t.str.len_chars().cast(pl.String),
                pl.lit("位"),
            ),
            pl.concat_str(
                pl.lit("should be an 18-character USCC or a 15-character tax number, has "),
                t.str.len_chars().cast(pl.String),
            ),
        ),
        (pl.when(~legacy).then(as_uscc.zh), pl.when(~legacy).then(as_uscc.en)),
    )
    return Parsed(t, zh, en)


def _excel_day(t: pl.Expr) -> pl.Expr:
    """Excel's own date cells (`2016-03-15 00:00:00`) as the date part."""
    return t.str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00(\.0+)?$", "${1}")


def date_value(raw: pl.Expr) -> Parsed:
    t = _excel_day(text(raw))
    serial = t.str.extract(r"^(\d{5})(?:\.0+)?$", 1).cast(pl.Int64)
    from_serial = pl.when(serial.is_between(*_SERIAL_RANGE)).then(
        pl.lit(EXCEL_EPOCH) + pl.duration(days=serial)
    )
    parsed = pl.coalesce(
        [from_serial.cast(pl.Date), *(t.str.to_date(f, strict=False) for f in DATE_FORMATS)]
    )
    zh, en = _problem(
        t.is_not_null() & parsed.is_null(),
        pl.concat_str(
            pl.lit("「"),
            t,
            pl.lit("」不是有效日期（可写 2016-03-15、2016/3/15、2016.3.15、2016年3月15日）"),
        ),
        pl.concat_str(
            pl.lit("'"),
            t,
            pl.lit(
                "' is not a valid date (write 2016-03-15, 2016/3/15, 2016.3.15 or 2016年3月15日)"
            ),
        ),
    )
    return Parsed(parsed, zh, en)


def period(raw: pl.Expr) -> Parsed:
    """A month `YYYY-MM` from 2016-03, 2016/3, 2016.03, 2016年3月, 201603 or an Excel date on
    the 1st (Excel turns a typed `2016-03` into 2016-03-01)."""
    t = text(raw)
    day1 = t.str.extract(r"^(\d{4}-\d{2})-01(?: 00:00:00(?:\.0+)?)?$", 1)
    parts = pl.coalesce(
        t.str.extract_groups(r"^(?<y>\d{4})[-/.年](?<m>\d{1,2})月?$"),
        t.str.extract_groups(r"^(?<y>\d{4})(?<m>\d{2})$"),
    )
    y = parts.struct.field("y").cast(pl.Int32)
    m = parts.struct.field("m").cast(pl.Int32)
    typed = pl.when(m.is_between(1, 12)).then(
        pl.concat_str(y.cast(pl.String), pl.lit("-"), m.cast(pl.String).str.zfill(2))
    )
    value = pl.coalesce(day1, typed)
    zh, en = _problem(
        t.is_not_null() & value.is_null(),
        pl.concat_str(pl.lit("「"), t, pl.lit("」不是月份（应写 2016-03）")),
        pl.concat_str(pl.lit("'"), t, pl.lit("' is not a month (write 2016-03)")),
    )
    return Parsed(value, zh, en)


def _number(t: pl.Expr, units: tuple[str, ...]) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(number, unit written in the cell or null, well-formed) of `1,234.5㎡`-like text."""
    unit_alt = "|".join(sorted(units, key=len, reverse=True))
    groups = t.str.replace_all("，", ",").str.extract_groups(
        rf"^(?<n>{_NUMBER})\s*(?<u>{unit_alt})?$"
    )
    n = groups.struct.field("n")
    number = n.str.replace_all(",", "").cast(pl.Float64, strict=False)
    return number, groups.struct.field("u"), n.is_not_null()


def _not_a_number(t: pl.Expr, units: tuple[str, ...]) -> tuple[pl.Expr, pl.Expr]:
    return (
        pl.concat_str(pl.lit("「"), t, pl.lit(f"」不是数字（可写 1234.5 或 1,234.5{units[0]}）")),
        pl.concat_str(
            pl.lit("'"), t, pl.lit(f"' is not a number (write 1234.5 or 1,234.5{units[0]})")
        ),
    )


def area(raw: pl.Expr, header_unit: pl.Expr | None = None) -> Parsed:
    """Square metres, greater than zero."""
    t = text(raw)
    number, _unit, ok = _number(t, AREA_UNITS)
    nz, ne = _not_a_number(t, AREA_UNITS)
    zh, en = _first(
        (pl.when(t.is_not_null() & ~ok).then(nz), pl.when(t.is_not_null() & ~ok).then(ne)),
        _problem(number <= 0, "面积应大于0", "area must be greater than 0"),
    )
    return Parsed(number, zh, en)


def money(raw: pl.Expr, header_unit: pl.Expr | None = None) -> Parsed:
    """Yuan, to the fen: the cell's own unit if it writes one, else the header's (元 or 万元;
    `header_unit` is a column, since files with either header are read together)."""
    t = text(raw)
    number, unit, ok = _number(t, MONEY_UNITS)
    header_scale = (
        pl.lit(1.0)
        if header_unit is None
        else header_unit.replace_strict(UNITS, default=1.0, return_dtype=pl.Float64)
    )
    scale = unit.replace_strict(UNITS, default=header_scale, return_dtype=pl.Float64)
    fen = number * scale * 100
    nz, ne = _not_a_number(t, MONEY_UNITS)
    zh, en = _first(
        (pl.when(t.is_not_null() & ~ok).then(nz), pl.when(t.is_not_null() & ~ok).then(ne)),
        _problem(
            (fen - fen.round(0)).abs() > 1e-4,
            "金额应精确到分（元的两位小数）",
            "money has at most 2 decimals of yuan (fen)",
        ),
    )
    return Parsed(fen.round(0) / 100, zh, en)


def _ranged(raw: pl.Expr, lo: float, hi: float, zh: str, en: str) -> Parsed:
    t = text(raw)
    number = t.str.replace(r"%$", "").cast(pl.Float64, strict=False)
    number = pl.when(t.str.ends_with("%")).then(number / 100).otherwise(number)
    zh_e, en_e = _problem(
        t.is_not_null() & (number.is_null() | ~number.is_between(lo, hi)),
        pl.concat_str(pl.lit("「"), t, pl.lit(f"」不是{zh}")),
        pl.concat_str(pl.lit("'"), t, pl.lit(f"' is not {en}")),
    )
    return Parsed(number, zh_e, en_e)


def ratio(raw: pl.Expr) -> Parsed:
    return _ranged(
        raw, 0, 1, "0到1之间的比例（或0%到100%）", "a ratio between 0 and 1 (or 0% to 100%)"
    )


def lon(raw: pl.Expr) -> Parsed:
    return _ranged(raw, -180, 180, "经度（-180到180）", "a longitude (-180 to 180)")


def lat(raw: pl.Expr) -> Parsed:
    return _ranged(raw, -90, 90, "纬度（-90到90）", "a latitude (-90 to 90)")


def count(raw: pl.Expr) -> Parsed:
    """A whole number ≥ 0 (`12`, `12.0` from Excel, `12人`)."""
    t = text(raw)
    digits = t.str.extract(r"^(\d+)(?:\.0+)?人?$", 1)
    value = digits.cast(pl.Int64, strict=False)
    zh, en = _problem(
        t.is_not_null() & value.is_null(),
        pl.concat_str(pl.lit("「"), t, pl.lit("」不是人数（非负整数）")),
        pl.concat_str(pl.lit("'"), t, pl.lit("' is not a headcount (a whole number ≥ 0)")),
    )
    return Parsed(value, zh, en)


_TRUE = ("是", "y", "yes", "1", "1.0", "true", "√")
_FALSE = ("否", "n", "no", "0", "0.0", "false", "×")


def boolean(raw: pl.Expr) -> Parsed:
    t = text(raw)
    low = t.str.to_lowercase()
    value = pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)
    zh, en = _problem(
        t.is_not_null() & value.is_null(),
        pl.concat_str(pl.lit("「"), t, pl.lit("」应填 是 或 否")),
        pl.concat_str(pl.lit("'"), t, pl.lit("' should be 是 or 否 (yes or no)")),
    )
    return Parsed(value, zh, en)


def industry(raw: pl.Expr) -> Parsed:
    """A GB/T 4754 code: section letter and up to 4 digits (`I65`, `J6620`)."""
    t = text(raw).str.replace(r"^([A-Ta-t])\s+", "${1}")
    zh, en = _problem(
        ~t.str.contains(r"^[A-T][0-9]{0,4}$"),
        pl.concat_str(
            pl.lit("「"), t, pl.lit("」不是国民经济行业代码（大写门类字母加至多4位数字，如 I65）")
        ),
        pl.concat_str(
            pl.lit("'"),
            t,
            pl.lit(
                "' is not a GB/T 4754 code (an upper-case section letter and up to 4 digits, e.g. I65)"
            ),
        ),
    )
    return Parsed(t, zh, en)


def choice(raw: pl.Expr, name: str) -> Parsed:
    """One of a column's listed values (Chinese, or the event's English value)."""
    t = text(raw).str.replace(r"^(\d{4})\.0+$", "${1}")
    mapping = CHOICES[name]
    value = t.str.to_lowercase().replace_strict(
        {k.lower(): v for k, v in mapping.items()}, default=None, return_dtype=pl.String
    )
    listed = "、".join(CHOICE_LISTS[name])
    zh, en = _problem(
        t.is_not_null() & value.is_null(),
        pl.concat_str(pl.lit("「"), t, pl.lit(f"」不是可选值（{listed}）")),
        pl.concat_str(pl.lit("'"), t, pl.lit(f"' is not one of the values ({listed})")),
    )
    return Parsed(value, zh, en)


def parse(
    value: str, raw: pl.Expr, header_unit: pl.Expr | None = None, check: pl.Expr | None = None
) -> Parsed:
    """The parser a column's `value` names."""
    if value in ("text", "district"):
        return plain_text(raw)
    if value == "id":
        return identifier(raw)
    if value == "uscc":
        return uscc(raw, check)
    if value == "taxpayer":
        return taxpayer(raw, check)
    if value == "date":
        return date_value(raw)
    if value == "period":
        return period(raw)
    if value == "area":
        return area(raw, header_unit)
    if value == "money":
        return money(raw, header_unit)
    if value == "ratio":
        return ratio(raw)
    if value == "lon":
        return lon(raw)
    if value == "lat":
        return lat(raw)
    if value == "count":
        return count(raw)
    if value == "bool":
        return boolean(raw)
    if value == "industry":
        return industry(raw)
    if value in CHOICES:
        return choice(raw, value)
    raise ValueError(f"no parser {value!r}")
