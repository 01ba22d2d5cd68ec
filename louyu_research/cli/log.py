"""`louyu init | append | verify | repair | log | stats | schemas`: the event log's commands."""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterable
from dataclasses import replace
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
    batch: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Append in batches of this many lines, each atomic: a backfill of millions of "
            "drafts in bounded memory. A rejected batch stops the command; the batches before "
            "it stay, and running the command again skips the events already in the log.",
        ),
    ] = None,
    city: CityOption = None,
) -> None:
    """Append a batch of drafts atomically: all of them, or nothing when any is wrong."""
    el = open_event_log(log, city)
    try:
        source = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115
    except OSError as err:
        usage_error(f"cannot read {file}: {err.strerror}")
    with source:
        if batch is None:
            chunks: Iterable[list[bytes]] = [source.read().splitlines()]
        else:
            lines = (line.rstrip(b"\n").rstrip(b"\r") for line in source)
            chunks = iter(lambda: list(itertools.islice(lines, batch)), [])
        appended = unchanged = first = 0
        head = None
        for n, chunk in enumerate(chunks):
            try:
                result = el.append(chunk, expect_seq=expect_seq if n == 0 else None)
            except AppendRejected as err:
                _rejected(file, err, first, appended, head)
            except LogError as err:
                log_error(err)
            for warning in result.warnings:
                typer.echo(f"louyu: warning: {warning}", err=True)
            appended += len(result.appended)
            unchanged += len(result.unchanged)
            first += len(chunk)
            head = result.head.seq
    if head is None:  # an empty file read in batches: no batch at all
        head = el.head().seq
    typer.echo(f"appended {appended} event(s), {unchanged} already present; head seq {head}")


def _rejected(file: str, err: AppendRejected, first: int, appended: int, head: int | None) -> None:
    """Print a rejected batch's problems (lines counted from the start of the file) and exit 1."""
    shown = sorted(err.problems, key=lambda p: (p.line or 0, p.field))
    for p in shown[:SHOWN_PROBLEMS]:
        if p.line is not None:
            p = replace(p, line=p.line + first)
        typer.echo(f"{ev.one_line(file, 200)}:{p}", err=True)
    if len(shown) > SHOWN_PROBLEMS:
        typer.echo(f"… and {len(shown) - SHOWN_PROBLEMS} more problem(s)", err=True)
    if first:
        typer.echo(
            f"rejected: {len(err.problems)} problem(s) in the batch from line {first + 1}; "
            f"nothing of it was appended. The {first} line(s) before it stay ({appended} "
            f"event(s) appended, head seq {head}): fix the file and run the command again "
            "(the events already in the log are skipped)",
            err=True,
        )
    else:
        typer.echo(f"rejected: {len(err.problems)} problem(s); nothing was appended", err=True)
    raise typer.Exit(1) from None


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
