"""The researcher's API: the log's figures, panel and state in one vocabulary, with reasons
for empty figures, helpers for common questions and plain exports.

```python
from louyu_research import open_log
from louyu_research import research as r

log = open_log("events")
f = r.figures(log, "2016-09", "area", recorded_by="2016-10-15")  # a date: end of that day
f.frame, f.reasons                                                   # why a figure is empty
r.export(f, "area-2016-09.dta")                                      # + area-2016-09.dta.provenance.json
```

Levels are `building | street | reporting_area | city` (`area` = `reporting_area`, in the
CLI too); months `YYYY-MM`, a `date` or a `Month`; dates and cut-offs a `date`, a `datetime` or
ISO text. Every column of every frame is in the glossary (`louyu glossary`).
"""

from .checks import (
    OutsideLogWarning,
    UnknownIdError,
    check_as_of,
    check_ids,
    closest,
    notes,
    null_reasons,
)
from .export import FORMATS, ExportError, export, provenance_path
from .helpers import (
    FEATURED_PRESETS,
    SECTIONS,
    Figures,
    featured_preset,
    figures,
    panel,
    plan_list,
    section_names,
    state,
    tax_by_section,
    tenant_history,
    uscc_check_digit,
)

__all__ = [
    "FEATURED_PRESETS",
    "FORMATS",
    "SECTIONS",
    "ExportError",
    "Figures",
    "OutsideLogWarning",
    "UnknownIdError",
    "check_as_of",
    "check_ids",
    "closest",
    "export",
    "featured_preset",
    "figures",
    "notes",
    "null_reasons",
    "panel",
    "plan_list",
    "provenance_path",
    "section_names",
    "state",
    "tax_by_section",
    "tenant_history",
    "uscc_check_digit",
]
