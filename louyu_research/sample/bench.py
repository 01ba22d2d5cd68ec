"""Benchmark (`make bench`): append, cold and warm replay and a 60-month panel at city scale,
each beside a naive per-event Python fold over the same JSON Lines, measured in the same run.

    python -m louyu_research.sample.bench [--scale 29] [--seed N] [--dir PATH] [--keep]

The log is the sample's own generator (`louyu simulate`) at a larger scale: at the default
scale 29, about 13,600 buildings, 200,000 tenancies and 6.8 million events over the 60 months
of 2014–2018, with everything the sample holds (corrections, retractions, late returns, the
planted data-quality problems). It is written through the validated `EventLog.append`, one
batch per recorded month, so append throughput is measured on every event. The log is created
with plain (uncompressed) sealed segments: the default gzip of sealed segments is a storage
option whose cost is not replay's. Each timed phase runs in a fresh Python process (nothing
warm in memory), and reports its own wall time and peak resident memory
(`resource.getrusage`).

Phases: `generate` (the simulator alone, its drafts streamed batch by batch to the null device;
beside it `generate_held`, the same with every draft kept until the end), `append` (generate +
append; throughput in events/s), `cold` (replay with the Parquet
cache removed: parse every JSON segment, write the cache, replay, save the preparation), `warm`
(replay from the cache), `panel` (the 60-month BuildingMonth panel from the cache, preparation
included), `replay_and_panel` (both in one process, sharing the preparation: what an indicators
run does; these three compute the preparation from the copies), `prepare_and_save` (the
preparation computed and saved, `replay.saved`) and `replay_and_panel_saved` (replay and panel
reading that saved preparation: what every later process replaying the same log does),
the readers of the same JSON Lines with the same known schema, each into the flat Polars frame
replay reads (`read_ndjson` and `scan_ndjson`: Polars; `read_duckdb`: DuckDB's `read_json`,
which `_parse_ndjson` uses), `scan_cache` (a bare streaming scan of the columns replay reads
from the same Parquet copies into one frame, nothing computed: the warm yardstick),
`stream_cache` (the same, streamed in batches that are dropped: nothing held, so it runs at
any scale), and `naive_replay` and
`naive_panel` (json.loads per line and a dict-based fold, the obvious way), and `intake`: one
month's returns from files to appended events on a copy of the log
(`intake.bench.month_of_returns`), beside bare Polars reading the same files (target ≤ 5 s on
the sample, ≤ 60 s at scale 29).
Targets: cold replay ≤ 1.2× the fastest reader; warm replay + panel ≤ 2× the bare streaming
scan (printed both ways: the preparation computed, and read from its saved copy) and ≥ 20×
faster than the naive fold; peak memory per million events (compare two scales) small enough
that a 100-million-event log fits in 24 GiB.

`--log DIR` measures an existing log instead (no append; `cold` rewrites its `.cache/`, so give
it a copy of a log that must not change), `--only` a comma-separated list of phases. The last
line of the output is every figure as JSON.

The append phases run on copies of the log (generated or `--log`; the source is never
written), under a temporary folder: `append_batch` (one 100,000-event validated batch
into a new log, beside a raw fsynced write of the bytes it stored; target ≥ 50,000 events/s),
`append_onto` (1,000 tax reports onto a copy of the log and onto its 12-month prefix, twice:
the first builds the append index and seals the last month, the second is the steady state;
target < 1 s plus start-up, peak memory flat in the log's size) and `verify` (on the prefix,
beside sha256 over the same bytes).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from .simulate import RECORDED_SEED
from .timeline import FIRST_YEAR, MONTHS, month_end, period

#: Scale of the benchmark's log, in units of the shipped sample (470 buildings, 7,061
#: tenancies): the smallest whole multiple with at least 5,000 buildings and 200,000 tenancies.
BENCH_SCALE = 29.0


# --- phases (each in its own process) ------------------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_append(log_dir: Path, seed: int, scale: float) -> dict[str, Any]:
    from louyu_research.log.store import EventLog

    from .simulate import simulate

    t0 = time.perf_counter()
    sim = simulate(seed, scale)
    gen = time.perf_counter() - t0
    EventLog.init(log_dir, compress_sealed=False)
    log = EventLog(log_dir)
    t0 = time.perf_counter()
    for batch in sim.batches():
        log.append(batch)
    spent = time.perf_counter() - t0
    n = len(sim.lines)
    return {
        "events": n,
        "seconds": spent,
        "generate_seconds": gen,
        "events_per_s": n / spent,
        "buildings": sim.buildings,
        "tenancies": sim.tenancies,
    }


def phase_generate(seed: int, scale: float, hold: bool) -> dict[str, Any]:
    """Generation alone, no log: the drafts made batch by batch (one recorded month each) and
    written to the null device; with `hold`, the baseline: every draft kept in one list until
    the end, as a generator that puts all of them in order at once must at least."""
    from .simulate import simulate

    t0 = time.perf_counter()
    sim = simulate(seed, scale)
    held: list[bytes] = []
    size = 0
    with open(os.devnull, "wb") as sink:
        for batch in sim.batches():
            if hold:
                held.extend(batch)
            for line in batch:
                sink.write(line)
                size += len(line) + 1
            del batch  # not kept while the next month is made
    return {"seconds": time.perf_counter() - t0, "events": sim.events, "bytes": size}


def _as_of(months: int) -> date:
    """The last day of the benchmark's last month."""
    return month_end(months - 1)


