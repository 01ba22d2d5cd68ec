"""A small city on a real log, and real files of returns written by real writers (xlsxwriter,
Python's csv module in each encoding), for the intake tests."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from drafts import Kit, uscc, write_log

from louyu_research.replay import Log

# Enterprises (valid codes, check characters computed by tests/drafts.py's own implementation).
T1 = uscc("91330402MA2B00001")
T2 = uscc("91330402MA2B00002")
T3 = uscc("91330402MA2B00003")
T4 = uscc("91330402MA2B00004")
T5 = uscc("91330402MA2B00005")
T6 = uscc("91330402MA2B00006")
T7 = uscc("91330402MA2B00007")
STRANGER = uscc("91330402MA2B00099")  # a taxpayer in no building

ROSTER_HEADERS = [
    "楼宇名称",
    "统一社会信用代码",
    "企业名称",
    "租用面积（㎡）",
    "入驻日期",
    "是否注册在本楼",
    "行业代码",
    "行业代码版本",
    "从业人数",
    "是否总部",
    "房号",
    "状态",
    "迁出日期",
    "迁出原因",
]


def city(path: Path) -> Log:
    """Buildings B1 南湖金融大厦, B2 南湖金融中心 (新兴街道), B3 and B4 both 双子楼 (解放街道);
    tenancies as of 2016-02: B1: T1 500 m² (registered), T2 300 (registered, 20 staff), T3 100,
    T6 300; B2: T1 200, T4 400 (registered), T6 100; B3: T7 100."""
    k = Kit(datetime(2016, 1, 2, tzinfo=UTC))
    drafts = [
        k.building("B1", "2015-01-01", name="南湖金融大厦"),
        k.building("B2", "2015-01-01", name="南湖金融中心"),
        k.building("B3", "2015-01-01", name="双子楼", street="解放街道"),
        k.building("B4", "2015-01-01", name="双子楼", street="解放街道"),
        k.move_in(T1, "B1", "2016-01-05", 500.0, industry="J66", tenant_name="嘉禾银行"),
        k.move_in(
            T1,
            "B2",
            "2016-01-05",
            200.0,
            industry="J66",
            tenant_name="嘉禾银行",
            registered_here=False,
        ),
        k.move_in(T2, "B1", "2016-01-06", 300.0, tenant_name="南湖软件", headcount=20),
        k.move_in(T3, "B1", "2016-01-07", 100.0, tenant_name="小微咨询", registered_here=False),
        k.move_in(T6, "B1", "2016-01-08", 300.0, tenant_name="双城物流", registered_here=False),
        k.move_in(T6, "B2", "2016-01-08", 100.0, tenant_name="双城物流", registered_here=False),
        k.move_in(T4, "B2", "2016-01-09", 400.0, tenant_name="禾城科技"),
        k.move_in(T7, "B3", "2016-01-10", 100.0, tenant_name="双子商贸"),
    ]
    return write_log(path, drafts)


def roster_row(
    building: str | None,
    code: str | None,
    name: str | None,
    area: Any,
    registered: str | None = "是",
    industry: str | None = "I65",
    **more: Any,
) -> list[Any]:
    values = {
        "楼宇名称": building,
        "统一社会信用代码": code,
        "企业名称": name,
        "租用面积（㎡）": area,
        "是否注册在本楼": registered,
        "行业代码": industry,
        **more,
    }
    return [values.get(h) for h in ROSTER_HEADERS]


def b1_roster_march() -> list[list[Any]]:
    """B1 at the end of 2016-03: T1 grew to 650 m², T2 renamed, T3 gone, T5 new (2016-03-15)."""
    return [
        roster_row("南湖金融大厦", T1, "嘉禾银行", 650, "是", "J66"),
        roster_row("南湖金融大厦", T2, "南湖软件股份", 300, "是", "I65", 从业人数=20),
        roster_row("南湖金融大厦", T6, "双城物流", 300, "否", "I65"),
        roster_row("南湖金融大厦", T5, "新来科技", 120, "是", "I65", 入驻日期="2016-03-15"),
    ]


def write_xlsx(
    path: Path,
    headers: list[str],
    rows: list[list[Any]],
    *,
    sheet: str = "入驻企业名录",
    title: str | None = None,
) -> Path:
    """A workbook as an office writes one: an optional title row above the header; dates as
    Excel dates, numbers as numbers, everything else as text."""
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet(sheet)
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    r0 = 0
    if title:
        ws.write_string(0, 0, title)
        r0 = 2
    ws.write_row(r0, 0, headers)
    for i, row in enumerate(rows, start=r0 + 1):
        for j, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, date):
                ws.write_datetime(i, j, datetime.combine(v, datetime.min.time()), day)
            elif isinstance(v, int | float) and not isinstance(v, bool):
                ws.write_number(i, j, v)
            else:
                ws.write_string(i, j, str(v))
    wb.close()
    return path


def write_csv(
    path: Path, headers: list[str], rows: list[list[Any]], *, encoding: str = "utf-8"
) -> Path:
    """A CSV in an encoding Excel writes (`utf-8-sig` with BOM, `utf-8`, `gb18030`, `gbk`)."""
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(headers)
        for row in rows:
            w.writerow(["" if v is None else v for v in row])
    return path
