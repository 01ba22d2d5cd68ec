"""The quarterly report pipeline: check QUARTER, execute the notebook, render the outputs.

`build_report("2017Q4")` pins the log position (HEAD unless given), executes
`notebooks/quarterly_report.ipynb` with papermill on the project's kernel `louyu`, strips the
executed notebook's volatile metadata, and renders `reports/<QUARTER>/`: report.html,
report.pdf, report.ipynb, tables.xlsx, tables/*.csv, charts/*.svg|png (see `render`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from .publication import QuarterError, check_quarter, log_months, parse_quarter, quarters_covered

ROOT = Path(__file__).resolve().parents[1]
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
    from .log import LogError
    from .replay import open_log

    try:
        return open_log(log)
    except LogError as err:
        raise ReportError(str(err)) from None


def validate_quarter(quarter: str, log: Path, upto_seq: int | None = None) -> tuple[str, int]:
    """The quarter checked (format first, then inside the log) and the pinned log seq."""
    parse_quarter(quarter)
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
    return quarters_covered(*log_months(lg, upto_seq if upto_seq is not None else lg.head.seq))


def _check_kernel() -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        raise ReportError(f"Jupyter kernel {KERNEL!r} is not installed: run `make setup`") from None


def execute(
    quarter: str,
    log: Path,
    seq: int,
    edition: str,
    lang: str,
    out_dir: Path,
    notebook: Path = NOTEBOOK,
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
    }
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
        )
    except pm.PapermillExecutionError as err:
        first = (str(err.evalue).strip().splitlines() or [""])[0]
        raise ReportError(f"notebook cell {err.exec_count} failed: {err.ename}: {first}") from None
    nb = nbformat.read(target, as_version=4)
    nbformat.write(normalise_notebook(nb), target)
    return target


def build_report(
    quarter: str,
    *,
    log: Path = Path("events"),
    edition: str = "public",
    lang: str = "zh",
    upto_seq: int | None = None,
    out_root: Path = Path("reports"),
    renderer: str = "auto",
    say: Callable[[str], None] = print,
) -> Built:
    """Build one quarter's publication folder; raises QuarterError/ReportError (one line)."""
    from .render import render

    if edition not in EDITIONS:
        raise ReportError(f"edition must be one of {', '.join(EDITIONS)}, got {edition!r}")
    if lang not in LANGS:
        raise ReportError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    t0 = time.perf_counter()
    quarter, seq = validate_quarter(quarter, log, upto_seq)
    out_dir = out_root / quarter
    t1 = time.perf_counter()
    nb_path = execute(quarter, log, seq, edition, lang, out_dir)
    t2 = time.perf_counter()
    done = render(nb_path, out_dir, renderer=renderer, say=say)
    t3 = time.perf_counter()
    from .render import report_meta

    meta = report_meta(nbformat.read(nb_path, as_version=4))
    return Built(
        quarter=quarter,
        folder=out_dir,
        renderer=done.renderer,
        position={
            "seq": seq,
            "recorded_at": meta.timestamp.isoformat() if meta.timestamp else None,
        },
        seconds={"check": t1 - t0, "execute": t2 - t1, "render": t3 - t2, "total": t3 - t0},
    )


__all__ = [
    "Built",
    "QuarterError",
    "ReportError",
    "all_quarters",
    "build_report",
    "execute",
    "validate_quarter",
]
