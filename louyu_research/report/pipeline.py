"""The quarterly report pipeline: check QUARTER, execute the notebook, render the outputs.

`build_report("2017Q4")` pins the log position, executes
`notebooks/quarterly_report.ipynb` with papermill on the project's kernel `louyu`, strips the
executed notebook's volatile metadata, and renders report.html, report.pdf, report.ipynb,
tables.xlsx, tables/*.csv, charts/*.svg|png (see `render`) and manifest.json (see `manifest`).

Where (why: one `git commit -a` must never publish what is not the publication): every
(edition, language) has its own folder, and only the public Chinese edition is the committed
publication, `reports/<QUARTER>/`. The public English edition goes to `reports/<QUARTER>/en/`
(ignored by git). The internal edition goes outside the repository by default
(`default_internal_root()`, or `--internal-out`), to `<root>/<QUARTER>/internal-<lang>/`, and
every one of its files says "internal" in its name; a build refuses to write any edition but
the publication under a path git would track. A revised edition adds `revised/` after the
quarter.

Builds are atomic and serialised (why: two builds of one quarter at once must not read each
other's half-written charts): a build holds `<folder>/_build.lock`, works in a private
`<folder>/_staging-*/` and only then moves its files into place, the manifest last. Work
folders and the lock start with "_", which git ignores under reports/.

Pinning (why: a report published on 2016-10-15 must say the same when re-run in 2026): when
`reports/<QUARTER>/manifest.json` exists, the quarter is rebuilt, in every edition and
language, from the log position it records, after checking that the log still has the same
chain hash there. `revise=True` builds a revised edition at the head, which shows what
changed against the published one. `verify_report` re-executes a committed report and
compares the fingerprints of its tables and charts with its manifest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
INTERNAL_MARK = "internal"
LOCK_NAME = "_build.lock"
STAGING_PREFIX = "_staging-"


class ReportError(RuntimeError):
    """The report cannot be built; the message is one line meant for the user."""


@dataclass
class Built:
    quarter: str
    folder: Path
    renderer: str
    position: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # top-level names written into folder


# --- where each edition goes ----------------------------------------------------------------


def is_publication(edition: str, lang: str) -> bool:
    """Only the public Chinese edition is the committed publication."""
    return edition == "public" and lang == "zh"


def default_internal_root() -> Path:
    """Where internal editions go unless told otherwise: the user's data folder, outside any
    repository ($XDG_DATA_HOME/louyu-research/internal-reports)."""
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "louyu-research" / "internal-reports"


def output_folder(
    quarter: str,
    edition: str,
    lang: str,
    *,
    out_root: Path = Path("reports"),
    internal_root: Path | None = None,
    revise: bool = False,
) -> Path:
    """The folder of one (edition, language) of a quarter (see the module docstring)."""
    if edition == "public":
        base = out_root / quarter
    else:
        base = (internal_root or default_internal_root()) / quarter
    if revise:
        base = base / "revised"
    if edition == "public":
        return base if lang == "zh" else base / lang
    return base / f"{INTERNAL_MARK}-{lang}"


def marked(name: str) -> str:
    """A file name of the internal edition: "-internal" before the suffix
    (report.html → report-internal.html, tables/12_x.csv → tables/12_x-internal.csv)."""
    path = Path(name)
    if INTERNAL_MARK in path.name:
        return name
    return str(path.with_name(f"{path.stem}-{INTERNAL_MARK}{path.suffix}"))


def _mark_files(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):  # files before their folders
        if path.is_file() and not any(p.startswith("_") for p in path.relative_to(folder).parts):
            path.rename(folder / marked(str(path.relative_to(folder))))


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(cwd), *args], capture_output=True, text=True, check=False
    )


def _existing_parent(path: Path) -> Path:
    path = path.resolve()
    while not path.exists():
        path = path.parent
    return path


def git_would_track(path: Path, probes: tuple[str, ...] = ()) -> Path | None:
    """The root of the git work tree that a commit would take `path` into, or None.

    `path` (a file or a folder, existing or not) would be taken when git tracks a file in it,
    or when it is not ignored (for a folder: when any of `probes`, paths inside it, is not
    ignored). Outside a work tree: None; inside a repository without git installed: an error,
    since nothing can be checked."""
    here = _existing_parent(path)
    if shutil.which("git") is None:
        if any((p / ".git").exists() for p in (here, *here.parents)):
            raise ReportError(f"{path} is inside a git repository and git is not installed")
        return None
    top = _git(here, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        return None  # not inside a work tree
    root = Path(top.stdout.strip())
    rel = path.resolve().relative_to(root).as_posix()
    tracked = _git(root, "ls-files", "--", rel).stdout.strip()
    candidates = [f"{rel}/{p}" for p in probes] or [rel]
    ignored = all(_git(root, "check-ignore", "-q", "--", c).returncode == 0 for c in candidates)
    return root if tracked or not ignored else None


def check_private(folder: Path) -> None:
    """Refuse a folder for an edition that is not the publication when git would track what
    is written there: inside a work tree, a path must be ignored and hold no tracked file."""
    # what a commit would take: a manifest and CSV tables (HTML/PDF are ignored by name)
    root = git_would_track(folder, ("manifest.json", "tables/01_table.csv"))
    if root is not None:
        raise ReportError(
            f"refusing to write an edition other than the public Chinese one to {folder}: "
            f"git would track it in {root} (use a folder outside the repository or an ignored one)"
        )


# --- atomic, serialised builds --------------------------------------------------------------


@contextmanager
def building(folder: Path) -> Iterator[Path]:
    """Hold the folder's build lock and give a fresh staging folder inside it (removed after;
    a staging folder found while holding the lock is a dead build's, removed first)."""
    from filelock import FileLock

    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / LOCK_NAME)):
        for stale in folder.glob(f"{STAGING_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def move_into_place(staging: Path, folder: Path) -> list[str]:
    """Move every finished file and folder of `staging` into `folder` (same file system, so
    each move is a rename), manifests last: a manifest present means its build is complete."""
    entries = [e for e in staging.iterdir() if not e.name.startswith("_")]
    entries.sort(key=lambda e: (e.name.startswith("manifest"), e.name))
    for entry in entries:
        target = folder / entry.name
        if entry.is_dir() and target.exists():
            os.replace(target, staging / f"_old-{entry.name}")
        os.replace(entry, target)
    return [e.name for e in entries]


def _open(log: Path, city: Any = None) -> Any:
    """The log about `city` (a `City`, its profile folder, or None: the city the log records);
    a bad profile or log is a `ReportError`."""
    from louyu_research.city.profile import CityError
    from louyu_research.log.store import LogError
    from louyu_research.replay.log import open_log

    try:
        return open_log(log, city=city)
    except (CityError, LogError) as err:
        raise ReportError(str(err)) from None


def validate_quarter(
    quarter: str, log: Path, upto_seq: int | None = None, city: Any = None
) -> tuple[str, int]:
    """The quarter checked (format first, then inside the log) and the pinned log seq."""
    Quarter.parse(quarter)
    lg = _open(log, city)
    seq = upto_seq if upto_seq is not None else lg.head.seq
    if seq <= 0:
        raise ReportError(f"the log at {log} is empty")
    first, last = log_months(lg, seq)
    check_quarter(quarter, first, last)
    return quarter, seq


def all_quarters(log: Path, upto_seq: int | None = None, city: Any = None) -> list[str]:
    """Every quarter the log covers (its three months inside the log's months)."""
    lg = _open(log, city)
    months = log_months(lg, upto_seq if upto_seq is not None else lg.head.seq)
    return [str(q) for q in Quarter.covered(*months)]


def _check_kernel() -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        raise ReportError(f"Jupyter kernel {KERNEL!r} is not installed: run `make setup`") from None


def local_kernel_manager(folder: Path) -> type:
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
    city: Path | None = None,
    settings: dict[str, Any] | None = None,
) -> Path:
    """Run the report notebook with papermill on the `louyu` kernel into out_dir/report.ipynb.

    `city`: a city profile folder (None: the city the log records); `settings`: the settings as
    a record (`Settings.as_record`; None: the city's)."""
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
        "city": str(city.resolve()) if city is not None else None,
        "settings": settings,
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
                kernel_manager_class=local_kernel_manager(Path(sockets)),
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


