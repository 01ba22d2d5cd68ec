"""The glossary: Chinese and English name, definition, unit and scope of every column.

One table (`glossary.csv`) is the data dictionary: it feeds the CLI's headers, the report's
tables and its method section, the JSON Schemas of the frames, CSV and Stata exports, so a
figure reads the same wherever it appears. Every column of every public frame has a row (a
test enforces it). A user may pass their own file (same columns); it is checked like every
reference table (row and reason on a bad file).

`scope` says which rows a figure stands for:

* `in_scope`: a figure over the buildings in scope at the end of the row's month (scope is
  judged at each month end, so a year's monthly sums can differ from December's year to date);
  in the building panel the same column is the building's own value on every row, in scope or
  not: filter on `in_scope` before summing.
* `row`: describes the row it is on (an id, an attribute, a building's or tenancy's own value).
* `city`: the whole city, not only its buildings (the tax share's denominator).
* `log`: an event as the log recorded it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

import polars as pl

from .reference_tables import ReferenceTableError, read_rows, row_error

DEFAULT_GLOSSARY = Path(__file__).parent / "glossary.csv"
COLUMNS = ("name", "name_zh", "name_en", "definition_zh", "definition_en", "unit")
#: Optional: the action plan's own name of one of its target indicators, used where the report
#: lists those indicators as rows (入驻率 heads a column; the plan says 已建楼宇入驻率).
PLAN_COLUMNS = ("plan_name_zh", "plan_name_en")
#: Optional: which rows a figure stands for (see the module docstring); empty in a user's file
#: that leaves the column out.
SCOPE_COLUMN = "scope"
SCOPES = ("in_scope", "row", "city", "log")
Lang = Literal["zh", "en"]


def load_glossary(path: str | Path | None = None) -> pl.DataFrame:
    """The glossary table, checked: every field but `unit` and the plan names non-empty, names
    unique. The plan-name columns may be left out of a user's file (then they are empty)."""
    p = Path(path) if path is not None else DEFAULT_GLOSSARY
    rows = read_rows(p, COLUMNS)
    seen: dict[str, int] = {}
    for row in rows:
        for col in COLUMNS[:-1]:
            if not row.values[col]:
                raise row_error(p, row, f"{col}: empty")
        scope_ = row.values.get(SCOPE_COLUMN) or ""
        if scope_ and scope_ not in SCOPES:
            raise row_error(p, row, f"scope: {scope_!r} is not one of {', '.join(SCOPES)}")
        name = row.values["name"]
        if name in seen:
            raise row_error(p, row, f"name: {name!r} already on row {seen[name]}")
        seen[name] = row.number
    columns = (*COLUMNS, SCOPE_COLUMN, *PLAN_COLUMNS)
    data = {c: [r.values.get(c) or None for r in rows] for c in columns}
    return pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String))


@lru_cache(maxsize=8)
def _entries(path: str | None) -> dict[str, dict[str, str | None]]:
    frame = load_glossary(path)
    return {r["name"]: r for r in frame.iter_rows(named=True)}


def entry(column: str, *, path: str | Path | None = None) -> dict[str, str | None]:
    """The glossary row of `column`; KeyError naming it when the glossary lacks it."""
    entries = _entries(str(path) if path is not None else None)
    if column not in entries:
        raise KeyError(f"column {column!r} is not in the glossary")
    return entries[column]


def label(column: str, lang: Lang = "zh", *, path: str | Path | None = None) -> str:
    """The column's display name in `lang` (e.g. `label("occupancy_rate")` → "入驻率")."""
    return str(entry(column, path=path)[f"name_{lang}"])


def plan_label(column: str, lang: Lang = "zh", *, path: str | Path | None = None) -> str:
    """The plan's name of a target indicator (`plan_label("occupancy_rate")` → "已建楼宇入驻率");
    the column's display name when the glossary gives no plan name."""
    row = entry(column, path=path)
    return str(row[f"plan_name_{lang}"] or row[f"name_{lang}"])


def definition(column: str, lang: Lang = "zh", *, path: str | Path | None = None) -> str:
    """The column's definition in `lang`."""
    return str(entry(column, path=path)[f"definition_{lang}"])


def unit(column: str, *, path: str | Path | None = None) -> str | None:
    """The column's unit (e.g. "m²", "元 yuan"), or None for ids, flags and codes."""
    return entry(column, path=path)["unit"]


def scope(column: str, *, path: str | Path | None = None) -> str | None:
    """Which rows the column's figure stands for: `in_scope`, `row`, `city` or `log` (module
    docstring), or None when the glossary file leaves it out."""
    return entry(column, path=path)[SCOPE_COLUMN]


def names(*, path: str | Path | None = None) -> frozenset[str]:
    """Every column name the glossary defines."""
    return frozenset(_entries(str(path) if path is not None else None))


def missing(columns: Iterable[str], *, path: str | Path | None = None) -> list[str]:
    """Columns the glossary does not define (a test keeps this empty for every output)."""
    entries = _entries(str(path) if path is not None else None)
    return [c for c in columns if c not in entries]


def labels(
    columns: Iterable[str], lang: Lang = "zh", *, path: str | Path | None = None
) -> dict[str, str]:
    """Column → display name in `lang`, each unique: when two columns of one frame share a
    display name (`name` and `building_name` are both 楼宇名称), each is followed by its column
    name in brackets. A KeyError names every column the glossary lacks."""
    cols = list(columns)
    lacking = missing(cols, path=path)
    if lacking:
        raise KeyError(f"column(s) not in the glossary: {', '.join(lacking)}")
    shown = {c: label(c, lang, path=path) for c in cols}
    counts: dict[str, int] = {}
    for text in shown.values():
        counts[text] = counts.get(text, 0) + 1
    return {c: (f"{t} [{c}]" if counts[t] > 1 else t) for c, t in shown.items()}


def relabel(
    frame: pl.DataFrame | pl.LazyFrame, lang: Lang = "zh", *, path: str | Path | None = None
) -> pl.DataFrame:
    """The frame with its columns renamed to their display names in `lang` (unique names)."""
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    return df.rename(labels(df.columns, lang, path=path))


def describe(
    columns: Iterable[str], lang: Lang = "zh", *, path: str | Path | None = None
) -> pl.DataFrame:
    """column, label, definition, unit for `columns` (in that order): a method section's table."""
    cols = list(dict.fromkeys(columns))
    return pl.DataFrame(
        {
            "column": cols,
            "label": [label(c, lang, path=path) for c in cols],
            "definition": [definition(c, lang, path=path) for c in cols],
            "unit": [unit(c, path=path) for c in cols],
        },
        schema={
            "column": pl.String,
            "label": pl.String,
            "definition": pl.String,
            "unit": pl.String,
        },
    )


__all__ = [
    "ReferenceTableError",
    "definition",
    "describe",
    "entry",
    "label",
    "labels",
    "load_glossary",
    "missing",
    "names",
    "plan_label",
    "relabel",
    "scope",
    "unit",
]
