"""The Quarto renderer, run for real on the sample log: `louyu report --renderer quarto`.

Skipped when no `quarto` program is on PATH (CI has none). Builds 2017Q4 as city staff
would (public zh, public en, internal zh) plus the public zh edition offline, and checks
the Quarto outputs with other tools than the ones that wrote them: the HTML parsed here and
opened in headless Chromium, the PDF read by pypdf and poppler.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_checks import (
    decode_png,
    ink_pixels,
    pdf_fonts,
    pdf_missing_glyphs,
    visit_offline,
    words_outside_margins,
)

ROOT = Path(__file__).resolve().parents[1]
LOUYU = [sys.executable, "-m", "louyu_research.cli"]
QUARTER = "2017Q4"
TITLE = "嘉兴市楼宇经济季度分析通报"
BANNER = "内部版：含企业名称与企业税收，仅限内部使用，不得对外公开"
HIDDEN = ("Executed by", "papermill injects", "inputs = gather", "for section in SECTIONS")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("quarto"),
    pytest.mark.timeout(1200),
    pytest.mark.skipif(
        shutil.which("quarto") is None,
        reason="quarto is not on PATH: the Quarto renderer cannot be checked on this machine",
    ),
]


def _build(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*LOUYU, "report", "--quarter", QUARTER, "--log", str(ROOT / "events"),
         "--out", str(root / "reports"), "--internal-out", str(root / "internal"), *extra],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def _ignored_under_reports() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--", "reports"],
        capture_output=True, text=True, cwd=ROOT, check=True,
    ).stdout  # fmt: skip


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("quarto")
    before = _ignored_under_reports()
    said = {
        "public": _build(root, "--renderer", "quarto"),
        "en": _build(root, "--renderer", "quarto", "--lang", "en"),
        "internal": _build(root, "--renderer", "quarto", "--edition", "internal"),
    }
    offline = tmp_path_factory.mktemp("offline")
    _build(offline, "--renderer", "offline")
    return {
        "root": root,
        "said": said,
        "public": root / "reports" / QUARTER,
        "en": root / "reports" / QUARTER / "en",
        "internal": root / "internal" / QUARTER / "internal-zh",
        "offline": offline / "reports" / QUARTER,
        "repo_before": before,
        "repo_after": _ignored_under_reports(),
    }


def _footer(folder: Path, manifest: str = "manifest.json") -> tuple[str, str]:
    """The log position the footer must show, from the manifest (seq, chain hash)."""
    pos = json.loads((folder / manifest).read_text("utf-8"))["log_position"]
    return f"seq {pos['seq']}", pos["hash"][:12]


def _pages(pdf: Path) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(pdf).pages]


class _Resources(HTMLParser):
    """Every src/href/data attribute with its tag."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [(tag, v or "") for k, v in attrs if k in ("src", "href", "data")]


# --- the builds ---------------------------------------------------------------------------------


def test_every_quarto_build_is_clean_and_says_so(builds: dict) -> None:
    for name, done in builds["said"].items():
        assert ", quarto)" in done.stdout, (name, done.stdout)
        assert not re.search(r"(?i)warn|translation|traceback", done.stderr), (name, done.stderr)


def test_nothing_is_written_outside_the_output_folders(builds: dict) -> None:
    root: Path = builds["root"]
    folders = [builds["public"], builds["en"], builds["internal"]]
    for path in root.rglob("*"):
        if path.is_file():
            own = max((f for f in folders if f in path.parents), key=lambda f: len(f.parts))
            rel = path.relative_to(own)
            assert rel.parts[0] in ("tables", "charts") or len(rel.parts) == 1, path
            assert not rel.name.startswith((".", "_")) or rel.name == "_build.lock", path
    assert not [p for p in root.rglob("*") if p.name in (".quarto", "report_files", ".gitignore")]
    assert builds["repo_after"] == builds["repo_before"]  # no reports/.quarto/ in the project


# --- HTML ---------------------------------------------------------------------------------------


def test_html_has_banner_footer_one_title_and_no_hidden_cell(builds: dict) -> None:
    for name in ("public", "internal"):
        folder: Path = builds[name]
        html_name = "report-internal.html" if name == "internal" else "report.html"
        html = (folder / html_name).read_text("utf-8")
        footer = html.split('<footer class="report-footer">')[1].split("</footer>")[0]
        manifest = "manifest-internal.json" if name == "internal" else "manifest.json"
        for part in _footer(folder, manifest):
            assert part in footer, (name, footer)
        assert (BANNER in html) == (name == "internal"), name
        assert 'class="edition-banner"' in html if name == "internal" else True
        assert len(re.findall(r"<h1\b", html)) == 1 and "title-block-header" not in html
        body = html.split("<body", 1)[1]
        assert body.count(TITLE) == 1, name
        assert "Other formats" not in html and "quarto-alternate-formats" not in html
        for hidden in HIDDEN:
            assert hidden not in html, (name, hidden)


