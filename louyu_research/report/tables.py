"""Publication tables: one `Table` shown with great-tables (HTML), as Markdown (PDF), and
written to `tables.xlsx` (one sheet per table) and CSV, all from the same sorted frame.

Values are formatted once, in Polars, into display strings, so the HTML, the PDF and the
notebook show the very same text; the workbook and CSV keep the typed values (a rate stays a
number that Excel formats as a percentage) under the same headers.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl
from great_tables import GT, loc, style

from .fonts import FONT_STACK

Kind = Literal[
    "text",
    "text_int",
    "int",
    "signed_int",
    "num",
    "pct",
    "pct_pt",
    "area",
    "yuan",
    "wan",
    "date",
    "bool",
    "mixed",
    "mixed_delta",
]
#: Kinds shown as text (left-aligned).
TEXT_KINDS = frozenset({"text", "text_int", "date", "bool"})
TABLE_MIME = "application/vnd.louyu.table+json"
#: The mark shown where a figure is withheld by disclosure control.
SUPPRESSED_MARK = "‡"
MISSING_MARK = "—"
#: Sheet names: Excel allows 31 characters and none of []:*?/\ .
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_STEM = re.compile(r"[a-z0-9_]+")


@dataclass(frozen=True)
class Column:
    """How one column is headed and formatted (`kind`), and whether it is a figure."""

    name: str
    label: str
    kind: Kind = "text"
    decimals: int | None = None
    #: for kinds "mixed"/"mixed_delta": a boolean column; true rows are rates (%, pp),
    #: the others counts
    percent_if: str | None = None


@dataclass(frozen=True)
class Table:
    """A publication table: a frame (already sorted), its columns' labels and formats.

    `suppressed` maps a value column to a boolean column of the frame: where true, the value
    is withheld (shown as ‡, empty in the workbook) and a note says why.
    """

    name: str
    title: str
    frame: pl.DataFrame
    columns: tuple[Column, ...]
    notes: tuple[str, ...] = ()
    suppressed: Mapping[str, str] = field(default_factory=dict)
    sheet: str = ""

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        refs = [c.percent_if for c in self.columns if c.percent_if]
        missing = [
            n for n in [*names, *self.suppressed.values(), *refs] if n not in self.frame.columns
        ]
        if missing:
            raise ValueError(f"table {self.name}: frame lacks column(s) {missing}")
        if len({c.label for c in self.columns}) != len(self.columns):
            raise ValueError(f"table {self.name}: two columns share a label")

    # --- values -------------------------------------------------------------------------

    def typed(self) -> pl.DataFrame:
        """The values written to xlsx/CSV: labelled headers, withheld values emptied,
        dates as ISO text (so the workbook and the CSV read back alike)."""
        exprs = []
        for col in self.columns:
            e = pl.col(col.name)
            dtype = self.frame.schema[col.name]
            if dtype.is_temporal():
                e = e.dt.to_string("%Y-%m-%d" if dtype == pl.Date else "%Y-%m-%dT%H:%M:%S")
            if col.kind == "wan":  # the header says 万元: so does the value
                e = (e.cast(pl.Float64) / 10_000).round(4)
            elif dtype.is_float():
                # short, exact decimals: the workbook (%.16G) and the CSV (repr) then agree
                e = e.round(
                    6 if col.kind in ("pct", "pct_pt", "num", "mixed", "mixed_delta") else 2
                )
            if col.name in self.suppressed:
                e = (
                    pl.when(pl.col(self.suppressed[col.name]).fill_null(False))
                    .then(None)
                    .otherwise(e)
                )
            exprs.append(e.alias(col.label))
        return self.frame.select(exprs)

    def display(self) -> pl.DataFrame:
        """Every cell as the text a reader sees (same in HTML, PDF and notebook)."""
        exprs = []
        for col in self.columns:
            e = _format(pl.col(col.name), col, self.frame.schema[col.name])
            if col.percent_if:
                rate = "pct" if col.kind == "mixed" else "pct_pt"
                count = "int" if col.kind == "mixed" else "signed_num"
                as_rate = _format(pl.col(col.name), Column(col.name, col.label, rate), pl.Float64)  # type: ignore[arg-type]
                as_count = _format(
                    pl.col(col.name),
                    Column(col.name, col.label, count, col.decimals),
                    pl.Float64,  # type: ignore[arg-type]
                )
                e = pl.when(pl.col(col.percent_if)).then(as_rate).otherwise(as_count)
            e = e.fill_null(MISSING_MARK)
            if col.name in self.suppressed:
                e = (
                    pl.when(pl.col(self.suppressed[col.name]).fill_null(False))
                    .then(pl.lit(SUPPRESSED_MARK))
                    .otherwise(e)
                )
            exprs.append(e.alias(col.label))
        return self.frame.select(exprs)

    # --- outputs ------------------------------------------------------------------------

    def gt(self) -> GT:
        """The great-tables object (deterministic id so rebuilt HTML is identical)."""
        shown = self.display()
        numeric = [c.label for c in self.columns if c.kind not in TEXT_KINDS]
        g = (
            GT(shown, id=f"tbl-{self.name}")
            .tab_header(title=self.title)
            .opt_table_font(font=[FONT_STACK])
            .opt_row_striping()
            .tab_options(
                table_font_size="13px",
                heading_title_font_size="15px",
                heading_align="left",
                column_labels_font_weight="bold",
                table_width="100%",
                data_row_padding="3px",
            )
            .cols_align(
                align="left", columns=[c.label for c in self.columns if c.label not in numeric]
            )
        )
        if numeric:
            g = g.cols_align(align="right", columns=numeric).tab_style(
                style=style.text(v_align="middle"), locations=loc.body(columns=numeric)
            )
        for note in self.notes:
            g = g.tab_source_note(note)
        return g

    def html(self) -> str:
        return self.gt().as_raw_html()

    def markdown(self) -> str:
        """A pipe table with the same display text (what pandoc turns into a Typst table)."""
        shown = self.display()
        labels = [c.label for c in self.columns]
        aligns = [":--" if c.kind in TEXT_KINDS else "--:" for c in self.columns]
        lines = [f"**{_md_escape(self.title)}**", ""]
        lines.append("| " + " | ".join(_md_escape(label) for label in labels) + " |")
        lines.append("|" + "|".join(aligns) + "|")
        for row in shown.iter_rows():
            lines.append("| " + " | ".join(_md_escape(str(v)) for v in row) + " |")
        if not shown.height:
            lines = [*lines[:2], "*(" + _EMPTY_NOTE + ")*"]
        lines.append("")
        lines.extend(f"*{_md_escape(n)}*\n" for n in self.notes)
        return "\n".join(lines) + "\n"

    def payload(self) -> dict[str, Any]:
        """JSON-ready typed content: travels in the notebook output so the renderer can write
        the workbook and CSV from the executed notebook alone."""
        typed = self.typed()
        columns = []
        for c in self.columns:
            entry: dict[str, Any] = {"label": c.label, "kind": c.kind}
            if c.percent_if:  # which rows are rates (the workbook formats them as %)
                entry["rate_rows"] = self.frame.get_column(c.percent_if).fill_null(False).to_list()
            columns.append(entry)
        return {
            "name": self.name,
            "title": self.title,
            "sheet": self.sheet or self.title,
            "columns": columns,
            "rows": [list(r) for r in typed.iter_rows()],
        }

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        body = (
            self.html()
            if self.frame.height
            else f"<p><b>{self.title}</b></p><p><i>{_EMPTY_NOTE}</i></p>"
        )
        data = {"text/html": body, "text/markdown": self.markdown(), "text/plain": self.title}
        return data, {"louyu": {"kind": "table", "table": self.payload()}}


_EMPTY_NOTE = "无 / none"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _format(e: pl.Expr, col: Column, dtype: pl.DataType) -> pl.Expr:
    """Display text of one column by its kind; thousands separators, fixed decimals."""
    kind = col.kind
    if kind == "text" or dtype == pl.String:
        return e.cast(pl.String)
    if kind == "bool":
        return pl.when(e).then(pl.lit("✓")).otherwise(pl.lit(""))
    if kind == "date":
        return e.dt.to_string("%Y-%m-%d") if dtype.is_temporal() else e.cast(pl.String)
    if kind == "pct":
        d = 1 if col.decimals is None else col.decimals
        return _thousands(e.cast(pl.Float64) * 100, d) + pl.lit("%")
    if kind == "pct_pt":  # a difference of two rates, in percentage points
        d = 1 if col.decimals is None else col.decimals
        v = e.cast(pl.Float64) * 100
        return (
            pl.when(v > 0).then(pl.lit("+")).otherwise(pl.lit(""))
            + _thousands(v, d)
            + pl.lit(" pp")
        )
    if kind == "wan":  # yuan shown in 10,000 yuan (万元)
        d = 1 if col.decimals is None else col.decimals
        return _thousands(e.cast(pl.Float64) / 10_000, d)
    if kind == "int":
        return _thousands(e.cast(pl.Float64), 0)
    if kind == "text_int":
        return e.cast(pl.Int64).cast(pl.String)
    if kind in ("signed_int", "signed_num"):
        d = 0 if col.decimals is None or kind == "signed_int" else col.decimals
        v = e.cast(pl.Float64).round(d)
        return pl.when(v > 0).then(pl.lit("+")).otherwise(pl.lit("")) + _thousands(v, d)
    d = {"area": 0, "yuan": 0, "num": 2}.get(kind, 2) if col.decimals is None else col.decimals
    return _thousands(e.cast(pl.Float64), d)


def _thousands(e: pl.Expr, decimals: int) -> pl.Expr:
    """Fixed decimals with thousands separators, computed by expressions (no row loop)."""
    r = e.round(decimals)
    sign = pl.when(r < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    a = r.abs()
    whole = a.floor().cast(pl.Int64).cast(pl.String)
    grouped = (
        whole.str.reverse()
        .str.replace_all(r"(\d{3})", "$1,")
        .str.reverse()
        .str.strip_chars_start(",")
    )
    if decimals <= 0:
        return sign + grouped
    frac = ((a - a.floor()) * 10**decimals).round(0).cast(pl.Int64)
    # carry when rounding the fraction reaches 10**decimals (e.g. 0.9999 at 2 decimals)
    carry = frac >= 10**decimals
    whole2 = (
        pl.when(carry)
        .then((a.floor() + 1).cast(pl.Int64))
        .otherwise(a.floor().cast(pl.Int64))
        .cast(pl.String)
    )
    grouped = (
        whole2.str.reverse()
        .str.replace_all(r"(\d{3})", "$1,")
        .str.reverse()
        .str.strip_chars_start(",")
    )
    frac = pl.when(carry).then(0).otherwise(frac).cast(pl.String).str.zfill(decimals)
    return sign + grouped + pl.lit(".") + frac


# --- files ------------------------------------------------------------------------------


def sheet_names(titles: Sequence[str]) -> list[str]:
    """Valid, unique Excel sheet names (≤ 31 chars) from table titles, in order."""
    out: list[str] = []
    for t in titles:
        base = _SHEET_BAD.sub("_", t).strip("'")[:31] or "Sheet"
        name, i = base, 2
        while name.lower() in (n.lower() for n in out):
            suffix = f"~{i}"
            name, i = base[: 31 - len(suffix)] + suffix, i + 1
        out.append(name)
    return out


def file_stems(payloads: Sequence[Mapping[str, Any]]) -> list[str]:
    """File stems of tables (or charts), in report order: each one's own name (`market` →
    `tables/market.csv`), never its position, so adding a table renames no other file (the
    workbook keeps the report's order). A name must be a lower-case identifier and unique."""
    stems = [str(p["name"]) for p in payloads]
    bad = [s for s in stems if not _STEM.fullmatch(s)]
    if bad:
        raise ValueError(f"table/chart name(s) {bad} not usable as file names ([a-z0-9_]+)")
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise ValueError(f"two tables or charts are named {', '.join(twice)}: names are file names")
    return stems


_XLSX_FORMATS: dict[str, dict[str, Any]] = {
    "int": {"num_format": "#,##0"},
    "signed_int": {"num_format": "+#,##0;-#,##0;0"},
    "num": {"num_format": "#,##0.00"},
    "pct": {"num_format": "0.0%"},
    "pct_pt": {"num_format": "+0.0%;-0.0%;0.0%"},
    "area": {"num_format": "#,##0"},
    "yuan": {"num_format": "#,##0"},
    "wan": {"num_format": "#,##0.0"},
}


def write_xlsx(
    payloads: Sequence[Mapping[str, Any]], path: Path, created: datetime | None = None
) -> Path:
    """One sheet per table (headers as labelled), typed values, frozen header; deterministic
    bytes (fixed document date, xlsxwriter's fixed zip times)."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_urls": False}
    )
    wb.set_properties(
        {"created": created or datetime(2000, 1, 1), "title": "louyu-research tables"}
    )
    head = wb.add_format(
        {"bold": True, "bg_color": "#dde6f2", "border": 1, "text_wrap": True, "valign": "top"}
    )
    formats = {k: wb.add_format(v) for k, v in _XLSX_FORMATS.items()}
    names = sheet_names([p.get("sheet") or p["title"] for p in payloads])
    for payload, sheet in zip(payloads, names, strict=True):
        ws = wb.add_worksheet(sheet)
        cols = payload["columns"]
        for j, c in enumerate(cols):
            ws.write_string(0, j, c["label"], head)
            width = max([_width(c["label"])] + [_width(r[j]) for r in payload["rows"][:500]])
            ws.set_column(
                j,
                j,
                min(max(width + 2, 8), 60),
                formats.get(c["kind"]) if "rate_rows" not in c else None,
            )
        for i, row in enumerate(payload["rows"], start=1):
            for j, v in enumerate(row):
                kind = cols[j]["kind"]
                if "rate_rows" in cols[j]:
                    rate = cols[j]["rate_rows"][i - 1]
                    kind = (
                        ("pct" if rate else "int")
                        if kind == "mixed"
                        else ("pct_pt" if rate else "num")
                    )
                _write_cell(ws, i, j, v, formats.get(kind))
        ws.freeze_panes(1, 0)
        if payload["rows"]:
            ws.autofilter(0, 0, len(payload["rows"]), max(len(cols) - 1, 0))
    wb.close()
    path.write_bytes(buf.getvalue())
    return path


def _write_cell(ws: Any, i: int, j: int, v: Any, fmt: Any) -> None:
    if v is None:
        ws.write_blank(i, j, None, fmt)
    elif isinstance(v, bool):
        ws.write_boolean(i, j, v)
    elif isinstance(v, int | float):
        ws.write_number(i, j, v, fmt)
    else:
        ws.write_string(i, j, str(v))


def _width(v: Any) -> int:
    s = "" if v is None else str(v)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in s)


def csv_text(payload: Mapping[str, Any]) -> str:
    """CSV of a table's typed values (labelled header; empty cell = withheld or missing)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([c["label"] for c in payload["columns"]])
    for row in payload["rows"]:
        w.writerow(["" if v is None else _csv_value(v) for v in row])
    return out.getvalue()


def _csv_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, date | datetime):
        return v.isoformat()
    return str(v)


def write_csvs(payloads: Sequence[Mapping[str, Any]], folder: Path) -> list[Path]:
    """`folder/<name>.csv` for every table, UTF-8 with BOM (Excel opens Chinese correctly)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for payload, stem in zip(payloads, file_stems(payloads), strict=True):
        p = folder / f"{stem}.csv"
        p.write_text(csv_text(payload), encoding="utf-8-sig", newline="")
        paths.append(p)
    return paths


def canonical_json(payloads: Iterable[Mapping[str, Any]]) -> str:
    """Canonical JSON of tables (sorted keys): what a manifest hashes."""
    return json.dumps(list(payloads), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
