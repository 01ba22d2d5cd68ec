"""`louyu export`: a frame of the log to Parquet, CSV or Stata, its provenance beside it.

    louyu export figures --from 2015-01 --to 2017-12 --level street --out streets.dta
    louyu export panel --from 2017-01 --to 2017-12 --out panel.parquet
    louyu export tenancies --as-of 2017-12-31 --out tenancies.csv --lang zh
    louyu export sections --from 2016-01 --to 2017-12 --out sections.csv

The format follows the file's suffix (`.parquet`, `.csv`, `.dta`) unless `--format` says;
`FILE.provenance.json` beside it records the settings, the log position, the city and every
column with its glossary names. Frames that name tenants (tenancies, tenants, tax) are for
internal use only: the command says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from louyu_research.core.instants import DateError, cut_off
from louyu_research.core.periods import Month, MonthError
from louyu_research.log.store import DEFAULT_LOG, LogError

from .common import CityOption, LogOption, city_profile, usage_error
from .indicators import LEVEL_HELP, RECORDED_BY_HELP, _collect_warnings, _warn

#: What can be exported: the figures, the panel, tax by section and every frame of a replay.
WHAT = ("figures", "panel", "sections", "buildings", "tenancies", "tenants", "tax", "city_tax",
        "findings")  # fmt: skip
_NAMES_TENANTS = ("tenancies", "tenants", "tax")


def _month(value: str | None, option: str) -> str:
    if value is None:
        usage_error(f"{option} is needed (a month YYYY-MM)")
    try:
        return str(Month.parse(value))
    except MonthError as err:
        usage_error(f"{option}: {err}")


def _refuse_tracked(out: Path, what: str) -> None:
    """A frame that names tenants is never written where git would track it."""
    from louyu_research.report.pipeline import ReportError, git_would_track

    try:
        root = git_would_track(out)
    except ReportError as err:
        usage_error(str(err))
    if root is not None:
        usage_error(
            f"refusing to write {what} to {out}: it names tenants, and git would track it in "
            f"{root}; write it outside the repository or to an ignored folder (intake-runs/)"
        )


def export_cmd(
    what: Annotated[str, typer.Argument(help="What to export: " + ", ".join(WHAT) + ".")],
    out: Annotated[Path, typer.Option("--out", help="The file: .parquet, .csv or .dta.")],
    log: LogOption = DEFAULT_LOG,
    start: Annotated[
        str | None,
        typer.Option("--from", help="First month YYYY-MM (figures, panel, sections)."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", help="Last month YYYY-MM (default: --from)."),
    ] = None,
    level: Annotated[str, typer.Option("--level", help=LEVEL_HELP)] = "city",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Business date of a replay's frame.")
    ] = None,
    recorded_by: Annotated[str | None, typer.Option("--recorded-by", help=RECORDED_BY_HELP)] = None,
    upto_seq: Annotated[
        int | None, typer.Option("--upto-seq", help="Only events with seq ≤ N.", min=0)
    ] = None,
    format_: Annotated[
        str | None,
        typer.Option("--format", help="parquet, csv or dta (default: from the suffix)."),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            help="zh or en: CSV headers (default: column names) and Stata labels (default en).",
        ),
    ] = None,
    city: CityOption = None,
) -> None:
    """Export a frame of the log (figures, panel, tax by section, a replay's frame) with its
    provenance beside it."""
    from louyu_research import research
    from louyu_research.indicators.figures import LEVEL_ALIASES, Pinned
    from louyu_research.replay.log import open_log

    if what not in WHAT:
        usage_error(f"unknown frame {what!r} (one of {', '.join(WHAT)})")
    if lang not in (None, "zh", "en"):
        usage_error(f"--lang must be zh or en, got {lang!r}")
    if format_ not in (None, *research.FORMATS):
        usage_error(f"--format must be one of {', '.join(research.FORMATS)}, got {format_!r}")
    if level not in LEVEL_ALIASES:
        usage_error(f"unknown level {level!r} ({', '.join(LEVEL_ALIASES)})")
    if recorded_by is not None and upto_seq is not None:
        usage_error("give one cut-off: --recorded-by or --upto-seq, not both")
    if what in _NAMES_TENANTS:
        _refuse_tracked(out, what)
    try:
        opened = open_log(log, city=city_profile(city))
        tz = opened.city.time_zone
        cut: dict[str, Any] = {
            "recorded_by": cut_off(recorded_by, tz, what="--recorded-by") if recorded_by else None,
            "upto_seq": upto_seq,
        }
        with _collect_warnings() as warned:
            if what in ("figures", "panel", "sections"):
                first = _month(start, "--from")
                last = _month(end, "--to") if end is not None else first
                if what == "figures":
                    data: Any = research.figures(opened, Month.range(first, last), level, **cut)
                elif what == "panel":
                    frame = research.panel(opened, first, last, **cut)
                    data = Pinned(frame, opened.city.settings, opened.prepared(**cut).position)
                else:
                    frame = research.tax_by_section(opened, first, last, **cut)
                    data = Pinned(frame, opened.city.settings, opened.prepared(**cut).position)
            else:
                if as_of is None:
                    usage_error(f"{what}: --as-of is needed (a business date YYYY-MM-DD)")
                result = research.state(opened, as_of, **cut)
                data = Pinned(result.frame(what), opened.city.settings, result.position)
        written = research.export(
            data,
            out,
            format=format_,  # type: ignore[arg-type]
            lang=lang,  # type: ignore[arg-type]
            city=opened.city.name,  # type: ignore[arg-type]
        )
    except (LogError, DateError, MonthError, research.ExportError, ValueError) as err:
        usage_error(str(err))
    _warn(warned, "warning")
    if what in _NAMES_TENANTS:
        typer.echo(
            f"louyu: note: {what} names tenants: for internal use only, never a public output",
            err=True,
        )
    typer.echo(f"wrote {written[0]} ({data.frame.height} rows) and {written[1].name}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("export")(export_cmd)