def _open(log_dir: Path, saved: bool) -> Any:
    """The log, reading and writing saved preparations (`replay.saved`) or computing its
    preparation from the copies (`saved=False`)."""
    from louyu_research.replay.log import open_log

    log = open_log(log_dir)
    log.save_from_events = 0 if saved else None  # saved at any size: the bench's log may be small
    return log


def _saved_for_head(log_dir: Path) -> bool:
    """Whether the log's `.cache/` holds a saved preparation of its whole log, read by this code."""
    from louyu_research.replay import saved

    log = _open(log_dir, saved=True)
    head = log.head
    key = saved.preparation_key((head.seq, head.hash, None, None), log.city.digest)
    return (log_dir / ".cache" / f"prepared.{key}" / "prepared.json").is_file()


def phase_replay(log_dir: Path, months: int, cold: bool) -> dict[str, Any]:
    """Cold: no `.cache/` at all, as a user's first replay of a fresh clone (the preparation
    is saved too); warm: from the copies, the preparation computed."""
    if cold:
        shutil.rmtree(log_dir / ".cache", ignore_errors=True)
    log = _open(log_dir, saved=cold)
    t0 = time.perf_counter()
    state = log.replay(_as_of(months))
    sec = time.perf_counter() - t0
    return {
        "seconds": sec,
        "tenancies": state.tenancies.height,
        "buildings": state.buildings.height,
        "tax_rows": state.tax.height,
    }


def phase_prepare_and_save(log_dir: Path) -> dict[str, Any]:
    """The whole log's preparation computed from the copies and saved (`replay.saved`)."""
    from louyu_research.replay import saved

    for folder in (log_dir / ".cache").glob("prepared.*"):
        shutil.rmtree(folder, ignore_errors=True)
    log = _open(log_dir, saved=True)
    t0 = time.perf_counter()
    log.prepared()
    sec = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in (log_dir / ".cache").glob("prepared.*/*") if p.is_file())
    return {"seconds": sec, "bytes": size, "kept": saved.KEEP}


def phase_replay_and_panel(log_dir: Path, months: int, saved: bool) -> dict[str, Any]:
    """What an indicators run does: one log object, the state and the panel (one preparation):
    computed from the copies, or read from a saved preparation (`saved`)."""
    if saved and not _saved_for_head(log_dir):
        raise SystemExit("no saved preparation of this log: run the prepare_and_save phase first")
    log = _open(log_dir, saved=saved)
    t0 = time.perf_counter()
    state = log.replay(_as_of(months))
    start, end = period(0), period(months - 1)
    panel = log.panel(start, end)
    return {
        "seconds": time.perf_counter() - t0,
        "rows": panel.height,
        "tenancies": state.tenancies.height,
    }


def phase_panel(log_dir: Path, months: int) -> dict[str, Any]:
    log = _open(log_dir, saved=False)
    t0 = time.perf_counter()
    start, end = period(0), period(months - 1)
    panel = log.panel(start, end)
    return {"seconds": time.perf_counter() - t0, "rows": panel.height}


def _segments(log_dir: Path) -> list[Path]:
    return sorted(log_dir.glob("*.jsonl"))


def phase_read_ndjson(log_dir: Path) -> dict[str, Any]:
    import polars as pl

    from louyu_research.log import catalogue as ev

    t0 = time.perf_counter()
    frame = pl.read_ndjson(_segments(log_dir), schema=ev.NDJSON_SCHEMA)
    return {"seconds": time.perf_counter() - t0, "rows": frame.height}


def phase_read_duckdb(log_dir: Path) -> dict[str, Any]:
    """DuckDB's `read_json` of the same JSON Lines with the same schema, into the flat Polars
    frame replay reads (the Arrow hand-over and `flatten` included: what a reader must deliver)."""
    import duckdb
    import polars as pl

    from louyu_research.log import catalogue as ev
    from louyu_research.log.store import DUCKDB_COLUMNS

    t0 = time.perf_counter()
    con = duckdb.connect()
    rel = con.read_json(
        [str(p) for p in _segments(log_dir)],
        columns=DUCKDB_COLUMNS,
        format="newline_delimited",
    )
    frame = ev.flatten(pl.from_arrow(rel.to_arrow_table())).collect()
    return {"seconds": time.perf_counter() - t0, "rows": frame.height}


def phase_scan_ndjson(log_dir: Path) -> dict[str, Any]:
    """Polars' lazy `scan_ndjson` of the same files (known schema), flattened."""
    import polars as pl

    from louyu_research.log import catalogue as ev

    t0 = time.perf_counter()
    frame = ev.flatten(pl.scan_ndjson(_segments(log_dir), schema=ev.NDJSON_SCHEMA)).collect()
    return {"seconds": time.perf_counter() - t0, "rows": frame.height}


def phase_scan_cache(log_dir: Path) -> dict[str, Any]:
    """The warm yardstick: a bare streaming scan of the columns replay reads, from the same
    Parquet copies (`.cache/`, as the warm phases find them), with nothing computed."""
    import polars as pl

    from louyu_research.replay.log import _COLUMNS

    t0 = time.perf_counter()
    copies = sorted((log_dir / ".cache").glob("*.parquet"))
    frame = pl.scan_parquet(copies).select(_COLUMNS).collect(engine="streaming")
    return {"seconds": time.perf_counter() - t0, "rows": frame.height, "copies": len(copies)}


