"""The `louyu` log commands as a user runs them: real processes, real files, exit codes 0/1/2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import snapshot
from drafts import building, moved_in, tax

T1 = "91350100M000100Y43"


def louyu(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "louyu_research.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def jsonl(*drafts: dict) -> str:
    return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in drafts)


def test_init_append_verify_log_stats(tmp_path):
    log = tmp_path / "ev"
    assert louyu("init", str(log)).returncode == 0
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        jsonl(building("B1"), moved_in(T1, "B1", "2015-02-01", "2015-02-05T09:00:00+08:00")),
        "utf-8",
    )
    r = louyu("append", "--log", str(log), str(batch))
    assert r.returncode == 0, r.stderr
    assert "appended 2 event(s), 0 already present; head seq 2" in r.stdout
    r = louyu(
        "append",
        "--log",
        str(log),
        "--expect-seq",
        "2",
        "-",
        stdin=jsonl(tax(T1, "B1", "2015-02", 100.5, None)),
    )
    assert r.returncode == 0, r.stderr
    assert louyu("verify", "--log", str(log)).stdout.startswith("ok:")
    r = louyu("log", "--log", str(log), "--type", "TaxReported", "--format", "json")
    rows = json.loads(r.stdout)
    assert [(row["seq"], row["amount_yuan"]) for row in rows] == [(3, 100.5)]
    r = louyu("log", "--log", str(log), "--building", "B1", "--since", "2", "--format", "csv")
    assert r.stdout.splitlines()[0].startswith("seq,event_id") and len(r.stdout.splitlines()) == 3
    r = louyu("log", "--log", str(log), "--building", "b1")
    assert r.returncode == 2 and r.stdout == ""
    assert "unknown building id 'b1'" in r.stderr and "closest: B1" in r.stderr
    r = louyu("log", "--log", str(log), "--tenant", T1[:-1] + "X")
    assert r.returncode == 2 and f"closest: {T1}" in r.stderr
    stats = json.loads(louyu("stats", "--log", str(log)).stdout)
    assert stats["events"] == 3 and stats["by_type"] == {
        "BuildingRegistered": 1,
        "TaxReported": 1,
        "TenantMovedIn": 1,
    }


def test_rejected_batch_prints_one_line_per_problem_and_changes_nothing(tmp_path):
    log = tmp_path / "ev"
    louyu("init", str(log))
    louyu("append", "--log", str(log), "-", stdin=jsonl(building("B1")))
    before = snapshot(log)
    bad = (
        jsonl(building("B2", rec=None))
        + "{oops\n"
        + jsonl(moved_in(T1, "B404", "2016-01-01", None))
    )
    r = louyu("append", "--log", str(log), "-", stdin=bad)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0].startswith("-:line 2: (line): Invalid JSON")
    assert lines[1] == "-:line 3: data.building_id: unknown building 'B404' (no BuildingRegistered)"
    assert lines[-1] == "rejected: 2 problem(s); nothing was appended"
    assert snapshot(log) == before


def test_verify_exit_1_names_segment_line_and_seq(tmp_path):
    log = tmp_path / "ev"
    louyu("init", "--plain", str(log))
    louyu("append", "--log", str(log), "-", stdin=jsonl(building("B1"), building("B2")))
    seg = log / "2015-01.jsonl"
    seg.write_bytes(seg.read_bytes().replace("B2大厦".encode(), "B3大厦".encode()))
    r = louyu("verify", "--log", str(log))
    assert r.returncode == 1
    assert "2015-01.jsonl:line 2:seq 2: hash does not chain" in r.stdout


def test_usage_errors_exit_2(tmp_path):
    assert louyu("verify", "--log", str(tmp_path / "nowhere")).returncode == 2
    assert "not an event log" in louyu("verify", "--log", str(tmp_path / "nowhere")).stderr
    louyu("init", str(tmp_path / "ev"))
    assert louyu("init", str(tmp_path / "ev")).returncode == 2
    assert louyu("log", "--log", str(tmp_path / "ev"), "--type", "Nope").returncode == 2
    assert (
        louyu("append", "--log", str(tmp_path / "ev"), str(tmp_path / "missing.jsonl")).returncode
        == 2
    )
    assert louyu("frobnicate").returncode == 2


def test_every_command_has_help():
    for cmd in ("init", "append", "verify", "repair", "log", "stats", "schemas"):
        r = louyu(cmd, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout, cmd


def test_repair_reports_what_it_removed(tmp_path):
    log = tmp_path / "ev"
    louyu("init", str(log))
    louyu("append", "--log", str(log), "-", stdin=jsonl(building("B1")))
    with open(log / "2015-01.jsonl", "ab") as f:
        f.write(b'{"torn')
    assert louyu("verify", "--log", str(log)).returncode == 1
    r = louyu("repair", "--log", str(log))
    assert r.stdout.strip() == "removed 6 unacknowledged byte(s) from 2015-01.jsonl"
    assert louyu("verify", "--log", str(log)).returncode == 0


def test_append_in_batches_keeps_the_batches_before_a_rejected_one_and_resumes(tmp_path):
    """A backfill in batches of 2 lines: the third batch holds a tax report of a tenancy that
    never moved in (line 6 of the file), so lines 1–4 stay appended and nothing of lines 5–6 is;
    after the fix, running the same command again skips the four and appends the rest."""
    log = tmp_path / "ev"
    assert louyu("init", str(log)).returncode == 0
    reports = [
        tax(T1, "B1", f"2015-0{m}", 100.0 * m, f"2015-0{m}-28T09:00:00+08:00") for m in (3, 4, 5)
    ]
    drafts = [
        building("B1", rec="2015-02-01T09:00:00+08:00"),
        moved_in(T1, "B1", "2015-02-01", "2015-02-05T09:00:00+08:00"),
        *reports[:2],
        reports[2],
        tax(T1, "B9", "2015-05", 1.0, "2015-05-29T09:00:00+08:00"),
        tax(T1, "B1", "2015-06", 600.0, "2015-06-28T09:00:00+08:00"),
    ]
    backfill = tmp_path / "backfill.jsonl"
    backfill.write_text(jsonl(*drafts), "utf-8")
    r = louyu("append", "--log", str(log), "--batch", "2", str(backfill))
    assert r.returncode == 1
    assert f"line 6: data.tenant_id: unknown tenancy ('{T1}', 'B9')" in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert "from line 5" in last and "4 event(s) appended, head seq 4" in last
    assert json.loads(louyu("stats", "--log", str(log)).stdout)["events"] == 4

    drafts[5] = tax(T1, "B1", "2015-05", 1.0, "2015-05-29T09:00:00+08:00", eid="tax-fix")
    backfill.write_text(jsonl(*drafts), "utf-8")
    r = louyu("append", "--log", str(log), "--batch", "2", str(backfill))
    assert r.returncode == 0, r.stderr
    assert "appended 3 event(s), 4 already present; head seq 7" in r.stdout
    assert louyu("verify", "--log", str(log)).stdout.startswith("ok:")
    amounts = json.loads(
        louyu("log", "--log", str(log), "--type", "TaxReported", "--format", "json").stdout
    )
    assert [row["amount_yuan"] for row in amounts] == [300.0, 400.0, 500.0, 1.0, 600.0]
