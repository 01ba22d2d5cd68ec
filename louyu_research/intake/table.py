"""Sheets of text → one typed frame per kind of return, with every problem of every cell.

The header row is found among a sheet's first rows (a title above it is common), columns are
matched by header (`columns`), and every cell is parsed (`cells`) in one pass of Polars
expressions. A header that nearly matches an expected one is a misspelling (an error with the
suggestion); other extra columns (备注 …) are ignored and listed. A file whose headers are those
of another kind is named as such.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import polars as pl

from . import cells
from .columns import (
    AREA_UNITS,
    KIND_NAMES,
    KINDS,
    MONEY_UNITS,
    SPECS,
    Column,
    lookup,
    normalise_header,
)
from .issues import Issue
from .readers import Sheet

HEADER_SEARCH_ROWS = 30


@dataclass
class Table:
    """The typed rows of one kind from one or more files, and what was wrong with them."""

    kind: str
    frame: (
        pl.DataFrame
    )  # the columns' keys (text as read, typed after `parse_rows`); `_file`, `_sheet`, `_row`
    headers: dict[tuple[str, str | None], dict[str, str]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # extra columns nobody asked for

    def header(self, file: str, sheet: str | None, key: str) -> str:
        """The header of column `key` as the file wrote it (else the expected one)."""
        spec = {c.key: c for c in SPECS[self.kind]}
        return self.headers.get((file, sheet), {}).get(
            key, spec[key].header if key in spec else key
        )


def _dtype(col: Column) -> pl.DataType:
    return {
        "date": pl.Date(),
        "area": pl.Float64(),
        "money": pl.Float64(),
        "ratio": pl.Float64(),
        "lon": pl.Float64(),
        "lat": pl.Float64(),
        "count": pl.Int64(),
        "bool": pl.Boolean(),
    }.get(col.value, pl.String())


def _header_score(row: list[str | None], kind: str) -> int:
    names = lookup(kind)
    return sum(1 for v in row if v is not None and normalise_header(v)[0] in names)


def _find_header(sheet: Sheet, kind: str) -> tuple[int | None, dict[str, int]]:
    """(index of the header row in `sheet.cells`, score per kind of the best row)."""
    top = sheet.cells.head(HEADER_SEARCH_ROWS).drop("_row").rows()
    best: dict[str, tuple[int, int]] = {}
    for i, row in enumerate(top):
        for k in KINDS:
            s = _header_score(list(row), k)
            if s > best.get(k, (0, -1))[0]:
                best[k] = (s, i)
    scores = {k: v[0] for k, v in best.items()}
    mine = best.get(kind)
    others = max((v for k, v in scores.items() if k != kind), default=0)
    if mine is None or mine[0] < 2 or mine[0] < others:
        return None, scores
    return mine[1], scores


def read_table(kind: str, sheets: list[Sheet]) -> Table:
    """The rows of `kind` in the sheets of one file (all their issues collected)."""
    issues: list[Issue] = []
    parts: list[pl.DataFrame] = []
    headers: dict[tuple[str, str | None], dict[str, str]] = {}
    ignored: list[str] = []
    other_kinds: dict[str, int] = {}
    file = sheets[0].file if sheets else "?"
    data_sheets = [s for s in sheets if not (s.name or "").startswith("_")]
    for sheet in data_sheets:
        at, scores = _find_header(sheet, kind)
        if at is None:
            for k, s in scores.items():
                if k != kind and s >= max(2, scores.get(kind, 0)):
                    other_kinds[k] = max(other_kinds.get(k, 0), s)
            continue
        frame, mapped, sheet_issues, extra = _read_sheet(kind, sheet, at)
        issues += sheet_issues
        ignored += extra
        headers[(sheet.file, sheet.name)] = mapped
        if frame is not None:
            parts.append(frame)
    zh, en = KIND_NAMES[kind]
    if not headers:
        if other_kinds:
            other = max(other_kinds, key=other_kinds.__getitem__)
            ozh, oen = KIND_NAMES[other]
            issues.append(
                Issue(
                    file,
                    None,
                    None,
                    None,
                    f"这是一份{ozh}，不是{zh}：请用 louyu intake {other} 导入",
                    f"this is a {oen} file, not a {en}: take it in with `louyu intake {other}`",
                )
            )
        else:
            expected = "、".join(c.header for c in SPECS[kind] if c.required)
            issues.append(
                Issue(
                    file,
                    None,
                    None,
                    None,
                    f"找不到{zh}的表头行（应有：{expected}）",
                    f"no header row of a {en} found (expected: {expected})",
                )
            )
    frame = pl.concat(parts, how="diagonal_relaxed") if parts else raw_frame(kind)
    if not issues and frame.is_empty():
        issues.append(
            Issue(file, None, None, None, f"{zh}中没有数据行", f"the {en} has no data rows")
        )
    return Table(kind, frame, headers, issues, ignored)


def raw_frame(kind: str) -> pl.DataFrame:
    """An empty frame of a kind's raw text columns (what `read_table` gives before parsing)."""
    schema: dict[str, pl.DataType] = {"_row": pl.Int64()}
    schema |= {c.key: pl.String() for c in SPECS[kind]}
    schema |= {f"_unit_{c.key}": pl.String() for c in SPECS[kind]}
    schema |= {"_file": pl.String(), "_sheet": pl.String()}
    return pl.DataFrame(schema=schema)


