"""The quarterly report pipeline: check QUARTER, execute the notebook, render the outputs.

`build_report("2017Q4")` pins the log position, executes
`notebooks/quarterly_report.ipynb` with papermill on the project's kernel `louyu`, strips the
executed notebook's volatile metadata, and renders `reports/<QUARTER>/`: report.html,
report.pdf, report.ipynb, tables.xlsx, tables/*.csv, charts/*.svg|png (see `render`) and
manifest.json (see `manifest`).

Pinning (why: a report published on 2016-10-15 must say the same when re-run in 2026): when
`reports/<QUARTER>/manifest.json` exists, the quarter is rebuilt from the log position it
records, after checking that the log still has the same chain hash there. `revise=True`
builds a revised edition at the head into `reports/<QUARTER>/revised/`, which shows what
changed against the published one. `verify_reports` re-executes every committed report and
compares the fingerprints of its tables and charts with its manifest.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from louyu_research.core.periods import Quarter, QuarterError

from .inputs import check_quarter, log_months

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "quarterly_report.ipynb"
KERNEL = "louyu"
EDITIONS = ("public", "internal")
LANGS = ("zh", "en")


class ReportError(RuntimeError):
    """The report cannot be built; the message is one line meant for the user."""


@dataclass
class Built:
    quarter: str
    folder: Path
    renderer: str
    position: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)


def _open(log: Path) -> Any:
    from louyu_research.log.store import LogError
    from louyu_research.replay.log import open_log

    try:
        return open_log(log)
    except LogError as err:
        raise ReportError(str(err)) from None


def validate_quarter(quarter: str, log: Path, upto_seq: int | None = None) -> tuple[str, int]:
    """The quarter checked (format first, then inside the log) and the pinned log seq."""
    Quarter.parse(quarter)
    lg = _open(log)
    seq = upto_seq if upto_seq is not None else lg.head.seq
    if seq <= 0:
        raise ReportError(f"the log at {log} is empty")
    first, last = log_months(lg, seq)
    check_quarter(quarter, first, last)
    return quarter, seq


def all_quarters(log: Path, upto_seq: int | None = None) -> list[str]:
    """Every quarter the log covers (its three months inside the log's months)."""
    lg = _open(log)
    months = log_months(lg, upto_seq if upto_seq is not None else lg.head.seq)
    return [str(q) for q in Quarter.covered(*months)]


def _check_kernel() -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        raise ReportError(f"Jupyter kernel {KERNEL!r} is not installed: run `make setup`") from None


def _local_kernel_manager(folder: Path) -> type:
    """A kernel manager whose kernel listens on Unix sockets in `folder`, not on TCP ports:
    only this user can reach it (ipykernel warns about plain TCP on every run, rightly)."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class LocalKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self) -> str:
            return "ipc"

        @default("ip")
        def _default_ip(self) -> str:
            return str(folder / "kernel")

    return LocalKernelManager


def execute(
    quarter: str,
    log: Path,
    seq: int,
    edition: str,
    lang: str,
    out_dir: Path,
    notebook: Path = NOTEBOOK,
    *,
    published_seq: int | None = None,
    previous: dict[str, Any] | None = None,
) -> Path:
    """Run the report notebook with papermill on the `louyu` kernel into out_dir/report.ipynb."""
    import papermill as pm

    from .render import normalise_notebook

    _check_kernel()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "report.ipynb"
    params = {
        "quarter": quarter,
        "log": str(log.resolve()),
        "upto_seq": seq,
        "edition": edition,
        "lang": lang,
        "published_seq": published_seq,
        "previous": previous,
    }
    with tempfile.TemporaryDirectory(prefix="louyu-kernel-") as sockets:
        try:
            pm.execute_notebook(
                str(notebook),
                str(target),
                parameters=params,
                kernel_name=KERNEL,
                cwd=str(ROOT),
                progress_bar=False,
                log_output=False,
                report_mode=False,
                kernel_manager_class=_local_kernel_manager(Path(sockets)),
            )
        except pm.PapermillExecutionError as err:
            first = (str(err.evalue).strip().splitlines() or [""])[0]
            raise ReportError(
                f"notebook cell {err.exec_count} failed: {err.ename}: {first}"
            ) from None
    nb = nbformat.read(target, as_version=4)
    nbformat.write(normalise_notebook(nb), target)
    return target


def published_manifest(out_root: Path, quarter: str, lg: Any) -> dict[str, Any] | None:
    """The committed manifest of a quarter, checked against the log (None when unpublished)."""
    from louyu_research.log.store import LogError

    from .manifest import MANIFEST_NAME, ManifestError, read_manifest

    folder = out_root / quarter
    if not (folder / MANIFEST_NAME).exists():
        return None
    try:
        m = read_manifest(folder)
        pos = m["log_position"]
        here = lg.position(pos["seq"])
    except (ManifestError, LogError) as err:
        raise ReportError(str(err)) from None
    if here["hash"] != pos["hash"]:
        raise ReportError(
            f"{folder}/manifest.json was built from seq {pos['seq']} with chain hash "
            f"{pos['hash'][:12]}, but the log has {here['hash'][:12]} there: not the same log"
        )
    return m


def fingerprints(nb: Any) -> dict[str, str]:
    """SHA-256 of every data output of an executed report notebook, in canonical form."""
    from .manifest import canonical_rows, canonical_spec, sha256
    from .render import chart_specs, table_payloads
    from .tables import file_stems

    payloads = table_payloads(nb)
    out = {
        f"tables/{stem}.csv": sha256(canonical_rows([c["label"] for c in p["columns"]], p["rows"]))
        for p, stem in zip(payloads, file_stems(payloads), strict=True)
    }
    out |= {f"charts/{stem}": sha256(canonical_spec(spec)) for stem, spec in chart_specs(nb)}
    return out


def _plan(
    quarter: str,
    log: Path,
    out_root: Path,
    upto_seq: int | None,
    revise: bool,
    as_published: bool = False,
) -> tuple[int, Path, int | None, dict[str, Any] | None]:
    """(seq to build from, output folder, published seq for a revision, previous cut-off)."""
    from .inputs import previous_cutoff, publication_cutoff

    Quarter.parse(quarter)
    lg = _open(log)
    published = published_manifest(out_root, quarter, lg)
    if revise:
        if published is None:
            raise ReportError(
                f"{quarter} has no published report to revise ({out_root}/{quarter}/manifest.json)"
            )
        seq = upto_seq if upto_seq is not None else lg.head.seq
        folder = out_root / quarter / "revised"
        published_seq: int | None = published["log_position"]["seq"]
    elif published is not None:
        pinned = published["log_position"]["seq"]
        if upto_seq is not None and upto_seq != pinned:
            raise ReportError(
                f"{quarter} is published from log seq {pinned}; use --revise to build another edition"
            )
        seq, folder, published_seq = pinned, out_root / quarter, None
        return seq, folder, published_seq, published["parameters"].get("previous")
    else:
        seq = upto_seq if upto_seq is not None else lg.head.seq
        if as_published:  # the log as it stood when the quarter is reported, by convention
            seq = publication_cutoff(lg, quarter, seq)["seq"]
        folder, published_seq = out_root / quarter, None
    validate_quarter(quarter, log, seq)
    return seq, folder, published_seq, previous_cutoff(lg, quarter, seq, out_root)


def build_report(
    quarter: str,
    *,
    log: Path = Path("events"),
    edition: str = "public",
    lang: str = "zh",
    upto_seq: int | None = None,
    out_root: Path = Path("reports"),
    renderer: str = "auto",
    revise: bool = False,
    as_published: bool = False,
    say: Callable[[str], None] = print,
) -> Built:
    """Build one quarter's publication folder; raises QuarterError/ReportError (one line).

    `as_published`: an unpublished quarter is built from the log as recorded by the end of the
    month after the quarter (`inputs.publication_cutoff`) instead of the head.
    """
    from louyu_research.city.settings import Settings

    from .manifest import build_manifest, write_manifest
    from .render import render

    if edition not in EDITIONS:
        raise ReportError(f"edition must be one of {', '.join(EDITIONS)}, got {edition!r}")
    if lang not in LANGS:
        raise ReportError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    t0 = time.perf_counter()
    seq, out_dir, published_seq, previous = _plan(
        quarter, log, out_root, upto_seq, revise, as_published
    )
    if published_seq is None and (out_dir / "manifest.json").exists():
        say(f"{quarter} is published: rebuilding it from its pinned log position, seq {seq}")
    t1 = time.perf_counter()
    nb_path = execute(
        quarter, log, seq, edition, lang, out_dir, published_seq=published_seq, previous=previous
    )
    t2 = time.perf_counter()
    done = render(nb_path, out_dir, renderer=renderer, say=say)
    t3 = time.perf_counter()
    nb = nbformat.read(nb_path, as_version=4)
    position = _open(log).position(seq)
    manifest = build_manifest(
        quarter=quarter,
        parameters={
            "quarter": quarter,
            "edition": edition,
            "lang": lang,
            "upto_seq": seq,
            "published_seq": published_seq,
            "previous": previous,
        },
        position=position,
        outputs=fingerprints(nb),
        renderer=done.renderer,
        lock=ROOT / "uv.lock",
        settings=Settings().as_record(),
    )
    write_manifest(out_dir, manifest)
    return Built(
        quarter=quarter,
        folder=out_dir,
        renderer=done.renderer,
        position=position,
        seconds={"check": t1 - t0, "execute": t2 - t1, "render": t3 - t2, "total": t3 - t0},
    )


def committed_reports(out_root: Path = Path("reports")) -> list[Path]:
    """Folders holding a manifest: every quarter, and revised editions."""
    found = [p.parent for p in out_root.glob("*/manifest.json")]
    found += [p.parent for p in out_root.glob("*/revised/manifest.json")]
    return sorted(found)


def verify_report(folder: Path, log: Path, scratch: Path) -> list[str]:
    """Re-execute one published report at its pinned position; what differs from its manifest."""
    from .manifest import ManifestError, compare_outputs, read_manifest

    try:
        m = read_manifest(folder)
    except ManifestError as err:
        return [str(err)]
    params = m["parameters"]
    lg = _open(log)
    pos = m["log_position"]
    try:
        here = lg.position(pos["seq"])
    except Exception as err:
        return [f"log position: {err}"]
    if here["hash"] != pos["hash"]:
        return [f"log position: the log's chain hash at seq {pos['seq']} is not the published one"]
    nb_path = execute(
        m["quarter"],
        log,
        pos["seq"],
        params["edition"],
        params["lang"],
        scratch,
        published_seq=params.get("published_seq"),
        previous=params.get("previous"),
    )
    rebuilt = fingerprints(nbformat.read(nb_path, as_version=4))
    return compare_outputs(m["outputs"], rebuilt)


__all__ = [
    "Built",
    "QuarterError",
    "ReportError",
    "all_quarters",
    "build_report",
    "committed_reports",
    "execute",
    "fingerprints",
    "validate_quarter",
    "verify_report",
]
