"""Rosters (入驻企业名录) → tenancy events, by comparing each listed building with the log.

Each building present in a roster is a full snapshot of its tenants at the end of the month M
(INTAKE.md). Against the replayed state as of the last day of M (as recorded now): a listed
pair not active moves in; an active pair not listed, or listed 已迁出, moves out; a different
area, registration, or enterprise attribute (name, industry, headcount, headquarters) is a
change. Buildings absent from the file are untouched; an unchanged row produces nothing.

Decisions where the contract is silent:

- A building is named by 楼宇编号 or by 楼宇名称 (its name as of the month end); a name that
  matches no building gets the closest names as suggestions, a name shared by two buildings
  needs the id. A retired building takes no roster.
- An empty 是否总部 or 从业人数 is "not reported", never a change to false or 0. An empty
  行业代码版本 keeps the edition the log holds for the same code, else it is the 2017 edition
  (the catalogue's default).
- The same enterprise listed in two buildings must agree on its name, industry, headcount and
  headquarters flag: they belong to the enterprise, not to the tenancy.
- 房号 is recorded with a move-in only (the catalogue has no event that changes it later).
- Safety: a building block that would move out more than `max_move_out_share` of the
  building's active tenants (or all of them) is refused unless `allow_mass_move_out`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import polars as pl

from ..replay import State
from .change import Change, draft, month_end, source_of
from .issues import Issue
from .table import Table

KIND = "roster"


@dataclass(frozen=True)
class RosterSettings:
    max_move_out_share: float = 0.5
    allow_mass_move_out: bool = False


def _issue(row: dict[str, Any], column: str | None, zh: str, en: str) -> Issue:
    return Issue(row["_file"], row["_sheet"], row["_row"], column, zh, en)


def resolve_buildings(table: Table, buildings: pl.DataFrame, issues: list[Issue]) -> pl.DataFrame:
    """The table with `building_id` resolved from 楼宇编号 or 楼宇名称 (null where it cannot be)."""
    frame = table.frame
    b = buildings.select("building_id", "name", "retired")
    by_name = b.group_by("name").agg(pl.col("building_id").sort().alias("_ids"))
    f = (
        frame.with_row_index("_i")
        .join(by_name, left_on="building_name", right_on="name", how="left")
        .join(
            b.select(
                pl.col("building_id").alias("_known"),
                pl.col("name").alias("_known_name"),
                pl.col("retired").alias("_id_retired"),
            ),
            left_on="building_id",
            right_on="_known",
            how="left",
            maintain_order="left",
        )
        .sort("_i")
    )
    n_ids = pl.col("_ids").list.len().fill_null(0)
    by_id_ok = pl.col("building_id").is_not_null() & pl.col("_known_name").is_not_null()
    resolved = (
        pl.when(pl.col("building_id").is_not_null())
        .then(pl.when(by_id_ok).then(pl.col("building_id")))
        .when(n_ids == 1)
        .then(pl.col("_ids").list.first())
    )
    f = f.with_columns(resolved.alias("_building"))
    names = b["name"].unique().sort().to_list()
    id_header = lambda r: table.header(r["_file"], r["_sheet"], "building_id")  # noqa: E731
    name_header = lambda r: table.header(r["_file"], r["_sheet"], "building_name")  # noqa: E731
    bad = f.filter(
        (pl.col("building_id").is_not_null() & pl.col("_known_name").is_null())
        | (pl.col("building_id").is_null() & (n_ids != 1))
        | (
            by_id_ok
            & pl.col("building_name").is_not_null()
            & (pl.col("building_name") != pl.col("_known_name"))
        )
    )
    suggestions: dict[str, str] = {}
    for r in bad.iter_rows(named=True):
        if r["building_id"] is not None and r["_known_name"] is None:
            issues.append(
                _issue(
                    r,
                    id_header(r),
                    f"楼宇编号「{r['building_id']}」不存在",
                    f"no building has the id {r['building_id']!r}",
                )
            )
        elif r["building_id"] is not None:
            issues.append(
                _issue(
                    r,
                    name_header(r),
                    f"楼宇编号 {r['building_id']} 的名称是「{r['_known_name']}」，不是「{r['building_name']}」",
                    f"building {r['building_id']} is named {r['_known_name']!r}, not {r['building_name']!r}",
                )
            )
        elif r["building_name"] is None:
            issues.append(
                _issue(
                    r,
                    name_header(r),
                    "必填项为空（楼宇名称或楼宇编号）",
                    "required cell is empty (building name or id)",
                )
            )
        elif not r["_ids"]:
            name = r["building_name"]
            if name not in suggestions:
                close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
                suggestions[name] = "、".join(f"「{c}」" for c in close)
            hint = suggestions[name]
            issues.append(
                _issue(
                    r,
                    name_header(r),
                    f"找不到楼宇「{name}」" + (f"，是否为：{hint}？" if hint else ""),
                    f"no building is named {name!r}" + (f"; did you mean {hint}?" if hint else ""),
                )
            )
        else:
            ids = "、".join(r["_ids"])
            issues.append(
                _issue(
                    r,
                    name_header(r),
                    f"名称「{r['building_name']}」对应多栋楼宇（{ids}）：请填写楼宇编号",
                    f"the name {r['building_name']!r} belongs to several buildings ({ids}): give the building id",
                )
            )
    retired = f.filter(
        pl.col("_building").is_in(b.filter(pl.col("retired"))["building_id"].implode())
    )
    for r in retired.unique("_building", maintain_order=True).iter_rows(named=True):
        issues.append(
            _issue(
                r,
                name_header(r),
                f"楼宇 {r['_building']} 已退出统计，不再报送名录",
                f"building {r['_building']} is retired and takes no roster",
            )
        )
    return f.drop("building_id", "_ids", "_known_name", "_id_retired", "_i").rename(
        {"_building": "building_id"}
    )


def _row_checks(table: Table, f: pl.DataFrame, month: str, issues: list[Issue]) -> None:
    end = month_end(month)
    flagged = {(i.file, i.sheet, i.row, i.column) for i in issues}
    h = table.header

    def flag(frame: pl.DataFrame, key: str, zh: Any, en: Any) -> None:
        for r in frame.iter_rows(named=True):
            col = h(r["_file"], r["_sheet"], key)
            if (r["_file"], r["_sheet"], r["_row"], col) not in flagged:
                issues.append(
                    _issue(r, col, zh(r) if callable(zh) else zh, en(r) if callable(en) else en)
                )

    out = pl.col("status") == "out"
    flag(
        f.filter(~out.fill_null(False) & pl.col("area_m2").is_null()),
        "area_m2",
        "必填项为空",
        "required cell is empty",
    )
    flag(
        f.filter(pl.col("since") > end),
        "since",
        lambda r: f"入驻日期 {r['since']} 晚于本期月末 {end}",
        lambda r: f"move-in date {r['since']} is after the end of {month} ({end})",
    )
    flag(
        f.filter(pl.col("moved_out_on") > end),
        "moved_out_on",
        lambda r: f"迁出日期 {r['moved_out_on']} 晚于本期月末 {end}",
        lambda r: f"move-out date {r['moved_out_on']} is after the end of {month} ({end})",
    )
    flag(
        f.filter(pl.col("moved_out_on").is_not_null() & ~out.fill_null(False)),
        "moved_out_on",
        "填了迁出日期，但状态不是「已迁出」",
        "a move-out date is given but the status is not 已迁出 (moved out)",
    )
    # the same enterprise twice in one building
    dup = f.filter(
        pl.col("building_id").is_not_null()
        & pl.struct("building_id", "tenant_id").is_duplicated()
        & pl.col("tenant_id").is_not_null()
    ).with_columns(pl.col("_row").min().over("building_id", "tenant_id").alias("_first"))
    flag(
        dup.filter(pl.col("_row") != pl.col("_first")),
        "tenant_id",
        lambda r: f"同一企业在楼宇 {r['building_id']} 中出现两次（另见第{r['_first']}行）",
        lambda r: (
            f"the same enterprise is listed twice in building {r['building_id']} (see row {r['_first']})"
        ),
    )
    # attributes of the enterprise must agree across its rows
    for key, zh, en in (
        ("tenant_name", "企业名称", "name"),
        ("industry", "行业代码", "industry code"),
        ("headcount", "从业人数", "headcount"),
        ("headquarters", "是否总部", "headquarters flag"),
    ):
        clash = f.filter(
            pl.col("tenant_id").is_not_null()
            & (pl.col(key).drop_nulls().n_unique().over("tenant_id") > 1)
        ).with_columns(
            pl.col(key)
            .cast(pl.String)
            .unique()
            .sort()
            .over("tenant_id", mapping_strategy="join")
            .list.join("、")
            .alias("_values")
        )
        flag(
            clash,
            key,
            lambda r, zh=zh: (
                f"同一统一社会信用代码 {r['tenant_id']} 有不同的{zh}（{r['_values']}）"
            ),
            lambda r, en=en: f"the code {r['tenant_id']} has different {en}s ({r['_values']})",
        )


def roster_change(
    table: Table,
    state: State,
    month: str,
    position: dict[str, Any],
    settings: RosterSettings | None = None,
) -> tuple[Change, list[Issue]]:
    """The change a roster makes to the log, and every issue found (no drafts when any)."""
    settings = settings or RosterSettings()
    issues = list(table.issues)
    end = month_end(month)
    f = resolve_buildings(table, state.buildings, issues)
    f = f.with_columns(pl.col("status").fill_null("in"))
    _row_checks(table, f, month, issues)
    change = Change(KIND, month, sorted(set(table.frame["_file"].to_list())), position)

    active = state.tenancies.filter(
        pl.col("building_id").is_in(f["building_id"].drop_nulls().unique().implode())
    )
    listed = f.filter(pl.col("building_id").is_not_null() & pl.col("tenant_id").is_not_null())
    staying = listed.filter(pl.col("status") == "in")
    leaving_rows = listed.filter(pl.col("status") == "out")

    tenancy = ["tenant_id", "building_id"]
    a = active.select(
        *tenancy,
        pl.col("area_m2").alias("_area"),
        pl.col("registered_here").alias("_registered"),
    )
    joined = staying.join(a, on=tenancy, how="left", maintain_order="left")
    moving_in = joined.filter(pl.col("_area").is_null())
    stays = joined.filter(pl.col("_area").is_not_null())
    gone = a.join(staying.select(tenancy), on=tenancy, how="anti").join(
        leaving_rows.select(*tenancy, "moved_out_on", "reason", "_file", "_sheet", "_row"),
        on=tenancy,
        how="left",
    )
    moved_out_already = leaving_rows.join(a.select(tenancy), on=tenancy, how="anti")

    # Safety: a block that would empty most of a building.
    per_building = (
        a.group_by("building_id")
        .agg(pl.len().alias("active_before"))
        .join(
            gone.group_by("building_id").agg(pl.len().alias("moved_out")),
            on="building_id",
            how="left",
        )
        .with_columns(pl.col("moved_out").fill_null(0))
    )
    mass = per_building.filter(
        pl.col("moved_out") > pl.col("active_before") * settings.max_move_out_share
    )
    if not settings.allow_mass_move_out:
        first = f.group_by("building_id").agg(pl.col("_file", "_sheet", "_row").first())
        for r in mass.join(first, on="building_id").iter_rows(named=True):
            share = f"{r['moved_out']}/{r['active_before']}"
            issues.append(
                Issue(
                    r["_file"],
                    r["_sheet"],
                    None,
                    None,
                    f"楼宇 {r['building_id']} 将迁出 {share} 家在驻企业（超过{settings.max_move_out_share:.0%}）：文件可能不完整；确认无误请加 --allow-mass-move-out",
                    f"building {r['building_id']} would move out {share} of its active tenants (more than {settings.max_move_out_share:.0%}): the file may be truncated; if it is right, pass --allow-mass-move-out",
                )
            )
    if issues:
        return change, issues

    tenants = state.tenants.select(
        "tenant_id",
        pl.col("tenant_name").alias("_name"),
        pl.col("industry").alias("_industry"),
        pl.col("industry_edition").alias("_edition"),
        pl.col("headcount").alias("_headcount"),
        pl.col("headquarters").alias("_hq"),
    )
    drafts: list[dict[str, Any]] = []
    rows_in = moving_in.join(tenants, on="tenant_id", how="left", maintain_order="left")
    edition = (
        pl.col("industry_edition")
        .fill_null(pl.when(pl.col("industry") == pl.col("_industry")).then(pl.col("_edition")))
        .fill_null("2017")
    )
    rows_in = rows_in.with_columns(edition.alias("_edition_new"))
    for r in rows_in.iter_rows(named=True):
        data = {
            "tenant_id": r["tenant_id"],
            "tenant_name": r["tenant_name"],
            "building_id": r["building_id"],
            "area_m2": r["area_m2"],
            "industry": r["industry"],
            "industry_edition": r["_edition_new"],
            "registered_here": r["registered_here"],
            "headcount": r["headcount"],
            "headquarters": r["headquarters"],
            "unit": r["unit"],
        }
        drafts.append(
            draft(
                KIND,
                month,
                "TenantMovedIn",
                r["since"] or end,
                data,
                source_of(r["_file"], r["_sheet"], r["_row"]),
                keys=[r["building_id"], r["tenant_id"]],
                before=None,
            )
        )
    area_changed = stays.filter((pl.col("area_m2") - pl.col("_area")).abs() > 0.005)
    for r in area_changed.iter_rows(named=True):
        drafts.append(
            draft(
                KIND,
                month,
                "TenantAreaChanged",
                end,
                {
                    "tenant_id": r["tenant_id"],
                    "building_id": r["building_id"],
                    "area_m2": r["area_m2"],
                },
                source_of(r["_file"], r["_sheet"], r["_row"]),
                keys=[r["building_id"], r["tenant_id"]],
                before=r["_area"],
            )
        )
    reg_changed = stays.filter(pl.col("registered_here") != pl.col("_registered"))
    for r in reg_changed.iter_rows(named=True):
        drafts.append(
            draft(
                KIND,
                month,
                "TenantRegistrationChanged",
                end,
                {
                    "tenant_id": r["tenant_id"],
                    "building_id": r["building_id"],
                    "registered_here": r["registered_here"],
                },
                source_of(r["_file"], r["_sheet"], r["_row"]),
                keys=[r["building_id"], r["tenant_id"]],
                before=r["_registered"],
            )
        )
    # Enterprise attributes, once per enterprise, for those not moving in anywhere in this file.
    updated = _tenant_updates(stays, moving_in, tenants)
    for r in updated.iter_rows(named=True):
        data = {
            k: r[k]
            for k in ("tenant_name", "industry", "industry_edition", "headcount", "headquarters")
        }
        before = {k: r[f"_before_{k}"] for k in data}
        drafts.append(
            draft(
                KIND,
                month,
                "TenantUpdated",
                end,
                {"tenant_id": r["tenant_id"], **data},
                source_of(r["_file"], r["_sheet"], r["_row"]),
                keys=[r["tenant_id"]],
                before=before,
            )
        )
    for r in gone.iter_rows(named=True):
        listed_out = r["_row"] is not None
        drafts.append(
            draft(
                KIND,
                month,
                "TenantMovedOut",
                (r["moved_out_on"] or end) if listed_out else end,
                {
                    "tenant_id": r["tenant_id"],
                    "building_id": r["building_id"],
                    "reason": r["reason"],
                },
                source_of(r["_file"], r["_sheet"], r["_row"])
                if listed_out
                else source_of(*_block_source(f, r["building_id"]), None),
                keys=[r["building_id"], r["tenant_id"]],
                before="active",
            )
        )
    change.drafts = drafts
    change.summary = _summary(f, state, per_building, drafts)
    if moved_out_already.height:
        change.notes.append(
            f"{moved_out_already.height} 行标为已迁出但本来就不在驻，未产生事件 / "
            f"{moved_out_already.height} rows marked moved out were not active: nothing to do"
        )
    return change, issues


def _block_source(f: pl.DataFrame, building_id: str) -> tuple[str, str | None]:
    row = f.filter(pl.col("building_id") == building_id).row(0, named=True)
    return row["_file"], row["_sheet"]


def _tenant_updates(
    stays: pl.DataFrame, moving_in: pl.DataFrame, tenants: pl.DataFrame
) -> pl.DataFrame:
    """One row per enterprise whose name, industry, headcount or headquarters flag changed:
    the new value where it changed, null where it did not (so the update carries only changes)."""
    rows = (
        stays.join(moving_in.select("tenant_id").unique(), on="tenant_id", how="anti")
        .sort("_file", "_sheet", "_row")
        .unique("tenant_id", keep="first", maintain_order=True)
        .join(tenants, on="tenant_id", how="left")
    )
    edition = (
        pl.col("industry_edition")
        .fill_null(pl.when(pl.col("industry") == pl.col("_industry")).then(pl.col("_edition")))
        .fill_null("2017")
    )
    changed = {
        "tenant_name": pl.col("tenant_name") != pl.col("_name"),
        "industry": pl.col("industry") != pl.col("_industry"),
        "industry_edition": edition != pl.col("_edition"),
        "headcount": pl.col("headcount").is_not_null()
        & pl.col("headcount").ne_missing(pl.col("_headcount")),
        "headquarters": pl.col("headquarters").is_not_null()
        & (pl.col("headquarters") != pl.col("_hq")),
    }
    new = {
        "tenant_name": pl.col("tenant_name"),
        "industry": pl.col("industry"),
        "industry_edition": edition,
        "headcount": pl.col("headcount"),
        "headquarters": pl.col("headquarters"),
    }
    before = {
        "tenant_name": "_name",
        "industry": "_industry",
        "industry_edition": "_edition",
        "headcount": "_headcount",
        "headquarters": "_hq",
    }
    any_change = pl.any_horizontal(c.fill_null(False) for c in changed.values())
    return rows.filter(any_change).select(
        "tenant_id",
        "_file",
        "_sheet",
        "_row",
        *[pl.when(changed[k].fill_null(False)).then(new[k]).alias(k) for k in new],
        *[
            pl.when(changed[k].fill_null(False)).then(pl.col(v)).alias(f"_before_{k}")
            for k, v in before.items()
        ],
    )


def _summary(
    f: pl.DataFrame, state: State, per_building: pl.DataFrame, drafts: list[dict[str, Any]]
) -> pl.DataFrame:
    listed = f.select("building_id").drop_nulls().unique()
    counts = pl.DataFrame(
        {
            "building_id": [d["data"].get("building_id") for d in drafts],
            "type": [d["type"] for d in drafts],
        },
        schema={"building_id": pl.String, "type": pl.String},
    )
    names = {
        "TenantMovedIn": "moved_in",
        "TenantMovedOut": "moved_out",
        "TenantAreaChanged": "area_changed",
        "TenantRegistrationChanged": "registration_changed",
    }
    wide = (
        counts.filter(pl.col("building_id").is_not_null() & pl.col("type").is_in(list(names)))
        .group_by("building_id")
        .agg([(pl.col("type") == t).sum().cast(pl.Int64).alias(n) for t, n in names.items()])
    )
    updated_tenants = {d["data"]["tenant_id"] for d in drafts if d["type"] == "TenantUpdated"}
    upd = (
        f.filter(pl.col("tenant_id").is_in(list(updated_tenants)) & (pl.col("status") == "in"))
        .group_by("building_id")
        .agg(pl.col("tenant_id").n_unique().cast(pl.Int64).alias("updated"))
    )
    out = (
        listed.join(state.buildings.select("building_id", "name"), on="building_id", how="left")
        .join(per_building.select("building_id", "active_before"), on="building_id", how="left")
        .join(wide, on="building_id", how="left")
        .join(upd, on="building_id", how="left")
        .with_columns(
            pl.col(c).fill_null(0).cast(pl.Int64)
            for c in ("active_before", *names.values(), "updated")
        )
        .with_columns(
            (pl.col("active_before") + pl.col("moved_in") - pl.col("moved_out")).alias(
                "active_after"
            )
        )
        .sort("building_id")
    )
    return out.select(
        "building_id",
        "name",
        "active_before",
        "moved_in",
        "moved_out",
        "area_changed",
        "registration_changed",
        "updated",
        "active_after",
    )