def parse_rows(table: Table) -> Table:
    """The raw text of every file's rows (one table) parsed in one pass: typed columns, and
    an `Issue` per bad cell (named by the header its file wrote)."""
    kind = table.kind
    raw = pl.concat([raw_frame(kind), table.frame], how="diagonal_relaxed")
    codes = [c.key for c in SPECS[kind] if c.value in ("uscc", "taxpayer")]
    raw = raw.with_columns(cells.uscc_check(pl.col(k)).alias(f"_check_{k}") for k in codes)
    exprs: list[pl.Expr] = []
    problems: list[tuple[str, pl.Expr, pl.Expr]] = []
    for c in SPECS[kind]:
        col = pl.col(c.key)
        check = pl.col(f"_check_{c.key}") if c.key in codes else None
        parsed = cells.parse(c.value, col, pl.col(f"_unit_{c.key}"), check)
        exprs.append(parsed.value.cast(_dtype(c)).alias(c.key))
        zh, en = parsed.zh, parsed.en
        if c.required and not (kind == "roster" and c.key == "area_m2"):
            # only where the file has the column (a missing column is one issue, not one a row)
            empty = cells.text(col).is_null() & pl.col(f"_unit_{c.key}").is_not_null()
            zh = pl.when(empty).then(pl.lit("必填项为空")).otherwise(zh)
            en = pl.when(empty).then(pl.lit("required cell is empty")).otherwise(en)
        problems.append((c.key, zh.alias(f"_zh_{c.key}"), en.alias(f"_en_{c.key}")))
    raw = raw.with_row_index("_index")
    typed = raw.select("_index", "_file", "_sheet", "_row", *exprs, *[p[1] for p in problems])
    # the rows with a problem (few, if any), and the English of their problems, made for them
    # only: a problem is named in both languages, so the Chinese says which rows have one
    bad = typed.filter(
        pl.any_horizontal(pl.col(zh.meta.output_name()).is_not_null() for _, zh, _ in problems)
    )
    english = raw.join(bad.select("_index"), on="_index", how="semi").select(
        "_index", *[p[2] for p in problems]
    )
    bad = bad.join(english, on="_index", how="left", maintain_order="left")
    # every column's problems in one long frame (file, sheet, row, column, zh, en)
    long = (
        bad.select(
            "_file",
            "_sheet",
            "_row",
            pl.concat_list(
                pl.struct(
                    pl.lit(key).alias("key"),
                    pl.col(zh.meta.output_name()).alias("zh"),
                    pl.col(en.meta.output_name()).alias("en"),
                )
                for key, zh, en in problems
            ).alias("_p"),
        )
        .explode("_p")
        .unnest("_p")
        .filter(pl.col("zh").is_not_null())
    )
    issues = list(table.issues)
    for file, sheet, row, key, zh_text, en_text in long.iter_rows():
        issues.append(Issue(file, sheet, row, table.header(file, sheet, key), zh_text, en_text))
    frame = typed.select(*[e.meta.output_name() for e in exprs], "_file", "_sheet", "_row")
    return Table(kind, frame, table.headers, issues, table.ignored)


