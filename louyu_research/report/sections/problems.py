"""存在问题与建议: the problems the quarter's figures show, each with a suggestion, chosen by
the rules of `report.findings` (a problem appears only when its figure crosses its
threshold). Tenants are only ever counted."""

from __future__ import annotations

from louyu_research.report import findings as fd
from louyu_research.report.inputs import ReportInputs

from . import words
from .common import Section, pct, points
from .summary import THRESHOLDS, numbered


def sentence(problem: fd.Finding, lang: str) -> str:
    """One problem and its suggestion, with its figures."""
    f = problem.fields
    rule = problem.rule
    if rule == "streets_behind":
        worst = words.text("list.names", lang).join(
            words.text("problems.street", lang, street=w["street"], value=pct(w["occupancy_rate"]))
            for w in f["worst"]
        )
        said = words.text(
            "problems.streets_behind",
            lang,
            streets=f["streets"],
            of=f["of"],
            target=pct(f["target"]),
            gap=points(f["gap"], lang, signed=False),
            worst=worst,
        )
    elif rule == "vacancy":
        said = words.text(
            "problems.vacancy",
            lang,
            buildings=f["buildings"],
            area=f["vacant_area"],
            share=pct(f["share"]),
        )
    elif rule == "at_risk":
        said = words.text(
            "problems.at_risk",
            lang,
            tenants=f["tenants"],
            streets=f["streets"],
            street=f["top_street"],
            top=f["top_tenants"],
        )
    elif rule == "low_output":
        said = words.text(
            "problems.low_output", lang, buildings=f["buildings"], area=f["rentable_area"]
        )
    elif rule == "late_data":
        said = words.text(
            "problems.late_data",
            lang,
            previous=f["previous"],
            events=f["events"],
            amount=f["amount"],
            share=pct(f["share"], 2),
        )
    else:
        raise ValueError(f"no sentence for problem {rule!r}")
    return words.text(
        "problems.item", lang, problem=said, advice=words.text(f"advice.{rule}", lang)
    )


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    found = fd.problems(inputs, THRESHOLDS)
    items = [sentence(p, lang) for p in found]
    blocks = (numbered(items),) if items else (words.text("problems.none", lang),)
    return Section("problems", lang, edition, words.text("problems.heading", lang), blocks)