def phase_stream_cache(log_dir: Path) -> dict[str, Any]:
    """The same columns from the same copies, streamed in batches of 100,000 rows and dropped:
    every value decoded, nothing held: the yardstick that fits any log (`scan_cache` holds the
    whole frame, as a plain `scan_parquet().collect()` does, which needs about 500 MB per
    million events)."""
    import polars as pl

    from louyu_research.replay.log import _COLUMNS

    t0 = time.perf_counter()
    copies = sorted((log_dir / ".cache").glob("*.parquet"))
    lf = pl.scan_parquet(copies).select(_COLUMNS)
    rows = sum(batch.height for batch in lf.collect_batches(chunk_size=100_000))
    return {"seconds": time.perf_counter() - t0, "rows": rows, "copies": len(copies)}


def _naive_records(log_dir: Path) -> list[dict[str, Any]]:
    recs = []
    for path in _segments(log_dir):
        with open(path, encoding="utf-8") as f:
            for line in f:
                recs.append(json.loads(line))
    voided = {r["data"]["event_id"] for r in recs if r["type"] == "EventRetracted"}
    recs = [r for r in recs if r["type"] != "EventRetracted" and r["event_id"] not in voided]
    recs.sort(key=lambda r: (r["occurred_on"], r["seq"]))
    return recs


def _naive_key_industry(
    code: str, edition: str, cache: dict[tuple[str, str], str], table: dict[tuple[str, str], str]
) -> str:
    if (code, edition) not in cache:
        hit = next(
            (
                table[(edition, code[:n])]
                for n in range(len(code), 0, -1)
                if (edition, code[:n]) in table
            ),
            "other",
        )
        cache[(code, edition)] = hit
    return cache[(code, edition)]


def _naive_fold(
    recs: list[dict[str, Any]], snapshot_at: list[str]
) -> tuple[dict, dict, dict, list]:
    """Dicts updated event by event; a snapshot of every building at each month end."""
    from louyu_research.city.profile import default_city

    table = {
        (r["edition"], r["code_prefix"]): r["key_industry"]
        for r in default_city().industry_codes.iter_rows(named=True)
    }
    cache: dict[tuple[str, str], str] = {}
    buildings: dict[str, dict[str, Any]] = {}
    tenants: dict[str, dict[str, Any]] = {}
    tenancies: dict[tuple[str, str], dict[str, Any]] = {}
    tax: dict[tuple[str, str, str], tuple[int, float]] = {}
    city: dict[str, tuple[int, float]] = {}
    snaps = []
    ends = list(snapshot_at)

    def snap(day: str) -> None:
        per: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"occupied": 0.0, "n": 0, "reg": 0, "ind": defaultdict(float)}
        )
        for (tid, bid), ty in tenancies.items():
            if ty["active"]:
                p = per[bid]
                p["occupied"] += ty["area"]
                p["n"] += 1
                p["reg"] += ty["registered_here"]
                ten = tenants[tid]
                p["ind"][
                    _naive_key_industry(ten["industry"], ten["industry_edition"], cache, table)
                ] += ty["area"]
        rows = {}
        for bid, b in buildings.items():
            p = per.get(bid)
            lead = None
            if p:
                key = [(-a, k) for k, a in p["ind"].items() if k != "other"]
                lead = min(key)[1] if key else None
            rows[bid] = {
                "street": b["street"],
                "occupied": min(p["occupied"], b["rentable_area_m2"]) if p else 0.0,
                "lead": lead,
            }
        snaps.append((day, rows))

    for r in recs:
        while ends and r["occurred_on"] > ends[0]:
            snap(ends.pop(0))
        d, t = r["data"], r["type"]
        if t == "TaxReported":
            k = (d["tenant_id"], d["building_id"], d["period"])
            if k not in tax or tax[k][0] < r["seq"]:
                tax[k] = (r["seq"], d["amount_yuan"])
        elif t == "BuildingRegistered":
            buildings.setdefault(d["building_id"], {}).update(d)
        elif t == "BuildingUpdated" and d["building_id"] in buildings:
            buildings[d["building_id"]].update(d)
        elif t == "TenantMovedIn":
            ten = tenants.setdefault(d["tenant_id"], {})
            ten.update({k: d[k] for k in ("tenant_name", "industry") if k in d})
            ten["industry_edition"] = d.get("industry_edition", "2017")
            tenancies[(d["tenant_id"], d["building_id"])] = {
                "active": True,
                "area": d["area_m2"],
                "registered_here": d["registered_here"],
            }
        elif t == "TenantAreaChanged" and (d["tenant_id"], d["building_id"]) in tenancies:
            tenancies[(d["tenant_id"], d["building_id"])]["area"] = d["area_m2"]
        elif t == "TenantMovedOut" and (d["tenant_id"], d["building_id"]) in tenancies:
            tenancies[(d["tenant_id"], d["building_id"])]["active"] = False
        elif t == "TenantRegistrationChanged" and (d["tenant_id"], d["building_id"]) in tenancies:
            tenancies[(d["tenant_id"], d["building_id"])]["registered_here"] = d["registered_here"]
        elif t == "TenantUpdated" and d["tenant_id"] in tenants:
            tenants[d["tenant_id"]].update(d)
        elif t == "BuildingCompleted" and d["building_id"] in buildings:
            buildings[d["building_id"]]["status"] = "completed"
        elif t == "BuildingRetired" and d["building_id"] in buildings:
            buildings[d["building_id"]]["status"] = "retired"
            for (_, bid), ty in tenancies.items():
                if bid == d["building_id"]:
                    ty["active"] = False
        elif t in ("BuildingFeaturedDesignated", "BuildingFeaturedRevoked"):
            if d["building_id"] in buildings:
                buildings[d["building_id"]]["featured"] = d.get("industry")
        elif t == "CityTaxReported" and city.get(d["period"], (-1, 0.0))[0] < r["seq"]:
            city[d["period"]] = (r["seq"], d["amount_yuan"])
    for day in ends:
        snap(day)
    # tax of each building by month and year to date
    by_month: dict[tuple[str, str], float] = defaultdict(float)
    for (_, bid, ym), (_, amount) in tax.items():
        by_month[(bid, ym)] += amount
    ytd: dict[tuple[str, str], float] = {}
    for day, rows in snaps:
        month = day[:7]
        for bid in rows:
            ytd[(bid, month)] = sum(
                by_month.get((bid, f"{month[:4]}-{mm:02d}"), 0.0)
                for mm in range(1, int(month[5:]) + 1)
            )
    return buildings, tenancies, tax, snaps