def _read_sheet(
    kind: str, sheet: Sheet, at: int
) -> tuple[pl.DataFrame | None, dict[str, str], list[Issue], list[str]]:
    names = lookup(kind)
    specs = SPECS[kind]
    header_row = sheet.cells.row(at, named=True)
    header_line = header_row["_row"]
    issues: list[Issue] = []
    mapped: dict[str, str] = {}  # key → header as written
    source: dict[str, str] = {}  # key → column_i
    units: dict[str, str] = {}
    unknown: list[tuple[str, str]] = []

    def issue(column: str | None, zh: str, en: str) -> None:
        issues.append(Issue(sheet.file, sheet.name, header_line, column, zh, en))

    for col_name, value in header_row.items():
        if col_name == "_row" or value is None or not str(value).strip():
            continue
        written = str(value).strip()
        norm, unit = normalise_header(written)
        spec = names.get(norm)
        if spec is None:
            unknown.append((col_name, written))
            continue
        if spec.key in source:
            issue(
                written,
                f"列「{written}」与「{mapped[spec.key]}」重复",
                f"column {written!r} repeats {mapped[spec.key]!r}",
            )
            continue
        allowed = (
            AREA_UNITS if spec.value == "area" else MONEY_UNITS if spec.value == "money" else ()
        )
        if unit is not None and unit not in allowed:
            issue(
                written,
                f"单位「{unit}」不适用于{spec.zh}（可用：{'、'.join(allowed) or '无单位'}）",
                f"unit {unit!r} does not fit {spec.en} (allowed: {', '.join(allowed) or 'none'})",
            )
        mapped[spec.key] = written
        source[spec.key] = col_name
        units[spec.key] = unit or spec.unit or ""  # "": the column is there, no unit

    missing = [c for c in specs if c.required and c.key not in source]
    if kind == "roster" and "building_id" not in source and "building_name" not in source:
        missing.insert(0, next(c for c in specs if c.key == "building_name"))
    candidates = {n: c for n, c in names.items() if c in missing or c.key not in source}
    extra: list[str] = []
    for _col, written in unknown:
        close = difflib.get_close_matches(
            normalise_header(written)[0], list(candidates), n=1, cutoff=0.6
        )
        if close:
            want = candidates[close[0]]
            issue(
                written,
                f"无法识别的列名「{written}」，是否应为「{want.header}」？",
                f"unknown column {written!r}: did you mean {want.header!r}?",
            )
            if want in missing:
                missing.remove(want)  # named once, as the misspelling
        else:
            extra.append(f"{sheet.file}:{sheet.name or ''}:{written}")
    for c in missing:
        alt = "（或「楼宇编号」）" if c.key == "building_name" else ""
        alt_en = " (or 楼宇编号)" if c.key == "building_name" else ""
        issue(
            c.header,
            f"缺少必填列「{c.header}」{alt}",
            f"required column {c.header!r} ({c.en}){alt_en} is missing",
        )

    body = sheet.cells.slice(at + 1)
    used = [source[k] for k in source]
    if not used:
        return None, mapped, issues, extra
    body = body.filter(pl.any_horizontal(cells.text(pl.col(c)).is_not_null() for c in used))
    if body.is_empty():
        return None, mapped, issues, extra
    frame = body.select(
        "_row",
        *[pl.col(source[k]).cast(pl.String).alias(k) for k in source],
        *[pl.lit(units[k], dtype=pl.String).alias(f"_unit_{k}") for k in source],
        pl.lit(sheet.file).alias("_file"),
        pl.lit(sheet.name, dtype=pl.String).alias("_sheet"),
    )
    return frame, mapped, issues, extra
