"""Shared pieces of the CLI: the `--log` option, one-line usage errors, frame output."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import polars as pl
import typer

from louyu_research.city.profile import City, CityError, load_city
from louyu_research.log.store import DEFAULT_LOG, EventLog, LogError

LogOption = Annotated[Path, typer.Option("--log", help="Event log folder.", show_default=True)]
DEFAULT_LOG_PATH = DEFAULT_LOG
CityOption = Annotated[
    Path | None,
    typer.Option(
        "--city",
        envvar="LOUYU_CITY",
        help="City profile folder (city.toml and its tables); default: the city the log records.",
    ),
]


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def usage_error(message: str) -> NoReturn:
    """One line on stderr, exit 2: what a user typed cannot be done."""
    typer.echo(f"louyu: error: {message}", err=True)
    raise typer.Exit(2)


def city_profile(path: Path | None) -> City | None:
    """The `--city` profile, loaded and checked (None: the log's own); a bad one is a usage error."""
    if path is None:
        return None
    try:
        return load_city(path)
    except CityError as err:
        usage_error(str(err))


def open_event_log(path: Path, city: Path | None = None) -> EventLog:
    try:
        return EventLog(path, city=city_profile(city))
    except LogError as err:
        usage_error(str(err))


def parse_timestamp(value: str | None) -> datetime | None:
    """An RFC 3339 timestamp with offset (a `--recorded-by` cut-off)."""
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        usage_error(f"not an RFC 3339 timestamp: {value!r}")
    if ts.tzinfo is None:
        usage_error(f"timestamp needs an offset (e.g. {value}+08:00): {value!r}")
    return ts


def write_frame(frame: pl.DataFrame, fmt: Format) -> None:
    """Print a frame as an aligned table, JSON (records) or CSV on stdout."""
    if fmt is Format.csv:
        sys.stdout.write(frame.write_csv())
    elif fmt is Format.json:
        sys.stdout.write(frame.write_json() + "\n")
    else:
        echo_table(frame)


def echo_table(frame: pl.DataFrame, **config: Any) -> None:
    """Print every row and column of a frame, without the shape line (`config`: more or other
    `pl.Config` options)."""
    options = {
        "tbl_rows": -1,
        "tbl_cols": -1,
        "tbl_width_chars": 200,
        "fmt_str_lengths": 40,
        "tbl_hide_dataframe_shape": True,
    }
    with pl.Config(**{**options, **config}):
        typer.echo(str(frame))