def phase_naive(log_dir: Path, months: int, panel: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    as_of = _as_of(months).isoformat()
    recs = _naive_records(log_dir)
    if panel:
        ends = [month_end(m).isoformat() for m in range(months)]
        _, tenancies, tax, snaps = _naive_fold(recs, ends)
    else:
        _, tenancies, tax, snaps = _naive_fold(
            [r for r in recs if r["occurred_on"] <= as_of or r["type"] == "TaxReported"], []
        )
    active = sum(1 for t in tenancies.values() if t["active"])
    return {
        "seconds": time.perf_counter() - t0,
        "active_tenancies": active,
        "tax_rows": len(tax),
        "snapshots": len(snaps),
    }


def phase_intake(log_dir: Path) -> dict[str, Any]:
    """One month's returns from files to appended events (`intake.bench.month_of_returns`, on
    a copy of the log in a temporary folder), then the same files read by intake and, as the
    baseline, by bare Polars; peak memory is the whole phase's."""
    from louyu_research.intake.bench import month_of_returns, read_returns_timed

    with tempfile.TemporaryDirectory(prefix="louyu-intake-bench-") as work:
        r = month_of_returns(log_dir, Path(work))
        paths = {k: [Path(p) for p in v] for k, v in r.pop("paths").items()}
        r["reading"] = read_returns_timed(paths)
        r["bytes"] = sum(p.stat().st_size for v in paths.values() for p in v)
    r["by_kind"] = {k: v for k, v in r["seconds"].items() if k != "total"}
    r["seconds"] = r["seconds"]["total"]
    return r


def report_intake(r: dict[str, Any]) -> str:
    """The intake phase's lines: intake by kind beside bare Polars reading the same files."""
    lines = [
        "",
        f"one month's returns ({r['month']}: {sum(r['files'].values())} files, "
        f"{r['bytes'] / 1e6:.1f} MB) from files to appended events: {r['seconds']:.2f} s "
        f"(target ≤ {r['target_seconds']:g} s), peak {r['peak_mb']:,.0f} MB",
        f"{'kind':<10}{'intake, s':>11}{'of which reading, s':>21}{'bare Polars read, s':>21}{'events':>9}",
    ]
    for kind, read in r["reading"].items():
        lines.append(
            f"{kind:<10}{r['by_kind'][kind]:>11.2f}{read['intake_read']:>21.2f}"
            f"{read['bare_polars']:>21.2f}{r['appended'][kind]:>9,}"
        )
    return "\n".join(lines)


# --- append phases: a batch into a new log, a batch onto an existing log, verify ----------------

#: The validated batch of `append_batch`, in events, and the batch of `append_onto`.
BATCH_EVENTS = 100_000
ONTO_EVENTS = 1_000


def _fsync_write(path: Path, data: bytes) -> float:
    t0 = time.perf_counter()
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return time.perf_counter() - t0


def phase_append_batch(log_dir: Path, seed: int) -> dict[str, Any]:
    """One validated batch of `BATCH_EVENTS` simulated drafts into a new log, beside a raw
    fsynced write of the bytes it stored."""
    from louyu_research.log.store import EventLog

    from .simulate import simulate

    lines = list(itertools.islice(simulate(seed, 1.0).lines, BATCH_EVENTS))
    work = log_dir.parent / (log_dir.name + "-batch")
    shutil.rmtree(work, ignore_errors=True)
    log = EventLog.init(work, compress_sealed=False)
    t0 = time.perf_counter()
    result = log.append(lines)
    spent = time.perf_counter() - t0
    stored = b"".join(p.read_bytes() for p in _segments(work))
    raw = _fsync_write(work.parent / (work.name + ".raw"), stored)
    (work.parent / (work.name + ".raw")).unlink()
    shutil.rmtree(work, ignore_errors=True)
    return {
        "events": len(result.appended),
        "seconds": spent,
        "events_per_s": len(result.appended) / spent,
        "raw_seconds": raw,
        "raw_events_per_s": len(result.appended) / raw,
        "bytes": len(stored),
    }


def onto_drafts(log_dir: Path, n: int, tag: str) -> list[str]:
    """`n` tax reports for tenancies that moved in during the log's first month (read from
    that segment only), for a period after the log's end."""
    first = sorted(log_dir.glob("*.jsonl"))[0]
    drafts = []
    with open(first, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec["type"] != "TenantMovedIn":
                continue
            d = rec["data"]
            drafts.append(
                json.dumps(
                    {
                        "event_id": f"bench-{tag}-{len(drafts)}",
                        "type": "TaxReported",
                        "occurred_on": "2030-01-28",
                        "source": "bench",
                        "data": {
                            "tenant_id": d["tenant_id"],
                            "building_id": d["building_id"],
                            "period": "2030-01",
                            "amount_yuan": 100.0 + len(drafts),
                        },
                    },
                    ensure_ascii=False,
                )
            )
            if len(drafts) == n:
                break
    return drafts


def phase_append_onto(log_dir: Path, drafts_file: Path) -> dict[str, Any]:
    """A batch (one JSON line each in `drafts_file`) appended onto the log in `log_dir`."""
    from louyu_research.log.store import EventLog

    lines = drafts_file.read_text(encoding="utf-8").splitlines()
    t0 = time.perf_counter()
    result = EventLog(log_dir).append(lines)
    spent = time.perf_counter() - t0
    return {"events": len(result.appended), "seconds": spent, "head_seq": result.head.seq}


def phase_verify(log_dir: Path) -> dict[str, Any]:
    """`louyu verify` over the log, beside sha256 over the same segment bytes."""
    import hashlib

    from louyu_research.log.store import EventLog

    t0 = time.perf_counter()
    findings = EventLog(log_dir).verify()
    spent = time.perf_counter() - t0
    t0 = time.perf_counter()
    nbytes = 0
    for p in sorted(log_dir.glob("*.jsonl*")):
        h = hashlib.sha256()
        with open(p, "rb") as f:
            while chunk := f.read(1 << 22):
                h.update(chunk)
                nbytes += len(chunk)
    sha = time.perf_counter() - t0
    events = findings.head.seq if findings.head else 0
    return {
        "events": events,
        "problems": len(findings),
        "seconds": spent,
        "events_per_s": events / spent,
        "sha256_seconds": sha,
        "sha256_events_per_s": events / sha,
        "bytes": nbytes,
    }


def prefix_log(src: Path, dst: Path, months: int) -> Path:
    """A copy of the first `months` segments of a log with plain segments, and a HEAD at the
    end of the last: a valid, shorter log (a prefix of the chain)."""
    from louyu_research.log.chain import Head, head_bytes, last_line, line_mark, line_recorded_at

    names = sorted(p.name for p in src.glob("*.jsonl"))[:months]
    dst.mkdir(parents=True)
    shutil.copyfile(src / "log.json", dst / "log.json")
    for name in names:
        shutil.copyfile(src / name, dst / name)
    last = names[-1]
    size = (dst / last).stat().st_size
    line = last_line(dst, last, size)
    assert line is not None
    seq, hash_ = line_mark(line)
    head = Head(seq or 0, hash_ or "", line_recorded_at(line), last, size)
    (dst / "HEAD").write_bytes(head_bytes(head))
    return dst


def run_append_phases(args: argparse.Namespace, src: Path, work: Path) -> None:
    """The append benchmarks against an existing log `src` (never written: copies are), at
    its full size and as a 12-month prefix, each phase in a fresh process."""
    r: dict[str, dict[str, Any]] = {}
    r["append_batch"] = _run_phase("append_batch", work / "batch", args)
    print(f"  append_batch      {r['append_batch']['seconds']:8.2f} s", flush=True)
    sizes = {"full": None, "12 months": 12}
    rows = []
    for label, months in sizes.items():
        dst = work / f"log-{months or 'full'}"
        t0 = time.perf_counter()
        if months is None:
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".lock", ".index"))
        else:
            prefix_log(src, dst, months)
        copied = time.perf_counter() - t0
        for step in ("first", "second"):
            drafts = work / f"drafts-{label}-{step}.jsonl"
            drafts.write_text(
                "\n".join(onto_drafts(dst, ONTO_EVENTS, f"{months}-{step}")) + "\n",
                encoding="utf-8",
            )
            t0 = time.perf_counter()
            res = _run_phase("append_onto", dst, args, ["--drafts", str(drafts)])
            res["process_seconds"] = time.perf_counter() - t0
            rows.append((label, step, res))
            print(
                f"  append_onto {label:<9} {step:<6} {res['seconds']:8.2f} s in process, "
                f"{res['process_seconds']:6.2f} s with start-up, peak {res['peak_mb']:6.0f} MB "
                f"(head seq {res['head_seq']:,}; copy {copied:.0f} s)",
                flush=True,
            )
        if months is not None:
            r["verify"] = _run_phase("verify", dst, args)
            print(f"  verify ({label})  {r['verify']['seconds']:8.2f} s", flush=True)
    b, v = r["append_batch"], r["verify"]
    lines = [
        "",
        f"{'measure':<46}{'louyu':>12}{'baseline':>12}{'ratio':>9}",
        f"{f'append, one {BATCH_EVENTS:,}-event batch, events/s':<46}{b['events_per_s']:>12,.0f}"
        f"{b['raw_events_per_s']:>12,.0f}{b['raw_events_per_s'] / b['events_per_s']:>8.1f}x"
        "   (baseline: a raw fsynced write of the same bytes; target ≥ 50,000/s)",
        f"{'verify (12-month prefix), events/s':<46}{v['events_per_s']:>12,.0f}"
        f"{v['sha256_events_per_s']:>12,.0f}{v['sha256_events_per_s'] / v['events_per_s']:>8.1f}x"
        f"   (baseline: sha256 over the same {v['bytes'] / 1e9:.2f} GB)",
        "",
        f"{f'append {ONTO_EVENTS:,} events onto':<28}{'batch':<8}{'head seq':>12}"
        f"{'in process s':>14}{'with start-up s':>17}{'peak MB':>10}",
    ]
    for label, step, res in rows:
        lines.append(
            f"{label:<28}{step:<8}{res['head_seq']:>12,}{res['seconds']:>14.2f}"
            f"{res['process_seconds']:>17.2f}{res['peak_mb']:>10,.0f}"
        )
    lines.append(
        "first: the copy has no append index yet (built from the log) and the batch opens a "
        "new month (the last one sealed, its Parquet copy written); second: the steady state "
        "(target < 1 s plus start-up, memory flat in the log's size)."
    )
    print("\n".join(lines))


