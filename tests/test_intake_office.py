"""A template through a real office suite: LibreOffice (headless) saves a filled-in roster as
.xlsx, as legacy .xls and as a GB18030 CSV, and intake reads each with the same result."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from intake_kit import T1, T2, T3, T5, city

from louyu_research.intake import plan
from louyu_research.intake.templates import roster_template

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice (soffice) is not installed: scripts/setup.sh installs libreoffice-calc",
)

# LibreOffice's CSV export options: comma (44), double quotes (34), text encoding 85
# (RTL_TEXTENCODING_GB_18030), from line 1.
CSV_GB18030 = "csv:Text - txt - csv (StarCalc):44,34,85,1"


def convert(src: Path, target: str, outdir: Path, profile: Path) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            SOFFICE,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            target,
            "--outdir",
            str(outdir),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    ext = target.split(":")[0]
    out = outdir / f"{src.stem}.{ext}"
    assert out.exists(), f"LibreOffice wrote no {out.name}"
    return out


def fill_in(template: Path, out: Path) -> Path:
    """What a street office does to its template: one area changes, one tenant leaves (row
    deleted), one is renamed, one moves in (a new row with an Excel date)."""
    wb = openpyxl.load_workbook(template)
    ws = wb["入驻企业名录"]
    col = {c.value: c.column for c in ws[1]}
    for row in range(ws.max_row, 1, -1):
        code = ws.cell(row, col["统一社会信用代码"]).value
        building = ws.cell(row, col["楼宇编号"]).value
        if building == "B1" and code == T1:
            ws.cell(row, col["租用面积（㎡）"]).value = 650
        elif building == "B1" and code == T3:
            ws.delete_rows(row)
        elif code == T2:
            ws.cell(row, col["企业名称"]).value = "南湖软件股份"
    new = ws.max_row + 1
    for header, value in {
        "楼宇名称": "南湖金融大厦",
        "统一社会信用代码": T5,
        "企业名称": "新来科技",
        "租用面积（㎡）": 120,
        "是否注册在本楼": "是",
        "行业代码": "I65",
        "行业代码版本": "2017",
        "状态": "在驻",
    }.items():
        ws.cell(new, col[header]).value = value
    ws.cell(new, col["入驻日期"]).value = datetime(2016, 4, 15)
    ws.cell(new, col["入驻日期"]).number_format = "yyyy-mm-dd"
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def essence(change) -> list[tuple[str, str, str]]:
    return sorted(
        (d["type"], d["occurred_on"], json.dumps(d["data"], sort_keys=True, ensure_ascii=False))
        for d in change.drafts
    )


def test_libreoffice_xlsx_xls_and_gb18030_csv_read_alike(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    template = roster_template(
        log, "新兴街道", "2016-04", tmp_path / "roster-新兴街道-2016-04.xlsx"
    )
    filled = fill_in(template, tmp_path / "filled" / "roster-2016-04.xlsx")
    profile = tmp_path / "lo-profile"
    xlsx = convert(filled, "xlsx", tmp_path / "xlsx", profile)
    xls = convert(filled, "xls", tmp_path / "xls", profile)
    csv = convert(filled, CSV_GB18030, tmp_path / "csv", profile)

    data = csv.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really GB18030, not UTF-8
    assert "统一社会信用代码" in data.decode("gb18030")

    want = [
        (
            "TenantAreaChanged",
            "2016-04-30",
            {"area_m2": 650.0, "building_id": "B1", "tenant_id": T1},
        ),
        (
            "TenantMovedIn",
            "2016-04-15",
            {
                "area_m2": 120.0,
                "building_id": "B1",
                "industry": "I65",
                "industry_edition": "2017",
                "registered_here": True,
                "tenant_id": T5,
                "tenant_name": "新来科技",
            },
        ),
        ("TenantMovedOut", "2016-04-30", {"building_id": "B1", "tenant_id": T3}),
        ("TenantUpdated", "2016-04-30", {"tenant_id": T2, "tenant_name": "南湖软件股份"}),
    ]
    want_essence = sorted(
        (t, on, json.dumps(d, sort_keys=True, ensure_ascii=False)) for t, on, d in want
    )
    results = {}
    for f in (filled, xlsx, xls):
        change = plan("roster", [f], log=log.path)  # the month comes from the hidden sheet
        assert change.month == "2016-04", f.name
        results[f.suffix + str(f.parent.name)] = essence(change)
    # a CSV keeps only the first sheet: the month is given
    results["csv"] = essence(plan("roster", [csv], log=log.path, month="2016-04"))
    for name, got in results.items():
        assert got == want_essence, name
