"""`louyu state`: the state of the building economy as of a date, as the log knew it."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

import typer

from louyu_research.log.store import DEFAULT_LOG, LogError

from .common import (
    CityOption,
    Format,
    LogOption,
    city_profile,
    parse_timestamp,
    usage_error,
    write_frame,
)


class StateFrame(StrEnum):
    buildings = "buildings"
    tenancies = "tenancies"
    tenants = "tenants"
    tax = "tax"
    city_tax = "city_tax"
    findings = "findings"


# every frame is shown sorted (the tax frame comes in report order)
_ORDER = {
    StateFrame.buildings: ["building_id"],
    StateFrame.tenancies: ["building_id", "tenant_id"],
    StateFrame.tenants: ["tenant_id"],
    StateFrame.tax: ["period", "building_id", "tenant_id"],
    StateFrame.city_tax: ["period", "district"],
    StateFrame.findings: ["seq", "code"],
}


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        usage_error(f"--as-of: not a date YYYY-MM-DD: {value!r}")


def state(
    as_of: Annotated[
        str, typer.Option("--as-of", help="Business date YYYY-MM-DD (events on that day count).")
    ],
    frame: Annotated[
        str,
        typer.Option(
            "--frame", help=f"Which frame to print: {'|'.join(f.value for f in StateFrame)}."
        ),
    ],
    log: LogOption = DEFAULT_LOG,
    recorded_by: Annotated[
        str | None,
        typer.Option("--recorded-by", help="Only events recorded by this RFC 3339 timestamp."),
    ] = None,
    upto_seq: Annotated[
        int | None, typer.Option("--upto-seq", help="Only events with seq ≤ N.", min=0)
    ] = None,
    format_: Annotated[Format, typer.Option("--format")] = Format.table,
    city: CityOption = None,
) -> None:
    """Replay the log: a frame of the state as of --as-of, pinned to a log position."""
    day = _parse_date(as_of)
    if frame not in StateFrame.__members__:
        usage_error(
            f"--frame: unknown frame {frame!r} (one of {', '.join(f.value for f in StateFrame)})"
        )
    chosen = StateFrame(frame)
    if recorded_by is not None and upto_seq is not None:
        usage_error("give one cut-off: --recorded-by or --upto-seq, not both")
    cut = parse_timestamp(recorded_by)
    from louyu_research.replay.log import open_log

    try:
        result = open_log(log, city=city_profile(city)).replay(
            day, recorded_by=cut, upto_seq=upto_seq
        )
    except LogError as err:
        usage_error(str(err))
    write_frame(result.frame(chosen.value).sort(_ORDER[chosen], nulls_last=False), format_)
    pos = result.position
    if format_ is Format.table:
        typer.echo(
            f"as of {day}, log position seq {pos['seq']} ({pos['recorded_at']}, {pos['hash'][:12]}…)",
            err=True,
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command()(state)
