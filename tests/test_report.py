"""End to end: `louyu report` on the sample log, checked with independent tools.

One public (zh) and one internal (en) build per test run (offline renderer; the Quarto
one is test_quarto's), shared by the tests of the "report" xdist group (`pytest -n 2
--dist loadgroup` keeps them in one worker); and every edition and language built in a
clean clone of the repository, which must leave `git status` empty.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import polars as pl
import pytest
from report_checks import (
    decode_png,
    ink_pixels,
    pdf_fonts,
    pdf_missing_glyphs,
    pdf_text,
    render_pdf_pages,
    visit_offline,
    words_outside_margins,
)

ROOT = Path(__file__).resolve().parents[1]
LOUYU = [sys.executable, "-m", "louyu_research.cli"]
QUARTER, MONTH = "2017Q4", "2017-12"

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("report"), pytest.mark.timeout(900)]


@pytest.fixture(scope="session")
def sample_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped sample log (events/); if this checkout has none yet, the same generator's
    output for the recorded seed."""
    shipped = ROOT / "events"
    if any(shipped.glob("*.jsonl*")):
        return shipped
    from louyu_research.sample.simulate import RECORDED_SCALE, RECORDED_SEED, simulate, write_log

    out = tmp_path_factory.mktemp("sample") / "events"
    write_log(simulate(RECORDED_SEED, RECORDED_SCALE), out)
    return out


