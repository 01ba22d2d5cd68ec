"""Files → sheets of text cells: `.xlsx` and legacy `.xls` through calamine (fastexcel, via
`polars.read_excel`), `.csv` in UTF-8 (with or without BOM) or GB18030/GBK.

Every cell is read as text (Excel's dates as `2016-03-15 00:00:00`, numbers as `1234.5`) so that
`cells` decides what a value means, and every row keeps the number a spreadsheet shows
(`_row`, 1-based), so an error can name it. Nothing here knows the kinds of return: a file
that cannot be read at all (empty, encrypted, corrupt, of another format) is an `Issue`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .issues import IntakeRejected, Issue

EXCEL = (".xlsx", ".xlsm", ".xls")
SUFFIXES = (*EXCEL, ".csv")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a compound file: legacy .xls, or an encrypted .xlsx
_ZIP = b"PK\x03\x04"
_ENCRYPTED_OOXML = "EncryptionInfo".encode("utf-16-le")
META_SHEET = "_meta"


@dataclass(frozen=True)
class Sheet:
    """One sheet (a CSV file is one sheet without a name): text cells and row numbers."""

    file: str  # the file's name as shown in messages
    name: str | None
    cells: pl.DataFrame  # column_0 … column_n (String), and `_row` (Int64, 1-based)


def _fail(path: Path, zh: str, en: str) -> IntakeRejected:
    return IntakeRejected([Issue(path.name, None, None, None, zh, en)])


def read_sheets(path: str | Path) -> list[Sheet]:
    """Every sheet of a file as text cells (hidden sheets too; `META_SHEET` is a template's)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise _fail(
            p,
            f"不支持的文件类型「{p.suffix}」（可用 .xlsx、.xls、.csv）",
            f"unsupported file type {p.suffix!r} (use .xlsx, .xls or .csv)",
        )
    try:
        data = p.read_bytes()
    except OSError as err:
        raise _fail(p, f"无法读取文件：{err.strerror}", f"cannot read the file: {err}") from None
    if not data.strip():
        raise _fail(p, "文件是空的", "the file is empty")
    if suffix == ".csv":
        return [_read_csv(p, data)]
    return _read_excel(p, data)


def decode_csv(data: bytes) -> tuple[str, str]:
    """(text, encoding) of CSV bytes: UTF-8 with BOM, UTF-8, else GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030"), "gb18030"


def _read_csv(p: Path, data: bytes) -> Sheet:
    try:
        text, _encoding = decode_csv(data)
    except UnicodeDecodeError:
        raise _fail(
            p,
            "无法识别文件编码（应为 UTF-8 或 GB18030/GBK）",
            "cannot decode the file (expected UTF-8 or GB18030/GBK)",
        ) from None
    if "\x00" in text[:4096]:
        raise _fail(p, "不是文本格式的CSV文件", "not a CSV text file")
    try:
        frame = pl.read_csv(
            io.StringIO(text.replace("\r\n", "\n")),
            has_header=False,
            infer_schema=False,
            truncate_ragged_lines=True,
            raise_if_empty=False,
        )
    except pl.exceptions.ComputeError as err:
        raise _fail(p, f"CSV格式有误：{err}", f"malformed CSV: {err}") from None
    # Polars skips no line of the text (a blank line is a row of nulls), so the row index is
    # the line number as long as no quoted cell spans lines; such a cell shifts later rows.
    frame = frame.rename({c: f"column_{i}" for i, c in enumerate(frame.columns)})
    return Sheet(
        p.name,
        None,
        frame.with_row_index("_row", offset=1).with_columns(pl.col("_row").cast(pl.Int64)),
    )


def _read_excel(p: Path, data: bytes) -> list[Sheet]:
    if data.startswith(_OLE) and _ENCRYPTED_OOXML in data:
        raise _fail(
            p,
            "工作簿已加密（设有打开密码）：请去掉密码后另存再报送",
            "the workbook is encrypted (password to open): save it without a password and send it again",
        )
    if not data.startswith((_OLE, _ZIP)):
        raise _fail(
            p,
            f"不是Excel工作簿（文件名为{p.suffix}，内容却不是）或文件已损坏",
            f"not an Excel workbook (named {p.suffix}, but its content is not) or the file is corrupt",
        )
    try:
        books = pl.read_excel(
            io.BytesIO(data),
            engine="calamine",
            sheet_id=0,
            has_header=False,
            read_options={"header_row": None, "dtypes": "string", "skip_rows": 0},
            drop_empty_rows=False,
            drop_empty_cols=False,
            raise_if_empty=False,
        )
    except Exception as err:  # calamine's errors differ by format; each means "cannot be read"
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        if "password" in message.lower() or "encrypt" in message.lower():
            raise _fail(
                p,
                "工作簿已加密（设有打开密码）：请去掉密码后另存再报送",
                "the workbook is encrypted (password to open): save it without a password and send it again",
            ) from None
        raise _fail(
            p,
            f"工作簿已损坏或无法读取（{message}）",
            f"the workbook is corrupt or cannot be read ({message})",
        ) from None
    sheets = []
    for name, frame in books.items():
        frame = frame.select(pl.all().cast(pl.String))
        frame = frame.rename({c: f"column_{i}" for i, c in enumerate(frame.columns)})
        sheets.append(
            Sheet(
                p.name,
                name,
                frame.with_row_index("_row", offset=1).with_columns(pl.col("_row").cast(pl.Int64)),
            )
        )
    return sheets


def read_meta(sheets: list[Sheet]) -> dict[str, str]:
    """A template's hidden metadata sheet (`key`, `value` rows) or an empty dict."""
    for sheet in sheets:
        if sheet.name == META_SHEET and sheet.cells.width >= 3:
            rows = sheet.cells.select("column_0", "column_1").drop_nulls().rows()
            return {str(k): str(v) for k, v in rows}
    return {}
