"""Several real processes appending at once, and writers killed with SIGKILL mid-batch."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from louyu_research.log.store import EventLog

WRITER = Path(__file__).with_name("writer_proc.py")


def start(
    log: Path, writer: str, batches: int, size: int, **extra_env: str
) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), **extra_env}
    return subprocess.Popen(
        [sys.executable, str(WRITER), str(log), writer, str(batches), str(size)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def acked_ids(writer: str, stdout: str, size: int) -> set[str]:
    batches = [int(line.split()[1]) for line in stdout.splitlines() if line.startswith("ACK ")]
    return {f"W{writer}-{b}-{i}" for b in batches for i in range(size)}


@pytest.mark.timeout(300)
def test_concurrent_writers_keep_the_log_gapless_and_complete(tmp_path):
    log = EventLog.init(tmp_path / "events")
    procs = {str(w): start(log.path, str(w), batches=15, size=20) for w in range(4)}
    acked: set[str] = set()
    for w, p in procs.items():
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        acked |= acked_ids(w, out, 20)
    assert len(acked) == 4 * 15 * 20
    assert log.verify() == []
    frame = log.read()
    assert frame["seq"].to_list() == list(range(1, frame.height + 1))
    assert sorted(frame["event_id"].to_list()) == sorted(acked)  # each exactly once, none extra
    # batches never interleave: each batch's 20 events are consecutive seqs
    batch_of = frame["event_id"].str.replace(r"-\d+$", "")
    assert batch_of.rle().struct.field("len").to_list() == [20] * (4 * 15)


@pytest.mark.timeout(600)
def test_writers_killed_mid_batch_lose_no_acknowledged_event(tmp_path):
    rng = random.Random(20171231)
    log = EventLog.init(tmp_path / "events")
    acked: set[str] = set()
    kills_with_tail = 0
    for round_ in range(12):
        p = start(log.path, f"k{round_}", batches=1000, size=400)
        first = p.stdout.readline()  # it is running and has had one batch acknowledged
        # then kill it at a random moment of the following batches
        time.sleep(rng.uniform(0.0, 0.4))
        p.send_signal(signal.SIGKILL)
        out, _ = p.communicate(timeout=60)
        out = first + out
        acked |= acked_ids(f"k{round_}", out, 400)
        findings = log.verify()
        if findings:
            # the only acceptable damage: an unacknowledged tail, which repair removes
            assert all("unacknowledged tail" in f.problem for f in findings), findings
            kills_with_tail += 1
            log.repair()
        assert log.verify() == []
        present = set(log.read()["event_id"].to_list())
        assert acked <= present, "an acknowledged event was lost"
        # present but unacknowledged = the last batch, whose HEAD was written but whose ACK the
        # kill swallowed: at most one batch per round
        assert len(present - acked) <= 400 * (round_ + 1)
    assert acked, "no batch was ever acknowledged: the test did not exercise anything"
    print(f"{kills_with_tail} of 12 kills left a tail to repair")


@pytest.mark.parametrize("fsync_no", range(1, 17))
def test_a_kill_at_each_step_of_the_write_protocol_keeps_the_log_consistent(tmp_path, fsync_no):
    """The writer dies at its n-th fsync. Batch 0: data 1, new segment's dir 2, HEAD temp 3, HEAD
    rename 4, then the append index: run 5, its folder 6, manifest 7, its folder 8; batch 1:
    data 9, HEAD temp 10, HEAD rename 11, index run 12, merged run 13, folder 14, manifest 15,
    folder 16. Before a HEAD rename, a tail is left; after it, at most a stale index."""
    log = EventLog.init(tmp_path / "events")
    p = start(log.path, "d", batches=3, size=5, LOUYU_TEST_DIE_AT_FSYNC=str(fsync_no))
    out, _ = p.communicate(timeout=60)
    assert p.returncode == -signal.SIGKILL
    acked = acked_ids("d", out, 5)
    assert len(acked) == (5 if fsync_no > 8 else 0)  # ACK: once append returned
    findings = log.verify()
    assert bool(findings) == (fsync_no in (1, 2, 3, 9, 10))
    for f in findings:
        assert "unacknowledged tail" in f.problem, f
    log.repair()
    assert log.verify() == []
    present = set(log.read()["event_id"].to_list())
    assert acked <= present
    assert len(present) % 5 == 0  # whole batches only
    EventLog(log.path).append(  # and the log takes the next batch
        [
            {
                "event_id": "after",
                "type": "CityTaxReported",
                "occurred_on": "2016-01-31",
                "data": {"period": "2016-01", "amount_yuan": 1.0},
            }
        ]
    )
    assert log.verify() == []
    index = json.loads((log.path / ".index" / "MANIFEST.json").read_text())["body"]["head"]
    assert index["seq"] == log.head.seq and index["hash"] == log.head.hash
