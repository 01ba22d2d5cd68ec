"""A synthetic but believable event log of Jiaxing's building economy, 2014–2018.

Real municipal data is confidential, so the package ships a simulated log (`events/`) that
every command, notebook and report can run on. The generator is deterministic: the same
`seed` and `scale` give the same bytes (no wall clock, no hash-order dependence; every
`recorded_at` is given, back-filled with a +08:00 offset).

`simulate` runs its parts in order, data flowing one way:

1. `world`: buildings, tenants, their tenancies and moves, month by month, and the city's acts;
2. `money`: each tenancy's monthly tax, scaled so that in-scope buildings pay a designed share
   of the city's budget revenue, and that revenue;
3. `recording`: what the log learns and when (the census, the streets' monthly returns, the
   tax bureau's file, the offices' acts);
4. `corrections`: restatements, retractions and the deliberate data-quality problems
   (`Simulation.findings`).

What the sample is made of and calibrated to is `calibration` (the city's facts in
`jiaxing.toml`), its calendar `timeline`. `write_log` appends the drafts with
`EventLog.append`, one batch per UTC month of `recorded_at`, so the log validates every event
exactly as it would a real writer's; `write_drafts` writes the same batches as JSON Lines files
instead (one per month, what `louyu append` takes); `readme` writes the sample's
`events/README.md`.

Memory: the drafts are never all held. The world (buildings, tenants, tenancies), the drafts
other than the monthly tax reports (a few per building and tenancy) and each tenancy-month's
tax as one float are; the monthly tax reports (94 % of the events) are made a business month
at a time when the batches are written (`Recorder.segments`), so one month's drafts are held
at a time.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from louyu_research.log.store import EventLog

from .corrections import correct
from .money import tenancy_tax
from .readme import readme, yearly_summary
from .recording import Finding, Simulation, record
from .timeline import FIRST_YEAR, LAST_YEAR, MONTHS
from .world import make_uscc, make_world

__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "MONTHS",
    "RECORDED_SCALE",
    "RECORDED_SEED",
    "Finding",
    "Simulation",
    "clear_log_folder",
    "make_uscc",
    "readme",
    "simulate",
    "write_drafts",
    "write_log",
    "yearly_summary",
]

#: The shipped sample (`events/`) was generated with these (`louyu simulate --recorded`).
RECORDED_SEED = 20150723  # the day the action plan was issued
RECORDED_SCALE = 1.0


def simulate(seed: int = RECORDED_SEED, scale: float = RECORDED_SCALE) -> Simulation:
    """The drafts of a simulated log (pure: nothing is written)."""
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    w = make_world(seed, scale)
    r = record(w, tenancy_tax(w))
    findings, retracted = correct(r, w)
    return Simulation(
        seed=seed,
        scale=scale,
        findings=findings,
        retracted=retracted,
        buildings=len(w.buildings),
        tenants=len(w.tenant_list),
        tenancies=len(w.tenancies),
        events=len(r.items) + r.tax.reported,
        recorder=r,
    )


def write_log(sim: Simulation, out: str | Path) -> EventLog:
    """A new log at `out` holding the simulation, appended one batch per month of `recorded_at`."""
    log = EventLog.init(out)
    for batch in sim.batches():
        log.append(batch)
        del batch  # not kept while the next month is made
    return log


def write_drafts(sim: Simulation, out: str | Path) -> tuple[int, int]:
    """The simulation's drafts as JSON Lines files in folder `out` (created), one per log
    segment (`YYYY-MM.jsonl`, the UTC month of `recorded_at`), each a batch `louyu append`
    takes; appended in name order they make the log `write_log` makes. A file is written
    under a temporary name and renamed when complete. Returns (files, drafts) written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = drafts = 0
    for name, batch in sim.segments():
        path = out / f"{name}.jsonl"
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            for line in batch:
                f.write(line)
                f.write(b"\n")
        tmp.replace(path)
        files, drafts = files + 1, drafts + len(batch)
        del batch  # not kept while the next month is made
    return files, drafts


def clear_log_folder(path: Path) -> None:
    """Remove a previous log (and its README) from `path`, nothing else."""
    for p in path.iterdir():
        if p.name in ("log.json", "HEAD", ".lock", "README.md") or p.name.endswith(
            (".jsonl", ".jsonl.gz", ".tmp")
        ):
            p.unlink()
        elif p.name in (".cache", ".index") and p.is_dir():
            shutil.rmtree(p)
