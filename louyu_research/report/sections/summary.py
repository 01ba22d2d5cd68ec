"""核心结论: three to five findings of the quarter, each a sentence with its figures, chosen by
the rules of `report.findings` (a finding appears only when its figure crosses its
threshold)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from louyu_research.report import findings as fd
from louyu_research.report.inputs import ReportInputs

from . import words
from .common import Section, fmt_value, month_fields, pct, points

#: The summary's thresholds (the method section writes them out).
THRESHOLDS = fd.Thresholds()


def _join(parts: list[str], lang: str) -> str:
    return words.text("list.names", lang).join(parts)


def _targets(f: Mapping[str, Any], lang: str, year: int) -> str:
    def name(item: Mapping[str, Any]) -> str:
        return words.plan_label(item["indicator"], lang)

    def value(item: Mapping[str, Any], key: str = "value") -> str:
        return fmt_value(item["indicator"], item[key])

    def pace(item: Mapping[str, Any], key: str) -> str:
        v = item[key]
        return points(v, lang) if item["is_rate"] else f"{v:+.1f}"

    parts = [
        words.text(
            "summary.targets.lead",
            lang,
            year=year,
            of=f["of"],
            met=len(f["met"]),
            names=_join([f"{name(i)} {value(i)}" for i in f["met"]], lang)
            or words.text("summary.none", lang),
        )
    ]
    for item in f["behind"]:
        if item["pace_needed"] is None:
            parts.append(
                words.text(
                    "summary.targets.missed",
                    lang,
                    name=name(item),
                    value=value(item),
                    target=value(item, "target"),
                )
            )
        else:
            parts.append(
                words.text(
                    "summary.targets.behind",
                    lang,
                    name=name(item),
                    value=value(item),
                    target=value(item, "target"),
                    needed=pace(item, "pace_needed"),
                    now=pace(item, "pace_now"),
                )
            )
    for item in f["on_pace"]:
        parts.append(
            words.text(
                "summary.targets.on_pace",
                lang,
                name=name(item),
                value=value(item),
                target=value(item, "target"),
            )
        )
    return words.text("list.separator", lang).join(parts) + words.text("list.end", lang)


def sentence(finding: fd.Finding, inputs: ReportInputs, lang: str) -> str:
    """One finding as a sentence with its figures."""
    f = finding.fields
    sep = words.text("list.separator", lang)
    if finding.rule == "targets":
        return _targets(f, lang, inputs.month.year)
    if finding.rule == "street_movers":
        parts = []
        for key in ("up", "down"):
            if f[key]:
                parts.append(
                    words.text(
                        f"summary.street_movers.{key}",
                        lang,
                        street=f[key]["street"],
                        places=abs(f[key]["change"]),
                        rank=f[key]["composite_rank"],
                    )
                )
        return words.text(
            "summary.street_movers",
            lang,
            moved=f["moved"],
            n=THRESHOLDS.mover_ranks,
            items=sep.join(parts),
        )
    if finding.rule == "area_movers":
        parts = [
            words.text(
                f"summary.area_movers.{key}",
                lang,
                area=f[key]["reporting_area"],
                change=points(abs(f[key]["chg_q"]), lang, signed=False),
                value=pct(f[key]["now"]),
            )
            for key in ("up", "down")
            if f[key]
        ]
        return words.text("summary.area_movers", lang, items=sep.join(parts))
    if finding.rule == "new_supply":
        chg = f["vacancy_chg_q"]
        return words.text(
            "summary.new_supply",
            lang,
            supply=f["new_supply_m2"],
            share=pct(f["share"], 2),
            absorption=f["net_absorption_m2"],
            absorbed=pct(f["absorbed"], 0),
            vacancy=pct(f["vacancy"]),
            change=points(chg, lang) if chg is not None else "—",
        )
    if finding.rule == "tax_concentration":
        chg = f["chg_y"]
        return words.text(
            "summary.tax_concentration",
            lang,
            share=pct(f["share"]),
            change=points(chg, lang) if chg is not None else "—",
        )
    if finding.rule == "revisions":
        return words.text(
            "summary.revisions",
            lang,
            previous=f["previous"],
            revised=f["revised"],
            name=words.plan_label(f["indicator"], lang),
            published=fmt_value(f["indicator"], f["published"]),
            now=fmt_value(f["indicator"], f["now"]),
        )
    raise ValueError(f"no sentence for finding {finding.rule!r}")


def numbered(items: list[str]) -> str:
    """A Markdown numbered list."""
    return "\n".join(f"{i}. {t}" for i, t in enumerate(items, start=1))


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    found = fd.summary(inputs, THRESHOLDS)
    lead = words.text("summary.lead", lang, n=len(found), **month_fields(inputs))
    items = [sentence(f, inputs, lang) for f in found]
    blocks = (lead, numbered(items)) if items else (lead,)
    return Section("summary", lang, edition, words.text("summary.heading", lang), blocks)
