"""The documentation site: built offline by the real tool (mkdocs, strict), every link between
its pages resolving, the API reference drawn from the docstrings, the whole data dictionary,
the contracts as shipped and the notebooks; a broken link fails the build."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.xdist_group("docs"), pytest.mark.timeout(600)]


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        for key in ("href", "src"):
            if a.get(key):
                self.links.append(str(a[key]))


def build(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "docs.py"), "--no-execute", "--out", str(out),
         *extra],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    done = build(out)
    assert done.returncode == 0, done.stdout + done.stderr
    return out / "site"


def parse(page: Path) -> Links:
    p = Links()
    p.feed(page.read_text("utf-8"))
    return p


def test_every_internal_link_resolves(site: Path) -> None:
    # 404.html is served from the site's root for any missing path: its links are absolute
    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")
    assert len(pages) >= 15
    parsed = {page: parse(page) for page in pages}
    broken = []
    for page, p in parsed.items():
        for link in p.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith(("//", "mailto:", "data:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append((page.relative_to(site), link))
            elif parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if parts.fragment not in ids:
                    broken.append((page.relative_to(site), link))
    assert broken == []


def test_the_site_needs_no_network(site: Path) -> None:
    for page in site.rglob("*.html"):
        for link in parse(page).links:
            if link.startswith(("http://", "https://", "//")):
                # outbound links are fine; loading a script, font or style from a host is not
                assert not re.search(r"\.(js|css|woff2?)(\?|$)", link), (page, link)


def test_the_api_reference_comes_from_the_docstrings(site: Path) -> None:
    from louyu_research import research
    from louyu_research.core import instants

    text = (site / "api" / "research.html").read_text("utf-8")
    first = (research.figures.__doc__ or "").split(".")[0].split()
    assert " ".join(first[:4]) in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text))
    assert "tenant_history" in text and "uscc_check_digit" in text and "export" in text
    core = re.sub(r"<[^>]+>", "", (site / "api" / "core.html").read_text("utf-8"))
    assert "cut_off" in core and (instants.cut_off.__doc__ or "").replace("`", "")[:30] in core
    assert "Month" in core and "relabel" in core


def test_the_glossary_page_has_every_row(site: Path) -> None:
    with open(ROOT / "louyu_research" / "core" / "glossary.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    text = (site / "glossary.html").read_text("utf-8")
    for row in rows:
        assert f"<code>{row['name']}</code>" in text, row["name"]
        assert row["name_zh"] in text


def test_the_contracts_and_notebooks_are_there(site: Path) -> None:
    for name in ("EVENTS", "INDICATORS", "INTAKE"):
        assert (site / "spec" / f"{name}.html").exists(), name
    for nb in ("explore", "gallery/streets_that_moved", "gallery/revisions",
               "gallery/location_quotients", "gallery/tenant_survival"):  # fmt: skip
        assert (site / "notebooks" / f"{nb}.html").exists(), nb


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    # stage and build, add a link to a page that does not exist, and build the stage again
    out = tmp_path / "out"
    done = build(out)
    assert done.returncode == 0, done.stderr
    staged = out / "src" / "guide.md"
    staged.write_text(staged.read_text("utf-8") + "\nSee [nowhere](missing.md).\n", "utf-8")
    again = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(out / "mkdocs.yml")],
        capture_output=True, text=True, cwd=out, check=False,
    )  # fmt: skip
    assert again.returncode != 0
    assert "missing.md" in again.stderr + again.stdout
