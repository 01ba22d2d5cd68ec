"""The renderer on a small notebook executed by a real kernel (no sample log needed)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from report_checks import pdf_missing_glyphs, pdf_text

from louyu_research.report import render

pytestmark = [pytest.mark.xdist_group("render"), pytest.mark.timeout(300)]

CELLS = [
    "import datetime as dt\n"
    "import polars as pl\n"
    "from louyu_research.report import charts\n"
    "from louyu_research.report.sections import CoverBlock, show\n"
    "from louyu_research.report.tables import Column, Table\n"
    "charts.use_theme()",
    "show([CoverBlock('嘉兴市楼宇经济季度分析通报', '2017年第4季度 · 内部版', '测试用的说明文字。', {\n"
    "    'title': '嘉兴市楼宇经济季度分析通报', 'subtitle': '2017年第4季度 · 内部版', 'lang': 'zh',\n"
    "    'edition': 'internal', 'banner': '内部版：仅限内部使用', 'footer': 'louyu-research · seq 7',\n"
    "    'timestamp': '2018-01-15T10:00:00+08:00'})])",
    "show(['## 一、核心指标', '入驻率 **83.5%**，距年度目标差 1.5 个百分点。'])",
    "frame = pl.DataFrame({'street': ['城南街道', '长水街道'], 'occ': [0.8346, 0.9], 'tax': [1.2e7, 5e5],\n"
    "                      'hide': [False, True]})\n"
    "show([Table('streets', '街道指标', frame, (Column('street', '街道'), Column('occ', '入驻率', 'pct'),\n"
    "      Column('tax', '税收（万元）', 'wan')), suppressed={'tax': 'hide'}, notes=('‡ 不公开',))])",
    "print('a print never reaches the publication')\n"
    "d = pl.DataFrame({'month': [dt.date(2017, m, 1) for m in range(1, 13)], 'v': [0.7 + m / 100 for m in range(12)],\n"
    "                  's': ['入驻率'] * 12})\n"
    "show([charts.Figure('trend', charts.trend_chart(d, x='month', y='v', series='s', title='月度走势', y_title=''))])",
]


def _notebook(path: Path) -> Path:
    nb = new_notebook(cells=[new_code_cell(src) for src in CELLS])
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    nb.metadata["kernelspec"] = {"name": "louyu", "display_name": "louyu", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import papermill as pm

    folder = tmp_path_factory.mktemp("render")
    source = _notebook(folder / "source.ipynb")
    out = folder / "out"
    out.mkdir()
    pm.execute_notebook(
        str(source), str(out / "report.ipynb"), kernel_name="louyu", progress_bar=False
    )
    return out / "report.ipynb"


@pytest.fixture(scope="module")
def rendered(executed: Path) -> tuple[Path, list[str]]:
    said: list[str] = []
    render.render(executed, executed.parent, renderer="offline", say=said.append)
    return executed.parent, said


def test_offline_render_writes_every_output(rendered: tuple[Path, list[str]]) -> None:
    folder, _ = rendered
    for name in ("report.html", "report.pdf", "tables.xlsx", "tables/streets.csv", "charts/trend.svg",
                 "charts/trend.png"):  # fmt: skip
        assert (folder / name).stat().st_size > 0, name
    html = (folder / "report.html").read_text("utf-8")
    assert "a print never reaches" not in html
    assert "import polars" not in html  # code is hidden
    assert "edition-banner" in html and "内部版：仅限内部使用" in html


def test_pdf_has_the_banner_on_every_page_and_real_glyphs(rendered: tuple[Path, list[str]]) -> None:
    from pypdf import PdfReader

    folder, _ = rendered
    pdf = folder / "report.pdf"
    assert pdf_missing_glyphs(pdf) == []
    reader = PdfReader(pdf)
    assert all("内部版：仅限内部使用" in (p.extract_text() or "") for p in reader.pages)
    text = pdf_text(pdf)
    for expected in ("嘉兴市楼宇经济季度分析通报", "83.5%", "1,200.0", "‡", "一、核心指标"):
        assert expected in text, expected
    assert reader.metadata.creation_date.isoformat().startswith("2018-01-15T02:00:00")


def test_missing_glyph_detector_sees_boxes(tmp_path: Path) -> None:
    """Control for the glyph check: Typst without the CJK font draws glyph 0 (boxes)."""
    import typst

    src = tmp_path / "a.typ"
    src.write_text('#set text(font: "Noto Sans CJK SC")\n楼宇经济\n', "utf-8")
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(
        typst.Compiler(root=str(tmp_path), ignore_system_fonts=True).compile(
            input=str(src), format="pdf"
        )
    )
    assert pdf_missing_glyphs(pdf) != []


def test_quarto_missing_is_said_once_in_one_line(
    executed: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no quarto there
    out = tmp_path / "q"
    out.mkdir()
    (out / "report.ipynb").write_bytes(executed.read_bytes())
    said: list[str] = []
    done = render.render(out / "report.ipynb", out, say=said.append)
    assert done.renderer == "offline"
    assert said == [render.QUARTO_MISSING]
    assert "\n" not in said[0] and "quarto.org" in said[0]
    with pytest.raises(render.RenderError, match="Quarto not found"):
        render.render(out / "report.ipynb", out, renderer="quarto", say=said.append)


def test_quarto_commands_render_html_and_typst(executed: Path) -> None:
    meta = render.report_meta(nbformat.read(executed, as_version=4))
    html, pdf = render.quarto_commands("/opt/quarto/bin/quarto", executed, meta)
    assert html[:3] == ["/opt/quarto/bin/quarto", "render", "report.ipynb"]
    assert html[html.index("--to") + 1] == "html" and "--no-execute" in html
    assert pdf[pdf.index("--to") + 1] == "typst" and pdf[pdf.index("--output") + 1] == "report.pdf"
    assert any(a.startswith("font-paths:") for a in pdf)
    project = Path(__file__).resolve().parents[1] / "reports" / "_quarto.yml"
    text = project.read_text("utf-8")
    assert "embed-resources: true" in text and "papersize: a4" in text and "enabled: false" in text


def test_normalised_notebooks_of_two_runs_are_identical(executed: Path, tmp_path: Path) -> None:
    import papermill as pm

    again = tmp_path / "again.ipynb"
    pm.execute_notebook(
        str(_notebook(tmp_path / "s.ipynb")), str(again), kernel_name="louyu", progress_bar=False
    )
    a = render.normalise_notebook(nbformat.read(executed, as_version=4))
    b = render.normalise_notebook(nbformat.read(again, as_version=4))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_a_failed_cell_is_never_rendered() -> None:
    nb = new_notebook(cells=[new_code_cell("1/0")])
    nb.cells[0].outputs = [
        new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])
    ]
    with pytest.raises(render.RenderError, match="cell 0 failed: ZeroDivisionError"):
        render.check_no_errors(nb)
