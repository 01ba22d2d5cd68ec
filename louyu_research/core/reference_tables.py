"""Reference tables shipped as CSV (glossary, divisions, targets): reading with row numbers.

A reference table is data a user may replace with a file of the same shape. A bad file fails
when it is loaded, naming the file, the 1-based data row, its line and the reason, never later
as a wrong figure.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path


class ReferenceTableError(ValueError):
    """A reference table that cannot be used: the message names the file, row and reason."""


@dataclass(frozen=True)
class Row:
    number: int  # 1-based data row
    line: int  # line in the file (header is line 1)
    values: dict[str, str]


def read_rows(path: Path, required: tuple[str, ...]) -> list[Row]:
    """CSV rows with their numbers; a missing file or column is an error naming the file."""
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ReferenceTableError(f"{path}: cannot read: {err}") from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    if missing:
        raise ReferenceTableError(f"{path}: header: missing column(s) {', '.join(missing)}")
    rows = []
    for number, values in enumerate(reader, start=1):
        line = reader.line_num
        if None in values or any(v is None for v in values.values()):
            raise ReferenceTableError(f"{path}: row {number} (line {line}): wrong number of fields")
        rows.append(Row(number, line, {k: (v or "").strip() for k, v in values.items()}))
    if not rows:
        raise ReferenceTableError(f"{path}: no rows")
    return rows


def row_error(path: Path, row: Row, reason: str) -> ReferenceTableError:
    return ReferenceTableError(f"{path}: row {row.number} (line {row.line}): {reason}")
