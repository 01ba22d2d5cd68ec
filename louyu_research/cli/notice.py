"""`louyu notice` (one month's street ranking notice) and `louyu notices` (every month)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import DEFAULT_LOG_PATH, CityOption, LogOption, city_profile, log_error, usage_error
from .report import (
    AsPublishedOption,
    Edition,
    EditionOption,
    Lang,
    LangOption,
    OutOption,
    Renderer,
    RendererOption,
    SeqOption,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command("notice")
    def notice_cmd(
        month: Annotated[str, typer.Option("--month", help="The month, e.g. 2017-12.")],
        edition: EditionOption = Edition.public,
        lang: LangOption = Lang.zh,
        log: LogOption = DEFAULT_LOG_PATH,
        upto_seq: SeqOption = None,
        out: OutOption = Path("reports"),
        renderer: RendererOption = Renderer.auto,
        as_published: AsPublishedOption = False,
        city: CityOption = None,
    ) -> None:
        """Build the monthly street ranking notice (动态排名通报) into OUT/notices/MONTH/:
        HTML, PDF (A4, one or two pages), tables, manifest.json. A published month (its
        manifest exists) is rebuilt from its pinned log position."""
        from louyu_research.core.periods import MonthError
        from louyu_research.report.notice import build_notice
        from louyu_research.report.pipeline import ReportError
        from louyu_research.report.render import RenderError

        try:
            built = build_notice(
                month,
                log=log,
                edition=edition.value,
                lang=lang.value,
                upto_seq=upto_seq,
                out_root=out,
                renderer=renderer.value,
                as_published=as_published,
                city=city,
                say=lambda s: typer.echo(s, err=True),
            )
        except (MonthError, ReportError, RenderError) as err:
            usage_error(str(err))
        typer.echo(
            f"notice {built.month} ({edition.value}, {lang.value}, log seq "
            f"{built.position['seq']}, {built.renderer}) in {built.seconds:.0f}s: "
            f"{built.folder}/report.html, report.pdf, tables/, manifest.json"
        )

    @app.command("notices")
    def notices_cmd(
        log: LogOption = DEFAULT_LOG_PATH,
        out: OutOption = Path("reports"),
        as_published: AsPublishedOption = False,
        city: CityOption = None,
    ) -> None:
        """Build the public Chinese notice of every month the log covers (published months
        from their pinned positions)."""
        from tqdm import tqdm

        from louyu_research.core.periods import Month
        from louyu_research.log.store import LogError
        from louyu_research.replay.log import open_log
        from louyu_research.report.inputs import log_months
        from louyu_research.report.notice import build_notice
        from louyu_research.report.pipeline import ReportError

        try:
            lg = open_log(log, city=city_profile(city))
        except LogError as err:
            log_error(err)
        first, last = log_months(lg, lg.head.seq)  # the months the quarterly reports cover
        months = [str(m) for m in Month.range(first, last)]
        bar = tqdm(months, unit="notice", desc="notices")
        for m in bar:
            bar.set_postfix_str(m)
            try:
                build_notice(
                    m, log=log, out_root=out, as_published=as_published, city=city, say=tqdm.write
                )
            except ReportError as err:
                bar.close()
                typer.echo(f"louyu: error: {m}: {err}", err=True)
                raise typer.Exit(1) from None
        typer.echo(f"{len(months)} notices ({months[0]} to {months[-1]}) in {out}/notices/")
