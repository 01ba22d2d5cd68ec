"""`louyu indicators | targets | ranking | list | glossary`: the plan's figures from the log.

Every output echoes what it depends on: the settings, the log position (seq, recorded_at,
hash) it was computed at and the city — keys `settings`, `log_position` and `city` beside
`rows` in JSON; for table and CSV output, lines starting with `#` on standard error (standard
output holds only the table or a plain CSV with one header line) and, with `--out FILE`, a
sidecar `FILE.provenance.json`. Why a figure is empty is said too: `note:` lines on standard
error, `notes` in JSON. Column names are those of INDICATORS.md (`--labels zh|en` shows the
glossary's names instead, in table and CSV output); `--columns` keeps the ones named. Tables
fit the terminal, with rates as percentages.
"""

from __future__ import annotations

import json
import shutil
import sys
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from louyu_research.city.reference import load_divisions, load_targets
from louyu_research.city.settings import FEATURED_PRESETS, Settings, SettingsError
from louyu_research.core import glossary
from louyu_research.core.instants import DateError, cut_off
from louyu_research.core.reference_tables import ReferenceTableError
from louyu_research.indicators.figures import (
    LEVEL_ALIASES,
    RANKING_METHOD_EN,
    RANKING_METHOD_ZH,
    MonthError,
    Pinned,
    UnknownStreetError,
    parse_month,
    ranking_from_log,
    read_inputs,
    targets_from_log,
)
from louyu_research.indicators.lists import LIST_KINDS
from louyu_research.research.checks import (
    OutsideLogWarning,
    UnknownIdError,
    check_ids,
    check_months,
    closest,
    notes,
    null_reasons,
)
from louyu_research.research.export import export
from louyu_research.research.helpers import plan_list

from .common import (
    DEFAULT_LOG_PATH,
    CityOption,
    Format,
    LogOption,
    echo_table,
    open_event_log,
    usage_error,
    write_frame,
)


class Labels(StrEnum):
    none = "none"
    zh = "zh"
    en = "en"


MonthOption = Annotated[str, typer.Option("--month", help="Month YYYY-MM.")]
RECORDED_BY_HELP = (
    "Only events recorded by then: a date YYYY-MM-DD (the end of that day in the city's time "
    "zone) or a timestamp (2016-10-15T00:00+08:00; without an offset: the city's time zone)."
)
RecordedByOption = Annotated[str | None, typer.Option("--recorded-by", help=RECORDED_BY_HELP)]
LEVEL_HELP = "Level: " + ", ".join(LEVEL_ALIASES) + " (area = reporting_area)."
FeaturedOption = Annotated[
    str | None,
    typer.Option(
        "--featured",
        help="Featured-rule preset instead of the settings' rule: "
        + ", ".join(
            f"{k} ({v.min_tenants}+ tenancies, {v.threshold:.0%} {v.rule})"
            for k, v in FEATURED_PRESETS.items()
        )
        + ".",
    ),
]
ColumnsOption = Annotated[
    str | None,
    typer.Option(
        "--columns", help="Only these columns, comma-separated (e.g. month,street,occupancy_rate)."
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Write the output to this file (its provenance beside it, FILE.provenance.json).",
    ),
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
    Labels,
    typer.Option("--labels", help="Column names in table and CSV output: none (ids), zh or en."),
]


class Output:
    """How a command shows its frame: format, labels, columns, file (the common options)."""

    def __init__(
        self,
        fmt: Format,
        labels: Labels = Labels.none,
        columns: str | None = None,
        out: Path | None = None,
    ):
        self.fmt, self.labels, self.out = fmt, labels, out
        self.columns = [c.strip() for c in columns.split(",") if c.strip()] if columns else None


