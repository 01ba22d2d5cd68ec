"""Benchmark (`make bench`): append, cold and warm replay and a 60-month panel at city scale,
each beside a naive per-event Python fold over the same JSON Lines, measured in the same run.

    python -m louyu_research.bench [--scale 1.0] [--months 60] [--dir PATH] [--keep]

At scale 1: 5,000 buildings, 200,000 tenancies and monthly tax of every active tenancy over
60 months (about six million events). The log is generated here by a fast generator of its own
(deterministic, seed 2015) and written through the validated `EventLog.append`, one batch per
recorded month, so append throughput is measured on every event. The log is created with plain
(uncompressed) sealed segments: the default gzip of sealed segments is a storage option whose
cost is not replay's. Each timed phase runs in a fresh Python process (nothing warm in memory),
and reports its own wall time and peak resident memory (`resource.getrusage`).

Phases: `append` (generate + append; throughput in events/s), `cold` (replay with the Parquet
cache removed: parse every JSON segment, write the cache, replay), `warm` (replay from the cache),
`panel` (the 60-month BuildingMonth panel from the cache, preparation included), `read_ndjson`
(Polars reading the same JSON Lines with the known schema: the cold target's yardstick),
`naive_replay` and `naive_panel` (json.loads per line and a dict-based fold, the obvious way).
Targets (issue 3): warm replay + panel ≥ 20× faster than the naive fold; cold replay ≤ 1.5× of
`pl.read_ndjson`.
"""

from __future__ import annotations

import argparse
import json
import random
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

SEED = 2015
START_YEAR = 2013
STREETS = [
    ("南湖区", "建设街道"),
    ("南湖区", "解放街道"),
    ("南湖区", "新嘉街道"),
    ("南湖区", "新兴街道"),
    ("南湖区", "城南街道"),
    ("南湖区", "长水街道"),
    ("秀洲区", "嘉北街道"),
    ("秀洲区", "塘汇街道"),
    ("秀洲区", "新城街道"),
    ("海宁市", "海洲街道"),
    ("桐乡市", "梧桐街道"),
    ("嘉善县", "魏塘街道"),
]
CODES = [
    "I65",
    "I64",
    "J66",
    "J67",
    "J6813",
    "L7211",
    "C18",
    "F5292",
    "H61",
    "M73",
    "L726",
    "F51",
    "K70",
    "E48",
]
CATEGORIES = ["office", "office", "office", "complex", "industrial", "mixed"]


def _month(idx: int) -> tuple[int, int]:
    return START_YEAR + idx // 12, idx % 12 + 1


def _ym(idx: int) -> str:
    y, m = _month(idx)
    return f"{y:04d}-{m:02d}"


def _ts(idx: int, day: int, hour: int = 8) -> str:
    y, m = _month(idx)
    return f"{y:04d}-{m:02d}-{day:02d}T{hour:02d}:00:00Z"


def _day(idx: int, day: int) -> str:
    y, m = _month(idx)
    return f"{y:04d}-{m:02d}-{day:02d}"


