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
cache removed: parse every JSON segment, write the cache, replay), `warm` (replay from the cache),
`panel` (the 60-month BuildingMonth panel from the cache, preparation included), `read_ndjson`
(Polars reading the same JSON Lines with the known schema: the cold target's yardstick),
`naive_replay` and `naive_panel` (json.loads per line and a dict-based fold, the obvious way).
Targets: warm replay + panel ≥ 20× faster than the naive fold; cold replay ≤ 1.5× of
`pl.read_ndjson`.
"""

from __future__ import annotations

import argparse
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


def phase_replay(log_dir: Path, months: int, cold: bool) -> dict[str, Any]:
    from louyu_research.replay.log import open_log

    if cold:
        shutil.rmtree(log_dir / ".cache", ignore_errors=True)
    t0 = time.perf_counter()
    state = open_log(log_dir).replay(_as_of(months))
    sec = time.perf_counter() - t0
    return {
        "seconds": sec,
        "tenancies": state.tenancies.height,
        "buildings": state.buildings.height,
        "tax_rows": state.tax.height,
    }


def phase_replay_and_panel(log_dir: Path, months: int) -> dict[str, Any]:
    """What an indicators run does: one log object, the state and the panel (one preparation)."""
    from louyu_research.replay.log import open_log

    t0 = time.perf_counter()
    log = open_log(log_dir)
    state = log.replay(_as_of(months))
    start, end = period(0), period(months - 1)
    panel = log.panel(start, end)
    return {
        "seconds": time.perf_counter() - t0,
        "rows": panel.height,
        "tenancies": state.tenancies.height,
    }


def phase_panel(log_dir: Path, months: int) -> dict[str, Any]:
    from louyu_research.replay.log import open_log

    t0 = time.perf_counter()
    start, end = period(0), period(months - 1)
    panel = open_log(log_dir).panel(start, end)
    return {"seconds": time.perf_counter() - t0, "rows": panel.height}


def _segments(log_dir: Path) -> list[Path]:
    return sorted(log_dir.glob("*.jsonl"))


def phase_read_ndjson(log_dir: Path) -> dict[str, Any]:
    import polars as pl

    from louyu_research.log import catalogue as ev

    t0 = time.perf_counter()
    frame = pl.read_ndjson(_segments(log_dir), schema=ev.NDJSON_SCHEMA)
    return {"seconds": time.perf_counter() - t0, "rows": frame.height}


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


PHASES = {
    "append": lambda a: phase_append(a.dir, a.seed, a.scale),
    "generate": lambda a: phase_generate(a.seed, a.scale, hold=False),
    "generate_held": lambda a: phase_generate(a.seed, a.scale, hold=True),
    "cold": lambda a: phase_replay(a.dir, a.months, cold=True),
    "warm": lambda a: phase_replay(a.dir, a.months, cold=False),
    "panel": lambda a: phase_panel(a.dir, a.months),
    "replay_and_panel": lambda a: phase_replay_and_panel(a.dir, a.months),
    "read_ndjson": lambda a: phase_read_ndjson(a.dir),
    "naive_replay": lambda a: phase_naive(a.dir, a.months, panel=False),
    "naive_panel": lambda a: phase_naive(a.dir, a.months, panel=True),
}


def _run_phase(name: str, log_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
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
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"louyu bench: phase {name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


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
    ap.add_argument("--keep", action="store_true", help="keep the generated log")
    ap.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase:
        cpu0 = time.process_time()
        result = PHASES[args.phase](args)
        result["cpu_s"] = round(time.process_time() - cpu0, 2)
        result["peak_mb"] = round(_peak_mb(), 1)
        print(json.dumps(result))
        return

    tmp = None
    if args.dir is None:
        tmp = tempfile.mkdtemp(prefix="louyu-bench-")
        args.dir = Path(tmp) / "events"
    try:
        r: dict[str, dict[str, Any]] = {}
        print(
            f"louyu bench: simulate seed {args.seed} scale {args.scale:g}, {args.months} months, log {args.dir}",
            flush=True,
        )
        phases = (
            "generate",
            "generate_held",
            "append",
            "read_ndjson",
            "cold",
            "warm",
            "panel",
            "replay_and_panel",
            "naive_replay",
            "naive_panel",
        )
        for name in phases:
            r[name] = _run_phase(name, args.dir, args)
            print(
                f"  {name:<17} {r[name]['seconds']:8.2f} s wall {r[name]['cpu_s']:8.2f} s cpu"
                f"   peak {r[name]['peak_mb']:8.0f} MB",
                flush=True,
            )
        _report(r, args)
    finally:
        if tmp and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def _report(r: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    n = r["append"]["events"]
    size = sum(p.stat().st_size for p in _segments(args.dir))
    nv_r, nv_p = r["naive_replay"]["seconds"], r["naive_panel"]["seconds"]
    naive_rate = n / nv_r
    warm_panel = r["warm"]["seconds"] + r["panel"]["seconds"]
    both = r["replay_and_panel"]["seconds"]
    lines = [
        "",
        f"events {n:,} ({size / 1e9:.2f} GB of JSON Lines), tenancies active at the end {r['warm']['tenancies']:,}, "
        f"buildings {r['warm']['buildings']:,}, panel rows {r['panel']['rows']:,}",
        "",
        f"{'measure':<34}{'louyu':>12}{'naive fold':>14}{'ratio':>10}{'peak MB':>10}",
        f"{'append (validated), events/s':<34}{r['append']['events_per_s']:>12,.0f}{naive_rate:>14,.0f}"
        f"{r['append']['events_per_s'] / naive_rate:>9.2f}x{r['append']['peak_mb']:>10,.0f}",
        f"{'cold replay (JSON), s':<34}{r['cold']['seconds']:>12.2f}{nv_r:>14.2f}{nv_r / r['cold']['seconds']:>9.1f}x{r['cold']['peak_mb']:>10,.0f}",
        f"{'warm replay (cache), s':<34}{r['warm']['seconds']:>12.2f}{nv_r:>14.2f}{nv_r / r['warm']['seconds']:>9.1f}x{r['warm']['peak_mb']:>10,.0f}",
        f"{f'{args.months}-month panel, s':<34}{r['panel']['seconds']:>12.2f}{nv_p:>14.2f}{nv_p / r['panel']['seconds']:>9.1f}x{r['panel']['peak_mb']:>10,.0f}",
        f"{'warm replay + panel, s':<34}{warm_panel:>12.2f}{nv_r + nv_p:>14.2f}{(nv_r + nv_p) / warm_panel:>9.1f}x",
        f"{'  in one process (shared prep.), s':<34}{both:>12.2f}{nv_p:>14.2f}{nv_p / both:>9.1f}x"
        f"{r['replay_and_panel']['peak_mb']:>10,.0f}",
        "",
        f"generate ({r['generate']['bytes'] / 1e9:.2f} GB of drafts to the null device): streamed "
        f"{r['generate']['seconds']:.1f} s, peak {r['generate']['peak_mb']:,.0f} MB; every draft held "
        f"(baseline) {r['generate_held']['seconds']:.1f} s, peak {r['generate_held']['peak_mb']:,.0f} MB",
        "",
        f"pl.read_ndjson (known schema), s: {r['read_ndjson']['seconds']:.2f}; cold replay / read_ndjson = "
        f"{r['cold']['seconds'] / r['read_ndjson']['seconds']:.2f} (target ≤ 1.5)",
        f"warm replay + panel vs naive fold: {(nv_r + nv_p) / warm_panel:.1f}x as two processes, "
        f"{nv_p / both:.1f}x in one process against the naive panel fold (which also ends in the state) "
        "(target ≥ 20x)",
        "wall times on a shared 2-core machine; cpu = user + system time of the phase's process.",
        f"log: louyu simulate --seed {args.seed} --scale {args.scale:g}: {r['append']['buildings']:,} buildings, "
        f"{r['append']['tenancies']:,} tenancies.",
        "append: every event through the validated EventLog.append (one batch per recorded month); "
        f"generation time excluded ({r['append']['generate_seconds']:.1f} s). Naive fold rate = events / naive replay time.",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