PHASES = {
    "append": lambda a: phase_append(a.dir, a.seed, a.scale),
    "append_batch": lambda a: phase_append_batch(a.dir, a.seed),
    "append_onto": lambda a: phase_append_onto(a.dir, a.drafts),
    "verify": lambda a: phase_verify(a.dir),
    "generate": lambda a: phase_generate(a.seed, a.scale, hold=False),
    "generate_held": lambda a: phase_generate(a.seed, a.scale, hold=True),
    "cold": lambda a: phase_replay(a.dir, a.months, cold=True),
    "warm": lambda a: phase_replay(a.dir, a.months, cold=False),
    "panel": lambda a: phase_panel(a.dir, a.months),
    "replay_and_panel": lambda a: phase_replay_and_panel(a.dir, a.months, saved=False),
    "prepare_and_save": lambda a: phase_prepare_and_save(a.dir),
    "replay_and_panel_saved": lambda a: phase_replay_and_panel(a.dir, a.months, saved=True),
    "read_ndjson": lambda a: phase_read_ndjson(a.dir),
    "read_duckdb": lambda a: phase_read_duckdb(a.dir),
    "scan_ndjson": lambda a: phase_scan_ndjson(a.dir),
    "scan_cache": lambda a: phase_scan_cache(a.dir),
    "stream_cache": lambda a: phase_stream_cache(a.dir),
    "naive_replay": lambda a: phase_naive(a.dir, a.months, panel=False),
    "naive_panel": lambda a: phase_naive(a.dir, a.months, panel=True),
    "intake": lambda a: phase_intake(a.dir),
}


