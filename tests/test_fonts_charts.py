"""The CJK font directory, the chart theme and the publication tables."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from report_checks import decode_png, ink_pixels

from louyu_research.report import charts, fonts
from louyu_research.report.tables import Column, Table, write_csvs, write_xlsx

# --- fonts --------------------------------------------------------------------------------


def test_font_dir_holds_the_cjk_font() -> None:
    folder = fonts.font_dir()
    assert folder.is_absolute()
    assert any("CJK" in p.name for p in folder.iterdir())


def test_font_dir_env_without_font_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "README").write_text("no font here")
    monkeypatch.setenv("LOUYU_FONT_DIR", str(tmp_path))
    with pytest.raises(fonts.FontsNotFound, match="LOUYU_FONT_DIR"):
        fonts.font_dir()


def test_font_dir_env_is_preferred(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = next(p for p in fonts.font_dir().iterdir() if "CJK" in p.name)
    (tmp_path / source.name).symlink_to(source)
    monkeypatch.setenv("LOUYU_FONT_DIR", str(tmp_path))
    assert fonts.font_dir() == tmp_path.resolve()
    assert fonts.typst_font_paths() == [str(tmp_path.resolve())]


# --- glyphs in PNG ------------------------------------------------------------------------

MONTHS = [date(2016, m, 1) for m in range(1, 13)]


def _trend(title: str, series: str) -> bytes:
    """A real report chart (the report's theme and builder) with the given title/series."""
    frame = pl.DataFrame(
        {"month": MONTHS, "value": [0.60 + 0.01 * i for i in range(12)], "series": [series] * 12}
    )
    chart = charts.trend_chart(
        frame, x="month", y="value", series="series", title=title, y_title=""
    )
    return charts.to_png(chart)


def test_chinese_labels_render_as_real_glyphs_not_boxes() -> None:
    """Missing glyphs all draw the same box: two titles of different Chinese characters give
    byte-identical PNGs when the font is unavailable, different ones when it is there.

    The control uses supplementary private-use characters (plane 16), which no installed font has: the comparison detects boxes.
    """
    fonts.register_fonts()
    real_a, real_b = _trend("楼宇入驻", "入驻率"), _trend("税收占比", "注册率")
    boxes_a, boxes_b = (
        _trend("\U0010fff0\U0010fff1\U0010fff2\U0010fff3", "\U0010fff4\U0010fff5\U0010fff6"),
        _trend("\U0010fe10\U0010fe11\U0010fe12\U0010fe13", "\U0010fe14\U0010fe15\U0010fe16"),
    )
    assert boxes_a == boxes_b, "control failed: missing glyphs should all look alike"
    assert real_a != real_b, "Chinese characters rendered identically: missing-glyph boxes"
    assert real_a != boxes_a


def _glyph(char: str) -> list[bytes]:
    frame = pl.DataFrame({"t": [char]})
    chart = (
        charts.alt.Chart(frame)
        .mark_text(fontSize=48, font=fonts.FONT_FAMILY)
        .encode(text="t:N")
        .properties(width=64, height=64)
    )
    return decode_png(charts.to_png(chart, scale=1))[2]


def test_each_character_has_its_own_shape() -> None:
    """Pixel-level check in the glyph region: distinct characters, distinct bitmaps with ink;
    unknown characters share the box bitmap."""
    fonts.register_fonts()
    chars = "楼宇经济入驻率"
    bitmaps = {c: _glyph(c) for c in chars}
    assert all(ink_pixels(b) > 40 for b in bitmaps.values())
    assert len({b"".join(b) for b in bitmaps.values()}) == len(chars)
    box1, box2 = _glyph("\U0010fff0"), _glyph("\U0010fff1")
    assert box1 == box2  # what a missing glyph looks like
    assert all(b != box1 for b in bitmaps.values())


# --- theme and rendering --------------------------------------------------------------------


def test_theme_sets_the_cjk_font_everywhere() -> None:
    frame = pl.DataFrame({"k": ["甲", "乙"], "v": [1.0, 2.0]})
    spec = charts.spec(
        charts.bar_chart(frame, category="k", value="v", title="标题", value_title="值")
    )
    config = spec["config"]
    assert config["font"] == fonts.FONT_FAMILY
    assert config["axis"]["labelFont"] == fonts.FONT_FAMILY
    assert config["legend"]["labelFont"] == fonts.FONT_FAMILY


def test_svg_is_deterministic_and_carries_text_in_the_font() -> None:
    frame = pl.DataFrame({"k": ["城南街道", "长水街道"], "v": [3.0, 1.0]})
    chart = charts.bar_chart(frame, category="k", value="v", title="街道排名", value_title="得分")
    svg = charts.to_svg(chart)
    assert svg == charts.to_svg(chart)
    assert "城南街道" in svg and "街道排名" in svg
    assert f'font-family="{fonts.FONT_FAMILY}"' in svg
    assert "http://" not in svg.replace("http://www.w3.org/", "")


def test_bar_chart_keeps_the_frames_order() -> None:
    frame = pl.DataFrame({"k": ["丙", "甲", "乙"], "v": [1.0, 3.0, 2.0]})
    spec = charts.spec(charts.bar_chart(frame, category="k", value="v", title="t", value_title="v"))
    (values,) = spec["datasets"].values()
    assert [r["k"] for r in values] == ["丙", "甲", "乙"]
    assert spec["encoding"]["y"]["sort"] is None


def test_chart_builder_names_a_missing_column() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        charts.bar_chart(
            pl.DataFrame({"k": ["a"]}), category="k", value="v", title="t", value_title="v"
        )


def test_figure_shows_svg_and_carries_its_spec() -> None:
    frame = pl.DataFrame({"k": ["甲"], "v": [1.0]})
    fig = charts.Figure(
        "demo", charts.bar_chart(frame, category="k", value="v", title="t", value_title="v")
    )
    data, meta = fig._repr_mimebundle_()
    assert data["image/svg+xml"].startswith("<svg")
    assert "text/html" not in data  # never Altair's CDN-loading HTML renderer
    assert (
        meta["louyu"]["name"] == "demo"
        and meta["louyu"]["spec"]["config"]["font"] == fonts.FONT_FAMILY
    )


# --- tables ---------------------------------------------------------------------------------


def _table() -> Table:
    frame = pl.DataFrame(
        {
            "street": ["城南街道", "长水街道", "新嘉街道"],
            "occ": [0.834567, 0.99996, None],
            "tax": [12_345_678.9, 250_000.0, 9_999.0],
            "hidden": [False, True, False],
            "n": [1_234_567, -5, 0],
            "when": [date(2017, 12, 31), date(2017, 1, 1), None],
        }
    )
    return Table(
        "streets",
        "街道指标",
        frame,
        (
            Column("street", "街道"),
            Column("occ", "入驻率", "pct"),
            Column("tax", "税收（万元）", "wan"),
            Column("n", "数量", "int"),
            Column("when", "日期", "date"),
        ),
        notes=("‡ 不足3户纳税企业，不公开",),
        suppressed={"tax": "hidden"},
    )


def test_display_text_is_formatted_by_hand_rules() -> None:
    shown = _table().display()
    assert shown.columns == ["街道", "入驻率", "税收（万元）", "数量", "日期"]
    assert shown.row(0) == ("城南街道", "83.5%", "1,234.6", "1,234,567", "2017-12-31")
    # 0.99996 → 99.996% → 100.0% (rounding carries); suppressed → ‡; −5 keeps its sign
    assert shown.row(1) == ("长水街道", "100.0%", "‡", "-5", "2017-01-01")
    assert shown.row(2) == ("新嘉街道", "—", "1.0", "0", "—")


def test_markdown_and_html_show_the_same_text() -> None:
    table = _table()
    md, html = table.markdown(), table.html()
    for text in ("83.5%", "1,234.6", "‡", "1,234,567", "街道指标", "不公开"):
        assert text in md and text in html
    assert html == _table().html()  # a fixed id: rebuilt HTML is identical


def test_workbook_reads_back_equal_to_the_csv(tmp_path: Path) -> None:
    import openpyxl

    payload = _table().payload()
    write_xlsx([payload, {**payload, "name": "again"}], tmp_path / "t.xlsx")
    (csv_path, _) = write_csvs([payload, {**payload, "name": "again"}], tmp_path / "csv")
    with csv_path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert wb.sheetnames == ["街道指标", "街道指标~2"]
    sheet = [list(r) for r in wb["街道指标"].iter_rows(values_only=True)]
    assert sheet[0] == rows[0] == ["街道", "入驻率", "税收（万元）", "数量", "日期"]
    for xl, text in zip(sheet[1:], rows[1:], strict=True):
        assert [("" if v is None else v) for v in xl] == [_parse(t) for t in text]
    # values as published: 万元 in the 万元 column, withheld tax empty in both
    assert rows[1][2] == "1234.5679" and rows[2][2] == ""


def _parse(text: str) -> object:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def test_workbook_bytes_are_reproducible(tmp_path: Path) -> None:
    payload = _table().payload()
    a = write_xlsx([payload], tmp_path / "a.xlsx").read_bytes()
    b = write_xlsx([payload], tmp_path / "b.xlsx").read_bytes()
    assert a == b
