"""What is wrong with a return: one `Issue` per cell, row or file, in Chinese and English.

Every check of intake reports here rather than raising on the first problem, so a street
office gets the whole list of a file at once. `IntakeRejected` carries all of them; a rejected
intake appends nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One problem: where (file, sheet, row, column) and what, in Chinese and English."""

    file: str
    sheet: str | None
    row: int | None  # the row number a spreadsheet shows (1-based; the header is a row too)
    column: str | None  # the column's header as the file has it (or the expected header)
    zh: str
    en: str

    def where_zh(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"工作表「{self.sheet}」")
        if self.row is not None:
            parts.append(f"第{self.row}行")
        if self.column:
            parts.append(self.column)
        return " ".join(parts)

    def where_en(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(self.column)
        return " ".join(parts)

    def __str__(self) -> str:
        return f"{self.where_zh()}：{self.zh} / {self.where_en()}: {self.en}"

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


class IntakeRejected(Exception):
    """Input that cannot be taken in: every issue found, nothing appended."""

    def __init__(self, issues: list[Issue]):
        self.issues = sorted(issues, key=_order)
        super().__init__("\n".join(map(str, self.issues)))


def _order(i: Issue) -> tuple[Any, ...]:
    return (i.file, i.sheet or "", i.row if i.row is not None else -1, i.column or "")
