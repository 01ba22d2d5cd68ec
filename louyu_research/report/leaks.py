"""The leak guard: no committed report file may hold what only the internal edition shows.

`find_leaks(reports, log)` reads every file git tracks under `reports/` (every file there
when it is not in a git work tree) and names, by file and line, each
- tenant name from the log (every name a TenantMovedIn or TenantUpdated ever recorded);
- unified social credit code (USCC): a tenant id from the log, or any 18-character code
  that passes the GB 32100-2015 check digit;
- tenant-level tax from the log of at least `MIN_TAX_YUAN`: a TaxReported amount, one
  tenant's total for a month, or its total over the at-risk window the internal edition
  lists (the months ending at each month), written in yuan with two decimals
  ("875832.94", "875,832.94").

Why these forms: public files do write two-decimal numbers (tax per m² in yuan, an amount in
万元 whose four decimals end in 00), and below ¥100,000 the sample's tenant amounts are so
dense (one in 50 two-decimal values between ¥10,000 and ¥100,000 is one) that such a number
would match by chance. Above it, one in 1,300 is, and public files write no two-decimal
number that large; a table of tenants' tax has many. Amounts whose last cent digit is 0
(written with one decimal by a CSV writer, like areas) are not looked for. A finding names
the event (seq) it comes from, never the name, code or amount itself: the guard's output
goes to CI logs.
Files it cannot read as text (other than .xlsx and .pdf, read through their text) are
findings too: nothing binary belongs in a committed publication.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from louyu_research.city.profile import City
from louyu_research.log.catalogue import is_valid_uscc

#: Names shorter than this are not looked for (a two-character name would match ordinary text).
MIN_NAME_CHARS = 4
#: Tenant-level tax is looked for from this amount up (see the module docstring).
MIN_TAX_YUAN = 100_000
_USCC_SHAPE = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
_NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)*"
_YUAN_2DP = r"^[0-9]{1,3}(?:,[0-9]{3})*\.[0-9][1-9]$|^[0-9]+\.[0-9][1-9]$"


@dataclass(frozen=True)
class Sensitive:
    """What must not be published, each with the event seq it was first recorded by."""

    names: pl.DataFrame  # needle (str), seq (i64)
    usccs: pl.DataFrame  # needle (str), seq (i64)
    tax: pl.DataFrame  # cents (i64), what (str), seq (i64)


def sensitive(log: Path, window_months: int | None = None, city: City | None = None) -> Sensitive:
    """Tenant names, USCCs and tenant-level tax amounts of a log (see the module docstring);
    `city`: the profile of the city the log is about (default: the one it records), whose
    settings give the at-risk window."""
    from louyu_research.log.store import EventLog

    lg = EventLog(log, city=city)
    window = window_months or lg.city.settings.at_risk_window_months
    events = lg.scan()
    names = (
        events.filter(pl.col("tenant_name").str.len_chars() >= MIN_NAME_CHARS)
        .group_by(needle=pl.col("tenant_name"))
        .agg(pl.col("seq").min())
        .collect()
    )
    usccs = (
        events.filter(pl.col("tenant_id").str.contains(_USCC_SHAPE))
        .group_by(needle=pl.col("tenant_id"))
        .agg(pl.col("seq").min())
        .collect()
    )
    reports = (
        events.filter(pl.col("type") == "TaxReported")
        .select(
            "seq",
            "tenant_id",
            "building_id",
            "period",
            cents=(pl.col("amount_yuan") * 100).round().cast(pl.Int64),
            month=pl.col("period").str.slice(0, 4).cast(pl.Int64) * 12
            + pl.col("period").str.slice(5, 2).cast(pl.Int64),
        )
        .collect()
    )
    raw = reports.select("cents", "seq", what=pl.lit("a TaxReported amount"))
    # sums as the replay sees them: the latest report per tenant, building and month
    latest = reports.sort("seq").group_by("tenant_id", "building_id", "month").last()
    sums = []
    for keys, whose in ((["tenant_id", "building_id"], "in one building"), (["tenant_id"], "")):
        monthly = latest.group_by(*keys, "month").agg(pl.col("cents").sum(), pl.col("seq").min())
        windows = (
            pl.concat([monthly.with_columns(pl.col("month") + k) for k in range(window)])
            .group_by(*keys, "month")
            .agg(pl.col("cents").sum(), pl.col("seq").min())
        )
        sums += [
            monthly.select("cents", "seq", what=pl.lit(f"a tenant's tax for a month {whose}")),
            windows.select(
                "cents", "seq", what=pl.lit(f"a tenant's tax over {window} months {whose}")
            ),
        ]
    tax = (  # one row per amount: its earliest event, a reported amount before a sum
        pl.concat(
            [f.with_columns(order=pl.lit(i)) for i, f in enumerate([raw, *sums])],
            how="vertical",
        )
        .with_columns(pl.col("what").str.strip_chars())
        .filter(pl.col("cents") % 10 != 0, pl.col("cents") >= MIN_TAX_YUAN * 100)
        .sort("seq", "order")
        .group_by("cents", maintain_order=True)
        .agg(pl.col("what").first(), pl.col("seq").first())
    )
    return Sensitive(names=names, usccs=usccs, tax=tax)


# --- the files ----------------------------------------------------------------------------------


def committed_files(root: Path) -> list[Path]:
    """Files git tracks (in the index) under `root`; every file under it outside a work tree
    (private work folders, named "_…", excepted)."""
    if shutil.which("git") is not None and root.is_dir():
        top = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=False,
        )
        if top.returncode == 0:
            listed = subprocess.run(
                ["git", "-C", str(root), "ls-files", "-z", "--full-name", "--", "."],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            base = Path(top.stdout.strip())
            return sorted(base / name for name in listed.split("\0") if name)
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith("_") for part in p.relative_to(root).parts)
    )


def file_text(path: Path) -> str | None:
    """A file's text: UTF-8 as it is, a workbook's XML parts, a PDF through pdftotext;
    None when it cannot be read as text."""
    data = path.read_bytes()
    if path.suffix.lower() == ".xlsx" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return "\n".join(
                z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml")
            )
    if path.suffix.lower() == ".pdf" and shutil.which("pdftotext"):
        done = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=False
        )
        return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


# --- the search ---------------------------------------------------------------------------------


def scan_lines(lines: pl.DataFrame, secret: Sensitive) -> pl.DataFrame:
    """Findings in a frame of (file, line, text): one row per (file, line, what, seq)."""
    text = pl.col("text")
    found: list[pl.DataFrame] = []
    if secret.names.height:
        hits = (
            lines.with_columns(
                needle=text.str.extract_many(secret.names["needle"].implode(), overlapping=True)
            )
            .explode("needle")
            .drop_nulls("needle")
            .join(secret.names, on="needle")
        )
        found.append(hits.select("file", "line", "seq", what=pl.lit("a tenant name from the log")))
    tokens = (
        lines.with_columns(token=text.str.extract_all(r"[0-9A-Za-z]+"))
        .explode("token")
        .filter(pl.col("token").str.contains(_USCC_SHAPE))
        .unique(["file", "line", "token"])
    )
    known = tokens.join(secret.usccs, left_on="token", right_on="needle", how="left")
    found.append(
        known.filter(pl.col("seq").is_not_null()).select(
            "file", "line", "seq", what=pl.lit("the USCC of a tenant in the log")
        )
    )
    other = known.filter(pl.col("seq").is_null())
    if other.height:
        valid = other.filter(pl.col("token").map_elements(is_valid_uscc, return_dtype=pl.Boolean))
        found.append(
            valid.select(
                "file",
                "line",
                seq=pl.lit(None, pl.Int64),
                what=pl.lit("a unified social credit code"),
            )
        )
    numbers = (
        lines.with_columns(token=text.str.extract_all(_NUMBER))
        .explode("token")
        .filter(pl.col("token").str.contains(_YUAN_2DP))
        .with_columns(cents=pl.col("token").str.replace_all(r"[,.]", "").cast(pl.Int64))
        .join(secret.tax, on="cents")
    )
    found.append(
        numbers.select("file", "line", "seq", what=pl.lit("tenant-level tax: ") + pl.col("what"))
    )
    return (
        pl.concat([f.select("file", "line", "what", "seq") for f in found], how="vertical")
        .unique()
        .sort("file", "line", "what")
    )


def find_leaks(
    root: Path, log: Path, secret: Sensitive | None = None, city: City | None = None
) -> list[str]:
    """One line per finding: `file:line: what (event seq)`, file relative to `root` (`city`:
    as for `sensitive`)."""
    secret = secret or sensitive(log, city=city)
    rows: list[dict[str, object]] = []
    unreadable: list[str] = []
    for path in committed_files(root):
        if not path.is_file():
            continue  # tracked but deleted in the work tree: nothing to publish
        name = _shown(path, root)
        text = file_text(path)
        if text is None:
            unreadable.append(f"{name}: not text, so it cannot be checked for leaks")
            continue
        rows += [
            {"file": name, "line": i, "text": line}
            for i, line in enumerate(text.splitlines(), start=1)
        ]
    lines = pl.DataFrame(rows, schema={"file": pl.String, "line": pl.Int64, "text": pl.String})
    findings = scan_lines(lines, secret)
    said = [
        f"{r['file']}:{r['line']}: {r['what']}"
        + (f" (event seq {r['seq']})" if r["seq"] is not None else "")
        for r in findings.iter_rows(named=True)
    ]
    return unreadable + said


def _shown(path: Path, root: Path) -> str:
    try:
        return (Path(root.name) / path.resolve().relative_to(root.resolve())).as_posix()
    except ValueError:
        return path.as_posix()
