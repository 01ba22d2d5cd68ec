"""`louyu indicators | targets | ranking | list | glossary`: the plan's figures from the log.

Every output echoes what it depends on: the settings and the log position (seq, recorded_at,
hash) it was computed at — header lines starting with `#` for table and CSV output, keys
`settings` and `log_position` beside `rows` in JSON. Column names are those of INDICATORS.md
(`--labels zh|en` shows the glossary's names instead, in table output).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from louyu_research.city.reference import load_divisions, load_targets
from louyu_research.city.settings import Settings, SettingsError
from louyu_research.core import glossary
from louyu_research.core.reference_tables import ReferenceTableError
from louyu_research.indicators.figures import (
    LEVEL_ALIASES,
    RANKING_METHOD_EN,
    RANKING_METHOD_ZH,
    MonthError,
    Pinned,
    UnknownStreetError,
    figures_from_log,
    parse_month,
    ranking_from_log,
    targets_from_log,
)
from louyu_research.indicators.lists import LIST_KINDS, list_from_log

from .common import (
    DEFAULT_LOG_PATH,
    CityOption,
    Format,
    LogOption,
    echo_table,
    open_event_log,
    parse_timestamp,
    usage_error,
    write_frame,
)


class Labels(StrEnum):
    none = "none"
    zh = "zh"
    en = "en"


MonthOption = Annotated[str, typer.Option("--month", help="Month YYYY-MM.")]
RecordedByOption = Annotated[
    str | None,
    typer.Option("--recorded-by", help="Only events recorded by this RFC 3339 timestamp."),
]
UptoSeqOption = Annotated[
    int | None, typer.Option("--upto-seq", help="Only events up to this seq.", min=0)
]
SettingsOption = Annotated[
    Path | None, typer.Option("--settings", help="Settings file (TOML or JSON).")
]
DivisionsOption = Annotated[
    Path | None,
    typer.Option("--divisions", help="Divisions table (CSV) instead of the shipped one."),
]
FormatOption = Annotated[Format, typer.Option("--format", help="Output format.")]
LabelsOption = Annotated[
    Labels, typer.Option("--labels", help="Column names in table output: none (ids), zh or en.")
]


def _context(
    log: Path,
    recorded_by: str | None,
    upto_seq: int | None,
    settings: Path | None,
    divisions: Path | None,
    city: Path | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The log, and the keyword arguments every query takes (cut-off, settings, divisions);
    the city's settings and divisions unless files are given; any problem is a one-line
    usage error."""
    from louyu_research.replay.log import open_log

    if recorded_by is not None and upto_seq is not None:
        usage_error("give one cut-off: --recorded-by or --upto-seq, not both")
    c = open_event_log(log, city).city  # a missing or foreign folder is a usage error
    try:
        s = Settings.load(settings) if settings is not None else c.settings
        d = load_divisions(divisions) if divisions is not None else c.divisions
    except (SettingsError, ReferenceTableError) as err:
        usage_error(str(err))
    return open_log(log, city=c), {
        "recorded_by": parse_timestamp(recorded_by),
        "upto_seq": upto_seq,
        "settings": s,
        "divisions": d,
    }


def _check_month(month: str) -> None:
    """A malformed --month is named before anything is read."""
    try:
        parse_month(month)
    except MonthError as err:
        usage_error(str(err))


def _run(fn: Any, *args: Any, **kwargs: Any) -> Pinned:
    try:
        return fn(*args, **kwargs)
    except (MonthError, UnknownStreetError, ReferenceTableError, SettingsError) as err:
        usage_error(str(err))


