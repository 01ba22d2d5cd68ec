"""Intake: the city's real returns (spreadsheets) → event drafts → (on request) the log.

Data flows one way: files → intake → log. Intake reads the catalogue, the log, the replayed
state and the city's profile (divisions, industry codes); it never reads the report. Contract: INTAKE.md.

- `readers`: .xlsx/.xls (calamine) and .csv (UTF-8, GB18030) → sheets of text cells
- `columns`, `cells`, `table`: headers, units and values as people type them → typed rows,
  with every problem of every cell (`issues`: in Chinese and English)
- `roster`, `tax`, `buildings`, `city_tax`: typed rows against the replayed state → drafts
- `change`: content-derived event ids, sources, the change and its summary
- `api`: `plan` (dry run), `append`, `intake`, `write_outputs`
- `templates`: the .xlsx templates the office sends out
- `bench`: one month's returns of the sample city, from files to appended events, timed

```python
from louyu_research.intake import intake
change = intake("roster", ["roster-新兴街道-2019-01.xlsx"], log="events")   # dry run
change.summary, change.drafts
intake("roster", [...], log="events", apply=True)                          # append
```
"""

from __future__ import annotations

from .api import (
    IntakeOptions,
    IntakeUsageError,
    append,
    intake,
    plan,
    read_returns,
    summary_zh,
    write_outputs,
)
from .change import Change
from .issues import IntakeRejected, Issue

__all__ = [
    "Change",
    "IntakeOptions",
    "IntakeRejected",
    "IntakeUsageError",
    "Issue",
    "append",
    "intake",
    "plan",
    "read_returns",
    "summary_zh",
    "write_outputs",
]
