"""Intake: real .xlsx/.csv files on disk → validation (every error at once) → the change against
the replayed log → atomic append. Figures are worked out by hand in the comments."""

from __future__ import annotations

import io
import json
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from conftest import snapshot
from drafts import uscc
from intake_kit import (
    ROSTER_HEADERS,
    STRANGER,
    T1,
    T2,
    T3,
    T4,
    T5,
    T6,
    T7,
    b1_roster_march,
    city,
    roster_row,
    write_csv,
    write_xlsx,
)
from typer.testing import CliRunner

from louyu_research.cli import app
from louyu_research.intake import IntakeOptions, IntakeRejected, intake, plan, write_outputs

D = date.fromisoformat
TAX_HEADERS = ["纳税人识别号", "纳税人名称", "税款所属期", "税收金额（元）", "征收机关"]


def by_type(change) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for d in change.drafts:
        out.setdefault(d["type"], []).append(d)
    return out


def issues_of(excinfo) -> list[tuple[int | None, str | None, str]]:
    return [(i.row, i.column, i.zh) for i in excinfo.value.issues]


# --- roster: the snapshot diff ------------------------------------------------------------------


def test_a_roster_becomes_the_events_of_what_changed(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    f = write_xlsx(
        tmp_path / "roster-新兴街道-2016-03.xlsx",
        ROSTER_HEADERS,
        b1_roster_march(),
        title="新兴街道楼宇入驻企业名录",
    )
    before = snapshot(log.path)
    change = plan("roster", [f], log=log.path, month="2016-03")
    assert snapshot(log.path) == before  # a dry run never writes the log
    t = by_type(change)
    assert sorted(t) == ["TenantAreaChanged", "TenantMovedIn", "TenantMovedOut", "TenantUpdated"]
    (moved_in,) = t["TenantMovedIn"]
    assert moved_in["occurred_on"] == "2016-03-15"
    assert moved_in["data"] == {
        "tenant_id": T5,
        "tenant_name": "新来科技",
        "building_id": "B1",
        "area_m2": 120.0,
        "industry": "I65",
        "industry_edition": "2017",
        "registered_here": True,
    }
    # the title takes row 1, an empty row 2, the header row 3: T5 is the 4th data row, row 7
    assert moved_in["source"] == "import:roster-新兴街道-2016-03.xlsx#入驻企业名录!7"
    (area,) = t["TenantAreaChanged"]
    assert (area["occurred_on"], area["data"]) == (
        "2016-03-31",
        {"tenant_id": T1, "building_id": "B1", "area_m2": 650.0},
    )
    (updated,) = t["TenantUpdated"]
    assert updated["data"] == {"tenant_id": T2, "tenant_name": "南湖软件股份"}
    (out,) = t["TenantMovedOut"]
    assert (out["occurred_on"], out["data"]) == (
        "2016-03-31",
        {"tenant_id": T3, "building_id": "B1"},
    )
    # B2 is not in the file: T1's and T6's tenancies there are untouched
    assert all(d["data"].get("building_id") in (None, "B1") for d in change.drafts)
    s = change.summary.row(0, named=True)
    assert (s["building_id"], s["active_before"], s["moved_in"], s["moved_out"]) == ("B1", 4, 1, 1)
    assert (s["area_changed"], s["registration_changed"], s["updated"], s["active_after"]) == (
        1,
        0,
        1,
        4,
    )

    applied = intake("roster", [f], log=log.path, month="2016-03", apply=True)
    assert applied.appended == 4
    state = log.__class__(log.path).replay(D("2016-03-31"))
    b1 = state.tenancies.filter(pl.col("building_id") == "B1").sort("tenant_id")
    assert b1.select("tenant_id", "area_m2").rows() == [
        (T1, 650.0),
        (T2, 300.0),
        (T5, 120.0),
        (T6, 300.0),
    ]
    assert state.tenants.filter(pl.col("tenant_id") == T2)["tenant_name"].item() == "南湖软件股份"

    # idempotent: the same file again is no change at all, and the log keeps every byte
    after = snapshot(log.path)
    again = intake("roster", [f], log=log.path, month="2016-03", apply=True)
    assert again.drafts == [] and again.appended == 0
    assert snapshot(log.path) == after


def test_a_corrected_file_yields_only_the_correction(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    f = write_xlsx(tmp_path / "r.xlsx", ROSTER_HEADERS, b1_roster_march())
    intake("roster", [f], log=log.path, month="2016-03", apply=True)
    rows = b1_roster_march()
    rows[0][ROSTER_HEADERS.index("租用面积（㎡）")] = 640  # T1 is 640 m², not 650
    g = write_xlsx(tmp_path / "r-corrected.xlsx", ROSTER_HEADERS, rows)
    change = intake("roster", [g], log=log.path, month="2016-03", apply=True)
    assert [(d["type"], d["data"]) for d in change.drafts] == [
        ("TenantAreaChanged", {"tenant_id": T1, "building_id": "B1", "area_m2": 640.0})
    ]
    # 650 → 640 → 650 again is a third event, not a clash with the first one's id
    h = write_xlsx(tmp_path / "r-back.xlsx", ROSTER_HEADERS, b1_roster_march())
    assert intake("roster", [h], log=log.path, month="2016-03", apply=True).appended == 1


def test_moved_out_rows_registration_and_reasons(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    rows = [
        roster_row("南湖金融大厦", T1, "嘉禾银行", 500, "否", "J66"),  # registration moves out
        roster_row("南湖金融大厦", T2, "南湖软件", 300, "是", "I65", 从业人数=20),
        roster_row(
            "南湖金融大厦",
            T3,
            "小微咨询",
            100,
            "否",
            "I65",
            状态="已迁出",
            迁出日期="2016年3月20日",
            迁出原因="迁出本市",
        ),
        roster_row("南湖金融大厦", T6, "双城物流", 300, "否", "I65"),
    ]
    change = plan(
        "roster",
        [write_xlsx(tmp_path / "r.xlsx", ROSTER_HEADERS, rows)],
        log=log.path,
        month="2016-03",
    )
    t = by_type(change)
    assert [d["data"] for d in t["TenantRegistrationChanged"]] == [
        {"tenant_id": T1, "building_id": "B1", "registered_here": False}
    ]
    (out,) = t["TenantMovedOut"]
    assert (out["occurred_on"], out["data"]["reason"]) == ("2016-03-20", "left_city")
    assert out["source"].endswith("!4")


def test_every_accepted_form_of_dates_and_numbers(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    base = b1_roster_march()[:3]
    forms = [D("2016-03-15"), "2016-03-15", "2016/3/15", "2016.3.15", "2016年3月15日", 42444]
    rows = list(base)
    for i, when in enumerate(forms):
        code = uscc(f"91330402MA2C0000{i}")
        rows.append(
            roster_row(
                "南湖金融大厦",
                code,
                f"新{i}公司",
                "1,234.5㎡" if i % 2 else "1234.5",
                "Y" if i % 2 else "1",
                "I65",
                入驻日期=when,
            )
        )
    rows.append(roster_row("南湖金融大厦", T3, "小微咨询", 100, "否", "I65", 状态="已迁出"))
    change = plan(
        "roster",
        [write_xlsx(tmp_path / "r.xlsx", ROSTER_HEADERS, rows)],
        log=log.path,
        month="2016-03",
    )
    ins = by_type(change)["TenantMovedIn"]
    assert len(ins) == len(forms)
    # 42444 days after 1899-12-30 is 2016-03-15
    assert {d["occurred_on"] for d in ins} == {"2016-03-15"}
    assert {d["data"]["area_m2"] for d in ins} == {1234.5}
    assert {d["data"]["registered_here"] for d in ins} == {True}


def test_a_csv_in_each_encoding_reads_alike(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    rows = b1_roster_march()
    got = []
    for enc in ("utf-8-sig", "utf-8", "gb18030", "gbk"):
        f = write_csv(tmp_path / f"r-{enc}.csv", ROSTER_HEADERS, rows, encoding=enc)
        change = plan("roster", [f], log=log.path, month="2016-03")
        got.append(
            sorted((d["type"], json.dumps(d["data"], sort_keys=True)) for d in change.drafts)
        )
        assert change.drafts[0]["source"].startswith(f"import:r-{enc}.csv#")
    assert got[0] and all(g == got[0] for g in got)
    assert (tmp_path / "r-gbk.csv").read_bytes() != (tmp_path / "r-utf-8.csv").read_bytes()


# --- rejected input: every problem at once, nothing appended --------------------------------------


def test_a_bad_roster_reports_every_problem_and_appends_nothing(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    bad_check = T5[:17] + ("0" if T5[17] != "0" else "1")
    rows = [
        roster_row("南湖金融大厦", T1, "嘉禾银行", 500, "是", "J66"),  # row 2: fine
        roster_row("南湖金融大厦", bad_check, "甲", 100),  # row 3: check digit
        roster_row("南湖金融大厦", T4.lower().replace("ma", "ma"), "乙", 100),  # row 4
        roster_row("南湖金融大厦", T4[:17], "丙", 100),  # row 5: 17 characters
        roster_row("南湖金融大厦", uscc("91330402MA2D00001"), None, 100),  # row 6: name empty
        roster_row("南湖金融大厦", uscc("91330402MA2D00002"), "丁", -5),  # row 7: negative area
        roster_row("南湖金融大厦", uscc("91330402MA2D00003"), "戊", 0),  # row 8: zero area
        roster_row(
            "南湖金融大厦", uscc("91330402MA2D00004"), "己", 10, 入驻日期="2016-02-30"
        ),  # row 9
        roster_row(
            "南湖金融大厦", uscc("91330402MA2D00005"), "庚", 10, 入驻日期="2016-04-01"
        ),  # row 10
        roster_row(
            "南湖金融大夏", uscc("91330402MA2D00006"), "辛", 10
        ),  # row 11: misspelt building
        roster_row("双子楼", uscc("91330402MA2D00007"), "壬", 10),  # row 12: two buildings
        roster_row("南湖金融大厦", T2, "南湖软件", 300, 从业人数=20),  # row 13
        roster_row("南湖金融大厦", T2, "南湖软件", 300, 从业人数=20),  # row 14: T2 twice in B1
        roster_row("南湖金融中心", T1, "嘉禾银行集团", 200, "否", "J66"),  # row 15: T1 another name
        roster_row("南湖金融大厦", T6, "双城物流", 300, "否", "I65", 是否总部="也许"),  # row 16
    ]
    f = write_xlsx(tmp_path / "bad.xlsx", ROSTER_HEADERS, rows)
    before = snapshot(log.path)
    with pytest.raises(IntakeRejected) as excinfo:
        intake("roster", [f], log=log.path, month="2016-03", apply=True)
    assert snapshot(log.path) == before
    got = issues_of(excinfo)
    messages = {(row, col): zh for row, col, zh in got}
    assert messages[(3, "统一社会信用代码")] == f"校验位应为 {T5[17]}"
    assert messages[(4, "统一社会信用代码")].startswith("字母应为大写")
    assert messages[(5, "统一社会信用代码")] == "应为18位，实为17位"
    assert messages[(6, "企业名称")] == "必填项为空"
    assert messages[(7, "租用面积（㎡）")] == "面积应大于0"
    assert messages[(8, "租用面积（㎡）")] == "面积应大于0"
    assert "不是有效日期" in messages[(9, "入驻日期")]
    assert messages[(10, "入驻日期")] == "入驻日期 2016-04-01 晚于本期月末 2016-03-31"
    assert "找不到楼宇「南湖金融大夏」" in messages[(11, "楼宇名称")]
    assert "「南湖金融大厦」" in messages[(11, "楼宇名称")]  # the closest name is suggested
    assert "（B3、B4）" in messages[(12, "楼宇名称")]
    assert "出现两次（另见第13行）" in messages[(14, "统一社会信用代码")]
    assert "不同的企业名称" in messages[(15, "企业名称")]
    assert "应填 是 或 否" in messages[(16, "是否总部")]
    assert (2, "统一社会信用代码") not in messages
    # row 15 lists B2 too, with one of its three tenants: the other two would move out
    assert "楼宇 B2 将迁出 2/3 家在驻企业" in messages[(None, None)]
    # each issue in both languages, with file, sheet, row and column
    i = next(i for i in excinfo.value.issues if i.row == 3)
    assert str(i).startswith("bad.xlsx 工作表「入驻企业名录」 第3行 统一社会信用代码：校验位应为")
    assert f"row 3 统一社会信用代码: check digit should be {T5[17]}" in str(i)


def test_headers_missing_or_misspelt(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    headers = [
        "楼宇名称",
        "统一社会信用代玛",
        "租用面积（㎡）",
        "是否注册在本楼",
        "行业代码",
        "备注",
    ]
    rows = [["南湖金融大厦", T1, 500, "是", "J66", "x"]]
    with pytest.raises(IntakeRejected) as excinfo:
        plan(
            "roster",
            [write_xlsx(tmp_path / "h.xlsx", headers, rows)],
            log=log.path,
            month="2016-03",
        )
    got = issues_of(excinfo)
    assert (
        1,
        "统一社会信用代玛",
        "无法识别的列名「统一社会信用代玛」，是否应为「统一社会信用代码」？",
    ) in got
    assert (1, "企业名称", "缺少必填列「企业名称」") in got
    assert not any(col == "备注" for _, col, _ in got)  # an unrelated extra column is ignored


def test_a_roster_that_would_empty_a_building_is_refused_unless_allowed(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    # B1 has 4 active tenants; a truncated file lists one of them: 3 of 4 would move out
    rows = [roster_row("南湖金融大厦", T1, "嘉禾银行", 500, "是", "J66")]
    f = write_xlsx(tmp_path / "cut.xlsx", ROSTER_HEADERS, rows)
    with pytest.raises(IntakeRejected) as excinfo:
        plan("roster", [f], log=log.path, month="2016-03")
    assert "将迁出 3/4 家在驻企业" in excinfo.value.issues[0].zh
    change = plan(
        "roster",
        [f],
        log=log.path,
        month="2016-03",
        options=IntakeOptions(allow_mass_move_out=True),
    )
    assert len(by_type(change)["TenantMovedOut"]) == 3


@pytest.mark.parametrize(
    "case", ["empty", "header_only", "tax_as_roster", "encrypted", "corrupt", "text_as_xlsx", "pdf"]
)
def test_files_that_cannot_be_a_roster(tmp_path: Path, case: str) -> None:
    log = city(tmp_path / "ev")
    if case == "empty":
        f = tmp_path / "empty.xlsx"
        f.write_bytes(b"")
        want = "文件是空的"
    elif case == "header_only":
        f = write_xlsx(tmp_path / "h.xlsx", ROSTER_HEADERS, [])
        want = "入驻企业名录中没有数据行"
    elif case == "tax_as_roster":
        f = write_xlsx(tmp_path / "t.xlsx", TAX_HEADERS, [[T1, "嘉禾银行", "2016-03", 100, None]])
        want = "这是一份纳税人税收明细，不是入驻企业名录：请用 louyu intake tax 导入"
    elif case == "encrypted":
        from msoffcrypto.format.ooxml import OOXMLFile

        plain = write_xlsx(tmp_path / "plain.xlsx", ROSTER_HEADERS, b1_roster_march())
        out = io.BytesIO()
        with open(plain, "rb") as src:
            OOXMLFile(src).encrypt("mima", out)
        f = tmp_path / "locked.xlsx"
        f.write_bytes(out.getvalue())
        want = "工作簿已加密（设有打开密码）：请去掉密码后另存再报送"
    elif case == "corrupt":
        whole = write_xlsx(tmp_path / "whole.xlsx", ROSTER_HEADERS, b1_roster_march()).read_bytes()
        f = tmp_path / "torn.xlsx"
        f.write_bytes(whole[: len(whole) // 2])
        want = "工作簿已损坏或无法读取"
    elif case == "text_as_xlsx":
        f = tmp_path / "fake.xlsx"
        f.write_text("楼宇名称,企业名称\n", encoding="utf-8")
        want = "不是Excel工作簿"
    else:
        f = tmp_path / "r.pdf"
        f.write_bytes(b"%PDF-1.4")
        want = "不支持的文件类型"
    before = snapshot(log.path)
    with pytest.raises(IntakeRejected) as excinfo:
        intake("roster", [f], log=log.path, month="2016-03", apply=True)
    assert snapshot(log.path) == before
    assert any(i.zh.startswith(want) for i in excinfo.value.issues), excinfo.value.issues


def test_all_files_are_checked_before_any_is_rejected(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    good = write_xlsx(tmp_path / "good.xlsx", ROSTER_HEADERS, b1_roster_march())
    bad = write_xlsx(
        tmp_path / "bad.xlsx", ROSTER_HEADERS, [roster_row("双子楼", T7, "双子商贸", 0)]
    )
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(IntakeRejected) as excinfo:
        intake("roster", [good, bad, empty], log=log.path, month="2016-03", apply=True)
    files = {i.file for i in excinfo.value.issues}
    assert files == {"bad.xlsx", "empty.csv"}
    assert len(log.__class__(log.path).read()) == 12  # nothing appended, not even good.xlsx's


# --- tax ----------------------------------------------------------------------------------------


def test_tax_is_attributed_to_tenancies(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    legacy = "330402" + T4[8:17]  # 15 characters: area code and T4's organisation code
    rows = [
        [T1, "嘉禾银行", "2016-03", "10,000.00", None],  # B1 (registered) and B2: all to B1
        [legacy, "禾城科技", "2016/3", 2500, None],  # T4 by its legacy number: B2 only
        [T6, "双城物流", "2016年3月", 1000.01, None],  # B1 300 m², B2 100 m², neither registered
        [STRANGER, "城外公司", "2016-03", 777, None],  # in no building
        ["330402999999999", "无名公司", "2016-03", 5, None],  # a legacy number matching nobody
    ]
    f = write_xlsx(tmp_path / "tax-2016-03.xlsx", TAX_HEADERS, rows, sheet="税收")
    change = plan("tax", [f], log=log.path)
    got = {
        (d["data"]["tenant_id"], d["data"]["building_id"]): d["data"]["amount_yuan"]
        for d in change.drafts
    }
    # T6's 100001 fen by area 300:100: round(100001 × 300/400) = 75001 fen to B1, 25000 to B2
    assert got == {
        (T1, "B1"): 10000.0,
        (T4, "B2"): 2500.0,
        (T6, "B1"): 750.01,
        (T6, "B2"): 250.0,
    }
    assert {d["occurred_on"] for d in change.drafts} == {"2016-03-31"}
    unmatched = change.report["unmatched"]
    assert sorted(unmatched["taxpayer_id"].to_list()) == sorted([STRANGER, "330402999999999"])
    matched = change.report["matched"]
    assert matched.filter(pl.col("tenant_id") == T4)["match"].item() == "legacy"
    assert sorted(change.report["split"]["building_id"].to_list()) == ["B1", "B2"]

    # by area instead: T1's 10000 yuan over 500 m² in B1 and 200 m² in B2
    area = plan("tax", [f], log=log.path, options=IntakeOptions(attribution="area"))
    t1 = {
        d["data"]["building_id"]: d["data"]["amount_yuan"]
        for d in area.drafts
        if d["data"]["tenant_id"] == T1
    }
    assert t1 == {"B1": 7142.86, "B2": 2857.14}  # 1000000 fen × 5/7 = 714285.7 → 714286

    intake("tax", [f], log=log.path, apply=True)
    tax = log.__class__(log.path).replay(D("2016-03-31")).tax
    assert round(tax.filter(pl.col("building_id") == "B1")["amount_yuan"].sum(), 2) == 10750.01
    assert plan("tax", [f], log=log.path).drafts == []  # idempotent


def test_tax_in_wan_yuan_and_by_bureau(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    headers = ["纳税人识别号", "纳税人名称", "税款所属期", "税收金额（万元）", "征收机关"]
    rows = [
        [T4, "禾城科技", "2016-03", 1.2345, "国税"],  # 12345 yuan
        [T4, "禾城科技", "2016-03", "0.5", "地税"],  # 5000 yuan
        [T7, "双子商贸", "2016-03", "2万元", "税务"],  # the cell's own unit: 20000 yuan
    ]
    f = write_xlsx(tmp_path / "tax.xlsx", headers, rows)
    change = intake("tax", [f], log=log.path, apply=True)
    parts = {
        (d["data"]["tenant_id"], d["data"].get("part")): d["data"]["amount_yuan"]
        for d in change.drafts
    }
    assert parts == {(T4, "national"): 12345.0, (T4, "local"): 5000.0, (T7, None): 20000.0}
    tax = log.__class__(log.path).replay(D("2016-03-31")).tax
    amounts = {r["tenant_id"]: round(r["amount_yuan"], 2) for r in tax.iter_rows(named=True)}
    assert amounts == {T4: 17345.0, T7: 20000.0}  # the two bureaus' parts add up


def test_bad_tax_rows(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    rows = [
        [T4, "禾城科技", "2016-03", 100, "国税"],
        [T4, "禾城科技", "2016-03", 100, "国税"],  # row 3: twice
        [T7, "双子商贸", "2016-13", 100, None],  # row 4: no such month
        [T1, "嘉禾银行", "2016-03", "12.345", None],  # row 5: fractions of a fen
        [T6, "双城物流", "2016-03", 50, None],
        [T6, "双城物流", "2016-03", 20, "地税"],  # row 7: a total and a part for one month
    ]
    with pytest.raises(IntakeRejected) as excinfo:
        plan("tax", [write_xlsx(tmp_path / "t.xlsx", TAX_HEADERS, rows)], log=log.path)
    got = {(r, c): zh for r, c, zh in issues_of(excinfo)}
    assert "重复（另见第2行）" in got[(3, "纳税人识别号")]
    assert got[(4, "税款所属期")] == "「2016-13」不是月份（应写 2016-03）"
    assert got[(5, "税收金额（元）")] == "金额应精确到分（元的两位小数）"
    assert "既有合计又有国税/地税分项" in got[(7, "征收机关")]


def test_a_tax_file_of_100000_rows(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    n = 100_000
    codes = pl.Series([uscc(f"91330402MA{i:07d}") for i in range(1, n + 1)])
    frame = pl.DataFrame(
        {
            "纳税人识别号": [*codes.to_list()[:-2], T1, T4],
            "纳税人名称": [f"企业{i}" for i in range(n)],
            "税款所属期": ["2016-03"] * n,
            "税收金额（元）": [float(i % 5000) + 0.5 for i in range(n)],
        }
    )
    f = tmp_path / "big.xlsx"
    frame.write_excel(f, worksheet="税收")
    start = time.perf_counter()
    change = plan("tax", [f], log=log.path)
    seconds = time.perf_counter() - start
    # the last two rows are T1 (→ B1) and T4 (→ B2); everyone else is in no building
    assert {d["data"]["building_id"] for d in change.drafts} == {"B1", "B2"}
    assert change.report["unmatched"].height == n - 2
    assert seconds < 60, seconds


# --- city tax and buildings ------------------------------------------------------------------------


def test_city_tax(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    rows = [["2016-03", "35,000", None], ["2016-03", 12000.5, "南湖区"]]
    f = write_csv(
        tmp_path / "city.csv", ["所属期", "税收收入（万元）", "区县"], rows, encoding="gb18030"
    )
    change = intake("city-tax", [f], log=log.path, apply=True)
    assert [(d["data"].get("district"), d["data"]["amount_yuan"]) for d in change.drafts] == [
        (None, 350_000_000.0),
        ("南湖区", 120_005_000.0),
    ]
    assert plan("city-tax", [f], log=log.path).drafts == []
    g = write_csv(tmp_path / "bad.csv", ["所属期", "税收收入", "区县"], [["2016-03", 1, "南胡区"]])
    with pytest.raises(IntakeRejected) as excinfo:
        plan("city-tax", [g], log=log.path)
    assert "是否为：南湖区" in excinfo.value.issues[0].zh


def test_buildings_register_update_complete(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    headers = [
        "楼宇编号",
        "楼宇名称",
        "所属区县",
        "所属街道（镇）",
        "总建筑面积（㎡）",
        "可出租面积（㎡）",
        "楼宇类别",
        "是否独栋",
        "状态",
        "竣工日期",
    ]
    rows = [
        [
            "B1",
            "南湖金融大厦",
            "南湖区",
            "新兴街道",
            10000,
            8500,
            "商务写字楼",
            "是",
            "已建成",
            None,
        ],
        [None, "禾兴科创园", "南湖区", "新兴街道", 20000, 15000, "产业楼宇", "是", "在建", None],
        [None, "错街大厦", "南湖区", "梧桐街道", 5000, 4000, "混合", "否", "规划", None],
    ]
    f = write_xlsx(tmp_path / "b.xlsx", headers, rows, sheet="楼宇基本信息表")
    with pytest.raises(IntakeRejected) as excinfo:
        plan("buildings", [f], log=log.path, month="2016-03")
    assert excinfo.value.issues[0].zh == "梧桐街道属于桐乡市，不属于南湖区"
    change = intake(
        "buildings",
        [write_xlsx(tmp_path / "b2.xlsx", headers, rows[:2], sheet="楼宇")],
        log=log.path,
        month="2016-03",
        apply=True,
    )
    t = by_type(change)
    assert t["BuildingUpdated"][0]["data"] == {"building_id": "B1", "rentable_area_m2": 8500.0}
    (reg,) = t["BuildingRegistered"]
    assert reg["data"]["building_id"] == "B5"  # after B1 … B4
    assert (reg["data"]["category"], reg["data"]["status"]) == ("industrial", "under_construction")
    assert (
        plan(
            "buildings",
            [write_xlsx(tmp_path / "b3.xlsx", headers, rows[:2], sheet="楼宇")],
            log=log.path,
            month="2016-03",
        ).drafts
        == []
    )


# --- the command line ----------------------------------------------------------------------------


def test_louyu_intake_and_template(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    runner = CliRunner()
    f = write_xlsx(tmp_path / "r.xlsx", ROSTER_HEADERS, b1_roster_march())
    out = tmp_path / "runs"
    res = runner.invoke(
        app,
        [
            "intake",
            "roster",
            str(f),
            "--month",
            "2016-03",
            "--log",
            str(log.path),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "迁入" in res.output and "南湖金融大厦" in res.output and "dry run" in res.output
    drafts = (out / "roster-2016-03.drafts.jsonl").read_text("utf-8").splitlines()
    assert len(drafts) == 4 and (out / "roster-2016-03.report.xlsx").exists()
    res = runner.invoke(
        app,
        [
            "intake",
            "roster",
            str(f),
            "--month",
            "2016-03",
            "--log",
            str(log.path),
            "--out",
            str(out),
            "--apply",
        ],
    )
    assert res.exit_code == 0 and "appended 4 event(s)" in res.output
    bad = write_xlsx(
        tmp_path / "bad.xlsx", ROSTER_HEADERS, [roster_row("南湖金融大厦", T1[:17], "嘉禾银行", 1)]
    )
    res = runner.invoke(
        app,
        [
            "intake",
            "roster",
            str(bad),
            "--month",
            "2016-03",
            "--log",
            str(log.path),
            "--out",
            str(out),
        ],
    )
    assert (
        res.exit_code == 1
        and "应为18位，实为17位" in res.output
        and "nothing appended" in res.output
    )
    res = runner.invoke(
        app, ["intake", "roster", str(f), "--month", "2016-3", "--log", str(log.path)]
    )
    assert res.exit_code == 2
    res = runner.invoke(app, ["intake", "roster", str(f), "--log", str(log.path)])
    assert res.exit_code == 2 and "--month" in res.output

    tpl = tmp_path / "tpl.xlsx"
    res = runner.invoke(app, [*_roster_template("新兴街道", log.path), "--out", str(tpl)])
    assert res.exit_code == 0, res.output
    # an unchanged template is no change; its month comes from the template itself
    change = plan("roster", [tpl], log=log.path)
    assert change.month == "2016-04" and change.drafts == []
    assert set(change.summary["building_id"]) == {"B1", "B2"}
    res = runner.invoke(app, _roster_template("无此街道", log.path))
    assert res.exit_code == 2


def _roster_template(street: str, log: Path) -> list[str]:
    """`louyu template roster` of `street` for 2016-04 (arguments)."""
    return ["template", "roster", "--street", street, "--month", "2016-04", "--log", str(log)]


def test_a_template_goes_where_git_ignores_it_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A roster names tenants: without --out it is written under intake-runs/templates/."""
    log = city(tmp_path / "ev")
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, _roster_template("新兴街道", log.path))
    assert res.exit_code == 0, res.output
    written = Path("intake-runs", "templates", "roster-新兴街道-2016-04.xlsx")
    assert (tmp_path / written).is_file() and str(written) in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev", "intake-runs"]
    ignored = (Path(__file__).parents[1] / ".gitignore").read_text("utf-8").splitlines()
    assert "/intake-runs/" in ignored


def test_templates_have_what_the_office_needs(tmp_path: Path) -> None:
    import openpyxl

    from louyu_research.intake.templates import buildings_template, roster_template, tax_template

    log = city(tmp_path / "ev")
    path = roster_template(log, "新兴街道", "2016-04", tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "入驻企业名录"
    assert wb["_meta"].sheet_state == "hidden" and wb["_lists"].sheet_state == "hidden"
    meta = {r[0]: r[1] for r in wb["_meta"].iter_rows(min_row=2, values_only=True)}
    assert (meta["kind"], meta["street"], meta["month"], meta["prefilled_as_of"]) == (
        "roster",
        "新兴街道",
        "2016-04",
        "2016-03-31",
    )
    assert meta["log_seq"] == "12"
    ws = wb["入驻企业名录"]
    headers = [c.value for c in ws[1]]
    assert "租用面积（㎡）" in headers and "统一社会信用代码" in headers
    # pre-filled: B1's four and B2's three tenancies as of 2016-03-31
    assert ws.max_row == 1 + 7
    lists = [dv for dv in ws.data_validations.dataValidation]
    sources = {str(dv.sqref).split(":")[0][0]: dv.formula1 for dv in lists}
    assert len(lists) >= 7 and all(f.startswith("_lists!") for f in sources.values())
    assert "填写说明" in wb.sheetnames
    bw = openpyxl.load_workbook(buildings_template(log, "2016-04", tmp_path / "b.xlsx"))
    assert bw.worksheets[0].max_row == 1 + 4
    tw = openpyxl.load_workbook(tax_template(log, "2016-04", tmp_path / "t.xlsx"))
    assert [c.value for c in tw.worksheets[0][1]][:4] == [
        "纳税人识别号",
        "纳税人名称",
        "税款所属期",
        "税收金额（元）",
    ]


def test_outputs_are_written_where_asked(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    f = write_xlsx(tmp_path / "r.xlsx", ROSTER_HEADERS, b1_roster_march())
    paths = write_outputs(plan("roster", [f], log=log.path, month="2016-03"), tmp_path / "o")
    assert paths["drafts"].parent == tmp_path / "o"
    lines = [json.loads(x) for x in paths["drafts"].read_text("utf-8").splitlines()]
    assert {d["type"] for d in lines} == {
        "TenantMovedIn",
        "TenantAreaChanged",
        "TenantUpdated",
        "TenantMovedOut",
    }
    assert T5 in {d["data"]["tenant_id"] for d in lines} and T3 in {
        d["data"]["tenant_id"] for d in lines
    }


def test_tax_of_a_tenant_that_left_during_the_period(tmp_path: Path) -> None:
    log = city(tmp_path / "ev")
    rows = [
        *b1_roster_march()[:3],
        roster_row(
            "南湖金融大厦", T3, "小微咨询", 100, "否", "I65", 状态="已迁出", 迁出日期="2016-03-20"
        ),
    ]
    intake(
        "roster",
        [write_xlsx(tmp_path / "r.xlsx", ROSTER_HEADERS, rows)],
        log=log.path,
        month="2016-03",
        apply=True,
    )
    tax = [[T3, "小微咨询", "2016-03", 300, None], [T3, "小微咨询", "2016-04", 40, None]]
    change = plan("tax", [write_xlsx(tmp_path / "t.xlsx", TAX_HEADERS, tax)], log=log.path)
    # in B1 until 2016-03-20: March's tax is B1's; in April T3 is in no building
    assert [(d["data"]["building_id"], d["data"]["period"]) for d in change.drafts] == [
        ("B1", "2016-03")
    ]
    unmatched = change.report["unmatched"]
    assert unmatched.select("period", "reason").rows() == [("2016-04", "no_tenancy")]


def test_the_preparation_without_tax_has_a_full_replays_buildings_and_tenancies(
    tmp_path: Path, root: Path
) -> None:
    """Intake compares returns with a preparation of every event but the tax reports: its
    buildings, tenancies and tenants at a date are those of a full replay of the shipped log."""
    import shutil

    from louyu_research.intake.api import prepared_without_tax
    from louyu_research.replay import open_log
    from louyu_research.replay.log import state_at

    shutil.copytree(
        root / "events", tmp_path / "log", ignore=shutil.ignore_patterns(".cache", ".lock")
    )
    log = open_log(tmp_path / "log")
    head = log.checked_head()
    cut = prepared_without_tax(log.scan(head=head), log.position(head.seq), log)
    assert cut.tax.height == 0  # the tax reports were not read
    for as_of in (date(2015, 6, 30), date(2017, 12, 31), date(2019, 3, 31)):
        full = log.replay(as_of)
        assert full.tax.height > 0  # the full replay has them
        state = state_at(cut, as_of, log.city.settings)
        assert state.position == full.position
        for name in ("buildings", "tenancies", "tenants"):
            assert state.frame(name).height > 0
            assert state.frame(name).equals(full.frame(name)), name
