"""A writer process for the concurrency and crash tests: appends batches, prints each one it got acknowledged.

Usage: python writer_proc.py LOG WRITER BATCHES SIZE
Each batch registers SIZE buildings `W{writer}-{batch}-{i}`; after `append` returns the
process prints `ACK {batch}` and flushes, so the parent knows exactly what was acknowledged.
"""

import os
import signal
import sys

from louyu_research.log.store import EventLog


def die_at_fsync(n: int) -> None:
    """SIGKILL this process at its n-th fsync: a crash at an exact point of the write protocol."""
    real, calls = os.fsync, [0]

    def fsync(fd: int) -> None:
        calls[0] += 1
        if calls[0] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        real(fd)

    os.fsync = fsync


def main() -> None:
    if "LOUYU_TEST_DIE_AT_FSYNC" in os.environ:
        die_at_fsync(int(os.environ["LOUYU_TEST_DIE_AT_FSYNC"]))
    path, writer, batches, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    log = EventLog(path)
    for b in range(batches):
        drafts = [
            {
                "event_id": f"W{writer}-{b}-{i}",
                "type": "BuildingRegistered",
                "occurred_on": "2016-01-01",
                "data": {
                    "building_id": f"W{writer}-{b}-{i}",
                    "name": f"写字楼{writer}-{b}-{i}" + "号" * 40,
                    "district": "南湖区",
                    "street": "新兴街道",
                    "gross_floor_area_m2": 1000 + i,
                    "rentable_area_m2": 900 + i,
                    "category": "office",
                    "standalone": True,
                    "status": "completed",
                },
            }
            for i in range(size)
        ]
        log.append(drafts)
        print(f"ACK {b}", flush=True)


if __name__ == "__main__":
    main()
