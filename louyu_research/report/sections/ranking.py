"""The street ranking (街道动态排名通报) of the quarter's last month, under 四、片区与街道."""

from __future__ import annotations

import polars as pl

from louyu_research.indicators.figures import RANKING_METHOD_EN, RANKING_METHOD_ZH
from louyu_research.report import charts as ch
from louyu_research.report.inputs import ReportInputs
from louyu_research.report.tables import Column, Table

from . import words
from .common import Section


def section(inputs: ReportInputs, lang: str, edition: str) -> Section:
    month = str(inputs.month)
    rk = inputs.ranking.filter(pl.col("month") == month).sort("composite_rank", "street")
    label = words.label
    method = RANKING_METHOD_ZH if words.check_lang(lang) == "zh" else RANKING_METHOD_EN
    table = Table(
        "street_ranking",
        words.text("ranking.table", lang, month=month),
        rk,
        (
            Column("composite_rank", label("composite_rank", lang), "int"),
            Column("street", label("street", lang)),
            Column("reporting_area", label("reporting_area", lang)),
            Column("occupancy_rank", label("occupancy_rank", lang), "int"),
            Column("registration_rank", label("registration_rank", lang), "int"),
            Column("tax_contribution_rank", label("tax_contribution_rank", lang), "int"),
            Column("composite_score", label("composite_score", lang), "num", decimals=1),
            Column("previous_rank", label("previous_rank", lang), "int"),
            Column("rank_change", label("rank_change", lang), "signed_int"),
        ),
        notes=(method,),
        sheet=words.text("ranking.sheet", lang),
    )
    scores = rk.select("street", "composite_score").sort(
        ["composite_score", "street"], descending=[True, False]
    )
    fig = ch.Figure(
        "street_ranking",
        ch.bar_chart(
            scores,
            category="street",
            value="composite_score",
            title=words.text("ranking.chart", lang),
            value_title="",
        ),
    )
    text = words.text(
        "ranking.text",
        lang,
        month=month,
        top=words.text("list.names", lang).join(rk.head(3).get_column("street").to_list()),
        up=rk.filter(pl.col("rank_change") > 0).height,
        down=rk.filter(pl.col("rank_change") < 0).height,
    )
    return Section("ranking", lang, edition, "", (text, table, fig))
