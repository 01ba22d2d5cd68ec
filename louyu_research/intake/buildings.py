"""The buildings register (楼宇基本信息表) → building events, by comparing with the log.

A row names a building by 楼宇编号, or, when that is empty, by its exact name: a known building
gets a `BuildingUpdated` with the attributes that changed (an empty optional cell is "not
reported", never a change), a `BuildingCompleted` when it turns 已建成, a `BuildingRetired`
when 退出日期 is given; an unknown one is registered (`BuildingRegistered`, dated the month
end), with the id given or the next free one of the log's numbering (`JX0471` after `JX0470`).
The district and street must be those of the city's divisions (its profile); a building
cannot go back from 已建成.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import polars as pl

from ..replay import State
from ..replay.log import BUILDING_ATTRS as ATTRS
from .change import Change, draft, month_end, source_of
from .issues import Issue
from .table import Table

KIND = "buildings"


def _issue(row: dict[str, Any], column: str | None, zh: str, en: str) -> Issue:
    return Issue(row["_file"], row["_sheet"], row["_row"], column, zh, en)


def next_ids(known: list[str], n: int) -> list[str]:
    """`n` new ids continuing the log's most common `PREFIX0001` numbering (`B0001` if none)."""
    numbered = [m.groups() for k in known if (m := re.fullmatch(r"(.*?)(\d+)", k))]
    if not numbered:
        return [f"B{i:04d}" for i in range(1, n + 1)]
    prefixes: dict[str, int] = {}
    for p, _ in numbered:
        prefixes[p] = prefixes.get(p, 0) + 1
    prefix = max(prefixes, key=prefixes.__getitem__)
    width = max(len(d) for p, d in numbered if p == prefix)
    top = max(int(d) for p, d in numbered if p == prefix)
    return [f"{prefix}{top + i:0{width}d}" for i in range(1, n + 1)]


def _check_divisions(table: Table, f: pl.DataFrame, div: pl.DataFrame, issues: list[Issue]) -> None:
    districts = div.filter(pl.col("level").is_in(["district", "zone"]))["name"].to_list()
    streets = div.filter(pl.col("level").is_in(["street", "town"]))
    street_names = streets["name"].to_list()
    admin = dict(zip(streets["name"], streets["admin_district"], strict=True))
    area = dict(zip(streets["name"], streets["reporting_area"], strict=True))
    h = table.header
    for r in f.select("district", "street", "_file", "_sheet", "_row").iter_rows(named=True):
        d, s = r["district"], r["street"]
        if d is not None and d not in districts:
            hint = "、".join(difflib.get_close_matches(d, districts, n=3, cutoff=0.3))
            issues.append(
                _issue(
                    r,
                    h(r["_file"], r["_sheet"], "district"),
                    f"「{d}」不是本市区县" + (f"，是否为：{hint}？" if hint else ""),
                    f"{d!r} is not a district of the city"
                    + (f"; did you mean {hint}?" if hint else ""),
                )
            )
        if s is not None and s not in street_names:
            hint = "、".join(difflib.get_close_matches(s, street_names, n=3, cutoff=0.3))
            issues.append(
                _issue(
                    r,
                    h(r["_file"], r["_sheet"], "street"),
                    f"「{s}」不是本市街道（镇）" + (f"，是否为：{hint}？" if hint else ""),
                    f"{s!r} is not a street or town of the city"
                    + (f"; did you mean {hint}?" if hint else ""),
                )
            )
        elif s is not None and d in districts and d not in (admin[s], area[s]):
            issues.append(
                _issue(
                    r,
                    h(r["_file"], r["_sheet"], "street"),
                    f"{s}属于{admin[s]}，不属于{d}",
                    f"{s} belongs to {admin[s]}, not to {d}",
                )
            )


