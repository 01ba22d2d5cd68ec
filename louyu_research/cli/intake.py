"""`louyu intake KIND FILE...` and `louyu template KIND`: the city's returns in, templates out.

`intake` is a dry run unless `--apply`: it prints the change as a table per building, writes the
drafts (JSON Lines) and an intake report (.xlsx) into `--out`, and appends only when asked,
atomically. Exit codes: 0 fine, 1 rejected input (every problem printed, in Chinese and
English, nothing appended), 2 usage.
"""

from __future__ import annotations

import csv
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..log import DEFAULT_LOG
from .common import CityOption, LogOption, city_profile, echo_table, usage_error

if TYPE_CHECKING:
    from ..replay import Log

DEFAULT_OUT = Path("intake-runs")
SHOWN_ISSUES = 200


class Kind(StrEnum):
    buildings = "buildings"
    roster = "roster"
    tax = "tax"
    city_tax = "city-tax"


class Attribution(StrEnum):
    registered = "registered"
    area = "area"


OutOption = Annotated[
    Path,
    typer.Option(
        "--out",
        help="Folder for the drafts and the intake report (they name tenants: keep it out of git).",
    ),
]


def intake(
    kind: Annotated[Kind, typer.Argument(help="What the files are.")],
    files: Annotated[list[Path], typer.Argument(help=".xlsx, .xls or .csv files.")],
    month: Annotated[
        str | None,
        typer.Option(help="The month YYYY-MM the returns describe (a template carries it)."),
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Append the change (default: a dry run).")
    ] = False,
    log: LogOption = DEFAULT_LOG,
    city: CityOption = None,
    out: OutOption = DEFAULT_OUT,
    allow_mass_move_out: Annotated[
        bool,
        typer.Option(
            "--allow-mass-move-out",
            help="Accept a roster that moves out more than --max-move-out-share of a building.",
        ),
    ] = False,
    max_move_out_share: Annotated[
        float, typer.Option(help="Share of a building's tenants a roster may move out.")
    ] = 0.5,
    attribution: Annotated[
        Attribution,
        typer.Option(help="Tax of a taxpayer in several buildings: registered first, or by area."),
    ] = Attribution.registered,
) -> None:
    """Take in returns: show the change (dry run), or append it with --apply."""
    from ..intake import IntakeOptions, IntakeRejected, IntakeUsageError, plan, write_outputs
    from ..intake import append as append_change
    from ..intake.change import SUMMARY_ZH
    from ..intake.columns import KIND_NAMES

    if not 0 < max_move_out_share <= 1:
        usage_error(f"--max-move-out-share must be in (0, 1], got {max_move_out_share:g}")
    options = IntakeOptions(max_move_out_share, allow_mass_move_out, attribution.value)
    the_log = _open(log, city)
    try:
        change = plan(kind.value, list(files), log=the_log, month=month, options=options)
        if apply:
            change = append_change(change, the_log)
    except IntakeUsageError as err:
        usage_error(str(err))
    except IntakeRejected as err:
        _rejected(
            err.issues, files[0].stem if len(files) == 1 else f"{kind.value}-{month or 'all'}", out
        )
        raise typer.Exit(1) from None
    zh, en = KIND_NAMES[kind.value]
    what = "已追加 / appended" if apply else "试运行（未追加）/ dry run (nothing appended)"
    typer.echo(
        f"{zh} {change.month or ''} / {en}: {len(change.drafts)} 条事件 events — {what}; "
        f"log seq {change.position['seq']}"
    )
    if change.summary.height:
        summary = change.summary.rename(
            {k: v for k, v in SUMMARY_ZH.items() if k in change.summary.columns}
        )
        echo_table(summary, fmt_str_lengths=24)
    for type_, n in change.counts().items():
        typer.echo(f"  {type_}: {n}")
    for note in change.notes:
        typer.echo(f"  {note}")
    paths = write_outputs(change, out)
    typer.echo(f"drafts: {paths['drafts']}\nreport: {paths['report']}")
    if apply:
        typer.echo(
            f"appended {change.appended} event(s), {change.unchanged} already present; "
            f"head seq {change.position['seq'] + change.appended}"
        )
    elif change.drafts:
        typer.echo("确认无误后加 --apply 追加 / add --apply to append")


