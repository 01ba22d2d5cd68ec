"""The cover: the city's report title, the edition, the plan the report answers to, its scope
and the log position it reads."""

from __future__ import annotations

from typing import Any

from louyu_research import __version__
from louyu_research.report.inputs import ReportInputs

from . import words
from .common import CoverBlock, Section, edition_name, iso, month_fields


def meta(inputs: ReportInputs, lang: str, edition: str) -> dict[str, Any]:
    """What the renderer needs: title, subtitle, banner, footer, the PDF's date (the log
    position's time)."""
    pos = inputs.position
    return {
        "title": inputs.profile.report_title[words.check_lang(lang)],
        "subtitle": words.text(
            "report.subtitle",
            lang,
            quarter=inputs.quarter.title(words.check_lang(lang)),
            edition=edition_name(edition, lang),
        ),
        "lang": lang,
        "edition": edition,
        "banner": words.text("edition.banner", lang) if edition == "internal" else "",
        "footer": words.text(
            "report.footer",
            lang,
            version=__version__,
            seq=pos.get("seq"),
            hash=str(pos.get("hash", ""))[:12],
        ),
        "timestamp": iso(pos.get("recorded_at")),
    }


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    m = meta(inputs, lang, edition)
    city = inputs.profile
    intro = words.text(
        "cover.intro",
        lang,
        plan=city.plan_title[words.check_lang(lang)],
        first_year=city.plan_years[0],
        last_year=city.plan_years[1],
        scope=inputs.settings.scope_min_gross_floor_area_m2,
        seq=inputs.seq,
        **month_fields(inputs),
    )
    return Section("cover", lang, edition, "", (CoverBlock(m["title"], m["subtitle"], intro, m),))