def buildings_change(
    table: Table,
    state: State,
    month: str,
    position: dict[str, Any],
    divisions: pl.DataFrame,
) -> tuple[Change, list[Issue]]:
    """The building events a register makes (`divisions`: the city's, from its profile)."""
    issues = list(table.issues)
    end = month_end(month)
    h = table.header
    f = table.frame
    _check_divisions(table, f, divisions, issues)
    known = state.buildings
    by_name = known.group_by("name").agg(pl.col("building_id").sort().alias("_ids"))
    f = (
        f.with_row_index("_i")
        .join(by_name, on="name", how="left")
        .sort("_i")
        .with_columns(
            pl.when(pl.col("building_id").is_not_null())
            .then(pl.col("building_id"))
            .when(pl.col("_ids").list.len() == 1)
            .then(pl.col("_ids").list.first())
            .alias("_match")
        )
    )
    for r in f.filter(pl.col("building_id").is_null() & (pl.col("_ids").list.len() > 1)).iter_rows(
        named=True
    ):
        issues.append(
            _issue(
                r,
                h(r["_file"], r["_sheet"], "name"),
                f"名称「{r['name']}」对应多栋楼宇（{'、'.join(r['_ids'])}）：请填写楼宇编号",
                f"the name {r['name']!r} belongs to several buildings ({', '.join(r['_ids'])}): give the id",
            )
        )
    for r in f.filter(pl.col("rentable_area_m2") > pl.col("gross_floor_area_m2")).iter_rows(
        named=True
    ):
        issues.append(
            _issue(
                r,
                h(r["_file"], r["_sheet"], "rentable_area_m2"),
                f"可出租面积 {r['rentable_area_m2']} 大于总建筑面积 {r['gross_floor_area_m2']}",
                f"rentable area {r['rentable_area_m2']} exceeds the gross floor area {r['gross_floor_area_m2']}",
            )
        )
    ident = pl.coalesce("_match", pl.concat_str(pl.lit("new:"), pl.col("name")))
    for r in f.filter(ident.is_duplicated() & ident.is_not_null()).iter_rows(named=True):
        issues.append(
            _issue(
                r,
                h(r["_file"], r["_sheet"], "name"),
                f"楼宇「{r['name']}」在文件中出现两次",
                f"building {r['name']!r} is listed twice",
            )
        )
    for key in ("completed_on", "retired_on"):
        for r in f.filter(pl.col(key) > end).iter_rows(named=True):
            issues.append(
                _issue(
                    r,
                    h(r["_file"], r["_sheet"], key),
                    f"日期 {r[key]} 晚于本期月末 {end}",
                    f"date {r[key]} is after the end of {month} ({end})",
                )
            )
    change = Change(KIND, month, sorted(set(table.frame["_file"].to_list())), position)
    cur = known.select(
        pl.col("building_id").alias("_match"),
        *[pl.col(a).alias(f"_was_{a}") for a in ATTRS],
        pl.col("status").alias("_was_status"),
        pl.col("retired").alias("_was_retired"),
    )
    f = f.join(cur, on="_match", how="left", maintain_order="left")
    for r in f.filter(
        (pl.col("_was_status") == "completed") & (pl.col("status") != "completed")
    ).iter_rows(named=True):
        issues.append(
            _issue(
                r,
                h(r["_file"], r["_sheet"], "status"),
                f"楼宇 {r['_match']} 已建成，状态不能改回",
                f"building {r['_match']} is completed; its status cannot go back",
            )
        )
    if issues:
        return change, issues

    new = f.filter(pl.col("_was_name").is_null())
    ids = iter(
        next_ids(known["building_id"].to_list(), new.filter(pl.col("building_id").is_null()).height)
    )
    drafts: list[dict[str, Any]] = []
    for r in new.iter_rows(named=True):
        bid = r["building_id"] or next(ids)
        data = {a: r[a] for a in ATTRS} | {
            "building_id": bid,
            "status": r["status"],
            "completed_on": r["completed_on"].isoformat()
            if r["completed_on"] and r["status"] == "completed"
            else None,
        }
        drafts.append(
            draft(
                KIND,
                month,
                "BuildingRegistered",
                end,
                data,
                source_of(r["_file"], r["_sheet"], r["_row"]),
                keys=[bid],
            )
        )
        if r["retired_on"]:
            drafts.append(_retired(month, r, bid))
    old = f.filter(pl.col("_was_name").is_not_null())
    for r in old.iter_rows(named=True):
        bid = r["_match"]
        src = source_of(r["_file"], r["_sheet"], r["_row"])
        changed = {
            a: r[a]
            for a in ATTRS
            if r[a] is not None
            and (
                r[f"_was_{a}"] is None
                or (
                    abs(r[a] - r[f"_was_{a}"]) > 1e-6
                    if isinstance(r[a], float)
                    else r[a] != r[f"_was_{a}"]
                )
            )
        }
        if changed:
            before = {a: r[f"_was_{a}"] for a in changed}
            drafts.append(
                draft(
                    KIND,
                    month,
                    "BuildingUpdated",
                    end,
                    {"building_id": bid, **changed},
                    src,
                    keys=[bid],
                    before=before,
                )
            )
        if r["status"] == "completed" and r["_was_status"] != "completed":
            drafts.append(
                draft(
                    KIND,
                    month,
                    "BuildingCompleted",
                    r["completed_on"] or end,
                    {"building_id": bid},
                    src,
                    keys=[bid],
                )
            )
        if r["retired_on"] and not r["_was_retired"]:
            drafts.append(_retired(month, r, bid))
    change.drafts = drafts
    counts = pl.DataFrame(
        {
            "building_id": [d["data"]["building_id"] for d in drafts],
            "type": [d["type"] for d in drafts],
        },
        schema={"building_id": pl.String, "type": pl.String},
    )
    change.summary = (
        counts.group_by("building_id")
        .agg(pl.col("type").sort().str.join("、").alias("events"))
        .sort("building_id")
    )
    return change, issues


def _retired(month: str, r: dict[str, Any], bid: str) -> dict[str, Any]:
    return draft(
        KIND,
        month,
        "BuildingRetired",
        r["retired_on"],
        {"building_id": bid, "reason": r["retire_reason"] or "other"},
        source_of(r["_file"], r["_sheet"], r["_row"]),
        keys=[bid],
    )
