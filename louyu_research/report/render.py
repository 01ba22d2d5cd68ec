"""Render an executed report notebook into a publication folder.

From the executed notebook alone (no code runs again) this writes: `report.html`
(self-contained: no script, style, image or font fetched from a network), `report.pdf` (A4,
the CJK font embedded), `tables.xlsx` + `tables/*.csv` (from the table payloads that travel
in the outputs' metadata) and `charts/*.svg|png` (from the chart specs).

Two renderers, one publication (same cover, banner, footer, sections, tables and charts):
- Quarto, when a `quarto` program is on PATH: a private project folder is made inside the
  output folder (`templates/quarto/_quarto.yml`, this build's `_metadata.yml`, a prepared
  copy of the notebook) and removed afterwards, so Quarto writes nothing anywhere else;
- otherwise offline registry packages: nbconvert for HTML, pandoc's Typst writer
  (pypandoc-binary) for the PDF source, compiled by the `typst` package.

What makes them the same: both PDFs come from one Typst template (`templates/typst/`:
`typst-template.typ` and `typst-show.typ`, Quarto's partials and the offline pandoc
template's) and one Lua filter over the same Markdown of every output; both HTML pages use
`report.css` and the same banner and footer markup; the fonts are the project's font folder.
The notebook Quarto is given holds only what a reader sees: hidden cells, code and prints
are removed, and every HTML output is passed on as a raw HTML block (a notebook with
`text/html` outputs makes Quarto load require.js and jQuery from a CDN).
"""

from __future__ import annotations

import copy
import html as html_mod
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import nbformat

from . import charts as charts_mod
from . import tables as tables_mod
from .fonts import FONT_FAMILY, register_fonts, typst_font_paths

QUARTO_MISSING = (
    "Quarto not found on PATH: rendering offline with nbconvert + pandoc/Typst "
    "(for the Quarto renderer install it from https://quarto.org/docs/get-started/)"
)
REMOVE_TAGS = frozenset({"remove-cell", "parameters", "injected-parameters"})
TEMPLATE_NAME = "louyu_report"
#: Private work folders inside an output folder start with "_" (ignored by git, removed).
WORK_PREFIX = "_"


class RenderError(RuntimeError):
    """The notebook cannot be rendered (e.g. a cell failed, a renderer reported an error)."""


@dataclass(frozen=True)
class ReportMeta:
    """What the renderer needs to know about the report: taken from the notebook's outputs."""

    title: str = "楼宇经济季度分析通报"
    subtitle: str = ""
    lang: str = "zh"
    edition: str = "public"
    banner: str = ""  # shown on every page (the internal edition's warning)
    footer: str = ""
    timestamp: datetime | None = None  # the PDF's creation date (the log position's time)


@dataclass
class Rendered:
    renderer: str
    outputs: dict[str, Path] = field(default_factory=dict)


# --- reading the executed notebook ----------------------------------------------------------


def _louyu(output: dict[str, Any]) -> dict[str, Any]:
    return (output.get("metadata") or {}).get("louyu") or {}


def _visible_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if not REMOVE_TAGS & set(c.get("metadata", {}).get("tags", []))]