def _build(root: Path, log: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LOUYU, "report", "--quarter", QUARTER, "--log", str(log), "--out", str(root), *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def _shared_build(factory: pytest.TempPathFactory, name: str, log: Path, *extra: str) -> Path:
    """Build once per test run, shared by every xdist worker (a lock and a done-marker in the
    run's common temp folder), so the slow build happens once even if the group is split.
    Returns the edition's own folder: root/QUARTER for the publication, the internal
    edition's under root/internal/."""
    from filelock import FileLock

    root = factory.getbasetemp().parent / f"report-{name}"
    root.mkdir(exist_ok=True)
    internal = "internal" in extra
    folder = root / "internal" / QUARTER / "internal-en" if internal else root / QUARTER
    html = "report-internal.html" if internal else "report.html"
    with FileLock(str(root) + ".lock"):
        if not (root / "done").exists():
            done = _build(
                root, log, "--renderer", "offline", "--internal-out", str(root / "internal"), *extra
            )
            assert done.returncode == 0, done.stderr
            assert f"{folder}/{html}" in done.stdout  # says where the output is
            (root / "build.stderr").write_text(done.stderr)
            (root / "done").write_text("ok")
    return folder


@pytest.fixture(scope="session")
def public(tmp_path_factory: pytest.TempPathFactory, sample_log: Path) -> Path:
    return _shared_build(tmp_path_factory, "public", sample_log)


@pytest.fixture(scope="session")
def internal(tmp_path_factory: pytest.TempPathFactory, sample_log: Path) -> Path:
    return _shared_build(
        tmp_path_factory, "internal", sample_log, "--edition", "internal", "--lang", "en"
    )


def _seq(folder: Path) -> int:
    nb = nbformat.read(folder / "report.ipynb", as_version=4)
    return int(nb.metadata["papermill"]["parameters"]["upto_seq"])


# --- content --------------------------------------------------------------------------------


class _TableText(HTMLParser):
    """Rows (lists of cell texts) of the <table id=...> of interest."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth, self.rows, self.cell = table_id, 0, [], None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "div" and dict(attrs).get("id") == self.table_id:
            self.depth = 1
        elif self.depth and tag == "div":
            self.depth += 1
        if self.depth and tag == "tr":
            self.rows.append([])
        if self.depth and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None
        if self.depth and tag == "div":
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell += data


def _headline_rows(html: str) -> dict[str, list[str]]:
    parser = _TableText("tbl-headline")
    parser.feed(html)
    return {r[0]: r for r in parser.rows if len(r) > 2}


def _expected_headline(log: Path, seq: int) -> dict[str, str]:
    """The five figures of the quarter's last month from `louyu indicators` (another command,
    another process), formatted by hand: rates to one decimal percent, counts as integers."""
    out = subprocess.run(
        [*LOUYU, "indicators", "--log", str(log), "--month", MONTH, "--level", "city",
         "--upto-seq", str(seq), "--format", "json"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    data = json.loads(out)
    row = data["rows"] if isinstance(data, dict) and "rows" in data else data
    row = row[0] if isinstance(row, list) else row
    return {
        "已建楼宇入驻率": f"{row['occupancy_rate'] * 100:.1f}%",
        "市场主体注册率": f"{row['registration_rate'] * 100:.1f}%",
        "楼宇税收占全市税收比例": f"{row['tax_share_ytd'] * 100:.1f}%",
        "专业楼宇（幢）": str(int(row["featured_buildings"])),
        "千万元楼（幢）": str(int(row["key_buildings"])),
    }


def test_html_headline_equals_louyu_indicators(public: Path, sample_log: Path) -> None:
    html = (public / "report.html").read_text("utf-8")
    rows = _headline_rows(html)
    expected = _expected_headline(sample_log, _seq(public))
    for name, value in expected.items():
        assert name in rows, f"{name} missing from the headline table: {list(rows)}"
        assert rows[name][1] == value, (name, rows[name], value)


def test_pdf_holds_the_headline_figures_and_real_glyphs(
    public: Path, sample_log: Path, tmp_path: Path
) -> None:
    pdf = public / "report.pdf"
    text = pdf_text(pdf)
    for name, value in _expected_headline(sample_log, _seq(public)).items():
        assert value in text, (name, value)
    assert "主要指标完成情况" in text
    assert pdf_missing_glyphs(pdf) == []
    fonts = pdf_fonts(pdf)
    assert fonts and all(f["emb"] == "yes" for f in fonts), fonts
    assert any("NotoSansCJK" in f["name"] for f in fonts)
    assert words_outside_margins(pdf) == []
    pages = render_pdf_pages(pdf, tmp_path / "pages")
    assert len(pages) >= 5
    for page in pages:
        _, _, rows = decode_png(page.read_bytes())
        assert ink_pixels(rows) > 500, f"{page.name} is blank"


def test_pdf_is_a4_and_rebuilds_byte_identical(public: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    from louyu_research.report.render import render

    box = PdfReader(public / "report.pdf").pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    again = tmp_path / QUARTER
    again.mkdir()
    (again / "report.ipynb").write_bytes((public / "report.ipynb").read_bytes())
    render(again / "report.ipynb", again, renderer="offline", say=lambda s: None)
    assert (again / "report.pdf").read_bytes() == (public / "report.pdf").read_bytes()
    assert (again / "report.html").read_bytes() == (public / "report.html").read_bytes()
    assert (again / "tables.xlsx").read_bytes() == (public / "tables.xlsx").read_bytes()


def test_html_opens_offline_in_chromium(public: Path, tmp_path: Path) -> None:
    visit = visit_offline(public / "report.html", tmp_path / "chart.png")
    assert visit.blocked == [], visit.blocked
    assert visit.failed == [], visit.failed
    assert visit.console_errors == [] and visit.page_errors == []
    assert visit.requests == [(public / "report.html").resolve().as_uri()]
    assert visit.chart_count == len(list((public / "charts").glob("*.svg")))
    width, height, rows = decode_png(visit.screenshot)
    assert width > 300 and height > 150
    colours = {
        row[k : k + 3] for row in rows[:: max(1, height // 60)] for k in range(0, len(row), 16)
    }
    assert ink_pixels(rows) > 0.02 * width * height, "the first chart's area is blank"
    assert len(colours) > 5
    assert "主要指标完成情况" in visit.page_text


def test_html_fetches_nothing_by_itself(public: Path) -> None:
    html = (public / "report.html").read_text("utf-8")
    assert "<script" not in html.lower()
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert all(r.startswith(("data:", "#")) for r in refs), [
        r for r in refs if not r.startswith("data:")
    ][:5]
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", html)


def test_workbook_equals_the_csvs(public: Path) -> None:
    import openpyxl

    from louyu_research.report.render import table_payloads

    wb = openpyxl.load_workbook(public / "tables.xlsx")
    # the sheets are in report order; each table's CSV is named after the table
    payloads = table_payloads(nbformat.read(public / "report.ipynb", as_version=4))
    csvs = [public / "tables" / f"{p['name']}.csv" for p in payloads]
    assert sorted(csvs) == sorted((public / "tables").glob("*.csv"))
    assert len(wb.sheetnames) == len(csvs) >= 15
    for sheet_name, path in zip(wb.sheetnames, csvs, strict=True):
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        sheet = [list(r) for r in wb[sheet_name].iter_rows(values_only=True)]
        if not rows[1:]:
            sheet = sheet[:1]
        assert sheet[0] == rows[0], path.name
        assert re.search(r"[\u4e00-\u9fff]", "".join(rows[0])), f"{path.name}: headers not Chinese"
        assert len(sheet) == len(rows), path.name
        for xl, text in zip(sheet[1:], rows[1:], strict=True):
            assert len(xl) == len(text), path.name
            for v, t in zip(xl, text, strict=True):
                assert _same(v, t), (path.name, v, t)


def _same(v: object, text: str) -> bool:
    """A workbook cell equals the CSV's text: same string, or the same number (the CSV spells
    floats in full, the workbook may give an integral float back as an int), empty = None."""
    if v is None:
        return text == ""
    if isinstance(v, bool):
        return text == ("true" if v else "false")
    if isinstance(v, int | float):
        return text != "" and float(text) == float(v)
    return str(v) == text


def test_every_chart_as_svg_and_png(public: Path) -> None:
    nb = nbformat.read(public / "report.ipynb", as_version=4)
    charts = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs
        if o.get("metadata", {}).get("louyu", {}).get("kind") == "chart"
    ]  # fmt: skip
    svgs = sorted((public / "charts").glob("*.svg"))
    pngs = sorted((public / "charts").glob("*.png"))
    assert len(svgs) == len(pngs) == len(charts) >= 7
    assert [p.stem for p in svgs] == [p.stem for p in pngs]
    for png in pngs:
        _, _, rows = decode_png(png.read_bytes())
        assert ink_pixels(rows) > 1000, png.name
    for output in charts:  # the notebook shows SVG, never Altair's CDN-loading HTML
        assert set(output["data"]) == {"image/svg+xml", "text/plain"}


def test_executed_notebook_is_kept_without_volatile_metadata(public: Path) -> None:
    nb = nbformat.read(public / "report.ipynb", as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "louyu"
    assert "start_time" not in nb.metadata["papermill"]
    assert all("execution" not in c.metadata for c in nb.cells)
    assert not any(
        o.get("output_type") == "error"
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    source = nbformat.read(ROOT / "notebooks" / "quarterly_report.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in source.cells if c.cell_type == "code"), (
        "notebook kept with outputs"
    )


# --- editions -------------------------------------------------------------------------------


def _tenant_names(log: Path) -> list[str]:
    from louyu_research.log.store import EventLog

    names = (
        EventLog(log)
        .scan()
        .select(pl.col("tenant_name").drop_nulls().unique())
        .collect()
        .to_series()
        .to_list()
    )
    assert len(names) > 100
    return sorted(names)


def _published_text(folder: Path) -> str:
    import openpyxl

    parts = [(folder / "report.html").read_text("utf-8"), pdf_text(folder / "report.pdf")]
    parts.append((folder / "report.ipynb").read_text("utf-8"))
    parts += [p.read_text("utf-8-sig") for p in sorted((folder / "tables").glob("*.csv"))]
    parts += [p.read_text("utf-8") for p in sorted((folder / "charts").glob("*.svg"))]
    wb = openpyxl.load_workbook(folder / "tables.xlsx")
    parts += [
        str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None
    ]
    return "\n".join(parts)


def _internal_files_are_marked(folder: Path) -> bool:
    """Every file of an internal edition says so in its name, and they are all there: the
    tables and charts its manifest lists, the page, the PDF, the notebook, the workbook."""
    outputs = json.loads((folder / "manifest-internal.json").read_text("utf-8"))["outputs"]
    expected = {"manifest-internal.json", "report-internal.html", "report-internal.pdf",
                "report-internal.ipynb", "tables-internal.xlsx"}  # fmt: skip
    for key in outputs:
        expected |= {key} if key.startswith("tables/") else {f"{key}.svg", f"{key}.png"}
    found = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != "_build.lock"
    }
    assert len(outputs) >= 20 and all("-internal" in key for key in outputs)
    assert found == expected, sorted(found ^ expected)
    return all("-internal." in name for name in found)


def test_public_edition_leaks_no_tenant_name(public: Path, sample_log: Path) -> None:
    text = _published_text(public)
    leaked = [n for n in _tenant_names(sample_log) if n in text]
    assert leaked == []


def test_internal_edition_shows_tenants_and_says_so_on_every_page(
    internal: Path, sample_log: Path
) -> None:
    from pypdf import PdfReader

    banner = "INTERNAL EDITION"
    assert sorted(p.name for p in internal.iterdir()) == [
        "_build.lock", "charts", "manifest-internal.json", "report-internal.html",
        "report-internal.ipynb", "report-internal.pdf", "tables", "tables-internal.xlsx",
    ]  # fmt: skip
    assert _internal_files_are_marked(internal)
    pages = PdfReader(internal / "report-internal.pdf").pages
    assert all(banner in (p.extract_text() or "") for p in pages)
    html = (internal / "report-internal.html").read_text("utf-8")
    assert 'class="edition-banner"' in html and banner in html
    assert "Headline" in html and "主要指标完成情况" not in html  # English
    names = [n for n in _tenant_names(sample_log) if n in html]
    assert names, "the internal edition lists tenants at risk by name"


def test_public_edition_withholds_small_buildings_tax(public: Path) -> None:
    """Where a building's tax is withheld the workbook cell is empty and the page shows ‡."""
    key = public / "tables" / "key_buildings.csv"
    with key.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    html = (public / "report.html").read_text("utf-8")
    assert "信息保护" in html
    withheld = [r for r in rows[1:] if r[4] == ""]
    assert withheld, "the sample has key buildings with too few tenants to publish their tax"
    assert "‡" in html


