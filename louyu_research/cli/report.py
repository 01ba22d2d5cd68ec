"""`louyu report` (one quarter) and `louyu reports` (every quarter the log covers)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .common import DEFAULT_LOG_PATH, LogOption, usage_error


class Edition(StrEnum):
    public = "public"
    internal = "internal"


class Lang(StrEnum):
    zh = "zh"
    en = "en"


class Renderer(StrEnum):
    auto = "auto"
    quarto = "quarto"
    offline = "offline"


EditionOption = Annotated[
    Edition, typer.Option("--edition", help="public (disclosure control) or internal (everything).")
]
LangOption = Annotated[Lang, typer.Option("--lang", help="Report language: zh (default) or en.")]
OutOption = Annotated[Path, typer.Option("--out", help="Folder that receives <QUARTER>/.")]
RendererOption = Annotated[
    Renderer,
    typer.Option("--renderer", help="auto: Quarto when on PATH, else offline (nbconvert + Typst)."),
]
SeqOption = Annotated[
    int | None,
    typer.Option("--upto-seq", help="Log position to build from (default: the head).", min=1),
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command("report")
    def report_cmd(
        quarter: Annotated[str, typer.Option("--quarter", help="The quarter, e.g. 2017Q4.")],
        edition: EditionOption = Edition.public,
        lang: LangOption = Lang.zh,
        log: LogOption = DEFAULT_LOG_PATH,
        upto_seq: SeqOption = None,
        out: OutOption = Path("reports"),
        renderer: RendererOption = Renderer.auto,
    ) -> None:
        """Build the quarterly report (季度分析通报) into OUT/QUARTER/: HTML, PDF, notebook,
        tables.xlsx, CSV tables, charts as SVG and PNG."""
        from ..publication import QuarterError
        from ..render import RenderError
        from ..report import ReportError, build_report

        try:
            built = build_report(
                quarter,
                log=log,
                edition=edition.value,
                lang=lang.value,
                upto_seq=upto_seq,
                out_root=out,
                renderer=renderer.value,
                say=lambda s: typer.echo(s, err=True),
            )
        except (QuarterError, ReportError, RenderError) as err:
            usage_error(str(err))
        typer.echo(
            f"report {built.quarter} ({edition.value}, {lang.value}, log seq {built.position['seq']}, "
            f"{built.renderer}) in {built.seconds['total']:.0f}s: {built.folder}/report.html, report.pdf, "
            "tables.xlsx, tables/, charts/"
        )

    @app.command("reports")
    def reports_cmd(
        edition: EditionOption = Edition.public,
        lang: LangOption = Lang.zh,
        log: LogOption = DEFAULT_LOG_PATH,
        upto_seq: SeqOption = None,
        out: OutOption = Path("reports"),
        renderer: RendererOption = Renderer.auto,
    ) -> None:
        """Build the report of every quarter the log covers, with a progress bar."""
        from tqdm import tqdm

        from ..publication import QuarterError
        from ..render import RenderError
        from ..report import ReportError, all_quarters, build_report

        try:
            quarters = all_quarters(log, upto_seq)
        except ReportError as err:
            usage_error(str(err))
        if not quarters:
            usage_error(f"the log at {log} covers no complete quarter")
        said: set[str] = set()

        def once(line: str) -> None:  # the Quarto notice is worth one line, not twenty
            if line not in said:
                said.add(line)
                tqdm.write(line)

        bar = tqdm(quarters, unit="report", desc="reports")
        for q in bar:
            bar.set_postfix_str(q)
            try:
                build_report(
                    q,
                    log=log,
                    edition=edition.value,
                    lang=lang.value,
                    upto_seq=upto_seq,
                    out_root=out,
                    renderer=renderer.value,
                    say=once,
                )
            except (QuarterError, ReportError, RenderError) as err:
                bar.close()
                typer.echo(f"louyu: error: {q}: {err}", err=True)
                raise typer.Exit(1) from None
        typer.echo(f"{len(quarters)} reports ({quarters[0]} to {quarters[-1]}) in {out}/")
