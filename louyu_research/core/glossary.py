"""The glossary: Chinese and English name, definition and unit of every output column.

One table (`data/glossary.csv`) feeds the CLI's headers, the report's tables and its method
section, and the Pandera models' column descriptions, so a figure reads the same wherever it
appears. A user may pass their own file (same columns); it is checked like every reference
table (row and reason on a bad file).
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
        name = row.values["name"]
        if name in seen:
            raise row_error(p, row, f"name: {name!r} already on row {seen[name]}")
        seen[name] = row.number
    columns = (*COLUMNS, *PLAN_COLUMNS)
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


def names(*, path: str | Path | None = None) -> frozenset[str]:
    """Every column name the glossary defines."""
    return frozenset(_entries(str(path) if path is not None else None))


def missing(columns: Iterable[str], *, path: str | Path | None = None) -> list[str]:
    """Columns the glossary does not define (a test keeps this empty for every output)."""
    entries = _entries(str(path) if path is not None else None)
    return [c for c in columns if c not in entries]


def relabel(
    frame: pl.DataFrame, lang: Lang = "zh", *, path: str | Path | None = None
) -> pl.DataFrame:
    """The frame with its columns renamed to their display names in `lang`."""
    return frame.rename({c: label(c, lang, path=path) for c in frame.columns})


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
    "load_glossary",
    "missing",
    "names",
    "plan_label",
    "relabel",
    "unit",
]