def iter_outputs(nb: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """Display outputs of the report's code cells, in order (hidden cells skipped)."""
    outs = []
    for cell in _visible_cells(nb):
        if cell.cell_type != "code":
            continue
        outs.extend(
            o
            for o in cell.get("outputs", [])
            if o.get("output_type") in ("display_data", "execute_result")
        )
    return outs


def check_no_errors(nb: nbformat.NotebookNode) -> None:
    """A report is never rendered from a notebook in which a cell failed."""
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if o.get("output_type") == "error":
                raise RenderError(f"cell {i} failed: {o.get('ename')}: {o.get('evalue')}")


def report_meta(nb: nbformat.NotebookNode) -> ReportMeta:
    """The meta output the notebook displays first (title, edition banner, timestamp)."""
    for o in iter_outputs(nb):
        info = _louyu(o)
        if info.get("kind") == "meta":
            m = dict(info["meta"])
            ts = m.pop("timestamp", None)
            return ReportMeta(**m, timestamp=datetime.fromisoformat(ts) if ts else None)
    return ReportMeta()


def table_payloads(nb: nbformat.NotebookNode) -> list[dict[str, Any]]:
    return [_louyu(o)["table"] for o in iter_outputs(nb) if _louyu(o).get("kind") == "table"]


def chart_specs(nb: nbformat.NotebookNode) -> list[tuple[str, dict[str, Any]]]:
    """(file stem, Vega-Lite spec) of every chart, in report order (stems: `tables.file_stems`)."""
    found = [_louyu(o) for o in iter_outputs(nb) if _louyu(o).get("kind") == "chart"]
    return list(zip(tables_mod.file_stems(found), [c["spec"] for c in found], strict=True))


def pandoc_lang(lang: str) -> str:
    """The document language as pandoc and Quarto know it ("zh-Hans": pandoc has no
    translations for plain "zh" and warns on every build)."""
    return "zh-Hans" if lang == "zh" else "en"


# --- volatile metadata ------------------------------------------------------------------------


def normalise_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy without what changes from run to run (papermill/nbclient timestamps, durations,
    the injected cell's random id, kernel-reported execution times): a rebuilt notebook is
    then byte-identical when the figures are."""
    nb = copy.deepcopy(nb)
    pm = nb.metadata.get("papermill")
    if pm is not None:
        for key in ("start_time", "end_time", "duration", "exception", "input_path", "output_path"):
            pm.pop(key, None)
        pm.get("environment_variables", {}).clear()
    nb.metadata.pop("widgets", None)
    for i, cell in enumerate(nb.cells):
        md = cell.get("metadata", {})
        md.pop("execution", None)
        md.pop("papermill", None)
        if "injected-parameters" in md.get("tags", []):
            cell["id"] = "injected-parameters"
        elif "id" in cell and not cell["id"]:
            cell["id"] = f"cell-{i}"
    return nb


# --- artifacts: tables and charts -------------------------------------------------------------


def write_tables(
    nb: nbformat.NotebookNode, out_dir: Path, created: datetime | None = None
) -> dict[str, Path]:
    payloads = table_payloads(nb)
    xlsx = tables_mod.write_xlsx(payloads, out_dir / "tables.xlsx", created=_naive(created))
    if (out_dir / "tables").exists():
        shutil.rmtree(out_dir / "tables")
    tables_mod.write_csvs(payloads, out_dir / "tables")
    return {"tables.xlsx": xlsx, "tables": out_dir / "tables"}


def write_charts(nb: nbformat.NotebookNode, out_dir: Path) -> dict[str, Path]:
    """charts/<name>.svg and .png for every chart (rendered by vl-convert with the CJK font)."""
    folder = out_dir / "charts"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for stem, spec in chart_specs(nb):
        (folder / f"{stem}.svg").write_text(charts_mod.spec_to_svg(spec), "utf-8")
        (folder / f"{stem}.png").write_bytes(charts_mod.spec_to_png(spec))
    return {"charts": folder}


def _naive(ts: datetime | None) -> datetime | None:
    return None if ts is None else ts.astimezone(UTC).replace(tzinfo=None)


# --- what both renderers share ----------------------------------------------------------------


def _template_dir() -> Path:
    return Path(str(resources.files("louyu_research.report") / "templates"))


def typst_template_dir() -> Path:
    """The one Typst page design (partials, offline template, Lua filter)."""
    return _template_dir() / "typst"


def quarto_template_dir() -> Path:
    return _template_dir() / "quarto"


def _css() -> str:
    return (_template_dir() / TEMPLATE_NAME / "report.css").read_text("utf-8")


def page_wrappers(meta: ReportMeta) -> tuple[str, str]:
    """The HTML put before and after the report's content by both renderers: the edition
    banner, the <main> element, and the footer with the log position."""
    banner = (
        f'<div class="edition-banner" role="note">{html_mod.escape(meta.banner)}</div>\n'
        if meta.banner
        else ""
    )
    before = f'{banner}<main class="report edition-{html_mod.escape(meta.edition)}">\n'
    after = f'</main>\n<footer class="report-footer">{html_mod.escape(meta.footer)}</footer>\n'
    return before, after


_MD_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def _md_literal(text: str) -> str:
    """Text that pandoc's Markdown reader gives back literally (every ASCII punctuation
    character backslash-escaped): metadata values are read as Markdown."""
    return _MD_PUNCTUATION.sub(r"\\\1", text)


def typst_metadata(meta: ReportMeta) -> dict[str, str]:
    """The variables of typst-show.typ, as Markdown that reads back as the literal text."""
    values = {
        "title": meta.title,
        "subtitle": meta.subtitle,
        "edition-banner": meta.banner,
        "report-footer": meta.footer,
    }
    out = {k: _md_literal(v) for k, v in values.items() if v}
    out["mainfont"] = FONT_FAMILY
    out["lang"] = pandoc_lang(meta.lang)
    return out


def _write_json(path: Path, value: Any) -> Path:
    """JSON is YAML too: metadata files for pandoc and Quarto, with no YAML writer needed."""
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return path


# --- offline HTML (nbconvert) -----------------------------------------------------------------


def html_offline(nb: nbformat.NotebookNode, meta: ReportMeta) -> str:
    """Self-contained HTML: our template (no CDN), code hidden, charts as inline SVG images."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(_template_dir())],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_output_stdin=True,
        exclude_anchor_links=True,
        embed_images=True,
    )
    remove = TagRemovePreprocessor(remove_cell_tags=set(REMOVE_TAGS), enabled=True)
    exporter.register_preprocessor(remove, enabled=True)
    before, after = page_wrappers(meta)
    res = {
        "louyu": {
            "title": meta.title,
            "lang_code": pandoc_lang(meta.lang),
            "css": _css(),
            "before_body": before,
            "after_body": after,
        }
    }
    body, _ = exporter.from_notebook_node(_drop_streams(nb), resources=res)
    return body


