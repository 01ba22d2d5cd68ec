"""Intake end to end: files → validated rows → the change against the log → (on request) append.

`plan` reads every file, collects every issue of every file, and computes the change against
the log as it is now (the replayed state as of the month end, as recorded at the head);
`append` appends a planned change atomically through `EventLog.append`, refused if the log
moved since the plan (`expect_seq`), so a change is never applied to a state it was not
computed from. `intake` does both (a dry run unless `apply`). A file with any error appends
nothing and leaves the log byte-identical.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from ..log.store import AppendRejected
from ..replay import Log, open_log
from ..replay.log import Prepared, prepare, state_at
from .buildings import buildings_change
from .change import SUMMARY_ZH, Change, is_month, month_end
from .city_tax import city_tax_change, latest_city_tax
from .columns import KIND_NAMES, KINDS
from .issues import IntakeRejected, Issue
from .readers import read_meta, read_sheets
from .roster import RosterSettings, roster_change
from .table import Table, parse_rows, raw_frame, read_table
from .tax import TaxSettings, tax_change


class IntakeUsageError(ValueError):
    """What was asked cannot be done (unknown kind, no month, no log): not the files' fault."""


@dataclass(frozen=True)
class IntakeOptions:
    """The settings of an intake (INTAKE.md): move-out safety and tax attribution."""

    max_move_out_share: float = 0.5
    allow_mass_move_out: bool = False
    attribution: Literal["registered", "area"] = "registered"


def read_returns(kind: str, files: list[str | os.PathLike[str]]) -> tuple[Table, dict[str, str]]:
    """Every file's rows of `kind` as one table (issues of all files collected), and the
    metadata of the templates they were made from (kind, street, month, log position)."""
    if kind not in KINDS:
        raise IntakeUsageError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    if not files:
        raise IntakeUsageError("no file given")
    tables: list[Table] = []
    issues: list[Issue] = []
    metas: dict[str, dict[str, str]] = {}
    for path in files:
        p = Path(path)
        if not p.is_file():
            raise IntakeUsageError(f"{p}: no such file")
        try:
            sheets = read_sheets(p)
        except IntakeRejected as err:
            issues += err.issues
            continue
        meta = read_meta(sheets)
        if meta:
            metas[p.name] = meta
            if meta.get("kind") and meta["kind"] != kind:
                zh, en = KIND_NAMES.get(meta["kind"], (meta["kind"], meta["kind"]))
                issues.append(
                    Issue(
                        p.name,
                        None,
                        None,
                        None,
                        f"这是{zh}模板，不是{KIND_NAMES[kind][0]}：请用 louyu intake {meta['kind']}",
                        f"this is a {en} template, not a {KIND_NAMES[kind][1]}: use `louyu intake {meta['kind']}`",
                    )
                )
                continue
        tables.append(read_table(kind, sheets))
    for t in tables:
        issues += t.issues
    frames = [t.frame for t in tables]
    headers: dict[Any, dict[str, str]] = {}
    ignored: list[str] = []
    for t in tables:
        headers |= t.headers
        ignored += t.ignored
    frame = pl.concat(frames, how="diagonal_relaxed") if frames else raw_frame(kind)
    merged = parse_rows(Table(kind, frame, headers, issues, ignored))
    months = {m["month"] for m in metas.values() if m.get("month")}
    meta = {"month": months.pop()} if len(months) == 1 else {}
    if len(metas) == 1:
        meta = next(iter(metas.values()))
    return merged, meta


def plan(
    kind: str,
    files: list[str | os.PathLike[str]],
    *,
    log: str | os.PathLike[str] | Log = "events",
    month: str | None = None,
    options: IntakeOptions | None = None,
) -> Change:
    """The change the files make to the log (a dry run). Raises `IntakeRejected` with every
    issue of every file when any is found."""
    options = options or IntakeOptions()
    the_log = log if isinstance(log, Log) else _open(log)
    table, meta = read_returns(kind, files)
    if month is not None and not is_month(month):
        raise IntakeUsageError(f"--month must be YYYY-MM, got {month!r}")
    if month is not None and meta.get("month") and meta["month"] != month:
        table.issues.append(
            Issue(
                ", ".join(sorted({Path(f).name for f in files})),
                None,
                None,
                None,
                f"模板是 {meta['month']} 的，与所给月份 {month} 不符",
                f"the template is for {meta['month']}, not for the month given ({month})",
            )
        )
    month = month or meta.get("month")
    if month is None and kind in ("roster", "buildings"):
        raise IntakeUsageError(
            f"a {kind} is a snapshot at a month end: give --month YYYY-MM (templates carry it)"
        )
    # one snapshot of the log: its head, its position and one scan of its events serve the
    # whole diff (the sealed segments are read and checked once per intake, not once per step)
    head = the_log.checked_head()
    position = the_log.position(head.seq)
    events = the_log.scan(head=head)
    if kind == "city-tax":  # the latest figures only: no replay of buildings and tenancies
        change, issues = city_tax_change(
            table, latest_city_tax(events), month, position, the_log.city.divisions
        )
    else:
        prepared = prepared_without_tax(events, position, the_log)
        if kind in ("roster", "buildings"):
            at = month_end(month) if month else _far_future()
            state = state_at(prepared, at, the_log.city.settings)
            if kind == "roster":
                change, issues = roster_change(
                    table,
                    state,
                    month,  # type: ignore[arg-type]
                    position,
                    RosterSettings(options.max_move_out_share, options.allow_mass_move_out),
                )
            else:
                change, issues = buildings_change(
                    table,
                    state,
                    month,  # type: ignore[arg-type]
                    position,
                    the_log.city.divisions,
                )
        else:
            change, issues = tax_change(
                table, events, prepared, month, position, TaxSettings(options.attribution)
            )
    if issues:
        raise IntakeRejected(issues)
    change.position = {**position, "seq": head.seq}
    change.notes += [f"未使用的列 / ignored column: {c}" for c in table.ignored]
    return change


