"""`louyu state`: the state of the building economy as of a date, as the log knew it.

Standard output holds only the frame (a table as wide as the terminal, JSON records or a plain
CSV with one header line); the log position goes to standard error, and with `--out FILE`
into `FILE.provenance.json` beside the file. A date outside the log's business dates is
a warning, not silence.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from louyu_research.core import glossary
from louyu_research.core.instants import DateError, as_of_date, cut_off
from louyu_research.log.store import DEFAULT_LOG, LogError

from .common import CityOption, Format, LogOption, city_profile, usage_error
from .indicators import (
    RECORDED_BY_HELP,
    ColumnsOption,
    Labels,
    LabelsOption,
    OutOption,
    _collect_warnings,
    _select,
    _warn,
    show_table,
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


def state(
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of",
            help="Business date YYYY-MM-DD (events on that day count); a timestamp gives its "
            "date in the city's time zone.",
        ),
    ],
    frame: Annotated[
        str,
        typer.Option(
            "--frame",
            metavar="FRAME",
            help="Which frame to print: " + ", ".join(f.value for f in StateFrame) + ".",
        ),
    ],
    log: LogOption = DEFAULT_LOG,
    recorded_by: Annotated[str | None, typer.Option("--recorded-by", help=RECORDED_BY_HELP)] = None,
    upto_seq: Annotated[
        int | None, typer.Option("--upto-seq", help="Only events with seq ≤ N.", min=0)
    ] = None,
    format_: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    labels: LabelsOption = Labels.none,
    columns: ColumnsOption = None,
    out: OutOption = None,
    city: CityOption = None,
) -> None:
    """Replay the log: a frame of the state as of --as-of, pinned to a log position."""
    if frame not in StateFrame.__members__:
        usage_error(
            f"--frame: unknown frame {frame!r} (one of {', '.join(f.value for f in StateFrame)})"
        )
    chosen = StateFrame(frame)
    if recorded_by is not None and upto_seq is not None:
        usage_error("give one cut-off: --recorded-by or --upto-seq, not both")
    from louyu_research.replay.log import open_log
    from louyu_research.research.checks import check_as_of
    from louyu_research.research.export import export

    try:
        opened = open_log(log, city=city_profile(city))
        tz = opened.city.time_zone
        day = as_of_date(as_of, tz, what="--as-of")
        cut = cut_off(recorded_by, tz, what="--recorded-by") if recorded_by else None
        with _collect_warnings() as warned:
            check_as_of(opened, day, recorded_by=cut, upto_seq=upto_seq)
        result = opened.replay(day, recorded_by=cut, upto_seq=upto_seq)
    except (LogError, DateError) as err:
        usage_error(str(err))
    _warn(warned, "warning")
    wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    shown = _select(result.frame(chosen.value).sort(_ORDER[chosen], nulls_last=False), wanted)
    pos = result.position
    prov = {"as_of": str(day), "log_position": pos, "city": opened.city.name}
    lang = None if labels is Labels.none else labels.value
    if format_ is Format.json:
        doc = {**prov, "rows": json.loads(shown.write_json())}
        text = json.dumps(doc, ensure_ascii=False, default=str) + "\n"
        if out is not None:
            Path(out).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return
    typer.echo(
        f"# as of {day}, log position seq {pos['seq']} ({pos['recorded_at']}, {pos['hash'][:12]}…)",
        err=True,
    )
    if format_ is Format.csv:
        if out is not None:
            export(shown, out, format="csv", lang=lang, provenance=prov)
        else:
            sys.stdout.write((glossary.relabel(shown, lang) if lang else shown).write_csv())
        return
    show_table(glossary.relabel(shown, lang) if lang else shown)


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command()(state)
