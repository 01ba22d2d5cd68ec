"""`louyu simulate`: write a synthetic, deterministic event log of Jiaxing's building economy."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from louyu_research.sample import simulate as sim

from .common import usage_error

#: The largest scale (over 200 million events; scale 424 makes about 95 million).
MAX_SCALE = 1000


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
    force: Annotated[
        bool, typer.Option("--force", help="Replace a log already in --out (or --returns DIR).")
    ] = False,
    returns: Annotated[
        Path | None,
        typer.Option(
            "--returns",
            help="Instead of a log, write the files behind the log in --out (default: the "
            "shipped sample in events/) into this folder, as the city received them: census, "
            "street rosters, registers, tax and revenue files, and manifest.csv in the order "
            "received (louyu intake takes them in).",
        ),
    ] = None,
    drafts: Annotated[
        Path | None,
        typer.Option(
            "--drafts",
            help="Write no log: the drafts as JSON Lines into this folder, one file per recorded "
            "month (YYYY-MM.jsonl, a batch for `louyu append`); the folder must hold no .jsonl yet.",
        ),
    ] = None,
) -> None:
    """Generate a synthetic but believable event log (2014–2018) and its README.md.

    Memory grows with the simulated world and one month's drafts, not with all the events:
    about 18 MB per unit of scale (about 230,000 events)."""
    if returns is not None:
        if drafts is not None:
            usage_error("--returns and --drafts write different things; pass one of them")
        _write_returns(out, returns, force=force, seed=seed, scale=scale, recorded=recorded)
        return
    if recorded and (seed is not None or scale is not None):
        usage_error("--recorded fixes the seed and scale; do not pass --seed or --scale with it")
    seed = sim.RECORDED_SEED if seed is None else seed
    scale = sim.RECORDED_SCALE if scale is None else scale
    if not scale > 0 or scale > MAX_SCALE:
        usage_error(f"--scale must be in (0, {MAX_SCALE}], got {scale:g}")
    if drafts is not None:
        _write_drafts(drafts, seed, scale)
        return
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


def _write_returns(
    log: Path, folder: Path, *, force: bool, seed: int | None, scale: float | None, recorded: bool
) -> None:
    from louyu_research.log import LogError
    from louyu_research.sample.returns import MANIFEST, write_returns

    if seed is not None or scale is not None or recorded:
        usage_error("--returns reads the log in --out; --seed, --scale and --recorded make a log")
    if not (log / "log.json").exists():
        usage_error(f"{log} holds no log: make it first (louyu simulate --recorded --out {log})")
    if folder.exists() and not folder.is_dir():
        usage_error(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        if not force:
            usage_error(f"{folder} is not empty; pass --force to replace the returns in it")
        if not (folder / MANIFEST).exists():
            usage_error(
                f"{folder} holds files that are not returns ({MANIFEST} missing); choose another"
            )
    start = time.perf_counter()
    try:
        manifest = write_returns(log, folder, force=force)
    except LogError as err:
        usage_error(str(err))
    counts = manifest.group_by("kind").len().sort("kind")
    summary = ", ".join(f"{k}: {n}" for k, n in counts.iter_rows())
    typer.echo(
        f"wrote {manifest.height} files ({summary}) received {manifest['received'].min()} to "
        f"{manifest['received'].max()} to {folder}, listed in order in {folder / MANIFEST}, "
        f"in {time.perf_counter() - start:.0f} s; take them in with "
        f"`louyu intake KIND FILE... --month M --apply` in that order"
    )


def _write_drafts(folder: Path, seed: int, scale: float) -> None:
    if folder.exists() and not folder.is_dir():
        usage_error(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(p.name.endswith((".jsonl", ".jsonl.tmp")) for p in folder.iterdir()):
        usage_error(f"{folder} already holds drafts (.jsonl); choose an empty folder")
    start = time.perf_counter()
    result = sim.simulate(seed, scale)
    files, n = sim.write_drafts(result, folder)
    typer.echo(
        f"wrote {n} drafts ({result.buildings} buildings, {result.tenants} tenants) in {files} files "
        f"to {folder} in {time.perf_counter() - start:.0f} s (seed {seed}, scale {scale:g})"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("simulate")(simulate)