def _drop_streams(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Keep only display outputs: warnings or prints never reach a publication."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.outputs
                if o.get("output_type") in ("display_data", "execute_result")
            ]
            for o in cell.outputs:  # the metadata payloads are for us, not for the page
                o.get("metadata", {}).pop("louyu", None)
    return nb


# --- offline PDF (pandoc → Typst → typst) -----------------------------------------------------


def pdf_markdown(nb: nbformat.NotebookNode, chart_dir: str) -> str:
    """The report as pandoc Markdown: the same outputs as the HTML, in order (the cover's
    introduction included: its title and subtitle are the template's); tables as pipe
    tables (their text/markdown), charts as the SVG files written to `chart_dir`."""
    parts: list[str] = []
    for cell in _visible_cells(nb):
        if cell.cell_type == "markdown":
            parts.append(cell.source)
            continue
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            if o.get("output_type") not in ("display_data", "execute_result"):
                continue
            info, data = _louyu(o), o.get("data", {})
            if info.get("kind") == "chart":
                parts.append(f"![]({chart_dir}/{info['name']}.svg){{width=100%}}")
            elif "text/markdown" in data:
                parts.append(_text(data["text/markdown"]))
            elif "image/svg+xml" in data or "image/png" in data:
                raise RenderError("an image output without a chart name cannot go into the PDF")
            elif "text/plain" in data and "text/html" not in data:
                parts.append("```\n" + _text(data["text/plain"]) + "\n```")
    return "\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"


def _text(v: Any) -> str:
    return "".join(v) if isinstance(v, list) else str(v)


def typst_source(nb: nbformat.NotebookNode, meta: ReportMeta, chart_dir: str, work: Path) -> str:
    """Pandoc's Typst writer over the report's Markdown, with the shared template and filter
    (pypandoc ships pandoc); `work` receives the metadata file."""
    import pypandoc

    typst_dir = typst_template_dir()
    meta_file = _write_json(work / "metadata.yml", typst_metadata(meta))
    args = [
        "--standalone",
        "--columns=10000",
        "--wrap=none",
        f"--template={typst_dir / 'report.typ'}",
        f"--lua-filter={typst_dir / 'louyu.lua'}",
        f"--metadata-file={meta_file}",
    ]
    return pypandoc.convert_text(
        pdf_markdown(nb, chart_dir),
        "typst",
        format="markdown-implicit_figures-smart",
        extra_args=args,
    )


