"""`louyu report` (one quarter) and `louyu reports` (every quarter the log covers)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from .common import DEFAULT_LOG_PATH, CityOption, LogOption, city_profile, usage_error


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
OutOption = Annotated[
    Path,
    typer.Option(
        "--out",
        help="Publications folder: the public Chinese edition goes to OUT/QUARTER/ (committed), "
        "the public English one to OUT/QUARTER/en/ (ignored by git); committed manifests there "
        "pin every edition's log position.",
    ),
]
InternalOutOption = Annotated[
    Path | None,
    typer.Option(
        "--internal-out",
        help="Folder for internal editions (OUT/QUARTER/internal-LANG/, every file named "
        "*-internal*); default: $XDG_DATA_HOME/louyu-research/internal-reports, outside the "
        "repository. A folder git would track is refused.",
    ),
]
RendererOption = Annotated[
    Renderer,
    typer.Option("--renderer", help="auto: Quarto when on PATH, else offline (nbconvert + Typst)."),
]
AsPublishedOption = Annotated[
    bool,
    typer.Option(
        "--as-published",
        help="Build an unpublished quarter from the log as recorded by the end of the month "
        "after the quarter (when it would have been published), not from the head.",
    ),
]
SettingsOption = Annotated[
    Path | None,
    typer.Option("--settings", help="Settings file (TOML or JSON; default: the city's)."),
]
SeqOption = Annotated[
    int | None,
    typer.Option("--upto-seq", help="Log position to build from (default: the head).", min=1),
]


def _build(quarter: str, say: Callable[[str], None], **options: Any) -> Any:
    """`build_report` with the CLI's choices as plain values; every known failure as one
    `ReportError` (a one-line message)."""
    from louyu_research.core.periods import QuarterError
    from louyu_research.report.pipeline import ReportError, build_report
    from louyu_research.report.render import RenderError

    values = {k: v.value if isinstance(v, StrEnum) else v for k, v in options.items()}
    try:
        return build_report(quarter, say=say, **values)
    except (QuarterError, RenderError) as err:
        raise ReportError(str(err)) from None


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
        internal_out: InternalOutOption = None,
        renderer: RendererOption = Renderer.auto,
        revise: Annotated[
            bool,
            typer.Option(
                "--revise",
                help="Build a revised edition at the log's head into OUT/QUARTER/revised/, "
                "showing what changed against the published one.",
            ),
        ] = False,
        as_published: AsPublishedOption = False,
        city: CityOption = None,
        settings: SettingsOption = None,
    ) -> None:
        """Build the quarterly report (季度分析通报): HTML, PDF, notebook, tables.xlsx, CSV
        tables, charts as SVG and PNG, manifest.json, in the edition and language's own
        folder (see --out, --internal-out). A published quarter (OUT/QUARTER/manifest.json
        exists) is built from its pinned log position."""
        from louyu_research.report.pipeline import ReportError

        try:
            built = _build(
                quarter,
                lambda s: typer.echo(s, err=True),
                log=log,
                edition=edition,
                lang=lang,
                upto_seq=upto_seq,
                out_root=out,
                internal_root=internal_out,
                renderer=renderer,
                revise=revise,
                as_published=as_published,
                city=city,
                settings=settings,
            )
        except ReportError as err:
            usage_error(str(err))
        first, *rest = sorted(built.files, key=lambda n: (not n.endswith(".html"), n))
        typer.echo(
            f"report {built.quarter} ({edition.value}, {lang.value}, log seq {built.position['seq']}, "
            f"{built.renderer}) in {built.seconds['total']:.0f}s: {built.folder}/{first}, "
            + ", ".join(n + ("/" if (built.folder / n).is_dir() else "") for n in rest)
        )

    @app.command("reports")
    def reports_cmd(
        edition: EditionOption = Edition.public,
        lang: LangOption = Lang.zh,
        log: LogOption = DEFAULT_LOG_PATH,
        upto_seq: SeqOption = None,
        out: OutOption = Path("reports"),
        internal_out: InternalOutOption = None,
        renderer: RendererOption = Renderer.auto,
        as_published: AsPublishedOption = False,
        city: CityOption = None,
        settings: SettingsOption = None,
    ) -> None:
        """Build the report of every quarter the log covers, with a progress bar."""
        from tqdm import tqdm

        from louyu_research.report.pipeline import ReportError, all_quarters

        try:
            quarters = all_quarters(log, upto_seq, city_profile(city))
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
                _build(
                    q,
                    once,
                    log=log,
                    edition=edition,
                    lang=lang,
                    upto_seq=upto_seq,
                    out_root=out,
                    internal_root=internal_out,
                    renderer=renderer,
                    as_published=as_published,
                    city=city,
                    settings=settings,
                )
            except ReportError as err:
                bar.close()
                typer.echo(f"louyu: error: {q}: {err}", err=True)
                raise typer.Exit(1) from None
        typer.echo(f"{len(quarters)} reports ({quarters[0]} to {quarters[-1]}) in {out}/")

    @app.command("verify-reports")
    def verify_reports_cmd(
        log: LogOption = DEFAULT_LOG_PATH,
        out: OutOption = Path("reports"),
        quarter: Annotated[
            list[str] | None,
            typer.Option("--quarter", help="Only these quarters (repeatable); default: all."),
        ] = None,
        city: CityOption = None,
    ) -> None:
        """Check the committed reports: no tracked file under OUT holds a tenant name, a USCC or
        tenant-level tax from the log (the leak guard), and every report re-executed at its
        pinned log position gives the fingerprints of its manifest. Exit 1 on any finding."""
        import tempfile

        from tqdm import tqdm

        from louyu_research.log.store import LogError
        from louyu_research.report.leaks import find_leaks
        from louyu_research.report.pipeline import ReportError, committed_reports, verify_report

        folders = [
            f
            for f in committed_reports(out)
            if not quarter or f.relative_to(out).parts[0] in quarter
        ]
        if not folders:
            usage_error(f"no committed report (manifest.json) under {out}/")
        try:
            leaks = find_leaks(out, log, city=city_profile(city))
        except LogError as err:
            usage_error(str(err))
        for line in leaks:
            typer.echo(f"leak: {line}", err=True)
        failed = 0
        bar = tqdm(folders, unit="report", desc="verify-reports")
        for folder in bar:
            name = folder.relative_to(out).as_posix()
            bar.set_postfix_str(name)
            with tempfile.TemporaryDirectory(prefix="louyu-verify-") as scratch:
                try:
                    problems = verify_report(folder, log, Path(scratch), city)
                except ReportError as err:
                    problems = [str(err)]
            for p in problems:
                tqdm.write(f"{name}: {p}")
            failed += bool(problems)
        bar.close()
        if leaks:
            typer.echo(
                f"{len(leaks)} leak(s) in files tracked under {out}/: tenant names, USCCs or "
                "tenant-level tax must never be committed",
                err=True,
            )
        if failed:
            typer.echo(f"{failed} of {len(folders)} report(s) do not reproduce", err=True)
        if leaks or failed:
            raise typer.Exit(1)
        typer.echo(f"ok: {len(folders)} report(s) reproduce their manifests; no leak under {out}/")
