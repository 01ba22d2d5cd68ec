"""八、方法与数据来源: scope and disclosure rule, definitions (from the glossary), the settings
and the provenance of the figures (log position, package version, edition)."""

from __future__ import annotations

from typing import Any

import polars as pl

from louyu_research import __version__
from louyu_research.core import glossary
from louyu_research.report import findings as fd
from louyu_research.report.inputs import ReportInputs
from louyu_research.report.tables import SUPPRESSED_MARK, Column, Table

from . import words
from .common import Section, edition_name, iso
from .summary import THRESHOLDS

#: The terms the method section defines, in its order.
TERMS = (
    "occupancy_rate",
    "registration_rate",
    "tax_share_ytd",
    "featured_buildings",
    "key_buildings",
    "new_supply_m2",
    "net_absorption_m2",
    "gross_take_up_m2",
    "vacancy_rate",
    "tax_per_m2_ytd",
    "composite_score",
)


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as `a.b` keys, sorted."""
    out: dict[str, Any] = {}
    for k in sorted(record):
        v = record[k]
        if isinstance(v, dict):
            out |= flatten(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def _shown_thresholds(th: dict[str, Any]) -> dict[str, str]:
    """The thresholds as a sentence shows them: points and shares in %, counts as numbers."""
    out = {}
    for k, v in th.items():
        if k.endswith("_pp"):
            out[k] = f"{v * 100:g}"
        elif k.endswith("_share"):
            out[k] = f"{v * 100:g}%"
        else:
            out[k] = f"{v:g}"
    return out


def _definition(column: str, lang: str) -> str:
    try:
        return glossary.definition(column, words.check_lang(lang))
    except KeyError:
        return ""


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    label = words.label
    definitions = pl.DataFrame(
        {
            "item": [label(c, lang) for c in TERMS],
            "definition": [_definition(c, lang) for c in TERMS],
        }
    )
    glossary_title = words.text("glossary.table", lang)
    t_glossary = Table(
        "glossary",
        glossary_title,
        definitions,
        (Column("item", label("item", lang)), Column("definition", label("definition", lang))),
        sheet=glossary_title,
    )
    settings = flatten(inputs.settings.as_record())
    settings_title = words.text("settings.table", lang)
    t_settings = Table(
        "settings",
        settings_title,
        pl.DataFrame(
            {"setting": list(settings), "setting_value": [str(v) for v in settings.values()]}
        ),
        (
            Column("setting", label("setting", lang)),
            Column("setting_value", label("setting_value", lang)),
        ),
        sheet=settings_title,
    )
    pos = inputs.position
    provenance = {
        "seq": str(pos.get("seq")),
        "recorded_at": iso(pos.get("recorded_at")) or "",
        "hash": str(pos.get("hash")),
        "months": f"{inputs.first_month} – {inputs.last_month}",
        "version": f"louyu-research {__version__}",
        "edition": edition_name(edition, lang),
    }
    provenance_title = words.text("provenance.table", lang)
    t_provenance = Table(
        "provenance",
        provenance_title,
        pl.DataFrame(
            {
                "item": [words.text(f"provenance.{k}", lang) for k in provenance],
                "setting_value": list(provenance.values()),
            }
        ),
        (
            Column("item", label("item", lang)),
            Column("setting_value", label("setting_value", lang)),
        ),
        sheet=provenance_title,
    )
    rules_title = words.text("rules.table", lang)
    th = THRESHOLDS.as_record()
    rule_keys = [*fd.SUMMARY_RULES, *fd.PROBLEM_RULES]
    t_rules = Table(
        "finding_rules",
        rules_title,
        pl.DataFrame(
            {
                "item": [words.text(f"rules.{k}.name", lang) for k in rule_keys],
                "definition": [
                    words.text(f"rules.{k}", lang, **_shown_thresholds(th)) for k in rule_keys
                ],
            }
        ),
        (Column("item", label("item", lang)), Column("definition", label("rule", lang))),
        sheet=rules_title,
    )
    s = inputs.settings
    text = words.text(
        "method.text",
        lang,
        scope=s.scope_min_gross_floor_area_m2,
        n=s.disclosure_min_tenants,
        p=f"{s.disclosure_max_dominance:.0%}",
        mark=SUPPRESSED_MARK,
    )
    rules = words.text(
        "rules.text",
        lang,
        findings=THRESHOLDS.max_findings,
        problems=THRESHOLDS.max_problems,
    )
    blocks = (text, rules, t_rules, t_glossary, t_settings, t_provenance)
    return Section("method", lang, edition, words.text("method.heading", lang), blocks)
