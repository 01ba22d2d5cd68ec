"""Shared pieces of the CLI: the `--log` option, one-line errors, frame output, the fault barrier.

Every error a user can meet is one line on stderr, never a traceback: `usage_error` (exit 2)
for what was typed, `fail` (exit 1) for a log that is damaged or a fault of the machine, and
`run`, around the whole command, for any log or operating-system error a command did not
handle itself (it names the path and what to do).
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import polars as pl
import typer

from louyu_research.city.profile import City, CityError, load_city
from louyu_research.log.catalogue import one_line
from louyu_research.log.faults import LogDamaged, StorageFault, advice
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


#: The longest error line the CLI prints (a path and a reason fit; a 50 MB value does not).
ERROR_CHARS = 600


def usage_error(message: str) -> NoReturn:
    """One line on stderr, exit 2: what a user typed cannot be done."""
    typer.echo(f"louyu: error: {one_line(message, ERROR_CHARS)}", err=True)
    raise typer.Exit(2)


def fail(message: str) -> NoReturn:
    """One line on stderr, exit 1: the log is damaged, or the machine refused (disk, rights)."""
    typer.echo(f"louyu: error: {one_line(message, ERROR_CHARS)}", err=True)
    raise typer.Exit(1)


def log_error(err: LogError) -> NoReturn:
    """A log error as one line: damage and faults exit 1, anything else is usage (2)."""
    if isinstance(err, LogDamaged | StorageFault):
        fail(str(err))
    usage_error(str(err))


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
        log_error(err)


def run(command: Callable[[], object]) -> None:
    """Run the CLI with a barrier: an error no command handled is one line, never a traceback.

    Log errors keep their message (it names the file); operating-system errors are named by
    path, reason and what to do. A closed standard output (`louyu log | head`) ends quietly.
    """
    try:
        command()
    except LogError as err:
        _exit_line(str(err), 1 if isinstance(err, LogDamaged | StorageFault) else 2)
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(1)
    except OSError as err:
        where = err.filename if isinstance(err.filename, str) else "louyu"
        reason = err.strerror or type(err).__name__
        if err.errno == errno.EPIPE:
            _quiet_stdout()
            sys.exit(1)
        _exit_line(f"{where}: {reason}; {advice(err)}", 1)
    except pl.exceptions.PolarsError as err:
        # a safety net: the log's readers check what they parse, so this is not expected
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        _exit_line(f"cannot compute the result ({first}); run `louyu verify` on the log", 1)
    except RecursionError:
        _exit_line("input nested too deeply to be read", 1)
    except MemoryError:
        _exit_line("out of memory: the input is too large for this machine", 1)


def _exit_line(message: str, code: int) -> NoReturn:
    print(f"louyu: error: {one_line(message, ERROR_CHARS)}", file=sys.stderr)
    sys.exit(code)


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so that the exit flush cannot fail."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


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