def prepared_without_tax(events: pl.LazyFrame, position: dict[str, Any], log: Log) -> Prepared:
    """The preparation (`replay.prepare`) of every event but the tax reports, at `position`.

    The buildings, tenancies and tenants of a replay are made from the other events only (tax
    reports feed its tax and the findings about tax), and they are all a roster, a register or
    a tax file is compared with; the tax reports, most of a log, are left unread. The state at
    a date (`replay.state_at`) of this preparation has the buildings, tenancies and tenants of
    a full replay; its tax and tax findings are empty."""
    return prepare(events.filter(pl.col("type") != "TaxReported").collect(), position, log.city)


def append(change: Change, log: str | os.PathLike[str] | Log = "events") -> Change:
    """Append a planned change atomically (all or nothing), refused if the log moved since."""
    the_log = log if isinstance(log, Log) else _open(log)
    if change.drafts:
        try:
            result = the_log.append(change.drafts, expect_seq=change.position["seq"])
        except AppendRejected as err:
            raise IntakeRejected(
                [
                    Issue(
                        "log",
                        None,
                        None,
                        p.field,
                        f"日志拒绝追加：{p}",
                        f"the log refused the batch: {p}",
                    )
                    for p in err.problems
                ]
            ) from None
        change.appended = len(result.appended)
        change.unchanged = len(result.unchanged)
    change.applied = True
    return change


def intake(
    kind: str,
    files: list[str | os.PathLike[str]],
    *,
    log: str | os.PathLike[str] | Log = "events",
    month: str | None = None,
    apply: bool = False,
    options: IntakeOptions | None = None,
) -> Change:
    """Plan, and append when `apply` (the default is a dry run)."""
    the_log = log if isinstance(log, Log) else _open(log)
    change = plan(kind, files, log=the_log, month=month, options=options)
    return append(change, the_log) if apply else change


def summary_zh(change: Change) -> pl.DataFrame:
    """The summary with Chinese column names, as printed for the office."""
    return change.summary.rename(
        {k: v for k, v in SUMMARY_ZH.items() if k in change.summary.columns}
    )


def write_outputs(change: Change, out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write the drafts (JSON Lines) and the intake report (.xlsx: summary, notes and, for tax,
    matched, unmatched and split taxpayers) into the folder `out`. They hold tenant names and
    tenant-level tax: `out` belongs outside any tracked folder."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{change.kind}-{change.month or 'all'}"
    drafts = folder / f"{stem}.drafts.jsonl"
    drafts.write_text(change.drafts_jsonl(), encoding="utf-8")
    report = folder / f"{stem}.report.xlsx"
    import xlsxwriter

    with xlsxwriter.Workbook(report) as wb:
        summary_zh(change).write_excel(wb, worksheet="汇总", autofit=True)
        for name, frame in change.report.items():
            sheet = {"matched": "已匹配", "unmatched": "未匹配", "split": "分摊"}.get(name, name)
            frame.write_excel(wb, worksheet=sheet, autofit=True)
        pl.DataFrame(
            {
                "说明 / note": [
                    f"log seq {change.position.get('seq')} hash {change.position.get('hash')}",
                    *change.notes,
                    *[f"{t}: {n}" for t, n in change.counts().items()],
                ]
            }
        ).write_excel(wb, worksheet="说明", autofit=True)
    return {"drafts": drafts, "report": report}


def _open(path: str | os.PathLike[str]) -> Log:
    from ..log import LogError

    try:
        return open_log(path)
    except LogError as err:
        raise IntakeUsageError(str(err)) from None


def _far_future() -> Any:
    from datetime import date

    return date(9999, 12, 31)