def test_build_talks_to_its_kernel_over_unix_sockets_and_says_nothing_alarming(
    public: Path,
) -> None:
    """Over TCP any local user could reach the kernel, and ipykernel warns so on every build."""
    said = (public.parent / "build.stderr").read_text()
    assert "without encryption" not in said and "Traceback" not in said, said
    assert not list(ROOT.glob("kernel-*ipc*"))  # no socket files left in the project


# --- where each edition goes ---------------------------------------------------------------------


def _git(clone: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], capture_output=True, text=True, cwd=clone, check=True
    ).stdout


def test_every_edition_and_language_in_a_clean_clone_leaves_git_status_empty(
    tmp_path: Path,
) -> None:
    """Only the public Chinese edition is the committed publication: building all four in a
    fresh clone changes no tracked file and adds no file git would pick up."""
    clone, data = tmp_path / "repo", tmp_path / "data"
    _git(tmp_path, "clone", "--quiet", str(ROOT), str(clone))
    env = dict(os.environ, XDG_DATA_HOME=str(data))  # the internal editions' default root
    for edition, lang in itertools.product(("public", "internal"), ("zh", "en")):
        done = subprocess.run(
            [*LOUYU, "report", "--quarter", QUARTER, "--edition", edition, "--lang", lang,
             "--renderer", "offline"],
            capture_output=True, text=True, cwd=clone, env=env, check=False,
        )  # fmt: skip
        assert done.returncode == 0, (edition, lang, done.stderr)
        assert "is published: building it from its pinned log position" in done.stderr
    assert _git(clone, "status", "--porcelain") == ""
    ignored = _git(clone, "status", "--porcelain", "--ignored").splitlines()
    assert "!! reports/2017Q4/en/" in ignored
    assert not [line for line in ignored if "internal" in line]  # none in the repository
    en = clone / "reports" / QUARTER / "en"
    assert "Headline" in (en / "report.html").read_text("utf-8")
    assert json.loads((en / "manifest.json").read_text("utf-8"))["parameters"]["lang"] == "en"
    for lang in ("zh", "en"):
        folder = data / "louyu-research" / "internal-reports" / QUARTER / f"internal-{lang}"
        assert _internal_files_are_marked(folder)
    # the same seq as the publication: every edition of a published quarter is pinned
    seqs = {
        json.loads(p.read_text("utf-8"))["log_position"]["seq"]
        for p in [*clone.glob("reports/2017Q4/**/manifest*.json"), *data.rglob("manifest*.json")]
    }
    assert len(seqs) == 1
    # an internal edition is refused anywhere git would track it, before anything is written
    done = subprocess.run(
        [*LOUYU, "report", "--quarter", QUARTER, "--edition", "internal", "--internal-out",
         "reports"],
        capture_output=True, text=True, cwd=clone, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing to write" in lines[0] and "git would track" in lines[0]
    assert not (clone / "reports" / QUARTER / "internal-zh").exists()
    assert _git(clone, "status", "--porcelain", "--ignored").splitlines() == ignored


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("quarter", ["2017Q5", "../x", "2030Q1", ""])
def test_bad_quarter_is_a_one_line_error(quarter: str, sample_log: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            *LOUYU,
            "report",
            "--quarter",
            quarter,
            "--log",
            str(sample_log),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("louyu: error:"), done.stderr
    assert "QUARTER" in lines[0] or "outside the log" in lines[0]
    assert "../x" not in lines[0] and "/" not in lines[0].replace("louyu: error:", "")
    assert not (tmp_path / "out").exists()


def test_explore_notebook_runs_on_the_sample_log(sample_log: Path, tmp_path: Path) -> None:
    """The researchers' notebook, executed by a real kernel so it never rots."""
    import papermill as pm

    out = tmp_path / "explore.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "explore.ipynb"),
        str(out),
        parameters={"log": str(sample_log)},
        kernel_name="louyu",
        cwd=str(ROOT / "notebooks"),
        progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    svgs = [o for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) >= 3  # building history, street scores, industry map
    travel = next(c for c in nb.cells if c.get("id") == "travel")
    assert "difference" in travel.outputs[0]["data"]["text/html"]
    source = nbformat.read(ROOT / "notebooks" / "explore.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in source.cells if c.cell_type == "code")
