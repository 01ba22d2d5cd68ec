"""The renderer on a small notebook executed by a real kernel (no sample log needed)."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from report_checks import pdf_missing_glyphs, pdf_text, words_outside_margins

from louyu_research.report import render

pytestmark = [pytest.mark.xdist_group("render"), pytest.mark.timeout(300)]

#: Markdown and Typst markup characters, which must reach the page as they are.
FOOTER = "louyu-research · 日志位置 seq 7 · 8b5c_41*c8 #[x]"
CELLS = [
    f"FOOTER = {FOOTER!r}\n"
    "import datetime as dt\n"
    "import polars as pl\n"
    "from louyu_research.report import charts\n"
    "from louyu_research.report.sections import CoverBlock, show\n"
    "from louyu_research.report.tables import Column, Table\n"
    "charts.use_theme()",
    "show([CoverBlock('嘉兴市楼宇经济季度分析通报', '2017年第4季度 · 内部版', '测试用的说明文字。', {\n"
    "    'title': '嘉兴市楼宇经济季度分析通报', 'subtitle': '2017年第4季度 · 内部版', 'lang': 'zh',\n"
    "    'edition': 'internal', 'banner': '内部版：仅限内部使用', 'footer': FOOTER,\n"
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


HIDDEN = "Executed by a hidden cell"


def _notebook(path: Path) -> Path:
    """The cells above, after a Markdown cell and a parameters cell that must not be shown."""
    hidden = new_markdown_cell(f"# {HIDDEN}", metadata={"tags": ["remove-cell"]})
    params = new_code_cell(
        "hidden_parameter = 'a parameters cell'", metadata={"tags": ["parameters"]}
    )
    nb = new_notebook(cells=[hidden, params, *(new_code_cell(src) for src in CELLS)])
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
    assert sorted(p.name for p in folder.iterdir()) == [
        "charts",
        "report.html",
        "report.ipynb",
        "report.pdf",
        "tables",
        "tables.xlsx",
    ]  # fmt: skip  (no work folder left behind)
    html = (folder / "report.html").read_text("utf-8")
    assert "a print never reaches" not in html
    assert "import polars" not in html  # code is hidden
    assert HIDDEN not in html and "hidden_parameter" not in html
    assert 'class="edition-banner"' in html and "内部版：仅限内部使用" in html
    footer = html.split('<footer class="report-footer">')[1].split("</footer>")[0]
    assert footer == escape(FOOTER)
    assert html.count("嘉兴市楼宇经济季度分析通报") == 2  # <title> and the cover's <h1>


def test_pdf_has_banner_footer_title_and_intro_and_real_glyphs(
    rendered: tuple[Path, list[str]],
) -> None:
    from pypdf import PdfReader

    folder, _ = rendered
    pdf = folder / "report.pdf"
    assert pdf_missing_glyphs(pdf) == []
    reader = PdfReader(pdf)
    pages = [p.extract_text() or "" for p in reader.pages]
    assert all("内部版：仅限内部使用" in p for p in pages)
    assert all(FOOTER in p for p in pages), pages[0][-200:]  # markup characters kept literally
    assert reader.metadata.title == "嘉兴市楼宇经济季度分析通报"
    assert pages[0].count("嘉兴市楼宇经济季度分析通报") == 1
    text = pdf_text(pdf)
    bare = "".join(text.split())  # Typst spaces Chinese from digits; the words are the same
    for expected in ("测试用的说明文字。", "2017年第4季度·内部版", "83.5%", "1,200.0", "‡",
                     "一、核心指标"):  # fmt: skip
        assert expected in bare, expected
    assert HIDDEN not in text and "hidden_parameter" not in text
    assert reader.metadata.creation_date.isoformat().startswith("2018-01-15T02:00:00")
    assert words_outside_margins(pdf) == []


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


def test_quarto_commands_render_html_and_typst() -> None:
    html, pdf = render.quarto_commands("/opt/quarto/bin/quarto", Path("build/x/report.ipynb"))
    assert html[:3] == ["/opt/quarto/bin/quarto", "render", "report.ipynb"]
    assert html[html.index("--to") + 1] == "html" and "--no-execute" in html
    assert pdf[pdf.index("--to") + 1] == "typst" and pdf[pdf.index("--output") + 1] == "report.pdf"
    config = (render.quarto_template_dir() / "_quarto.yml").read_text("utf-8")
    for option in ("embed-resources: true", "minimal: true", "format-links: false",
                   "html-table-processing: none", "enabled: false", "- typst-template.typ"):  # fmt: skip
        assert option in config, option
    # the Quarto project lives in each build's own folder, never in the repository
    assert not (Path(__file__).resolve().parents[1] / "reports" / "_quarto.yml").exists()


def test_quarto_project_holds_only_what_a_reader_sees(executed: Path, tmp_path: Path) -> None:
    nb = nbformat.read(executed, as_version=4)
    meta = render.report_meta(nb)
    notebook = render.quarto_project(tmp_path / "q", nb, meta)
    given = nbformat.read(notebook, as_version=4)
    text = json.dumps(given, ensure_ascii=False)
    for gone in (
        HIDDEN,
        "hidden_parameter",
        "a print never reaches",
        "import polars",
        '"kind": "table"',
    ):
        assert gone not in text, gone
    outputs = [o for c in given.cells if c.cell_type == "code" for o in c.outputs]
    assert all(not o.get("metadata") for o in outputs)  # our payloads stay in report.ipynb
    # a text/html output makes Quarto add require.js and jQuery from a CDN: there is none
    assert all("text/html" not in o["data"] for o in outputs)
    assert all(not c.source for c in given.cells if c.cell_type == "code")
    cover = outputs[0]["data"]["text/markdown"]
    assert cover.startswith('```{=html}\n<header class="cover"><h1>嘉兴市楼宇经济季度分析通报</h1>')
    assert '::: {.content-hidden when-format="html"}\n测试用的说明文字。\n:::' in cover
    assert sum("image/svg+xml" in o["data"] for o in outputs) == 1
    meta_file = json.loads((tmp_path / "q" / "_metadata.yml").read_text("utf-8"))
    assert meta_file["lang"] == "zh-Hans"  # pandoc has no translations for plain "zh"
    assert meta_file["format"]["typst"]["report-footer"] == (
        "louyu\\-research · 日志位置 seq 7 · 8b5c\\_41\\*c8 \\#\\[x\\]"
    )
    before = (tmp_path / "q" / "before-body.html").read_text("utf-8")
    assert before.startswith('<div class="edition-banner" role="note">内部版：仅限内部使用</div>')


@pytest.mark.parametrize(
    ("page", "fetched"),
    [
        ('<script src="https://cdnjs.cloudflare.com/require.min.js"></script>', ["https://cdnjs.cloudflare.com/require.min.js"]),
        ("<img alt=x src='//example.org/a.png'>", ["//example.org/a.png"]),
        ('<link rel="stylesheet" href="http://example.org/a.css">', ["http://example.org/a.css"]),
        ('<a href="https://quarto.org/">a link a reader may follow</a>', []),
        ('<img src="data:image/svg+xml;base64,PHN2Zz4="><script>var u = "https://x.org";</script>', []),
    ],
)  # fmt: skip
def test_external_resources_are_what_a_browser_fetches_by_itself(
    page: str, fetched: list[str]
) -> None:
    assert render.external_resources(page) == fetched


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
