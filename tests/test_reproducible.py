"""Reproducible publications: identical rebuilds, pinned log positions, revised editions,
manifests that detect a hand edit, atomic and serialised builds. Real builds of the sample
log through papermill."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import nbformat
import pytest

from louyu_research.log.store import EventLog
from louyu_research.report import manifest as mf
from louyu_research.report.pipeline import ReportError, build_report, verify_report
from louyu_research.report.render import RenderError, table_payloads

QUARTER = "2016Q4"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def sample_copy(tmp_path_factory, root) -> Path:
    """A private copy of the shipped log, which the tests may append corrections to."""
    dst = tmp_path_factory.mktemp("log") / "events"
    shutil.copytree(root / "events", dst, ignore=shutil.ignore_patterns(".cache", ".lock"))
    return dst


@pytest.fixture(scope="module")
def published(sample_copy, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    build_report(QUARTER, log=sample_copy, out_root=out, renderer="offline", say=lambda _: None)
    return out


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text("utf-8"))


def test_two_builds_from_clean_folders_give_identical_manifests(published, sample_copy, tmp_path):
    build_report(
        QUARTER, log=sample_copy, out_root=tmp_path, renderer="offline", say=lambda _: None
    )
    a, b = manifest(published / QUARTER), manifest(tmp_path / QUARTER)
    assert a["outputs"] == b["outputs"]
    assert len(a["outputs"]) > 10
    assert a == b  # nothing volatile left in the manifest either
    for rel in a["outputs"]:
        if rel.startswith("tables/"):  # the committed CSV tables are byte-identical too
            assert (published / QUARTER / rel).read_bytes() == (
                tmp_path / QUARTER / rel
            ).read_bytes()


def test_manifest_records_the_log_position_and_versions(published, sample_copy):
    m = manifest(published / QUARTER)
    log = EventLog(sample_copy)
    records = {r["seq"]: r for r in log.iter_records()}
    seq = m["log_position"]["seq"]
    assert seq == max(records)  # built at the head when unpublished
    assert m["log_position"]["hash"] == records[seq]["hash"]
    pinned = datetime.fromisoformat(m["log_position"]["recorded_at"])
    assert pinned == datetime.fromisoformat(records[seq]["recorded_at"])
    assert pinned.utcoffset() == timedelta(0)  # one form: UTC
    assert m["dependencies"]["polars"] == "2.1.0" and m["package"]["name"] == "louyu-research"
    assert m["parameters"]["edition"] == "public"
    assert "renderer" not in m  # both renderers give the same publication: same manifest


def city_tax_ytd(log: EventLog, year: int, upto_seq: int) -> float:
    """City total tax Jan–Dec of `year`, latest restatement per month: a plain fold of the events."""
    latest: dict[str, float] = {}
    for r in log.iter_records():
        if r["seq"] > upto_seq or r["type"] != "CityTaxReported" or r["data"].get("district"):
            continue
        if r["data"]["period"].startswith(f"{year}-"):
            latest[r["data"]["period"]] = r["data"]["amount_yuan"]
    return sum(latest.values())


def revision_rows(folder: Path) -> dict[str, list]:
    nb = nbformat.read(folder / "report.ipynb", as_version=4)
    (payload,) = [p for p in table_payloads(nb) if p["name"] == "revision"]
    return {row[0]: row[1:] for row in payload["rows"]}


def test_a_correction_leaves_the_pinned_build_and_changes_the_revised_one(published, sample_copy):
    folder = published / QUARTER
    before = manifest(folder)
    log = EventLog(sample_copy)
    seq0 = log.head.seq
    december = [
        r["data"]["amount_yuan"]
        for r in log.iter_records()
        if r["type"] == "CityTaxReported"
        and r["data"]["period"] == "2016-12"
        and not r["data"].get("district")
    ][-1]
    log.append(
        [
            {
                "event_id": "test-correction-city-tax-2016-12",
                "type": "CityTaxReported",
                "occurred_on": "2016-12-31",
                "source": "市税务局",
                "data": {"period": "2016-12", "amount_yuan": round(december + 500_000_000, 2)},
            }
        ]
    )
    # the published quarter is rebuilt at its pinned position: nothing changes
    build_report(
        QUARTER, log=sample_copy, out_root=published, renderer="offline", say=lambda _: None
    )
    assert manifest(folder) == before
    # the revised edition reads the head and differs exactly in the tax share
    build_report(
        QUARTER,
        log=sample_copy,
        out_root=published,
        revise=True,
        renderer="offline",
        say=lambda _: None,
    )
    revised = manifest(folder / "revised")
    assert revised["log_position"]["seq"] == seq0 + 1
    assert revised["parameters"]["published_seq"] == seq0
    assert revised["outputs"] != before["outputs"]
    rows = revision_rows(folder / "revised")
    changed = {k for k, (pub, rev, diff) in rows.items() if diff not in (None, 0, 0.0)}
    assert changed == {"楼宇税收占全市税收比例"}, rows
    # published share s = B / C; revised s' = B / (C + 5 亿): check against the plain fold
    c = city_tax_ytd(log, 2016, seq0)
    pub, rev, _ = rows["楼宇税收占全市税收比例"]
    assert c == pytest.approx(city_tax_ytd(log, 2016, seq0 + 1) - 500_000_000, rel=1e-12)
    # the table shows rates to 6 decimals: both sides carry ≤ 5e-7 of rounding
    assert rev == pytest.approx(pub * c / (c + 500_000_000), abs=1.1e-6)
    assert pub - rev > 1e-3


def test_verify_detects_hand_edits_and_changed_outputs(published, sample_copy, tmp_path):
    src = published / QUARTER
    # a faithful copy verifies
    good = tmp_path / "good" / QUARTER
    shutil.copytree(src, good, ignore=shutil.ignore_patterns("revised"))
    assert verify_report(good, sample_copy, tmp_path / "s1") == []
    # an output fingerprint edited by hand (and the self-hash recomputed to hide it) is named
    m = manifest(good)
    name = sorted(m["outputs"])[0]
    m["outputs"][name] = "0" * 64
    m.pop("manifest_sha256")
    m["manifest_sha256"] = mf._self_hash(m)
    (good / "manifest.json").write_text(json.dumps(m), "utf-8")
    problems = verify_report(good, sample_copy, tmp_path / "s2")
    assert len(problems) == 1 and problems[0].startswith(f"{name}: published 000000000000")
    # a manifest edited by hand without recomputing its hash is caught before anything runs
    m["log_position"]["seq"] -= 1
    (good / "manifest.json").write_text(json.dumps(m), "utf-8")
    assert "edited by hand" in verify_report(good, sample_copy, tmp_path / "s3")[0]


def test_pinned_quarter_refuses_another_position_and_revise_needs_a_publication(
    published, sample_copy
):
    with pytest.raises(ReportError, match="use --revise"):
        build_report(QUARTER, log=sample_copy, out_root=published, upto_seq=5, say=lambda _: None)
    with pytest.raises(ReportError, match="no published report to revise"):
        build_report("2016Q3", log=sample_copy, out_root=published, revise=True, say=lambda _: None)


# --- atomic, serialised builds ------------------------------------------------------------------


def test_two_builds_of_one_quarter_at_once_do_not_collide(root, tmp_path):
    """Two processes build the same unpublished quarter into the same folder at once: both
    succeed (one waits for the other's lock, then builds the now published quarter from its
    pinned position), the result verifies, and no work folder is left."""
    out = tmp_path / "reports"
    cmd = [sys.executable, "-m", "louyu_research.cli", "report", "--quarter", QUARTER,
           "--log", str(root / "events"), "--out", str(out), "--renderer", "offline"]  # fmt: skip
    runs = [
        subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    said = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in said]
    waited = [err for _, err in said if "is published: building it from its pinned" in err]
    assert len(waited) == 1  # the second build saw the first one's publication
    folder = out / QUARTER
    assert sorted(p.name for p in folder.iterdir()) == [
        "_build.lock", "charts", "manifest.json", "report.html", "report.ipynb", "report.pdf",
        "tables", "tables.xlsx",
    ]  # fmt: skip
    m = manifest(folder)
    charts = {k.split("/")[1] for k in m["outputs"] if k.startswith("charts/")}
    assert {p.stem for p in (folder / "charts").glob("*.svg")} == charts
    assert {p.stem for p in (folder / "charts").glob("*.png")} == charts
    assert verify_report(folder, root / "events", tmp_path / "scratch") == []


def test_a_failed_build_leaves_the_publication_as_it_was(published, sample_copy, monkeypatch):
    """The build works aside: a render that fails after the notebook ran and the tables and
    charts were written changes nothing in the published folder."""
    folder = published / QUARTER
    before = {
        p.relative_to(folder): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and "revised" not in p.parts
    }
    monkeypatch.setenv("PATH", "/nonexistent")  # no quarto: the Quarto renderer cannot run
    with pytest.raises(RenderError, match="Quarto not found"):
        build_report(
            QUARTER, log=sample_copy, out_root=published, renderer="quarto", say=lambda _: None
        )
    after = {
        p.relative_to(folder): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and "revised" not in p.parts
    }
    assert after == before
    assert not list(folder.glob("_staging-*"))
