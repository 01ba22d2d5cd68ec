"""`louyu simulate`: write a synthetic, deterministic event log of Jiaxing's building economy."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from louyu_research.sample import simulate as sim

from .common import usage_error


def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder of the new log (created).")] = Path(
        "events"
    ),
    seed: Annotated[
        int | None, typer.Option(help="Random seed: the same seed and scale give the same bytes.")
    ] = None,
    scale: Annotated[
        float | None, typer.Option(help="Multiplies the number of buildings (1.0 ≈ 470).")
    ] = None,
    recorded: Annotated[
        bool,
        typer.Option(
            "--recorded",
            help=f"Use the shipped sample's seed and scale ({sim.RECORDED_SEED}, {sim.RECORDED_SCALE:g}).",
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace a log already in --out.")] = False,
) -> None:
    """Generate a synthetic but believable event log (2014–2018) and its README.md."""
    if recorded and (seed is not None or scale is not None):
        usage_error("--recorded fixes the seed and scale; do not pass --seed or --scale with it")
    seed = sim.RECORDED_SEED if seed is None else seed
    scale = sim.RECORDED_SCALE if scale is None else scale
    if not scale > 0 or scale > 100:
        usage_error(f"--scale must be in (0, 100], got {scale:g}")
    if out.exists() and not out.is_dir():
        usage_error(f"{out} exists and is not a folder")
    if out.is_dir() and any(p.name != ".gitkeep" for p in out.iterdir()):
        if not force:
            usage_error(f"{out} is not empty; pass --force to replace the log in it")
        sim.clear_log_folder(out)
        leftovers = sorted(p.name for p in out.iterdir() if p.name != ".gitkeep")
        if leftovers:
            usage_error(
                f"{out} holds files that are not a log ({', '.join(leftovers[:3])}); choose another --out"
            )
    start = time.perf_counter()
    result = sim.simulate(seed, scale)
    log = sim.write_log(result, out)
    (out / "README.md").write_text(sim.readme(result, log), encoding="utf-8")
    typer.echo(
        f"wrote {log.head.seq} events ({result.buildings} buildings, {result.tenants} tenants) to {out} "
        f"in {time.perf_counter() - start:.0f} s (seed {seed}, scale {scale:g})"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("simulate")(simulate)