@dataclass(frozen=True)
class Plan:
    seq: int  # the log position to build from
    published: bool  # the quarter has a committed publication (its seq is pinned)
    published_seq: int | None  # for a revision: the publication's seq
    previous: dict[str, Any] | None  # where the previous quarter's report read the log


def _plan(
    quarter: str,
    log: Path,
    out_root: Path,
    upto_seq: int | None,
    revise: bool,
    as_published: bool = False,
    city: Any = None,
) -> Plan:
    """What to build from: the quarter's publication under `out_root` pins every edition."""
    from .inputs import previous_cutoff, publication_cutoff

    Quarter.parse(quarter)
    lg = _open(log, city)
    published = published_manifest(out_root, quarter, lg)
    if revise:
        if published is None:
            raise ReportError(
                f"{quarter} has no published report to revise ({out_root}/{quarter}/manifest.json)"
            )
        seq = upto_seq if upto_seq is not None else lg.head.seq
        published_seq: int | None = published["log_position"]["seq"]
    elif published is not None:
        pinned = published["log_position"]["seq"]
        if upto_seq is not None and upto_seq != pinned:
            raise ReportError(
                f"{quarter} is published from log seq {pinned}; use --revise to build another edition"
            )
        return Plan(pinned, True, None, published["parameters"].get("previous"))
    else:
        seq = upto_seq if upto_seq is not None else lg.head.seq
        if as_published:  # the log as it stood when the quarter is reported, by convention
            seq = publication_cutoff(lg, quarter, seq)["seq"]
        published_seq = None
    validate_quarter(quarter, log, seq, city)
    return Plan(
        seq, published is not None, published_seq, previous_cutoff(lg, quarter, seq, out_root)
    )