def _rejected(issues: list, stem: str, out: Path) -> None:
    for issue in issues[:SHOWN_ISSUES]:
        typer.echo(str(issue), err=True)
    if len(issues) > SHOWN_ISSUES:
        typer.echo(f"… {len(issues) - SHOWN_ISSUES} more", err=True)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}.issues.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["文件 file", "工作表 sheet", "行 row", "列 column", "问题", "problem"])
        for i in issues:
            w.writerow([i.file, i.sheet or "", i.row or "", i.column or "", i.zh, i.en])
    typer.echo(
        f"已拒绝：{len(issues)} 个问题，未追加任何事件（全部问题见 {path}）/ "
        f"rejected: {len(issues)} problem(s), nothing appended (all listed in {path})",
        err=True,
    )


template_app = typer.Typer(
    help="Write the .xlsx templates the office sends out (roster, buildings, tax).",
    no_args_is_help=True,
)


def _month(month: str) -> str:
    from ..intake.change import is_month

    if not is_month(month):
        usage_error(f"--month must be YYYY-MM, got {month!r}")
    return month


def _open(log: Path, city: Path | None) -> Log:
    """The log for replay, about the `--city` profile (default: the city the log records)."""
    from ..log import LogError
    from ..replay import open_log

    try:
        return open_log(log, city=city_profile(city))
    except LogError as err:
        usage_error(str(err))


def _template_path(out: Path | None, name: str) -> Path:
    """Where a template goes: `out`, or `intake-runs/templates/NAME` (a roster names tenants:
    by default it lands in a folder git ignores, never beside tracked files)."""
    return out or DEFAULT_OUT / "templates" / name


@template_app.command("roster")
def template_roster(
    street: Annotated[str, typer.Option(help="The street (街道) or town (镇), e.g. 新兴街道.")],
    month: Annotated[str, typer.Option(help="The month YYYY-MM the roster will describe.")],
    log: LogOption = DEFAULT_LOG,
    city: CityOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="The .xlsx to write (default: intake-runs/templates/roster-STREET-MONTH.xlsx)."
        ),
    ] = None,
) -> None:
    """A street's roster for a month, pre-filled with its tenants at the previous month end."""
    from ..intake.templates import roster_template

    month = _month(month)
    path = _template_path(out, f"roster-{street}-{month}.xlsx")
    try:
        roster_template(_open(log, city), street, month, path)
    except ValueError as err:
        usage_error(str(err))
    typer.echo(f"wrote {path}")


@template_app.command("buildings")
def template_buildings(
    month: Annotated[str, typer.Option(help="The month YYYY-MM.")],
    street: Annotated[str | None, typer.Option(help="Only this street's buildings.")] = None,
    log: LogOption = DEFAULT_LOG,
    city: CityOption = None,
    out: Annotated[Path | None, typer.Option(help="The .xlsx to write.")] = None,
) -> None:
    """The buildings register, pre-filled at the previous month end."""
    from ..intake.templates import buildings_template

    month = _month(month)
    path = _template_path(out, f"buildings-{street + '-' if street else ''}{month}.xlsx")
    buildings_template(_open(log, city), month, path, street=street)
    typer.echo(f"wrote {path}")


@template_app.command("tax")
def template_tax(
    month: Annotated[str, typer.Option(help="The month YYYY-MM.")],
    log: LogOption = DEFAULT_LOG,
    city: CityOption = None,
    out: Annotated[Path | None, typer.Option(help="The .xlsx to write.")] = None,
) -> None:
    """An empty tax file (by taxpayer) with its headers and drop-downs."""
    from ..intake.templates import tax_template

    month = _month(month)
    path = _template_path(out, f"tax-{month}.xlsx")
    tax_template(_open(log, city), month, path)
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("intake")(intake)
    app.add_typer(template_app, name="template")