def test_html_fetches_nothing_by_itself(builds: dict) -> None:
    for folder, name in ((builds["public"], "report.html"), (builds["en"], "report.html"),
                         (builds["internal"], "report-internal.html")):  # fmt: skip
        parser = _Resources()
        parser.feed((folder / name).read_text("utf-8"))
        fetched = [
            (tag, ref)
            for tag, ref in parser.refs
            if tag != "a" and not ref.startswith(("data:", "#"))
        ]
        assert fetched == [], fetched[:5]
        assert not [r for t, r in parser.refs if re.match(r"(?:https?:)?//", r) and t != "a"]


def test_quarto_html_opens_offline_in_chromium(builds: dict, tmp_path: Path) -> None:
    folder: Path = builds["public"]
    visit = visit_offline(folder / "report.html", tmp_path / "chart.png")
    assert visit.blocked == [], visit.blocked
    assert visit.failed == [], visit.failed
    assert visit.console_errors == [] and visit.page_errors == []
    assert visit.requests == [(folder / "report.html").resolve().as_uri()]
    assert visit.chart_count == len(list((folder / "charts").glob("*.svg"))) >= 7
    width, height, rows = decode_png(visit.screenshot)
    assert width > 300 and height > 150
    assert ink_pixels(rows) > 0.02 * width * height, "the first chart's area is blank"
    assert "主要指标完成情况" in visit.page_text and visit.page_text.count(TITLE) == 1


# --- PDF ----------------------------------------------------------------------------------------


def test_pdf_has_banner_footer_title_metadata_and_the_project_font(builds: dict) -> None:
    from pypdf import PdfReader

    for name in ("public", "en", "internal"):
        folder: Path = builds[name]
        pdf = folder / ("report-internal.pdf" if name == "internal" else "report.pdf")
        pages = _pages(pdf)
        seq, chain = _footer(
            folder, "manifest-internal.json" if name == "internal" else "manifest.json"
        )
        assert all(seq in p and chain in p for p in pages), (name, pages[-1][-160:])
        assert all(BANNER in p for p in pages) == (name == "internal"), name
        title = "Jiaxing Building Economy: Quarterly Report" if name == "en" else TITLE
        assert PdfReader(pdf).metadata.title == title
        assert pages[0].count(title) == 1, name
        text = "\n".join(pages)
        for hidden in HIDDEN:
            assert hidden not in text, (name, hidden)
        fonts = pdf_fonts(pdf)
        assert fonts and all(f["emb"] == "yes" for f in fonts), fonts
        assert all("NotoSansCJKsc" in f["name"] for f in fonts), [f["name"] for f in fonts]
        assert pdf_missing_glyphs(pdf) == []
        box = PdfReader(pdf).pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
        assert words_outside_margins(pdf) == [], name


def test_pdf_keeps_the_cover_introduction(builds: dict) -> None:
    for folder in (builds["public"], builds["offline"]):
        first = "".join(_pages(folder / "report.pdf")[0].split())
        assert "本通报依据《嘉兴市促进楼宇经济提质发展三年行动计划" in first, folder


# --- one publication, whichever renderer --------------------------------------------------------


def test_manifest_and_tables_do_not_depend_on_the_renderer(builds: dict) -> None:
    quarto, offline = builds["public"], builds["offline"]
    assert (quarto / "manifest.json").read_bytes() == (offline / "manifest.json").read_bytes()
    names = sorted(p.relative_to(quarto) for p in (quarto / "tables").iterdir())
    assert names == sorted(p.relative_to(offline) for p in (offline / "tables").iterdir())
    for name in names:
        assert (quarto / name).read_bytes() == (offline / name).read_bytes(), name


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def test_both_renderers_give_the_same_words(builds: dict, tmp_path: Path) -> None:
    """Same cover, sections, tables and footer: the visible words of both pages and both
    PDFs, in order (layout aside)."""
    quarto, offline = builds["public"], builds["offline"]
    seen = [
        visit_offline(folder / "report.html", tmp_path / f"{i}.png").page_text
        for i, folder in enumerate((quarto, offline))
    ]
    assert _words(seen[0]) == _words(seen[1])
    texts = ["\n".join(_pages(folder / "report.pdf")) for folder in (quarto, offline)]
    assert _words(texts[0]) == _words(texts[1])
