"""The street ranking (街道动态排名通报) of the quarter's last month, under 四、片区与街道: the
five first and the five last with their change on the previous month (arrows); the whole
ranking and its chart are in the appendix (`appendix.places`)."""

from __future__ import annotations

import polars as pl

from louyu_research.indicators.figures import RANKING_METHOD_EN, RANKING_METHOD_ZH
from louyu_research.report import charts as ch
from louyu_research.report.inputs import ReportInputs
from louyu_research.report.tables import Column, Table

from . import words
from .common import Section

#: How many streets the report's body shows at each end of the ranking.
ENDS = 5


def arrows(column: str = "rank_change") -> pl.Expr:
    """A rank change as an arrow: ↑3 (up three places), ↓2, — (unchanged), 新 / new (no rank
    last month)."""
    c = pl.col(column)
    return (
        pl.when(c.is_null())
        .then(pl.lit("new"))
        .when(c > 0)
        .then(pl.lit("↑") + c.cast(pl.String))
        .when(c < 0)
        .then(pl.lit("↓") + (-c).cast(pl.String))
        .otherwise(pl.lit("—"))
    )


def month_ranking(inputs: ReportInputs) -> pl.DataFrame:
    month = str(inputs.month)
    return inputs.ranking.filter(pl.col("month") == month).sort("composite_rank", "street")


def ranking_columns(lang: str) -> tuple[Column, ...]:
    label = words.label
    return (
        Column("composite_rank", label("composite_rank", lang), "int"),
        Column("street", label("street", lang)),
        Column("reporting_area", label("reporting_area", lang)),
        Column("occupancy_rank", label("occupancy_rank", lang), "int"),
        Column("registration_rank", label("registration_rank", lang), "int"),
        Column("tax_contribution_rank", label("tax_contribution_rank", lang), "int"),
        Column("composite_score", label("composite_score", lang), "num", decimals=1),
        Column("previous_rank", label("previous_rank", lang), "int"),
        Column("change_arrow", label("rank_change", lang)),
    )


def method_note(lang: str) -> str:
    return RANKING_METHOD_ZH if words.check_lang(lang) == "zh" else RANKING_METHOD_EN


def with_arrows(frame: pl.DataFrame, lang: str) -> pl.DataFrame:
    shown = arrows().replace({"new": words.text("ranking.new", lang)})
    return frame.with_columns(shown.alias("change_arrow"))


def full_table(inputs: ReportInputs, lang: str) -> Table:
    """Every street's ranking of the month."""
    rk = with_arrows(month_ranking(inputs), lang)
    return Table(
        "street_ranking",
        words.text("ranking.table", lang, month=str(inputs.month)),
        rk,
        ranking_columns(lang),
        notes=(method_note(lang),),
        sheet=words.text("ranking.sheet", lang),
    )


def ranking_chart(inputs: ReportInputs, lang: str) -> ch.Figure:
    """Composite scores of every street, highest first, coloured by reporting area."""
    rk = month_ranking(inputs)
    scores = rk.select("street", "reporting_area", "composite_score").sort(
        ["composite_score", "street"], descending=[True, False]
    )
    top = scores.row(0, named=True) if scores.height else {"street": "—", "composite_score": 0}
    return ch.Figure(
        "street_ranking",
        ch.bar_chart(
            scores,
            category="street",
            value="composite_score",
            color="reporting_area",
            height_per_bar=12,
            title=words.text(
                "ranking.chart",
                lang,
                month=str(inputs.month),
                top=top["street"],
                score=top["composite_score"],
            ),
            value_title=words.text("ranking.chart.axis", lang),
        ),
    )


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    month = str(inputs.month)
    rk = with_arrows(month_ranking(inputs), lang)
    ends = (
        rk
        if rk.height <= 2 * ENDS
        else pl.concat([rk.head(ENDS), rk.tail(ENDS)], how="vertical_relaxed")
    )
    table = Table(
        "street_ranking_ends",
        words.text("ranking.ends", lang, month=month, n=ENDS),
        ends,
        ranking_columns(lang),
        notes=(words.text("ranking.ends.note", lang),),
        sheet=words.text("ranking.ends.sheet", lang),
    )
    moved = rk.drop_nulls("rank_change")
    up = moved.sort(["rank_change", "street"], descending=[True, False]).head(1).to_dicts()
    text = words.text(
        "ranking.text",
        lang,
        month=month,
        top=words.text("list.names", lang).join(rk.head(3).get_column("street").to_list()),
        up=rk.filter(pl.col("rank_change") > 0).height,
        down=rk.filter(pl.col("rank_change") < 0).height,
    )
    if up and up[0]["rank_change"] > 0:
        text += words.text(
            "ranking.text.mover",
            lang,
            street=up[0]["street"],
            places=up[0]["rank_change"],
            rank=up[0]["composite_rank"],
        )
    return Section("ranking", lang, edition, "", (text, table))
