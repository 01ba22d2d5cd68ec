"""A revised edition opens with what changed against the published one (nothing otherwise)."""

from __future__ import annotations

from louyu_research.report.inputs import ReportInputs
from louyu_research.report.tables import Column, Table

from . import words
from .common import Section, month_fields


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    if inputs.revision is None:
        return Section("revision", lang, edition, "", ())
    frame = inputs.revision.with_columns(words.plan_labels(lang).alias("indicator_label"))
    table = Table(
        "revision",
        words.text("revision.table", lang),
        frame,
        (
            Column("indicator_label", words.label("indicator", lang)),
            Column(
                "published", words.text("revision.published", lang), "mixed", percent_if="is_rate"
            ),
            Column("revised", words.text("revision.revised", lang), "mixed", percent_if="is_rate"),
            Column(
                "difference", words.label("difference", lang), "mixed_delta", percent_if="is_rate"
            ),
        ),
        sheet=words.text("revision.sheet", lang),
    )
    text = words.text(
        "revision.text",
        lang,
        seq=inputs.seq,
        published_seq=inputs.published_seq,
        **month_fields(inputs),
    )
    return Section("revision", lang, edition, words.text("revision.heading", lang), (text, table))
