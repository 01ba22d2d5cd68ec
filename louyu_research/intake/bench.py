"""Benchmark hook: one month's returns of a city, from files to appended events, timed.

`month_of_returns(log, work)` copies the log, writes the month's returns as a city would send
them — one roster per street (.xlsx, a full snapshot with about 1% of tenancies moving out, 1%
changing area and 1% new tenants), the tax bureau's file (every tenant of a building and as
many again that are not in one, a few under legacy 15-character numbers) and the finance
bureau's CSV — and times `intake ... --apply` of each kind on the copy (read, validate, diff
against the replayed log, append). The target for the shipped sample is 5 s.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import polars as pl

from ..log.catalogue import _USCC_CHARS, _USCC_WEIGHTS
from ..replay import open_log
from .api import IntakeOptions, intake
from .change import month_end, previous_month
from .columns import SPECS

ROSTER_HEADERS = {c.key: c.header for c in SPECS["roster"]}


def _uscc(body: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_CHARS[(31 - total % 31) % 31]


def write_returns(log_path: Path, month: str, out: Path, seed: int = 20190101) -> dict[str, Any]:
    """The month's return files of every street, the tax bureau and the finance bureau."""
    log = open_log(log_path)
    state = log.replay(month_end(previous_month(month)))
    out.mkdir(parents=True, exist_ok=True)
    t = state.tenancies.join(
        state.buildings.filter(~pl.col("retired")).select("building_id", "name", "street"),
        on="building_id",
    ).sort("building_id", "tenant_id")
    t = t.with_columns(
        pl.int_range(pl.len()).shuffle(seed=seed).alias("_draw"),
    )
    n = t.height
    leaving = pl.col("_draw") < n // 100
    growing = pl.col("_draw").is_between(n // 100, 2 * n // 100, closed="left")
    roster = t.filter(~leaving).with_columns(
        pl.when(growing).then(pl.col("area_m2") + 50).otherwise(pl.col("area_m2")).alias("area_m2")
    )
    newcomers = (
        t.filter(pl.col("_draw") < n // 100)
        .select("building_id", "name", "street")
        .with_row_index("_i")
        .with_columns(
            pl.col("_i")
            .map_elements(lambda i: _uscc(f"91330402MB{i:07d}"), return_dtype=pl.String)
            .alias("tenant_id"),
            pl.format("新入驻企业{}有限公司", pl.col("_i")).alias("tenant_name"),
            pl.lit(120.0).alias("area_m2"),
            pl.lit(f"{month}-10").alias("since"),
            pl.lit(True).alias("registered_here"),
            pl.lit("I65").alias("industry"),
            pl.lit("2017").alias("industry_edition"),
        )
    )
    yes_no = {True: "是", False: "否"}
    columns = [
        pl.col("building_id").alias(ROSTER_HEADERS["building_id"]),
        pl.col("name").alias(ROSTER_HEADERS["building_name"]),
        pl.col("tenant_id").alias(ROSTER_HEADERS["tenant_id"]),
        pl.col("tenant_name").alias(ROSTER_HEADERS["tenant_name"]),
        pl.col("area_m2").alias(ROSTER_HEADERS["area_m2"]),
        pl.col("since").cast(pl.String).alias(ROSTER_HEADERS["since"]),
        pl.col("registered_here")
        .replace_strict(yes_no, return_dtype=pl.String)
        .alias(ROSTER_HEADERS["registered_here"]),
        pl.col("industry").alias(ROSTER_HEADERS["industry"]),
        pl.col("industry_edition").alias(ROSTER_HEADERS["industry_edition"]),
    ]
    rows = pl.concat([roster.select("street", *columns), newcomers.select("street", *columns)])
    files: dict[str, Any] = {"roster": []}
    for (street,), part in rows.partition_by("street", as_dict=True).items():
        path = out / f"roster-{street}-{month}.xlsx"
        part.drop("street").write_excel(path, worksheet="入驻企业名录")
        files["roster"].append(path)
    taxpayers = t.select("tenant_id").unique().sort("tenant_id")
    others = pl.DataFrame(
        {"tenant_id": [_uscc(f"91330411MC{i:07d}") for i in range(taxpayers.height)]}
    )
    tax = (
        pl.concat([taxpayers, others])
        .with_row_index("_i")
        .select(
            # every 50th building tenant under its legacy number: area code + organisation code
            pl.when((pl.col("_i") % 50 == 0) & (pl.col("_i") < taxpayers.height))
            .then(pl.concat_str(pl.lit("330402"), pl.col("tenant_id").str.slice(8, 9)))
            .otherwise(pl.col("tenant_id"))
            .alias("纳税人识别号"),
            pl.format("纳税人{}", pl.col("_i")).alias("纳税人名称"),
            pl.lit(month).alias("税款所属期"),
            ((pl.col("_i") * 7919 % 100_000) + 0.5).alias("税收金额（元）"),
        )
    )
    files["tax"] = [out / f"tax-{month}.xlsx"]
    tax.write_excel(files["tax"][0], worksheet="税收")
    files["city-tax"] = [out / f"city-tax-{month}.csv"]
    files["city-tax"][0].write_text(
        f"所属期,税收收入（万元）,区县\n{month},365000.00,\n", encoding="gb18030"
    )
    return files


def month_of_returns(
    log: str | Path = "events", work: str | Path = "build/intake-bench", month: str = "2019-01"
) -> dict[str, Any]:
    """Time one month's returns from files to appended events on a copy of `log`."""
    work = Path(work)
    if work.exists():
        shutil.rmtree(work)
    copy = work / "log"
    shutil.copytree(log, copy, ignore=shutil.ignore_patterns(".lock"))
    files = write_returns(copy, month, work / "returns")
    open_log(copy).prepared()  # a warm Parquet cache, as an office's log has
    timings: dict[str, float] = {}
    appended: dict[str, int] = {}
    start = time.perf_counter()
    for kind in ("roster", "tax", "city-tax"):
        t0 = time.perf_counter()
        # a building of one or two tenants may lose most of them in a month: allowed here
        options = IntakeOptions(allow_mass_move_out=True)
        change = intake(kind, files[kind], log=copy, month=month, apply=True, options=options)
        timings[kind] = time.perf_counter() - t0
        appended[kind] = change.appended
    total = time.perf_counter() - start
    return {
        "month": month,
        "paths": {k: [str(p) for p in v] for k, v in files.items()},
        "files": {k: len(v) for k, v in files.items()},
        "seconds": {k: round(v, 3) for k, v in timings.items()} | {"total": round(total, 3)},
        "appended": appended,
        "target_seconds": 5.0,
    }


def read_returns_timed(files: dict[str, list[Path]]) -> dict[str, dict[str, float]]:
    """How long reading the month's files takes: intake's reading (`read_returns`: sheets,
    headers, every cell parsed and checked) per kind, beside the baseline of bare Polars
    reading the same files (`read_excel` through calamine, `read_csv` of the decoded text)."""
    from io import StringIO

    from .api import read_returns
    from .readers import decode_csv

    out: dict[str, dict[str, float]] = {}
    for kind, paths in files.items():
        t0 = time.perf_counter()
        read_returns(kind, list(paths))
        intake_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for p in paths:
            if p.suffix == ".csv":
                pl.read_csv(StringIO(decode_csv(p.read_bytes())[0]), infer_schema=False)
            else:
                pl.read_excel(p, sheet_id=0, engine="calamine", infer_schema_length=0)
        out[kind] = {
            "intake_read": round(intake_s, 3),
            "bare_polars": round(time.perf_counter() - t0, 3),
        }
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(month_of_returns(), ensure_ascii=False, indent=2))
