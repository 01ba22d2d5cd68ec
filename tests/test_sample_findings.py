"""The shipped sample's README lists its data-quality findings; a replay must report exactly those.

The table in events/README.md ("Deliberate data-quality findings") has one column per replay date
(✓ where the finding is reported); this test parses it and replays the shipped log at every one
of those dates, so the README and the replay cannot drift apart.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from louyu_research.replay.log import FINDING_CODES_ZH, open_log

EVENTS = Path(__file__).resolve().parents[1] / "events"


def readme_table() -> tuple[list[date], set[tuple[date, int, str, str]]]:
    """(the table's dates, {(date, seq, event_id, code)} marked ✓) from events/README.md."""
    text = (EVENTS / "README.md").read_text("utf-8")
    section = text.split("## Deliberate data-quality findings")[1].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[:3] == ["seq", "event_id", "code"] and header[-1] == "problem", header
    days = [date.fromisoformat(h) for h in header[3:-1]]
    marked = set()
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        seq, eid, code, marks = int(cells[0]), cells[1].strip("`"), cells[2], cells[3:-1]
        assert len(marks) == len(days), line
        assert set(marks) <= {"✓", "–"}, line
        marked |= {(d, seq, eid, code) for d, m in zip(days, marks, strict=True) if m == "✓"}
    return days, marked


@pytest.mark.skipif(not (EVENTS / "HEAD").exists(), reason="no shipped sample")
def test_readme_lists_exactly_the_findings_of_the_replay() -> None:
    days, listed = readme_table()
    assert len(days) >= 3 and len(listed) >= 7
    log = open_log(EVENTS)
    found = set()
    for d in days:
        for seq, eid, code in log.replay(d).findings.select("seq", "event_id", "code").iter_rows():
            found.add((d, seq, eid, code))
    assert found == listed
    assert {code for _, _, _, code in found} <= set(FINDING_CODES_ZH)
    # the planted tax of a departed tenant is among them (the sample's planted problems)
    assert {(153392, "tax_inactive"), (157942, "tax_inactive")} <= {
        (seq, code) for _, seq, _, code in found
    }