def emit(
    pinned: Pinned, fmt: Format, labels: Labels = Labels.none, method: str | None = None
) -> None:
    """Print a pinned frame with its settings and log position."""
    frame = pinned.frame
    prov = pinned.provenance()
    head = [
        "settings: " + json.dumps(prov["settings"], ensure_ascii=False, sort_keys=True),
        "log_position: " + json.dumps(prov["log_position"], ensure_ascii=False, default=str),
    ]
    if method:
        head.append("method: " + method)
    if fmt is Format.json:
        doc = {**prov, "rows": json.loads(frame.write_json())}
        if method:
            doc["method"] = method
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, default=str) + "\n")
        return
    for line in head:
        sys.stdout.write(f"# {line}\n")
    if fmt is Format.csv:
        sys.stdout.write(frame.write_csv())
        return
    if labels is not Labels.none:
        frame = glossary.relabel(frame, labels.value)
    echo_table(frame, tbl_width_chars=400, fmt_float="full")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command("indicators")
    def indicators_cmd(
        month: MonthOption,
        log: LogOption = DEFAULT_LOG_PATH,
        level: Annotated[
            str, typer.Option("--level", help="building, street, area (reporting area) or city.")
        ] = "city",
        recorded_by: RecordedByOption = None,
        upto_seq: UptoSeqOption = None,
        settings: SettingsOption = None,
        divisions: DivisionsOption = None,
        city: CityOption = None,
        fmt: FormatOption = Format.table,
        labels: LabelsOption = Labels.none,
    ) -> None:
        """The monthly figures of INDICATORS.md at one level, pinned to a log position."""
        if level not in LEVEL_ALIASES or level == "reporting_area":
            usage_error(f"unknown level {level!r} (building, street, area or city)")
        _check_month(month)
        log_, ctx = _context(log, recorded_by, upto_seq, settings, divisions, city)
        emit(_run(figures_from_log, log_, month, LEVEL_ALIASES[level], **ctx), fmt, labels)

    @app.command("targets")
    def targets_cmd(
        year: Annotated[int, typer.Option("--year", help="Target year, e.g. 2017.")],
        log: LogOption = DEFAULT_LOG_PATH,
        targets: Annotated[
            Path | None,
            typer.Option("--targets", help="Targets table (CSV) instead of the plan's."),
        ] = None,
        recorded_by: RecordedByOption = None,
        upto_seq: UptoSeqOption = None,
        settings: SettingsOption = None,
        divisions: DivisionsOption = None,
        city: CityOption = None,
        fmt: FormatOption = Format.table,
        labels: LabelsOption = Labels.none,
    ) -> None:
        """A year's targets: December figure (or latest month), gap, met, pace needed."""
        log_, ctx = _context(log, recorded_by, upto_seq, settings, divisions, city)
        try:
            t = load_targets(targets)
        except ReferenceTableError as err:
            usage_error(str(err))
        emit(_run(targets_from_log, log_, year, targets=t, **ctx), fmt, labels)

    @app.command("ranking")
    def ranking_cmd(
        month: MonthOption,
        log: LogOption = DEFAULT_LOG_PATH,
        recorded_by: RecordedByOption = None,
        upto_seq: UptoSeqOption = None,
        settings: SettingsOption = None,
        divisions: DivisionsOption = None,
        city: CityOption = None,
        fmt: FormatOption = Format.table,
        labels: LabelsOption = Labels.none,
        lang: Annotated[
            str, typer.Option("--lang", help="Language of the method line: zh or en.")
        ] = "zh",
    ) -> None:
        """The street ranking (街道动态排名) of a month, with rank changes and the method."""
        if lang not in ("zh", "en"):
            usage_error(f"unknown language {lang!r} (zh or en)")
        _check_month(month)
        log_, ctx = _context(log, recorded_by, upto_seq, settings, divisions, city)
        method = RANKING_METHOD_ZH if lang == "zh" else RANKING_METHOD_EN
        emit(_run(ranking_from_log, log_, month, **ctx), fmt, labels, method)

    @app.command("list")
    def list_cmd(
        kind: Annotated[
            str, typer.Argument(help="key | vacancy | low-output | featured | at-risk")
        ],
        month: MonthOption,
        log: LogOption = DEFAULT_LOG_PATH,
        recorded_by: RecordedByOption = None,
        upto_seq: UptoSeqOption = None,
        settings: SettingsOption = None,
        divisions: DivisionsOption = None,
        city: CityOption = None,
        fmt: FormatOption = Format.table,
        labels: LabelsOption = Labels.none,
    ) -> None:
        """A list of the plan: key buildings, vacancy (盘活), low-output, featured, at-risk."""
        if kind not in LIST_KINDS:
            usage_error(f"unknown list {kind!r} ({', '.join(LIST_KINDS)})")
        _check_month(month)
        log_, ctx = _context(log, recorded_by, upto_seq, settings, divisions, city)
        emit(_run(list_from_log, log_, kind, month, **ctx), fmt, labels)

    @app.command("glossary")
    def glossary_cmd(
        fmt: FormatOption = Format.table,
        path: Annotated[
            Path | None,
            typer.Option("--glossary", help="Glossary file instead of the shipped one."),
        ] = None,
        lang: Annotated[
            str,
            typer.Option("--lang", help="Language of the table's names and definitions: zh or en."),
        ] = "zh",
        column: Annotated[
            str | None, typer.Option("--column", help="Only this column (e.g. occupancy_rate).")
        ] = None,
    ) -> None:
        """Every output column: Chinese and English name, definition, unit."""
        if lang not in ("zh", "en"):
            usage_error(f"--lang must be zh or en, got {lang!r}")
        try:
            frame = glossary.load_glossary(path).sort("name")
        except ReferenceTableError as err:
            usage_error(str(err))
        if column is not None:
            frame = frame.filter(pl.col("name") == column)
            if frame.is_empty():
                usage_error(f"no column {column!r} in the glossary")
        if fmt is not Format.table:
            write_frame(frame, fmt)
            return
        echo_table(
            frame.select("name", f"name_{lang}", "unit", f"definition_{lang}"),
            tbl_width_chars=160,
            fmt_str_lengths=400,
            tbl_hide_column_data_types=True,
        )