def compile_pdf(typ_path: Path, root: Path, timestamp: datetime | None) -> bytes:
    """Typst → PDF with only the project's font directory (system fonts ignored, so every
    machine embeds the same glyphs) and a fixed creation date (byte-identical rebuilds)."""
    import typst

    ts = _pdf_timestamp(timestamp)
    compiler = typst.Compiler(
        root=str(root), font_paths=typst_font_paths(), ignore_system_fonts=True
    )
    pdf, warnings = compiler.compile_with_warnings(input=str(typ_path), format="pdf", timestamp=ts)
    problems = [str(w) for w in warnings]
    if problems:
        raise RenderError(f"typst warned (a report must compile cleanly): {'; '.join(problems)}")
    return pdf


def _pdf_timestamp(ts: datetime | None) -> int:
    if ts is not None:
        return int(ts.timestamp())
    env = os.environ.get("SOURCE_DATE_EPOCH")
    return int(env) if env and env.isdigit() else 0


def pdf_offline(nb: nbformat.NotebookNode, meta: ReportMeta, out_dir: Path) -> bytes:
    """The PDF through pandoc + typst; charts are the SVGs already written to out_dir/charts."""
    work = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}typst-", dir=out_dir))
    try:
        typ = work / "report.typ"
        typ.write_text(typst_source(nb, meta, "../charts", work), "utf-8")
        return compile_pdf(typ, out_dir, meta.timestamp)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- Quarto -----------------------------------------------------------------------------------


def quarto_program() -> str | None:
    return shutil.which("quarto")