def build_report(
    quarter: str,
    *,
    log: Path = Path("events"),
    edition: str = "public",
    lang: str = "zh",
    upto_seq: int | None = None,
    out_root: Path = Path("reports"),
    internal_root: Path | None = None,
    renderer: str = "auto",
    revise: bool = False,
    as_published: bool = False,
    city: Path | None = None,
    settings: Path | dict[str, Any] | None = None,
    say: Callable[[str], None] = print,
) -> Built:
    """Build one (edition, language) of a quarter into its own folder (`output_folder`);
    raises QuarterError/ReportError (one line).

    `out_root` holds the publications (and the public English editions); `internal_root`
    the internal editions (default: `default_internal_root()`). `as_published`: an
    unpublished quarter is built from the log as recorded by the end of the month after the
    quarter (`inputs.publication_cutoff`) instead of the head. `city`: a city profile folder
    (default: the city the log records); `settings`: a settings file or record (default: the
    city's). Both are recorded in the manifest.
    """
    from louyu_research.city.settings import Settings, SettingsError

    from .manifest import build_manifest, write_manifest
    from .render import render

    if edition not in EDITIONS:
        raise ReportError(f"edition must be one of {', '.join(EDITIONS)}, got {edition!r}")
    if lang not in LANGS:
        raise ReportError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    t0 = time.perf_counter()
    try:
        profile = _open(log, city).city
        chosen = (
            Settings.load(None, **settings)
            if isinstance(settings, dict)
            else Settings.load(settings)
            if settings is not None
            else profile.settings
        )
    except SettingsError as err:
        raise ReportError(str(err)) from None
    # checked before any folder is made: a bad QUARTER or log leaves nothing behind
    _plan(quarter, log, out_root, upto_seq, revise, as_published, profile)
    folder = output_folder(
        quarter, edition, lang, out_root=out_root, internal_root=internal_root, revise=revise
    )
    if not is_publication(edition, lang):
        check_private(folder)
    with building(folder) as staging:
        plan = _plan(quarter, log, out_root, upto_seq, revise, as_published, profile)  # locked
        if plan.published and not revise:
            say(f"{quarter} is published: building it from its pinned log position, seq {plan.seq}")
        t1 = time.perf_counter()
        nb_path = execute(
            quarter,
            log,
            plan.seq,
            edition,
            lang,
            staging,
            published_seq=plan.published_seq,
            previous=plan.previous,
            city=city,
            settings=chosen.as_record(),
        )
        t2 = time.perf_counter()
        done = render(nb_path, staging, renderer=renderer, say=say)
        t3 = time.perf_counter()
        nb = nbformat.read(nb_path, as_version=4)
        position = _open(log, profile).position(plan.seq)
        outputs = fingerprints(nb)
        if edition == "internal":
            outputs = {marked(k): v for k, v in outputs.items()}
        manifest = build_manifest(
            quarter=quarter,
            parameters={
                "quarter": quarter,
                "edition": edition,
                "lang": lang,
                "upto_seq": plan.seq,
                "published_seq": plan.published_seq,
                "previous": plan.previous,
            },
            position=position,
            outputs=outputs,
            lock=ROOT / "uv.lock",
            settings=chosen.as_record(),
            city=profile.as_record(),
        )
        write_manifest(staging, manifest)
        if edition == "internal":
            _mark_files(staging)
        files = move_into_place(staging, folder)
    return Built(
        quarter=quarter,
        folder=folder,
        renderer=done.renderer,
        position=position,
        seconds={"check": t1 - t0, "execute": t2 - t1, "render": t3 - t2, "total": t3 - t0},
        files=files,
    )