def generate(scale: float, months: int) -> Any:
    """Yield (recorded month, JSON drafts) batches of a city's log, in recording order."""
    rng = random.Random(SEED)
    nb, nt = max(10, int(5000 * scale)), max(50, int(200_000 * scale))
    # buildings: most completed before the log starts, some delivered during it
    buildings = []
    batch: list[str] = []
    for i in range(nb):
        bid = f"B{i:05d}"
        district, street = STREETS[rng.randrange(len(STREETS))]
        gfa = round(
            rng.choice([900.0, 3000.0, 8000.0, 15000.0, 30000.0, 60000.0]) * rng.uniform(0.8, 1.2),
            1,
        )
        rentable = round(gfa * 0.8, 1)
        completes = rng.randrange(1, months) if rng.random() < 0.15 else None
        status = "under_construction" if completes else "completed"
        done = ',"completed_on":"2010-06-30"' if not completes else ""
        batch.append(
            f'{{"event_id":"reg-{bid}","type":"BuildingRegistered","occurred_on":"{_day(0, 1)}",'
            f'"recorded_at":"{_ts(0, 1, 0)}","data":{{"building_id":"{bid}","name":"{street}{i}号大厦",'
            f'"district":"{district}","street":"{street}","gross_floor_area_m2":{gfa},"rentable_area_m2":{rentable},'
            f'"category":"{rng.choice(CATEGORIES)}","standalone":{"true" if rng.random() < 0.95 else "false"},'
            f'"status":"{status}"{done}}}}}'
        )
        buildings.append((bid, rentable, completes))
    # tenancies: start month, end month (exclusive, or None), building, tenant, area, monthly tax
    tenancies = []
    tenants: list[str] = []
    for j in range(nt):
        bid, rentable, _ = buildings[rng.randrange(nb)]
        if tenants and rng.random() < 0.15:
            tid = tenants[rng.randrange(len(tenants))]
        else:
            tid = f"E{len(tenants):07d}"
            tenants.append(tid)
        start = 0 if rng.random() < 0.3 else rng.randrange(1, months)
        end = start + 1 + int(rng.expovariate(1 / 36))
        area = round(
            min(rentable / 25, rng.choice([80, 150, 300, 600, 1200]) * rng.uniform(0.8, 1.2)), 1
        )
        tax = round(rng.paretovariate(1.3) * 2000, 2)
        grow = (
            rng.randrange(start + 1, min(end, months))
            if rng.random() < 0.2 and min(end, months) > start + 1
            else None
        )
        tenancies.append(
            (j, tid, bid, start, end if end < months else None, area, tax, grow, rng.choice(CODES))
        )
    starts, ends, grows = defaultdict(list), defaultdict(list), defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for t in tenancies:
        if (t[1], t[2]) in seen:  # the same pair twice: keep one tenancy
            continue
        seen.add((t[1], t[2]))
        starts[t[3]].append(t)
        if t[4] is not None:
            ends[t[4]].append(t)
        if t[7] is not None:
            grows[t[7]].append(t)
    active: dict[int, tuple] = {}
    tax_ids: list[str] = []
    for m in range(months):
        rec = m + 1  # what happened in month m is recorded early in month m + 1
        for t in starts[m]:
            j, tid, bid, _, _, area, _, _, code = t
            edition = "2011" if m < 57 else "2017"
            batch.append(
                f'{{"event_id":"in-{j}","type":"TenantMovedIn","occurred_on":"{_day(m, 1 + j % 28)}",'
                f'"recorded_at":"{_ts(rec, 3)}","data":{{"tenant_id":"{tid}","tenant_name":"企业{tid}",'
                f'"building_id":"{bid}","area_m2":{area},"industry":"{code}","industry_edition":"{edition}",'
                f'"registered_here":{"true" if j % 10 < 8 else "false"},"headquarters":{"true" if j % 50 == 0 else "false"}}}}}'
            )
            active[j] = t
        for t in grows[m]:
            j, tid, bid, area = t[0], t[1], t[2], t[5]
            batch.append(
                f'{{"event_id":"grow-{j}","type":"TenantAreaChanged","occurred_on":"{_day(m, 15)}",'
                f'"recorded_at":"{_ts(rec, 3)}","data":{{"tenant_id":"{tid}","building_id":"{bid}","area_m2":{round(area * 1.5, 1)}}}}}'
            )
        for t in ends[m]:
            j = t[0]
            batch.append(
                f'{{"event_id":"out-{j}","type":"TenantMovedOut","occurred_on":"{_day(m, 28)}",'
                f'"recorded_at":"{_ts(rec, 3)}","data":{{"tenant_id":"{t[1]}","building_id":"{t[2]}"}}}}'
            )
            active.pop(j, None)
        for bid, _, completes in buildings:
            if completes == m:
                batch.append(
                    f'{{"event_id":"done-{bid}","type":"BuildingCompleted","occurred_on":"{_day(m, 20)}",'
                    f'"recorded_at":"{_ts(rec, 3)}","data":{{"building_id":"{bid}"}}}}'
                )
        if m == months // 2:  # a street boundary is redrawn
            for bid, _, _ in buildings[: max(1, nb // 25)]:
                batch.append(
                    f'{{"event_id":"street-{bid}","type":"BuildingUpdated","occurred_on":"{_day(m, 1)}",'
                    f'"recorded_at":"{_ts(rec, 3)}","data":{{"building_id":"{bid}","street":"新设街道"}}}}'
                )
        # tax of period m, recorded on the 10th of the next month; a few restated and retracted
        period = _ym(m)
        season = 1.0 + 0.3 * ((m % 12) in (2, 5, 11))
        total = 0.0
        for j, t in active.items():
            amount = round(t[6] * season, 2)
            total += amount
            eid = f"tax-{j}-{m}"
            batch.append(
                f'{{"event_id":"{eid}","type":"TaxReported","occurred_on":"{_day(rec, 10)}",'
                f'"recorded_at":"{_ts(rec, 10)}","data":{{"tenant_id":"{t[1]}","building_id":"{t[2]}",'
                f'"period":"{period}","amount_yuan":{amount}}}}}'
            )
            if j % 500 == 7:
                tax_ids.append(eid)
        batch.append(
            f'{{"event_id":"city-{period}","type":"CityTaxReported","occurred_on":"{_day(rec, 12)}",'
            f'"recorded_at":"{_ts(rec, 12)}","data":{{"period":"{period}","amount_yuan":{round(total * 9, 2)}}}}}'
        )
        if m >= 3 and tax_ids:  # restate and retract a few earlier reports
            for k, eid in enumerate(tax_ids[:20]):
                batch.append(
                    f'{{"event_id":"fix-{eid}","type":"EventRetracted","occurred_on":"{_day(rec, 12)}",'
                    f'"recorded_at":"{_ts(rec, 13)}","data":{{"event_id":"{eid}","reason":"重复申报 {k}"}}}}'
                )
            tax_ids = tax_ids[20:]
        yield rec, batch
        batch = []


# --- phases (each in its own process) ------------------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_append(log_dir: Path, scale: float, months: int) -> dict[str, Any]:
    from .log import EventLog

    EventLog.init(log_dir, compress_sealed=False)
    log = EventLog(log_dir)
    n = 0
    spent = gen = 0.0
    t0 = time.perf_counter()
    for _, batch in generate(scale, months):
        t1 = time.perf_counter()
        gen += t1 - t0
        log.append(batch)
        t0 = time.perf_counter()
        spent += t0 - t1
        n += len(batch)
    return {"events": n, "seconds": spent, "generate_seconds": gen, "events_per_s": n / spent}


def _as_of(months: int) -> date:
    y, m = _month(months - 1)
    return date(y, m, 28)


def phase_replay(log_dir: Path, months: int, cold: bool) -> dict[str, Any]:
    from .replay import open_log

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
    from .replay import open_log

    t0 = time.perf_counter()
    log = open_log(log_dir)
    state = log.replay(_as_of(months))
    start, end = _ym(0), _ym(months - 1)
    panel = log.panel(start, end)
    return {
        "seconds": time.perf_counter() - t0,
        "rows": panel.height,
        "tenancies": state.tenancies.height,
    }


def phase_panel(log_dir: Path, months: int) -> dict[str, Any]:
    from .replay import open_log

    t0 = time.perf_counter()
    start, end = _ym(0), _ym(months - 1)
    panel = open_log(log_dir).panel(start, end)
    return {"seconds": time.perf_counter() - t0, "rows": panel.height}


def _segments(log_dir: Path) -> list[Path]:
    return sorted(log_dir.glob("*.jsonl"))


def phase_read_ndjson(log_dir: Path) -> dict[str, Any]:
    import polars as pl

    from . import events as ev

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
    from .industries import load_mapping

    table = {
        (r["edition"], r["code_prefix"]): r["key_industry"]
        for r in load_mapping().iter_rows(named=True)
    }
    cache: dict[tuple[str, str], str] = {}
    buildings: dict[str, dict[str, Any]] = {}
    tenants: dict[str, dict[str, Any]] = {}
    tenancies: dict[tuple[str, str], dict[str, Any]] = {}
    tax: dict[tuple[str, str, str], tuple[int, float]] = {}
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
        elif t in ("BuildingRegistered", "BuildingUpdated"):
            buildings.setdefault(d["building_id"], {}).update(d)
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
    for day in ends:
        snap(day)
    # tax of each building by month and year to date
    by_month: dict[tuple[str, str], float] = defaultdict(float)
    for (_, bid, period), (_, amount) in tax.items():
        by_month[(bid, period)] += amount
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
        ends = []
        for m in range(months):
            y, mm = _month(m)
            nxt = date(y + (mm == 12), mm % 12 + 1, 1)
            ends.append(date.fromordinal(nxt.toordinal() - 1).isoformat())
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
    "append": lambda a: phase_append(a.dir, a.scale, a.months),
    "cold": lambda a: phase_replay(a.dir, a.months, cold=True),
    "warm": lambda a: phase_replay(a.dir, a.months, cold=False),
    "panel": lambda a: phase_panel(a.dir, a.months),
    "replay_and_panel": lambda a: phase_replay_and_panel(a.dir, a.months),
    "read_ndjson": lambda a: phase_read_ndjson(a.dir),
    "naive_replay": lambda a: phase_naive(a.dir, a.months, panel=False),
    "naive_panel": lambda a: phase_naive(a.dir, a.months, panel=True),
}


def _run_phase(name: str, log_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "louyu_research.bench", "--phase", name, "--dir", str(log_dir)]
    cmd += ["--scale", str(args.scale), "--months", str(args.months)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m louyu_research.bench", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument(
        "--scale", type=float, default=1.0, help="1.0 = 5,000 buildings, 200,000 tenancies"
    )
    ap.add_argument("--months", type=int, default=60)
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
        print(f"louyu bench: scale {args.scale}, {args.months} months, log {args.dir}", flush=True)
        phases = (
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
        f"pl.read_ndjson (known schema), s: {r['read_ndjson']['seconds']:.2f}; cold replay / read_ndjson = "
        f"{r['cold']['seconds'] / r['read_ndjson']['seconds']:.2f} (target ≤ 1.5)",
        f"warm replay + panel vs naive fold: {(nv_r + nv_p) / warm_panel:.1f}x as two processes, "
        f"{nv_p / both:.1f}x in one process against the naive panel fold (which also ends in the state) "
        "(target ≥ 20x)",
        "wall times on a shared 2-core machine; cpu = user + system time of the phase's process.",
        "append: every event through the validated EventLog.append (one batch per recorded month); "
        f"generation time excluded ({r['append']['generate_seconds']:.1f} s). Naive fold rate = events / naive replay time.",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
