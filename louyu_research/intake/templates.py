"""The .xlsx templates the office sends out (INTAKE.md): a street's roster for a month,
pre-filled with the tenants of its buildings as of the previous month end (so a street only
edits what changed), the buildings register, and the tax file.

Each template has the data sheet first (what a CSV export of it keeps), units in the headers,
drop-down validation (the street's buildings, industry codes of the edition in force, 是/否,
statuses and reasons), an instructions sheet (填写说明, Chinese with English), a hidden sheet of
lists the drop-downs read, and a hidden `_meta` sheet naming the template's kind, street,
month and the log position it was made from (intake reads the month from it).
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from ..replay import Log
from .change import month_end, previous_month
from .columns import CHOICE_LISTS, SPECS, Column
from .readers import META_SHEET

LISTS_SHEET = "_lists"
ROWS_FOR_ADDITIONS = 500
#: GB/T 4754-2017 applies to statistics from 2017-10-01 on; before, the 2011 edition.
EDITION_2017_FROM = "2017-10"

#: What a person writes in the city's forms for each event value (a spelling that
#: `columns.CHOICES` accepts): the templates' lists, and the sample's simulated returns.
YES_NO_ZH = {True: "是", False: "否"}
CATEGORY_ZH = {
    "office": "商务写字楼",
    "complex": "商业综合体",
    "industrial": "产业楼宇",
    "mixed": "混合",
}
GRADE_ZH = {"A": "甲", "B": "乙", "C": "丙"}
STATUS_ZH = {"planned": "规划", "under_construction": "在建", "completed": "已建成"}

_INSTRUCTIONS: dict[str, list[tuple[str, str]]] = {
    "roster": [
        (
            "本表为楼宇入驻企业名录：每栋列出的楼宇须列出月末在驻的全部企业（完整快照）。",
            "A roster is a full snapshot: list every enterprise in each listed building at the month end.",
        ),
        (
            "表中已预填上月末在驻企业：只需修改变化之处——新入驻企业加一行，迁出企业将「状态」改为「已迁出」并填迁出日期，面积等变化直接改。",
            "Last month's tenants are pre-filled: add a row for a new tenant, set 状态 to 已迁出 (with the date) for one that left, edit what changed.",
        ),
        (
            "未列出的楼宇不受影响；已列出的楼宇中被删去的企业视为迁出。",
            "Buildings not listed are untouched; a tenant deleted from a listed building counts as moved out.",
        ),
        (
            "统一社会信用代码为18位（字母大写）；请勿把该列改成数字格式。",
            "The unified social credit code has 18 characters (upper case); keep its column as text.",
        ),
        (
            "日期写作 2016-03-15、2016/3/15、2016.3.15 或 2016年3月15日；面积单位为平方米。",
            "Dates as 2016-03-15, 2016/3/15, 2016.3.15 or 2016年3月15日; areas in square metres.",
        ),
        (
            "行业代码按 GB/T 4754（门类字母加数字，如 I65），并填所用版本（2011 或 2017）。",
            "Industry codes per GB/T 4754 (section letter and digits, e.g. I65), with the edition (2011 or 2017).",
        ),
        (
            "橙色表头的列为必填：楼宇名称（或楼宇编号）、统一社会信用代码、企业名称、租用面积、是否注册在本楼、行业代码。",
            "Orange headers are required: building name (or id), USCC, enterprise name, area, registered here, industry code.",
        ),
    ],
    "buildings": [
        (
            "本表为楼宇基本信息：已登记楼宇已预填，修改变化之处；新楼宇加一行，楼宇编号留空即自动编号。",
            "Registered buildings are pre-filled: edit what changed; add a row for a new building (leave the id empty to get one).",
        ),
        (
            "楼宇类别：商务写字楼、商业综合体、产业楼宇、混合；状态：规划、在建、已建成；面积单位为平方米。",
            "Category: office, complex, industrial, mixed; status: planned, under construction, completed; areas in m².",
        ),
        (
            "楼宇退出统计时填写退出日期和退出原因。",
            "When a building leaves the statistics, give the date and reason.",
        ),
    ],
    "tax": [
        (
            "每行一个纳税人一个所属期；纳税人识别号填18位统一社会信用代码或15位税务登记号。",
            "One row per taxpayer and period; the taxpayer id is the 18-character USCC or a 15-character tax number.",
        ),
        (
            "税款所属期写作 2016-03；金额单位见表头（元），如按万元报送请把表头改为「税收金额（万元）」。",
            "Period as 2016-03; the amount's unit is in the header (元); for 万元 change the header to 税收金额（万元）.",
        ),
        (
            "2018年国地税合并前分别报送的，征收机关填「国税」或「地税」；合并后填「税务」或留空。",
            "Before the 2018 merger, give the bureau (国税 national or 地税 local); after it, 税务 or empty.",
        ),
    ],
}


def _edition(month: str) -> str:
    return "2017" if month >= EDITION_2017_FROM else "2011"


class _Book:
    """A template workbook: the data sheet, instructions, lists and metadata."""

    def __init__(self, path: Path, kind: str, title: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.wb = xlsxwriter.Workbook(path, {"strings_to_numbers": False})
        self.kind = kind
        self.data = self.wb.add_worksheet(title)
        self.header = self.wb.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
        )
        self.required = self.wb.add_format(
            {"bold": True, "bg_color": "#FCE4D6", "border": 1, "text_wrap": True, "valign": "top"}
        )
        self.text = self.wb.add_format({"num_format": "@"})
        self.day = self.wb.add_format({"num_format": "yyyy-mm-dd"})
        self.number = self.wb.add_format({"num_format": "#,##0.00"})
        self.lists = self.wb.add_worksheet(LISTS_SHEET)
        self.n_lists = 0

    def columns(self, cols: tuple[Column, ...]) -> None:
        for j, c in enumerate(cols):
            self.data.write_string(0, j, c.header, self.required if c.required else self.header)
            width = 22 if c.value in ("uscc", "taxpayer", "text") else 14
            fmt = (
                self.text
                if c.value in ("uscc", "taxpayer", "text", "id", "industry", "period")
                else None
            )
            if c.value == "date":
                fmt = self.day
            self.data.set_column(j, j, width, fmt)
        self.data.freeze_panes(1, 0)

    def list_range(self, values: list[str]) -> str:
        """Write a list on the hidden lists sheet; the range a validation reads."""
        col = self.n_lists
        self.n_lists += 1
        for i, v in enumerate(values):
            self.lists.write_string(i, col, v)
        letter = xlsxwriter.utility.xl_col_to_name(col)
        return f"={LISTS_SHEET}!${letter}$1:${letter}${max(len(values), 1)}"

    def dropdown(self, col: int, last_row: int, values: list[str], *, strict: bool = True) -> None:
        if not values:
            return
        self.data.data_validation(
            1,
            col,
            last_row,
            col,
            {
                "validate": "list",
                "source": self.list_range(values),
                "error_type": "stop" if strict else "warning",
                "error_title": "请从列表中选择 / choose from the list",
                "error_message": "可选："
                + "、".join(values[:20])
                + ("…" if len(values) > 20 else ""),
            },
        )

    def finish(self, meta: dict[str, Any]) -> None:
        info = self.wb.add_worksheet("填写说明")
        bold = self.wb.add_format({"bold": True})
        info.set_column(0, 0, 110)
        info.write_string(0, 0, "填写说明 / Instructions", bold)
        r = 2
        for zh, en in _INSTRUCTIONS[self.kind]:
            info.write_string(r, 0, zh)
            info.write_string(r + 1, 0, en)
            r += 3
        m = self.wb.add_worksheet(META_SHEET)
        m.write_row(0, 0, ["key", "value"])
        for i, (k, v) in enumerate(meta.items(), start=1):
            m.write_string(i, 0, k)
            m.write_string(i, 1, "" if v is None else str(v))
        self.lists.hide()
        m.hide()
        self.data.activate()
        self.wb.close()


def _meta(kind: str, log: Log, month: str, **more: Any) -> dict[str, Any]:
    pos = log.position()
    return {
        "kind": kind,
        "month": month,
        **more,
        "log_seq": pos["seq"],
        "log_hash": pos["hash"],
        "log_recorded_at": pos["recorded_at"],
        "made_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def roster_template(log: Log, street: str, month: str, out: str | os.PathLike[str]) -> Path:
    """The roster of `street` for `month`, pre-filled with its tenants at the previous month end."""
    as_of = month_end(previous_month(month))
    state = log.replay(as_of)
    buildings = state.buildings.filter((pl.col("street") == street) & ~pl.col("retired")).sort(
        "building_id"
    )
    if buildings.is_empty():
        raise ValueError(f"no building of street {street!r} is registered by {as_of}")
    rows = state.tenancies.join(buildings.select("building_id", "name"), on="building_id").sort(
        "building_id", "tenant_id"
    )
    path = Path(out)
    book = _Book(path, "roster", "入驻企业名录")
    cols = SPECS["roster"]
    book.columns(cols)
    ws = book.data
    index = {c.key: j for j, c in enumerate(cols)}
    for i, r in enumerate(rows.iter_rows(named=True), start=1):
        ws.write_string(i, index["building_id"], r["building_id"])
        ws.write_string(i, index["building_name"], r["name"])
        ws.write_string(i, index["tenant_id"], r["tenant_id"])
        ws.write_string(i, index["tenant_name"], r["tenant_name"] or "")
        ws.write_number(i, index["area_m2"], r["area_m2"])
        if r["since"] is not None:
            ws.write_datetime(
                i, index["since"], datetime.combine(r["since"], datetime.min.time()), book.day
            )
        ws.write_string(i, index["registered_here"], YES_NO_ZH[bool(r["registered_here"])])
        ws.write_string(i, index["industry"], r["industry"] or "")
        ws.write_string(i, index["industry_edition"], r["industry_edition"] or "")
        if r["headcount"] is not None:
            ws.write_number(i, index["headcount"], r["headcount"])
        ws.write_string(i, index["headquarters"], YES_NO_ZH[bool(r["headquarters"])])
        if r["unit"]:
            ws.write_string(i, index["unit"], r["unit"])
        ws.write_string(i, index["status"], "在驻")
    last = rows.height + ROWS_FOR_ADDITIONS
    edition = _edition(month)
    mapping = log.city.industry_codes
    codes = sorted(
        set(mapping.filter(pl.col("edition") == edition)["code_prefix"].to_list())
        | set(rows.filter(pl.col("industry_edition") == edition)["industry"].drop_nulls().to_list())
    )
    book.dropdown(index["building_name"], last, buildings["name"].to_list())
    book.dropdown(index["building_id"], last, buildings["building_id"].to_list())
    book.dropdown(index["industry"], last, codes, strict=False)
    book.dropdown(index["industry_edition"], last, CHOICE_LISTS["edition"])
    for key in ("registered_here", "headquarters"):
        book.dropdown(index[key], last, CHOICE_LISTS["bool"])
    book.dropdown(index["status"], last, CHOICE_LISTS["tenancy_status"])
    book.dropdown(index["reason"], last, CHOICE_LISTS["move_out_reason"])
    book.finish(
        _meta(
            "roster", log, month, street=street, prefilled_as_of=as_of.isoformat(), edition=edition
        )
    )
    return path


def buildings_template(
    log: Log, month: str, out: str | os.PathLike[str], street: str | None = None
) -> Path:
    """The buildings register for `month` (one street's or all), pre-filled as of the previous
    month end."""
    as_of = month_end(previous_month(month))
    state = log.replay(as_of)
    b = state.buildings.filter(~pl.col("retired"))
    if street is not None:
        b = b.filter(pl.col("street") == street)
    b = b.sort("building_id")
    path = Path(out)
    book = _Book(path, "buildings", "楼宇基本信息表")
    cols = SPECS["buildings"]
    book.columns(cols)
    ws = book.data
    index = {c.key: j for j, c in enumerate(cols)}
    shown = {
        "category": CATEGORY_ZH,
        "grade": GRADE_ZH,
        "status": STATUS_ZH,
        "standalone": YES_NO_ZH,
    }
    for i, r in enumerate(b.iter_rows(named=True), start=1):
        for key, j in index.items():
            v = r.get(key)
            if v is None:
                continue
            if key in shown:
                ws.write_string(i, j, shown[key][v])
            elif isinstance(v, date):
                ws.write_datetime(i, j, datetime.combine(v, datetime.min.time()), book.day)
            elif isinstance(v, int | float):
                ws.write_number(i, j, v)
            else:
                ws.write_string(i, j, str(v))
    last = b.height + ROWS_FOR_ADDITIONS
    div = log.city.divisions
    book.dropdown(index["category"], last, CHOICE_LISTS["category"])
    book.dropdown(index["grade"], last, CHOICE_LISTS["grade"])
    book.dropdown(index["status"], last, CHOICE_LISTS["building_status"])
    book.dropdown(index["standalone"], last, CHOICE_LISTS["bool"])
    book.dropdown(index["retire_reason"], last, CHOICE_LISTS["retire_reason"])
    book.dropdown(
        index["district"], last, div.filter(pl.col("level") == "district")["name"].to_list()
    )
    book.dropdown(
        index["street"],
        last,
        div.filter(pl.col("level").is_in(["street", "town"]))["name"].to_list(),
    )
    book.finish(
        _meta("buildings", log, month, street=street or "", prefilled_as_of=as_of.isoformat())
    )
    return path


def tax_template(log: Log, month: str, out: str | os.PathLike[str]) -> Path:
    """An empty tax file for `month` (headers with units, the bureau's drop-down)."""
    path = Path(out)
    book = _Book(path, "tax", "纳税人税收明细")
    cols = SPECS["tax"]
    book.columns(cols)
    index = {c.key: j for j, c in enumerate(cols)}
    book.dropdown(index["bureau"], ROWS_FOR_ADDITIONS, CHOICE_LISTS["bureau"])
    book.finish(_meta("tax", log, month))
    return path