def committed_reports(out_root: Path = Path("reports")) -> list[Path]:
    """Folders holding a manifest: every quarter, and revised editions."""
    found = [p.parent for p in out_root.glob("*/manifest.json")]
    found += [p.parent for p in out_root.glob("*/revised/manifest.json")]
    found += [p.parent for p in out_root.glob("notices/*/manifest.json")]  # monthly notices
    return sorted(found)


def verify_report(folder: Path, log: Path, scratch: Path, city: Path | None = None) -> list[str]:
    """Re-execute one published report at its pinned position; what differs from its manifest.
    `city`: the city profile folder of the log (default: the city the log records)."""
    from .manifest import ManifestError, compare_outputs, read_manifest

    try:
        m = read_manifest(folder)
    except ManifestError as err:
        return [str(err)]
    params = m["parameters"]
    if params.get("kind") == "notice":
        from .notice import verify_notice

        return verify_notice(folder, log, scratch, city)
    lg = _open(log, city)
    pos = m["log_position"]
    try:
        here = lg.position(pos["seq"])
    except Exception as err:
        return [f"log position: {err}"]
    if here["hash"] != pos["hash"]:
        return [f"log position: the log's chain hash at seq {pos['seq']} is not the published one"]
    recorded_city = m.get("city")
    if recorded_city is not None and recorded_city.get("key") != lg.city.key:
        return [
            f"city: the report is about {recorded_city.get('key')!r}, the log about {lg.city.key!r}"
        ]
    nb_path = execute(
        m["quarter"],
        log,
        pos["seq"],
        params["edition"],
        params["lang"],
        scratch,
        published_seq=params.get("published_seq"),
        previous=params.get("previous"),
        city=city,
        settings=m.get("settings"),  # the settings the publication was built with
    )
    rebuilt = fingerprints(nbformat.read(nb_path, as_version=4))
    return compare_outputs(m["outputs"], rebuilt)


__all__ = [
    "Built",
    "Plan",
    "QuarterError",
    "ReportError",
    "all_quarters",
    "build_report",
    "building",
    "check_private",
    "committed_reports",
    "default_internal_root",
    "execute",
    "fingerprints",
    "git_would_track",
    "is_publication",
    "local_kernel_manager",
    "marked",
    "move_into_place",
    "output_folder",
    "validate_quarter",
    "verify_report",
]