def _run_phase(
    name: str, log_dir: Path, args: argparse.Namespace, extra: list[str] | None = None
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "louyu_research.sample.bench",
        "--phase",
        name,
        "--dir",
        str(log_dir),
    ]
    cmd += ["--seed", str(args.seed), "--scale", str(args.scale), "--months", str(args.months)]
    cmd += extra or []
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"louyu bench: phase {name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


#: Phases run by `run_append_phases` on copies of the log, after the others.
APPEND_PHASES = ("append_batch", "append_onto", "verify")

PHASE_ORDER = (
    "generate",
    "generate_held",
    "append",
    "read_ndjson",
    "read_duckdb",
    "scan_ndjson",
    "cold",
    "scan_cache",
    "stream_cache",
    "warm",
    "panel",
    "replay_and_panel",
    "prepare_and_save",
    "replay_and_panel_saved",
    "naive_replay",
    "naive_panel",
    "intake",
)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m louyu_research.sample.bench", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument(
        "--scale",
        type=float,
        default=BENCH_SCALE,
        help=f"in units of the shipped sample (default {BENCH_SCALE:g}: ≥ 5,000 buildings, ≥ 200,000 tenancies)",
    )
    ap.add_argument("--seed", type=int, default=RECORDED_SEED)
    ap.add_argument(
        "--months",
        type=int,
        default=MONTHS,
        choices=range(1, MONTHS + 1),
        metavar=f"1..{MONTHS}",
        help=f"months of the panel, from {FIRST_YEAR}-01",
    )
    ap.add_argument("--dir", type=Path, default=None, help="log folder (default: a temporary one)")
    ap.add_argument(
        "--log",
        type=Path,
        default=None,
        help="an existing log (plain segments) to measure instead of generating one: no append; "
        "`cold` rewrites its .cache/, so give a copy of a log you must not change",
    )
    ap.add_argument(
        "--only",
        default=None,
        help="comma-separated phases to run (default: all; with --log all but generate and "
        "append), e.g. cold,scan_cache,replay_and_panel; any of append_batch, append_onto, "
        "verify runs the three on copies of the log",
    )
    ap.add_argument("--keep", action="store_true", help="keep the generated log")
    ap.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    ap.add_argument("--drafts", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.log is not None:
        if args.dir is not None:
            ap.error("give --log (an existing log) or --dir (where to generate one), not both")
        if not (args.log / "log.json").is_file():
            ap.error(f"--log {args.log}: not an event log (no log.json)")
        args.dir = args.log
    if args.phase:
        cpu0 = time.process_time()
        result = PHASES[args.phase](args)
        result["cpu_s"] = round(time.process_time() - cpu0, 2)
        result["peak_mb"] = round(_peak_mb(), 1)
        print(json.dumps(result))
        return
    made_here = ("generate", "generate_held", "append")  # phases of a log the run makes itself
    phases = [p for p in PHASE_ORDER if not (args.log is not None and p in made_here)]
    on_copies = True  # the append phases, on copies of the log (`run_append_phases`)
    if args.only:
        wanted = [p.strip() for p in args.only.split(",") if p.strip()]
        unknown = sorted(set(wanted) - set(PHASES))
        if unknown:
            ap.error(
                f"--only: unknown phase(s) {', '.join(unknown)}; known: {', '.join(PHASE_ORDER)}"
            )
        if args.log is None and "append" not in wanted and args.dir is None:
            ap.error("--only without append needs a log: --log DIR or --dir DIR of a kept log")
        if "replay_and_panel_saved" in wanted:  # it reads what this phase saves
            wanted.append("prepare_and_save")
        phases = [p for p in PHASE_ORDER if p in wanted]
        on_copies = any(p in wanted for p in APPEND_PHASES)

    tmp = None
    if args.dir is None:
        tmp = tempfile.mkdtemp(prefix="louyu-bench-")
        args.dir = Path(tmp) / "events"
    try:
        r: dict[str, dict[str, Any]] = {}
        what = (
            f"log {args.dir} (existing)"
            if args.log is not None
            else f"simulate seed {args.seed} scale {args.scale:g}, log {args.dir}"
        )
        print(f"louyu bench: {what}, {args.months} months", flush=True)
        for name in phases:
            r[name] = _run_phase(name, args.dir, args)
            print(
                f"  {name:<17} {r[name]['seconds']:8.2f} s wall {r[name]['cpu_s']:8.2f} s cpu"
                f"   peak {r[name]['peak_mb']:8.0f} MB",
                flush=True,
            )
        if phases:
            _report(r, args)
        if "intake" in r:
            print(report_intake(r["intake"]))
        if on_copies:
            with tempfile.TemporaryDirectory(prefix="louyu-bench-append-") as scratch:
                print(f"louyu bench: append phases on copies of {args.dir}", flush=True)
                run_append_phases(args, args.dir, Path(scratch))
    finally:
        if tmp and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def _events_of(log_dir: Path) -> int:
    return int(json.loads((log_dir / "HEAD").read_text())["seq"])


def _row(label: str, value: float, base: float | None, ratio: float | None, peak: Any) -> str:
    """One line of the table: a figure, its baseline, their ratio, the phase's peak memory."""
    b = f"{base:>14.2f}" if base is not None else f"{'':>14}"
    q = f"{ratio:>9.2f}x" if ratio is not None else f"{'':>10}"
    m = f"{peak:>10,.0f}" if isinstance(peak, int | float) else f"{'':>10}"
    return f"{label:<40}{value:>12.2f}{b}{q}{m}"


def _cold_floor(sec: dict[str, float], fastest: str | None) -> float | None:
    """The least a cold replay of this log could take, estimated from figures of the same run:
    the fastest reader's parse of the JSON Lines (which keeps both cores busy), then what the
    warm replay does after scanning the copies (its time less the bare scan, which reads
    every column the warm replay reads, and more). The copies, hashes and saved preparation
    that a cold replay also writes are not counted."""
    if fastest is None or "warm" not in sec or "scan_cache" not in sec:
        return None
    return sec[fastest] + max(sec["warm"] - sec["scan_cache"], 0.0)


def _report(r: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    n = r["append"]["events"] if "append" in r else _events_of(args.dir)
    size = sum(p.stat().st_size for p in _segments(args.dir))
    packed = sum(p.stat().st_size for p in args.dir.glob("*.jsonl.gz"))
    per_m = n / 1e6
    sec = {k: v["seconds"] for k, v in r.items()}
    peak = {k: v["peak_mb"] for k, v in r.items()}
    stored = f"{size / 1e9:.2f} GB of JSON Lines" + (
        f" and {packed / 1e9:.2f} GB of sealed segments gzip-compressed" if packed else ""
    )
    lines = ["", f"events {n:,} ({stored})"]
    if "warm" in r:
        lines[-1] += (
            f", tenancies active at the end {r['warm']['tenancies']:,}, "
            f"buildings {r['warm']['buildings']:,}"
        )
    if "panel" in r:
        lines[-1] += f", panel rows {r['panel']['rows']:,}"
    lines += ["", f"{'measure':<40}{'louyu':>12}{'baseline':>14}{'ratio':>10}{'peak MB':>10}"]
    nv_r, nv_p = sec.get("naive_replay"), sec.get("naive_panel")
    if "append" in r:
        rate = r["append"]["events_per_s"]
        naive_rate = n / nv_r if nv_r else None
        lines.append(
            _row(
                "append (validated), events/s [naive]",
                rate,
                naive_rate,
                rate / naive_rate if naive_rate else None,
                peak["append"],
            )
        )
    readers = {k: sec[k] for k in ("read_ndjson", "read_duckdb", "scan_ndjson") if k in sec}
    fastest = min(readers, key=readers.__getitem__) if readers else None
    if "cold" in r:
        base = readers.get(fastest) if fastest else nv_r
        lines.append(
            _row(
                f"cold replay (JSON), s [{fastest or 'naive'}]",
                sec["cold"],
                base,
                sec["cold"] / base if base else None,
                peak["cold"],
            )
        )
    floor = _cold_floor(sec, fastest)
    if floor is not None:
        lines.append(
            _row(
                f"  floor: {fastest} + warm − scan, s",
                floor,
                sec[fastest],
                floor / sec[fastest],
                None,
            )
        )
    for name in ("read_ndjson", "read_duckdb", "scan_ndjson"):
        if name in r:
            lines.append(_row(f"  {name}, s", sec[name], None, None, peak[name]))
    if "warm" in r:
        lines.append(
            _row(
                "warm replay (cache), s [naive]",
                sec["warm"],
                nv_r,
                nv_r / sec["warm"] if nv_r else None,
                peak["warm"],
            )
        )
    if "panel" in r:
        lines.append(
            _row(
                f"{args.months}-month panel, s [naive]",
                sec["panel"],
                nv_p,
                nv_p / sec["panel"] if nv_p else None,
                peak["panel"],
            )
        )
    if "replay_and_panel" in r:
        both = sec["replay_and_panel"]
        scan = sec.get("scan_cache")
        lines.append(
            _row(
                "warm replay + panel, s [streaming scan]",
                both,
                scan,
                both / scan if scan else None,
                peak["replay_and_panel"],
            )
        )
        if scan:
            lines.append(
                _row("  bare streaming scan of the cache, s", scan, None, None, peak["scan_cache"])
            )
        kept = sec.get("replay_and_panel_saved")
        if kept is not None:
            lines.append(
                _row(
                    "  from a saved preparation, s [streaming scan]",
                    kept,
                    scan,
                    kept / scan if scan else None,
                    peak["replay_and_panel_saved"],
                )
            )
        if "prepare_and_save" in r:
            lines.append(
                _row(
                    "  preparation computed and saved, s",
                    sec["prepare_and_save"],
                    None,
                    None,
                    peak["prepare_and_save"],
                )
            )
        stream = sec.get("stream_cache")
        if stream:
            lines.append(
                _row(
                    "warm replay + panel, s [batches dropped]",
                    both,
                    stream,
                    both / stream,
                    peak["stream_cache"],
                )
            )
        if nv_p:
            lines.append(
                _row("warm replay + panel, s [naive panel fold]", both, nv_p, nv_p / both, None)
            )
    lines.append("")
    if "cold" in r and "read_ndjson" in r:
        lines.append(
            f"cold replay / read_ndjson = {sec['cold'] / sec['read_ndjson']:.2f}"
            + (
                f"; cold replay / fastest reader ({fastest}) = {sec['cold'] / readers[fastest]:.2f} "
                "(target ≤ 1.2)"
                if fastest
                else ""
            )
        )
    if floor is not None:
        lines.append(
            f"cold floor / fastest reader = {floor / sec[fastest]:.2f}: whatever a cold replay "
            f"does, it reads the JSON ({fastest} {sec[fastest]:.2f} s) and then does the warm "
            f"replay's work ({sec['warm']:.2f} s) but for the scan of the copies (at most the "
            f"bare scan, {sec['scan_cache']:.2f} s)"
        )
    if "replay_and_panel" in r and "scan_cache" in r:
        lines.append(
            f"warm replay + panel / bare streaming scan = "
            f"{sec['replay_and_panel'] / sec['scan_cache']:.2f} (target ≤ 2)"
        )
    if "replay_and_panel_saved" in r and "scan_cache" in r:
        line = (
            f"warm replay + panel from a saved preparation / bare streaming scan = "
            f"{sec['replay_and_panel_saved'] / sec['scan_cache']:.2f} (target ≤ 2)"
        )
        if "prepare_and_save" in r:
            line += f"; the saved preparation takes {r['prepare_and_save']['bytes'] / 1e6:,.0f} MB"
        lines.append(line)
    if "replay_and_panel" in r and "stream_cache" in r:
        lines.append(
            f"warm replay + panel / the same columns streamed in batches and dropped = "
            f"{sec['replay_and_panel'] / sec['stream_cache']:.2f}"
        )
    mem = [
        k for k in ("cold", "warm", "panel", "replay_and_panel", "replay_and_panel_saved") if k in r
    ]
    if mem:
        lines.append(
            "peak MB per million events: "
            + ", ".join(f"{k} {peak[k] / per_m:,.0f}" for k in mem)
            + " (compare two scales for the growth)"
        )
    if "generate" in r and "generate_held" in r:
        g, h = r["generate"], r["generate_held"]
        lines.append(
            f"generate ({g['bytes'] / 1e9:.2f} GB of drafts to the null device): streamed "
            f"{g['seconds']:.1f} s, peak {g['peak_mb']:,.0f} MB; every draft held (baseline) "
            f"{h['seconds']:.1f} s, peak {h['peak_mb']:,.0f} MB"
        )
    lines.append(
        f"wall times on this machine ({os.cpu_count()} cores); cpu = user + system time of the "
        "phase's process; "
        "[x] = the baseline of the row, measured in the same run."
    )
    if "append" in r:
        lines += [
            f"log: louyu simulate --seed {args.seed} --scale {args.scale:g}: "
            f"{r['append']['buildings']:,} buildings, {r['append']['tenancies']:,} tenancies.",
            "append: every event through the validated EventLog.append (one batch per recorded "
            f"month); generation time excluded ({r['append']['generate_seconds']:.1f} s). "
            "Naive fold rate = events / naive replay time.",
        ]
    print("\n".join(lines))
    print(json.dumps({"events": n, "bytes": size, "gzip_bytes": packed, "phases": r}))


if __name__ == "__main__":
    main()
