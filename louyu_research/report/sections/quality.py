"""七、数据质量: the replay's findings, data recorded late since the last report, and how the
previous quarter's published figures have been revised since."""

from __future__ import annotations

import polars as pl

from louyu_research.replay.log import FINDING_CODES_ZH
from louyu_research.report.inputs import ReportInputs
from louyu_research.report.tables import Column, Table

from . import words
from .common import Section


def findings_counts(inputs: ReportInputs, lang: str) -> pl.DataFrame:
    """Findings counted by problem (the finding codes, in Chinese words in the zh edition)."""
    fnd = inputs.findings
    code = "code" if "code" in fnd.columns else "problem"
    counts = (
        fnd.group_by(code).agg(pl.len().alias("count")).rename({code: "problem"}).sort("problem")
    )
    if words.check_lang(lang) == "zh" and code == "code":
        counts = counts.with_columns(pl.col("problem").replace(FINDING_CODES_ZH)).sort("problem")
    return counts.with_columns(pl.col("count").cast(pl.Int64))


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    label = words.label
    t_findings = Table(
        "findings",
        words.text("findings.table", lang),
        findings_counts(inputs, lang),
        (Column("problem", label("problem", lang)), Column("count", label("count", lang), "int")),
        sheet=words.text("findings.sheet", lang),
    )
    t_late = Table(
        "late_and_restated",
        words.text("late.table", lang),
        inputs.late.with_columns(words.mapped("kind", "late", lang).alias("kind_label")).sort(
            "order"
        ),
        (
            Column("kind_label", label("kind", lang)),
            Column("events", label("events", lang), "int"),
            Column("amount_yuan", label("amount_yuan", lang), "wan"),
        ),
        sheet=words.text("late.sheet", lang),
    )
    previous = str(inputs.quarter.shift(-1))
    t_revisions = Table(
        "revisions",
        words.text("revisions.table", lang, previous=previous),
        inputs.revisions.with_columns(words.plan_labels(lang).alias("indicator_label")),
        (
            Column("indicator_label", label("indicator", lang)),
            Column("published", label("published", lang), "mixed", percent_if="is_rate"),
            Column("revised", label("revised", lang), "mixed", percent_if="is_rate"),
            Column("difference", label("difference", lang), "mixed_delta", percent_if="is_rate"),
        ),
        sheet=words.text("revisions.sheet", lang),
    )
    cut = inputs.previous_cutoff
    text = words.text(
        "quality.text",
        lang,
        seq=inputs.seq,
        previous_seq=cut.get("seq"),
        how=cut.get("how", ""),
        findings=inputs.findings.height,
    )
    heading = words.text("quality.heading", lang)
    return Section("quality", lang, edition, heading, (text, t_findings, t_late, t_revisions))
