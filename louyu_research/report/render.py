"""Render an executed report notebook into a publication folder.

From the executed notebook alone (no code runs again) this writes: `report.html`
(self-contained: no script, style or font fetched from a network), `report.pdf` (A4, the CJK
font embedded, byte-identical when rebuilt), `tables.xlsx` + `tables/*.csv` (from the table
payloads that travel in the outputs' metadata) and `charts/*.svg|png` (from the chart specs).

Two renderers with the same layout (same sections, charts and tables):
- Quarto, when a `quarto` program is on PATH (project file `reports/_quarto.yml`);
- otherwise offline registry packages: nbconvert for HTML, pandoc's Typst writer
  (pypandoc-binary) for the PDF source, compiled by the `typst` package with the project's font.
"""

from __future__ import annotations

import base64
import copy
import os
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
META_MIME = "application/vnd.louyu.meta+json"


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


# --- offline HTML (nbconvert) -----------------------------------------------------------------


def _template_dir() -> Path:
    return Path(str(resources.files("louyu_research.report") / "templates"))


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
    css = (_template_dir() / TEMPLATE_NAME / "report.css").read_text("utf-8")
    res = {
        "louyu": {
            "title": meta.title,
            "lang_code": "zh-CN" if meta.lang == "zh" else "en",
            "edition": meta.edition,
            "banner": meta.banner,
            "footer": meta.footer,
            "css": css,
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
    """The report as pandoc Markdown: the same outputs as the HTML, in order; tables as pipe
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
            if info.get("kind") == "meta":
                continue
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


def _typst_header(meta: ReportMeta) -> str:
    """Page set-up added to pandoc's default Typst template: A4, the CJK font, small tables,
    footer with page numbers, and the edition banner on every page when there is one."""
    banner = ""
    if meta.banner:
        banner = (
            '  header: align(center, block(fill: rgb("#c8413b"), inset: 4pt, width: 100%, '
            f'text(fill: white, weight: "bold", size: 9pt)[{_typst_str(meta.banner)}])),\n'
        )
    footer_text = _typst_str(meta.footer)
    return (
        "#set page(\n"
        + banner
        + '  footer: context [#set text(size: 8pt, fill: rgb("#666666"))\n'
        + f'    {footer_text} #h(1fr) #counter(page).display("1 / 1", both: true)],\n'
        + ")\n"
        + f'#set text(font: ("{FONT_FAMILY}",), lang: "{"zh" if meta.lang == "zh" else "en"}")\n'
        + "#show table: set text(size: 8pt)\n"
        + '#set table(stroke: (x, y) => if y == 0 { (bottom: 0.7pt) } else { (bottom: 0.2pt + rgb("#d9d9d9")) })\n'
        + "#show heading.where(level: 2): it => block(above: 1.4em, below: 0.8em, "
        + 'stroke: (bottom: 1pt + rgb("#1f5fa8")), inset: (bottom: 3pt), width: 100%, it)\n'
        + "#show figure: set block(breakable: true)\n"
    )


def _typst_str(text: str) -> str:
    """Text put into Typst markup literally (escape markup characters)."""
    out = text
    for ch in ("\\", "#", "[", "]", "*", "_", "$", "<", ">", "@", "`", "=", "-", "+", "/"):
        out = out.replace(ch, "\\" + ch)
    return out


def typst_source(nb: nbformat.NotebookNode, meta: ReportMeta, chart_dir: str) -> str:
    """Pandoc's Typst writer over the report's Markdown (pypandoc ships pandoc)."""
    import pypandoc

    md = pdf_markdown(nb, chart_dir)
    args = [
        "--standalone",
        "--columns=10000",
        "--wrap=none",
        "-V",
        "papersize=a4",
        "-V",
        f"mainfont={FONT_FAMILY}",
        "-V",
        "fontsize=10pt",
        "-V",
        "margin.x=16mm",
        "-V",
        "margin.y=18mm",
        "-V",
        f"lang={'zh' if meta.lang == 'zh' else 'en'}",
        "-M",
        f"title={meta.title}",
        "-V",
        "header-includes=" + _typst_header(meta),
    ]
    if meta.subtitle:
        args += ["-M", f"subtitle={meta.subtitle}"]
    return pypandoc.convert_text(
        md, "typst", format="markdown-implicit_figures-smart", extra_args=args
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
    build = out_dir / "_build"
    build.mkdir(parents=True, exist_ok=True)
    typ = build / "report.typ"
    typ.write_text(typst_source(nb, meta, "../charts"), "utf-8")
    return compile_pdf(typ, out_dir, meta.timestamp)


# --- Quarto -----------------------------------------------------------------------------------


def quarto_program() -> str | None:
    return shutil.which("quarto")


def quarto_commands(quarto: str, notebook: Path, meta: ReportMeta) -> list[list[str]]:
    """The two `quarto render` calls (HTML embedded, PDF via typst) of the executed notebook;
    the project file (reports/_quarto.yml) carries the shared format options."""
    common = [
        "--no-execute",
        "-M",
        f"title:{meta.title}",
        "-M",
        f"lang:{'zh' if meta.lang == 'zh' else 'en'}",
    ]
    if meta.subtitle:
        common += ["-M", f"subtitle:{meta.subtitle}"]
    fonts = ["-M", f"font-paths:{typst_font_paths()[0]}"]
    return [
        [quarto, "render", notebook.name, "--to", "html", "--output", "report.html", *common],
        [
            quarto,
            "render",
            notebook.name,
            "--to",
            "typst",
            "--output",
            "report.pdf",
            *common,
            *fonts,
        ],
    ]


def render_quarto(quarto: str, notebook: Path, meta: ReportMeta, out_dir: Path) -> None:
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(_pdf_timestamp(meta.timestamp)))
    for cmd in quarto_commands(quarto, notebook, meta):
        done = subprocess.run(
            cmd, cwd=out_dir, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise RenderError(f"quarto failed ({' '.join(cmd[1:5])}): {' | '.join(tail)}")


# --- the whole rendering ----------------------------------------------------------------------


def render(
    notebook: Path,
    out_dir: Path,
    *,
    renderer: str = "auto",
    say: Callable[[str], None] = print,
) -> Rendered:
    """Render the executed `notebook` (already inside `out_dir`) into the publication files.

    `renderer`: "auto" (Quarto when on PATH, else offline), "quarto" or "offline".
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
        render_quarto(quarto, notebook, meta, out_dir)
    else:
        if renderer == "auto":
            say(QUARTO_MISSING)
        (out_dir / "report.html").write_text(html_offline(nb, meta), "utf-8")
        (out_dir / "report.pdf").write_bytes(pdf_offline(nb, meta, out_dir))
    out.outputs["report.html"] = out_dir / "report.html"
    out.outputs["report.pdf"] = out_dir / "report.pdf"
    return out


def svg_data_uri(svg: str) -> str:
    """An SVG as a data: URI (for embedding outside nbconvert)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def scratch_dir(prefix: str = "louyu-render-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
