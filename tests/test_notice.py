"""The monthly street ranking notice (动态排名通报): its parts on hand-made inputs (the year's
pace, the movers, the arrows), its ranking against `louyu ranking` on the sample, and the
publication itself: built by papermill and the report's renderer, one or two A4 pages,
pinned by its manifest and verified, its HTML opened offline in headless Chromium."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from report_checks import visit_offline

from louyu_research.city.profile import default_city
from louyu_research.city.settings import Settings
from louyu_research.core.periods import Month
from louyu_research.report import notice
from louyu_research.report.tables import Table

ROOT = Path(__file__).resolve().parents[1]
SEQ = 172895  # the sample's log as recorded by the end of January 2018


def hand_made() -> notice.NoticeInputs:
    """Three streets at the end of 2016-12, 2017-05 and 2017-06; the ranking by hand."""
    rows = [  # month, street, area, occupancy
        ("2016-12", "S1", "R1", 0.70),
        ("2016-12", "S2", "R1", 0.80),
        ("2016-12", "S3", "R2", 0.60),
        ("2017-05", "S1", "R1", 0.76),
        ("2017-05", "S2", "R1", 0.81),
        ("2017-05", "S3", "R2", 0.74),
        ("2017-06", "S1", "R1", 0.78),
        ("2017-06", "S2", "R1", 0.82),
        ("2017-06", "S3", "R2", 0.71),
    ]
    streets = pl.DataFrame(
        rows, schema=["month", "street", "reporting_area", "occupancy_rate"], orient="row"
    ).with_columns(pl.lit(1).alias("buildings"))
    ranking = pl.DataFrame(
        {
            "month": ["2017-05"] * 3 + ["2017-06"] * 3,
            "street": ["S1", "S2", "S3"] * 2,
            "reporting_area": ["R1", "R1", "R2"] * 2,
            "composite_rank": [3, 1, 2, 2, 1, 3],
            "previous_rank": [None, None, None, 3, 1, 2],
            "rank_change": [None, None, None, 1, 0, -1],
            "composite_score": [0.0, 100.0, 50.0, 50.0, 100.0, 0.0],
            "occupancy_rate": [0.76, 0.81, 0.74, 0.78, 0.82, 0.71],
            "registration_rate": [0.9] * 6,
        }
    ).with_columns(
        pl.col("composite_rank").alias(c)
        for c in ("occupancy_rank", "registration_rank", "tax_contribution_rank")
    )
    return notice.NoticeInputs(
        month=Month(2017, 6),
        position={"seq": 7, "recorded_at": datetime(2017, 7, 31, tzinfo=UTC), "hash": "ab" * 32},
        profile=default_city(),
        settings=Settings(),
        streets=streets,
        ranking=ranking,
        target=0.85,
    )


def test_streets_behind_the_years_pace() -> None:
    # June is half the year: the pace is halfway from December to 85 %:
    # S1 0.70 → 0.775 (at 0.78: ahead); S2 0.80 → 0.825 (0.82: behind by 0.5 pp);
    # S3 0.60 → 0.725 (0.71: behind by 1.5 pp)
    behind = notice.behind_pace(hand_made())
    assert behind.get_column("street").to_list() == ["S3", "S2"]
    assert behind.get_column("pace_rate").to_list() == pytest.approx([0.725, 0.825])
    assert behind.get_column("gap").to_list() == pytest.approx([-0.015, -0.005])


def test_movers_and_arrows() -> None:
    inputs = hand_made()
    assert notice.movers(inputs).select("street", "rank_change").rows() == [("S1", 1), ("S3", -1)]
    cover, ranking, movers, behind = notice.sections(inputs, "zh", "public")
    (moved,) = movers.tables()
    assert moved.display().rows() == [("S1", "R1", "3", "2", "↑1"), ("S3", "R2", "2", "3", "↓1")]
    assert cover.blocks[0].title == "嘉兴市楼宇经济动态排名通报"
    assert cover.blocks[0].meta["subtitle"] == "2017年6月 · 公开版"
    assert "综合排名前三位：S2、S1、S3；与上月相比，1 个街道名次上升，1 个下降。" in (
        cover.blocks[0].intro
    )
    (table,) = ranking.tables()
    shown = table.display().select("综合名次", "名次变化", "街道（镇）").rows()
    assert shown == [("1", "—", "S2"), ("2", "↑1", "S1"), ("3", "↓1", "S3")]
    text, _ = behind.blocks
    assert text == (
        "3 个街道中有 2 个入驻率低于年度进度（年度目标 85.0%），落后最多的是S3（-1.5 个百分点）、"
        "S2（-0.5 个百分点）。"
    )
    en = notice.sections(inputs, "en", "public")
    assert en[0].blocks[0].meta["subtitle"] == "2017-06 · Public edition"
    assert [s.heading for s in en[1:]] == [
        "1. Composite and indicator ranks",
        "2. This month's top movers",
        "3. Streets behind the year's pace",
    ]


def test_the_notices_cutoff_is_the_end_of_the_month_after() -> None:
    cut = notice.notice_cutoff("2017-12", "Asia/Shanghai")
    assert cut.isoformat() == "2018-02-01T00:00:00+08:00"


@pytest.fixture(scope="module")
def sample() -> notice.NoticeInputs:
    return notice.gather_notice("2017-12", ROOT / "events", upto_seq=SEQ)


def test_the_ranking_is_louyu_ranking(sample: notice.NoticeInputs) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "louyu_research.cli", "ranking", "--month", "2017-12",
         "--upto-seq", str(SEQ), "--format", "csv"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    body = "\n".join(line for line in out.splitlines() if not line.startswith("#"))
    cli = list(csv.DictReader(io.StringIO(body)))
    (table,) = notice.sections(sample, "zh", "public")[1].tables()
    assert isinstance(table, Table)
    mine = table.frame.to_dicts()
    assert len(mine) == len(cli) == 46
    for a, b in zip(mine, cli, strict=True):
        assert a["street"] == b["street"]
        for col in ("composite_rank", "occupancy_rank", "registration_rank",
                    "tax_contribution_rank"):  # fmt: skip
            assert a[col] == int(b[col]), (a["street"], col)
        assert a["composite_score"] == pytest.approx(float(b["composite_score"]))
        assert a["occupancy_rate"] == pytest.approx(float(b["occupancy_rate"]))
        change = int(b["rank_change"]) if b["rank_change"] else None
        assert a["rank_change"] == change
        arrow = (
            "新" if change is None else "—" if change == 0 else f"{'↑↓'[change < 0]}{abs(change)}"
        )
        assert a["change_arrow"] == arrow


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_notice_is_a_pinned_publication(tmp_path: Path) -> None:
    """Built as published (the log recorded by the end of January 2018), the notice is one or
    two A4 pages; rebuilt, it keeps its log position; verify finds it reproduces; its HTML
    opens offline."""
    import pypdf

    from louyu_research.report.manifest import read_manifest
    from louyu_research.report.pipeline import committed_reports, verify_report

    built = notice.build_notice(
        "2017-12", log=ROOT / "events", out_root=tmp_path, as_published=True, say=lambda _: None
    )
    folder = tmp_path / "notices" / "2017-12"
    assert built.folder == folder and built.position["seq"] == SEQ
    reader = pypdf.PdfReader(folder / "report.pdf")
    assert 1 <= len(reader.pages) <= 2
    for page in reader.pages:
        box = page.mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
    text = "".join(p.extract_text() or "" for p in reader.pages).replace(" ", "")
    assert "嘉兴市楼宇经济动态排名通报" in text and "马桥街道" in text
    assert sorted(p.name for p in (folder / "tables").glob("*.csv")) == [
        "notice_behind_pace.csv", "notice_movers.csv", "notice_ranking.csv",
    ]  # fmt: skip
    m = read_manifest(folder)
    assert m["parameters"]["kind"] == "notice" and m["log_position"]["seq"] == SEQ
    assert set(m["outputs"]) == {f"tables/{p.name}" for p in (folder / "tables").glob("*.csv")}
    # published: a later build reads the same position, even from the head of the log
    again = notice.build_notice("2017-12", log=ROOT / "events", out_root=tmp_path, say=print)
    assert again.position["seq"] == SEQ
    assert json.loads((folder / "manifest.json").read_text("utf-8"))["outputs"] == m["outputs"]
    # verify-reports covers notices
    assert folder in committed_reports(tmp_path)
    assert verify_report(folder, ROOT / "events", tmp_path / "scratch") == []
    # the HTML fetches nothing and shows the ranking
    visit = visit_offline(folder / "report.html")
    assert visit.blocked == [] and visit.failed == []
    assert visit.console_errors == [] and visit.page_errors == []
    assert visit.requests == [(folder / "report.html").resolve().as_uri()]
    assert "综合排名与分项排名" in visit.page_text and "马桥街道" in visit.page_text


def test_a_year_without_a_target_has_no_pace() -> None:
    import dataclasses

    inputs = dataclasses.replace(hand_made(), target=None)
    assert notice.behind_pace(inputs).is_empty()
    text, table = notice.sections(inputs, "zh", "public")[3].blocks
    assert text == "2017年无入驻率年度目标，本月不作进度比较。" and table.frame.is_empty()
