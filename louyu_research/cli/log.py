"""`louyu init | append | verify | repair | log | stats | schemas`: the event log's commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from louyu_research.log import catalogue as ev
from louyu_research.log.store import DEFAULT_LOG, AppendRejected, EventLog, LogError
from louyu_research.research.checks import closest

from .common import (
    CityOption,
    Format,
    LogOption,
    city_profile,
    log_error,
    open_event_log,
    usage_error,
    write_frame,
)

#: The most problems a rejected batch lists one by one (then a count of the rest).
SHOWN_PROBLEMS = 200


def init(
    path: Annotated[Path, typer.Argument(help="Folder of the new log.")] = DEFAULT_LOG,
    plain: Annotated[bool, typer.Option(help="Keep sealed segments uncompressed.")] = False,
    city: CityOption = None,
) -> None:
    """Create an empty event log about a city (recorded in its log.json)."""
    try:
        EventLog.init(path, compress_sealed=not plain, city=city_profile(city))
    except LogError as err:
        log_error(err)
    typer.echo(f"initialised an empty event log in {path}")


def append(
    file: Annotated[str, typer.Argument(help="Drafts as JSON Lines; '-' reads standard input.")],
    log: LogOption = DEFAULT_LOG,
    expect_seq: Annotated[
        int | None,
        typer.Option(help="Refuse unless the log's head seq is this (optimistic concurrency)."),
    ] = None,
    city: CityOption = None,
) -> None:
    """Append a batch of drafts atomically: all of them, or nothing when any is wrong."""
    el = open_event_log(log, city)
    if file == "-":
        lines = sys.stdin.buffer.read().splitlines()
    else:
        try:
            lines = Path(file).read_bytes().splitlines()
        except OSError as err:
            usage_error(f"cannot read {file}: {err.strerror}")
    try:
        result = el.append(lines, expect_seq=expect_seq)
    except AppendRejected as err:
        shown = sorted(err.problems, key=lambda p: (p.line or 0, p.field))
        for p in shown[:SHOWN_PROBLEMS]:
            typer.echo(f"{ev.one_line(file, 200)}:{p}", err=True)
        if len(shown) > SHOWN_PROBLEMS:
            typer.echo(f"… and {len(shown) - SHOWN_PROBLEMS} more problem(s)", err=True)
        typer.echo(f"rejected: {len(err.problems)} problem(s); nothing was appended", err=True)
        raise typer.Exit(1) from None
    except LogError as err:
        log_error(err)
    for warning in result.warnings:
        typer.echo(f"louyu: warning: {warning}", err=True)
    typer.echo(
        f"appended {len(result.appended)} event(s), {len(result.unchanged)} already present; head seq {result.head.seq}"
    )


def verify(log: LogOption = DEFAULT_LOG, city: CityOption = None) -> None:
    """Check the whole log: canonical lines, schema, gapless seq, hash chain, clock, references."""
    try:
        findings = open_event_log(log, city).verify()
    except LogError as err:
        log_error(err)
    for f in findings:
        typer.echo(str(f))
    for note in findings.notes:
        typer.echo(f"note: {note}", err=True)
    if findings:
        typer.echo(f"{len(findings)} problem(s) in {log}", err=True)
        raise typer.Exit(1)
    head = findings.head
    typer.echo(
        f"ok: {log} verifies up to head seq {head.seq} "
        f"(what HEAD acknowledged when verify started; hash {head.hash[:12]}…)"
    )


def repair(log: LogOption = DEFAULT_LOG, city: CityOption = None) -> None:
    """Remove only what lies after the acknowledged event; rebuild a damaged HEAD from the chain."""
    try:
        done = open_event_log(log, city).repair()
    except LogError as err:
        log_error(err)
    for name, nbytes in done:
        typer.echo(f"removed {nbytes} unacknowledged byte(s) from {name}")
    if done.head:
        typer.echo(done.head)
    if done.index:
        typer.echo(done.index)
    if not done and not done.head and not done.index:
        typer.echo("nothing to repair")


def show(
    log: LogOption = DEFAULT_LOG,
    type_: Annotated[str | None, typer.Option("--type", help="Only this event type.")] = None,
    building: Annotated[
        str | None, typer.Option(help="Only events about this building_id.")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Only events about this tenant_id.")] = None,
    since: Annotated[int | None, typer.Option(help="Only events with seq >= this.")] = None,
    format_: Annotated[Format, typer.Option("--format")] = Format.table,
    city: CityOption = None,
) -> None:
    """List events, filtered."""
    if type_ is not None and type_ not in ev.CATALOGUE:
        usage_error(f"unknown event type {type_!r}; one of: {', '.join(ev.CATALOGUE)}")
    try:
        lf = open_event_log(log, city).scan()
    except LogError as err:
        log_error(err)
    if type_:
        lf = lf.filter(pl.col("type") == type_)
    for column, value in (("building_id", building), ("tenant_id", tenant)):
        if value is not None:
            _known_or_exit(lf, column, value)
            lf = lf.filter(pl.col(column) == value)
    if since is not None:
        lf = lf.filter(pl.col("seq") >= since)
    frame = lf.sort("seq").collect()
    frame = frame.select(
        [
            c
            for c in frame.columns
            if frame[c].null_count() < frame.height or c in ("seq", "event_id")
        ]
    )
    write_frame(frame, format_)


def _known_or_exit(events: pl.LazyFrame, column: str, value: str) -> None:
    """An id no event names is a usage error naming the closest ids the log knows."""
    known = events.select(pl.col(column).drop_nulls().unique()).collect().to_series().to_list()
    if value not in known:
        near = closest(value, known)
        hint = f" (closest: {', '.join(near)})" if near else ""
        kind = column.removesuffix("_id")
        usage_error(f"unknown {kind} id {value!r}: no event in the log names it{hint}")


def stats(log: LogOption = DEFAULT_LOG, city: CityOption = None) -> None:
    """Counts by type, time ranges, segments and the head."""
    try:
        stats = open_event_log(log, city).stats()
    except LogError as err:
        log_error(err)
    typer.echo(json.dumps(stats, ensure_ascii=False, indent=2))


def schemas(
    out: Annotated[Path, typer.Option(help="Folder to write into.")] = Path("schemas"),
) -> None:
    """Write the JSON Schemas of events (and frames) into OUT."""
    from louyu_research.schemas import write_schemas

    for path in write_schemas(out):
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(append)
    app.command()(verify)
    app.command()(repair)
    app.command("log")(show)
    app.command()(stats)
    app.command()(schemas)