def _context(
    log: Path,
    recorded_by: str | None,
    upto_seq: int | None,
    settings: Path | None,
    divisions: Path | None,
    city: Path | None = None,
    featured: str | None = None,
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
        if featured is not None:
            if featured not in FEATURED_PRESETS:
                usage_error(
                    f"--featured: unknown preset {featured!r} ({', '.join(FEATURED_PRESETS)})"
                )
            s = s.model_copy(update={"featured": FEATURED_PRESETS[featured]})
        cut = cut_off(recorded_by, c.time_zone, what="--recorded-by") if recorded_by else None
    except (SettingsError, ReferenceTableError, DateError) as err:
        usage_error(str(err))
    return open_log(log, city=c), {
        "recorded_by": cut,
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


@contextmanager
def _collect_warnings() -> Iterator[list[str]]:
    """The `OutsideLogWarning`s raised inside, as text (the CLI prints them as warnings)."""
    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OutsideLogWarning)
        yield found
    found.extend(str(w.message) for w in caught if issubclass(w.category, OutsideLogWarning))


def _warn(messages: list[str], prefix: str) -> None:
    for m in messages:
        typer.echo(f"louyu: {prefix}: {m}", err=True)


def _select(frame: pl.DataFrame, columns: list[str] | None) -> pl.DataFrame:
    """The frame with only `columns` (in that order); an unknown one is a usage error naming
    the closest columns."""
    if not columns:
        return frame
    for c in columns:
        if c not in frame.columns:
            near = closest(c, frame.columns)
            usage_error(
                f"--columns: no column {c!r} here"
                + (f" (closest: {', '.join(near)})" if near else "")
                + f"; columns: {', '.join(frame.columns)}"
            )
    return frame.select(columns)


def _ratio_columns(frame: pl.DataFrame) -> list[str]:
    known = glossary.names()
    return [
        c
        for c in frame.columns
        if c in known and (glossary.unit(c) or "").startswith("比率") and frame.schema[c].is_float()
    ]


def table_view(frame: pl.DataFrame) -> pl.DataFrame:
    """What a table shows: rates as percentages (81.2%), other floats to two decimals."""
    ratios = _ratio_columns(frame)
    return frame.with_columns(
        *[
            pl.when(pl.col(c).is_null())
            .then(pl.lit(None, dtype=pl.String))
            .otherwise((pl.col(c) * 100).round(1).cast(pl.String) + "%")
            .alias(c)
            for c in ratios
        ],
        *[pl.col(c).round(2) for c, t in frame.schema.items() if t.is_float() and c not in ratios],
    )


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def show_table(frame: pl.DataFrame) -> None:
    """Print a frame as a table that fits the terminal: long text wraps, and when the columns
    are still too many the middle ones are elided (a line on stderr says how to see them)."""
    width = shutil.get_terminal_size((160, 24)).columns
    view = table_view(frame)
    options: dict[str, Any] = {
        "tbl_width_chars": 10 * width,  # columns at their natural width: none squeezed
        "fmt_str_lengths": max(10, width // 4),
        "fmt_float": "mixed",
        "float_precision": 2,
        "thousands_separator": ",",
        "tbl_hide_column_data_types": True,
        "tbl_hide_dataframe_shape": True,
        "tbl_rows": -1,
    }
    shown = view.width
    sample = view.head(50)
    while shown > 2:
        with pl.Config(**options, tbl_cols=shown):
            text = str(sample)
        if max(_display_width(line) for line in text.splitlines()) <= width:
            break
        shown -= 1
    if shown < view.width:
        typer.echo(
            f"louyu: note: {view.width - shown} of {view.width} columns elided to fit the "
            "terminal; choose some with --columns, or use --format csv or json",
            err=True,
        )
    with pl.Config(**options, tbl_cols=shown):
        typer.echo(str(view))


def emit(
    pinned: Pinned,
    output: Output | Format,
    labels: Labels = Labels.none,
    method: str | None = None,
    *,
    city: str | None = None,
    note_lines: list[str] | None = None,
) -> None:
    """Print a pinned frame; its provenance (settings, log position, city) in JSON, on stderr
    and, with --out, in a sidecar file; why figures are empty as notes."""
    o = output if isinstance(output, Output) else Output(output, labels)
    frame = _select(pinned.frame, o.columns)
    prov: dict[str, Any] = pinned.provenance()
    if city is not None:
        prov["city"] = city
    if method:
        prov["method"] = method
    note_lines = note_lines or []
    if o.fmt is Format.json:
        doc = {**prov, "notes": note_lines, "rows": json.loads(frame.write_json())}
        text = json.dumps(doc, ensure_ascii=False, default=str) + "\n"
        if o.out is not None:
            o.out.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return
    for key in ("settings", "log_position", "city", "method"):
        if key in prov:
            value = (
                prov[key]
                if isinstance(prov[key], str)
                else json.dumps(prov[key], ensure_ascii=False, sort_keys=True, default=str)
            )
            typer.echo(f"# {key}: {value}", err=True)
    _warn(note_lines, "note")
    lang = None if o.labels is Labels.none else o.labels.value
    if o.fmt is Format.csv:
        if o.out is not None:
            export(Pinned(frame, pinned.settings, pinned.position), o.out, format="csv",
                   lang=lang, provenance=prov)  # fmt: skip
        else:
            sys.stdout.write((glossary.relabel(frame, lang) if lang else frame).write_csv())
        return
    show_table(glossary.relabel(frame, lang) if lang else frame)


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command("indicators")
    def indicators_cmd(
        month: MonthOption,
        log: LogOption = DEFAULT_LOG_PATH,
        level: Annotated[str, typer.Option("--level", help=LEVEL_HELP)] = "city",
        building: Annotated[
            str | None,
            typer.Option("--building", help="Only this building (at --level building)."),
        ] = None,
        recorded_by: RecordedByOption = None,
        upto_seq: UptoSeqOption = None,
        settings: SettingsOption = None,
        featured: FeaturedOption = None,
        divisions: DivisionsOption = None,
        city: CityOption = None,
        fmt: FormatOption = Format.table,
        labels: LabelsOption = Labels.none,
        columns: ColumnsOption = None,
        out: OutOption = None,
    ) -> None:
        """The monthly figures of INDICATORS.md at one level, pinned to a log position."""
        if level not in LEVEL_ALIASES:
            usage_error(f"unknown level {level!r} ({', '.join(LEVEL_ALIASES)})")
        if building is not None and LEVEL_ALIASES[level] != "building":
            usage_error("--building needs --level building")
        _check_month(month)
        log_, ctx = _context(log, recorded_by, upto_seq, settings, divisions, city, featured)
        cut = {"recorded_by": ctx["recorded_by"], "upto_seq": ctx["upto_seq"]}
        try:
            if building is not None:
                check_ids(log_, building, **cut)
            with _collect_warnings() as warned:
                check_months(log_, [parse_month(month)], **cut)
            inp = read_inputs(log_, [month], settings=ctx["settings"], **cut)
            pinned = inp.figures(LEVEL_ALIASES[level], ctx["divisions"])
        except UnknownIdError as err:
            usage_error(str(err))
        except (MonthError, UnknownStreetError) as err:
            usage_error(str(err))
        frame = pinned.frame
        if building is not None:
            frame = frame.filter(pl.col("building_id") == building)
        _warn(warned, "warning")
        emit(
            Pinned(frame, pinned.settings, pinned.position),
            Output(fmt, labels, columns, out),
            city=log_.city.name,
            note_lines=notes(null_reasons(frame, inp.city_tax)),
        )

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
        featured: FeaturedOption = None,
        divisions: DivisionsOption = None,
        city: CityOption = None,
        fmt: FormatOption = Format.table,
        labels: LabelsOption = Labels.none,
        columns: ColumnsOption = None,
        out: OutOption = None,
    ) -> None:
        """A year's targets: December figure (or latest month), gap, met, pace needed."""
        log_, ctx = _context(log, recorded_by, upto_seq, settings, divisions, city, featured)
        try:
            t = load_targets(targets)
        except ReferenceTableError as err:
            usage_error(str(err))
        emit(
            _run(targets_from_log, log_, year, targets=t, **ctx),
            Output(fmt, labels, columns, out),
            city=log_.city.name,
        )

    @app.command("ranking")
    def ranking_cmd(
        month: MonthOption,
        log: LogOption = DEFAULT_LOG_PATH,
        recorded_by: RecordedByOption = None,
        upto_seq: UptoSeqOption = None,
        settings: SettingsOption = None,
        featured: FeaturedOption = None,
        divisions: DivisionsOption = None,
        city: CityOption = None,
        fmt: FormatOption = Format.table,
        labels: LabelsOption = Labels.none,
        columns: ColumnsOption = None,
        out: OutOption = None,
        lang: Annotated[
            str, typer.Option("--lang", help="Language of the method line: zh or en.")
        ] = "zh",
    ) -> None:
        """The street ranking (街道动态排名) of a month, with rank changes and the method."""
        if lang not in ("zh", "en"):
            usage_error(f"unknown language {lang!r} (zh or en)")
        _check_month(month)
        log_, ctx = _context(log, recorded_by, upto_seq, settings, divisions, city, featured)
        method = RANKING_METHOD_ZH if lang == "zh" else RANKING_METHOD_EN
        emit(
            _run(ranking_from_log, log_, month, **ctx),
            Output(fmt, labels, columns, out),
            method=method,
            city=log_.city.name,
        )

    @app.command("list")
    def list_cmd(
        kind: Annotated[str, typer.Argument(help="Which list: " + " | ".join(LIST_KINDS) + ".")],
        month: MonthOption,
        log: LogOption = DEFAULT_LOG_PATH,
        recorded_by: RecordedByOption = None,
        upto_seq: UptoSeqOption = None,
        settings: SettingsOption = None,
        featured: FeaturedOption = None,
        divisions: DivisionsOption = None,
        city: CityOption = None,
        fmt: FormatOption = Format.table,
        labels: LabelsOption = Labels.none,
        columns: ColumnsOption = None,
        out: OutOption = None,
    ) -> None:
        """A list of the plan: key buildings, vacancy (盘活), low-output, featured, at-risk."""
        if kind not in LIST_KINDS:
            usage_error(f"unknown list {kind!r} ({', '.join(LIST_KINDS)})")
        _check_month(month)
        log_, ctx = _context(log, recorded_by, upto_seq, settings, divisions, city, featured)
        with _collect_warnings() as warned:
            pinned = _run(
                plan_list,
                log_,
                kind,
                month,
                recorded_by=ctx["recorded_by"],
                upto_seq=ctx["upto_seq"],
                settings=ctx["settings"],
                divisions=ctx["divisions"],
            )
        _warn(warned, "warning")
        empty = [f"{month} the {kind} list is empty: nothing meets its rule by this cut-off"]
        emit(
            pinned,
            Output(fmt, labels, columns, out),
            city=log_.city.name,
            note_lines=empty if pinned.frame.is_empty() else notes(pinned.reasons),
        )

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
        """Every column of every frame: Chinese and English name, unit, definition (and, in
        CSV and JSON, its scope)."""
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
