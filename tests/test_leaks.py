"""The leak guard of `louyu verify-reports`: a tenant name, a USCC or tenant-level tax in a
file git tracks under reports/ fails it, named by file and line, without repeating the secret.

What is planted is read from the log's files here (gzip + json), not through the package.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from louyu_research.report import leaks

ROOT = Path(__file__).resolve().parents[1]
LOUYU = [sys.executable, "-m", "louyu_research.cli"]
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _events(log: Path) -> list[dict]:
    out = []
    for seg in sorted(log.glob("*.jsonl*")):
        raw = gzip.decompress(seg.read_bytes()) if seg.suffix == ".gz" else seg.read_bytes()
        out += [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]
    return out


def _check_digit(code17: str) -> str:
    """GB 32100-2015: weights 3^i mod 31, check = 31 - (sum mod 31), 31 → 0."""
    total = sum(USCC_CHARS.index(c) * pow(3, i, 31) for i, c in enumerate(code17))
    return USCC_CHARS[(31 - total % 31) % 31]


@pytest.fixture(scope="module")
def secrets() -> dict[str, object]:
    """One tenant's name and USCC with the seq that first recorded them, and one large tax
    amount (cents not ending in 0) with its TaxReported seq."""
    events = _events(ROOT / "events")
    moved = next(
        e for e in events if e["type"] == "TenantMovedIn" and len(e["data"]["tenant_id"]) == 18
    )
    name, uscc = moved["data"]["tenant_name"], moved["data"]["tenant_id"]
    name_seq = min(e["seq"] for e in events if e["data"].get("tenant_name") == name)
    uscc_seq = min(e["seq"] for e in events if e["data"].get("tenant_id") == uscc)
    tax = next(
        e
        for e in events
        if e["type"] == "TaxReported"
        and e["data"]["amount_yuan"] >= 1_000_000
        and round(e["data"]["amount_yuan"] * 100) % 10
    )
    tax_seq = min(
        e["seq"]
        for e in events
        if e["type"] == "TaxReported" and e["data"]["amount_yuan"] == tax["data"]["amount_yuan"]
    )
    return {"name": name, "name_seq": name_seq, "uscc": uscc, "uscc_seq": uscc_seq,
            "amount": tax["data"]["amount_yuan"], "tax_seq": tax_seq}  # fmt: skip


def test_the_committed_publications_hold_no_leak() -> None:
    assert leaks.find_leaks(ROOT / "reports", ROOT / "events") == []


def test_what_is_looked_for_and_what_is_not(secrets: dict) -> None:
    """The forms the guard matches, on a frame of lines (a valid code not in the log is a
    leak too; numbers that only look alike are not)."""
    other = "91330402MA28A1234"  # 17 characters: a code of no tenant in the log
    other += _check_digit(other)
    wrong = other[:-1] + ("1" if other[-1] != "1" else "2")
    secret = leaks.Sensitive(
        names=pl.DataFrame({"needle": ["嘉兴某某科技有限公司"], "seq": [11]}),
        usccs=pl.DataFrame({"needle": [secrets["uscc"]], "seq": [12]}),
        tax=pl.DataFrame({"cents": [123_456_789], "what": ["a TaxReported amount"], "seq": [13]}),
    )
    lines = [
        "名称,嘉兴某某科技有限公司,1",  # 1 name
        f"code {secrets['uscc']};",  # 2 USCC of a tenant
        f"{other}",  # 3 a valid code not in the log
        f"{wrong} and ab{secrets['uscc']}cd",  # 4 bad check digit; inside a longer word
        "1,234,567.89",  # 5 tax with thousands separators
        "1234567.89 yuan",  # 6 tax
        "1234567.9, 12345678.9, 2026.1234567.89, 1234567.891",  # 7 other numbers
    ]
    frame = pl.DataFrame(
        {"file": ["f.csv"] * len(lines), "line": range(1, len(lines) + 1), "text": lines}
    )
    found = leaks.scan_lines(frame, secret)
    assert found.select("line", "what", "seq").rows() == [
        (1, "a tenant name from the log", 11),
        (2, "the USCC of a tenant in the log", 12),
        (3, "a unified social credit code", None),
        (5, "tenant-level tax: a TaxReported amount", 13),
        (6, "tenant-level tax: a TaxReported amount", 13),
    ]


@pytest.fixture(scope="module")
def planted(
    tmp_path_factory: pytest.TempPathFactory, secrets: dict
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A clean clone with one of each planted in files git tracks, and one in a file it does
    not; then `louyu verify-reports` on one quarter (the leak guard reads every tracked file)."""
    clone = tmp_path_factory.mktemp("leaks") / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    tables = clone / "reports" / "2017Q4" / "tables"
    with (tables / "tenants_at_risk.csv").open("a", encoding="utf-8") as f:
        f.write(f"南湖区,{secrets['name']},1,1,0,-100.0\n")
    (tables / "codes.csv").write_text(f"code\n{secrets['uscc']}\n", "utf-8")
    amount = f"{secrets['amount']:,.2f}"
    with (clone / "reports" / "2016Q4" / "manifest.json").open("a", encoding="utf-8") as f:
        f.write(f'{{"note": "{amount}"}}\n')
    subprocess.run(["git", "add", "reports/2017Q4/tables/codes.csv"], cwd=clone, check=True)
    (tables / "untracked.csv").write_text(f"{secrets['name']}\n", "utf-8")  # never committed
    done = subprocess.run(
        [*LOUYU, "verify-reports", "--quarter", "2017Q4"],
        capture_output=True, text=True, cwd=clone, check=False,
    )  # fmt: skip
    return clone, done


def test_a_planted_leak_fails_verify_reports_naming_file_and_line(
    planted: tuple[Path, subprocess.CompletedProcess[str]], secrets: dict
) -> None:
    clone, done = planted
    assert done.returncode == 1, done.stdout + done.stderr
    risk = (clone / "reports/2017Q4/tables/tenants_at_risk.csv").read_text("utf-8-sig")
    name_line = (
        risk.splitlines().index(next(ln for ln in risk.splitlines() if secrets["name"] in ln)) + 1
    )
    manifest = (clone / "reports/2016Q4/manifest.json").read_text("utf-8").splitlines()
    leaked = [line for line in done.stderr.splitlines() if line.startswith("leak: ")]
    assert leaked == sorted(
        [  # by file and line
            f"leak: reports/2016Q4/manifest.json:{len(manifest)}: tenant-level tax: "
            f"a TaxReported amount (event seq {secrets['tax_seq']})",
            f"leak: reports/2017Q4/tables/tenants_at_risk.csv:{name_line}: "
            f"a tenant name from the log (event seq {secrets['name_seq']})",
            f"leak: reports/2017Q4/tables/codes.csv:2: "
            f"the USCC of a tenant in the log (event seq {secrets['uscc_seq']})",
        ]
    )
    assert "3 leak(s) in files tracked under reports/" in done.stderr
    assert "do not reproduce" not in done.stderr  # the quarter itself still reproduces
    said = done.stdout + done.stderr
    for secret in (secrets["name"], secrets["uscc"], f"{secrets['amount']:.2f}"):
        assert secret not in said  # the guard's output goes to CI logs


def test_a_clean_clone_verifies(tmp_path: Path) -> None:
    """Control: the same command on an untouched clone passes."""
    clone = tmp_path / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    done = subprocess.run(
        [*LOUYU, "verify-reports", "--quarter", "2017Q4"],
        capture_output=True, text=True, cwd=clone, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "no leak under reports/" in done.stdout