def _raw_html(html: str) -> str:
    """A Markdown raw HTML block (the fence is longer than any backtick run inside)."""
    longest = max((len(m) for m in re.findall(r"`+", html)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{{=html}}\n{html.rstrip()}\n{fence}"


def quarto_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook Quarto renders: what a reader sees and nothing else.

    Hidden cells (tags in REMOVE_TAGS), code, prints and our metadata payloads are removed.
    An output with HTML becomes Markdown: its HTML as a raw HTML block (which the Typst
    writer drops) and its Markdown inside a block hidden from HTML (which the PDF shows).
    The cover's title and subtitle are in its HTML only: the PDF's come from the template.
    """
    out = nbformat.v4.new_notebook()
    out.metadata = {
        k: copy.deepcopy(nb.metadata[k])
        for k in ("kernelspec", "language_info")
        if k in nb.metadata
    }
    for i, cell in enumerate(_visible_cells(_drop_streams(nb))):
        if cell.cell_type == "markdown":
            out.cells.append(nbformat.v4.new_markdown_cell(cell.source, id=f"md-{i}"))
            continue
        if cell.cell_type != "code":
            continue
        outputs = []
        for o in cell.outputs:
            data = dict(o.get("data", {}))
            if "text/html" in data:
                md = _raw_html(_text(data["text/html"]))
                if "text/markdown" in data:
                    md += (
                        '\n\n::: {.content-hidden when-format="html"}\n'
                        + _text(data["text/markdown"]).strip("\n")
                        + "\n:::"
                    )
                data = {"text/markdown": md + "\n"}
            outputs.append(nbformat.v4.new_output("display_data", data=data))
        out.cells.append(nbformat.v4.new_code_cell("", id=f"cell-{i}", outputs=outputs))
    return out


def quarto_project(folder: Path, nb: nbformat.NotebookNode, meta: ReportMeta) -> Path:
    """Write a Quarto project for this build into `folder`: the shared configuration, this
    build's metadata, the prepared notebook, the Typst partials, the filter and the page
    style. Returns the notebook's path."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(quarto_template_dir() / "_quarto.yml", folder / "_quarto.yml")
    typst_dir = typst_template_dir()
    for name in ("typst-template.typ", "typst-show.typ", "louyu.lua"):
        shutil.copy(typst_dir / name, folder / name)
    (folder / "report.css").write_text(_css(), "utf-8")
    before, after = page_wrappers(meta)
    (folder / "before-body.html").write_text(before, "utf-8")
    (folder / "after-body.html").write_text(after, "utf-8")
    typst_meta = typst_metadata(meta)
    lang = typst_meta.pop("lang")
    _write_json(
        folder / "_metadata.yml",
        {
            "lang": lang,
            "format": {
                "html": {"pagetitle": meta.title},
                "typst": {**typst_meta, "font-paths": typst_font_paths()},
            },
        },
    )
    notebook = folder / "report.ipynb"
    nbformat.write(quarto_notebook(nb), notebook)
    return notebook


def quarto_commands(quarto: str, notebook: Path) -> list[list[str]]:
    """The two `quarto render` calls (HTML, PDF through Typst) of the prepared notebook; the
    project folder's _quarto.yml and _metadata.yml carry every option."""
    base = [quarto, "render", notebook.name, "--no-execute"]
    return [
        [*base, "--to", "html", "--output", "report.html"],
        [*base, "--to", "typst", "--output", "report.pdf"],
    ]


def _warnings(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if re.search(r"\bWARN", line)]


def render_quarto(quarto: str, nb: nbformat.NotebookNode, meta: ReportMeta, out_dir: Path) -> None:
    """report.html and report.pdf through Quarto, in a project folder of our own inside
    out_dir (removed afterwards: Quarto's .quarto/ and figure folders go with it)."""
    project = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}quarto-", dir=out_dir))
    try:
        notebook = quarto_project(project, nb, meta)
        env = dict(os.environ, SOURCE_DATE_EPOCH=str(_pdf_timestamp(meta.timestamp)))
        for cmd in quarto_commands(quarto, notebook):
            done = subprocess.run(
                cmd, cwd=project, env=env, capture_output=True, text=True, check=False
            )
            said = f"{done.stdout}\n{done.stderr}"
            what = f"quarto render --to {cmd[cmd.index('--to') + 1]}"
            if done.returncode != 0:
                tail = [ln for ln in said.strip().splitlines() if ln.strip()][-5:]
                raise RenderError(f"{what} failed: {' | '.join(tail)}")
            warned = _warnings(said)
            if warned:
                raise RenderError(f"{what} warned (a report must render cleanly): {warned[0]}")
        page = (project / "report.html").read_text("utf-8")
        fetched = external_resources(page)
        if fetched:
            raise RenderError(f"Quarto's report.html would fetch {fetched[0]} from a network")
        for name in ("report.html", "report.pdf"):
            os.replace(project / name, out_dir / name)
    finally:
        shutil.rmtree(project, ignore_errors=True)


_RESOURCE_TAG = re.compile(
    r"<(script|img|link|iframe|source|video|audio|embed|object)\b[^>]*>", re.I
)
_URL_ATTR = re.compile(r"""\b(?:src|href|data)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]+)""", re.I)


def external_resources(page: str) -> list[str]:
    """URLs a browser would fetch by itself on opening the page (scripts, images, style
    sheets, frames); links a reader may follow (<a href>) are not resources."""
    return [
        m.group(1) for tag in _RESOURCE_TAG.finditer(page) for m in _URL_ATTR.finditer(tag.group(0))
    ]


# --- the whole rendering ----------------------------------------------------------------------


def render(
    notebook: Path,
    out_dir: Path,
    *,
    renderer: str = "auto",
    say: Callable[[str], None] = print,
) -> Rendered:
    """Render the executed `notebook` (already inside `out_dir`) into the publication files.

    `renderer`: "auto" (Quarto when on PATH, else offline), "quarto" or "offline". Work files
    go to private folders inside out_dir, removed when done.
    """
    register_fonts()
    nb = nbformat.read(notebook, as_version=4)
    check_no_errors(nb)
    meta = report_meta(nb)
    out = Rendered(renderer="offline")
    out.outputs["notebook"] = notebook
    out.outputs |= write_tables(nb, out_dir, meta.timestamp)
    out.outputs |= write_charts(nb, out_dir)

    quarto = quarto_program() if renderer in ("auto", "quarto") else None
    if renderer == "quarto" and quarto is None:
        raise RenderError(QUARTO_MISSING)
    if quarto:
        out.renderer = "quarto"
        render_quarto(quarto, nb, meta, out_dir)
    else:
        if renderer == "auto":
            say(QUARTO_MISSING)
        (out_dir / "report.html").write_text(html_offline(nb, meta), "utf-8")
        (out_dir / "report.pdf").write_bytes(pdf_offline(nb, meta, out_dir))
    out.outputs["report.html"] = out_dir / "report.html"
    out.outputs["report.pdf"] = out_dir / "report.pdf"
    return out


__all__ = [
    "QUARTO_MISSING",
    "RenderError",
    "Rendered",
    "ReportMeta",
    "chart_specs",
    "external_resources",
    "normalise_notebook",
    "quarto_commands",
    "render",
    "report_meta",
    "table_payloads",
]
