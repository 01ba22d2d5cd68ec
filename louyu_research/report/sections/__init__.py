"""The quarterly report's sections, in report order (`SECTIONS`).

Each section is a pure function `section(inputs, lang, edition) -> Section` in its own module:
it reads the `ReportInputs` gathered once by `report.inputs.gather`, takes every word from the
words tables (`words_zh.csv`, `words_en.csv`) and every column or indicator name from the
glossary, and applies disclosure control (`report.disclosure`) in the public edition. The
notebook `notebooks/quarterly_report.ipynb` shows them in this order; table and chart files
are named after their tables and charts, so adding a section renames nothing.

Editions: `public` (no tenant names or tenant-level tax; a building's, street's or area's tax
withheld and marked ‡ where the rule says so); `internal` (everything, marked as such on
every page).
"""

from __future__ import annotations

from louyu_research.report.inputs import ReportInputs

from . import (
    appendix,
    cover,
    featured,
    headline,
    industry,
    lists,
    market,
    method,
    places,
    problems,
    quality,
    ranking,
    revision,
    summary,
    trends,
)
from .common import Block, CoverBlock, Section, SectionFn, show

#: The report's sections in the order it shows them.
SECTIONS: list[SectionFn] = [
    cover.section,  # title block
    revision.section,  # a revised edition: what changed against the published one
    summary.section,  # 核心结论: findings chosen by the rules of report.findings
    problems.section,  # 存在问题与建议: the same, for problems, each with a suggestion
    headline.section,  # 一、主要指标完成情况 (and the targets by year)
    trends.section,  # 二、月度走势
    market.section,  # 三、楼宇市场
    places.section,  # 四、片区与街道: reporting areas and streets
    ranking.section,  # … the street ranking
    featured.section,  # 五、专业楼宇、千万元楼
    industry.section,  # … the industry structure
    lists.section,  # 六、盘活资源、低效楼宇与迁出预警
    quality.section,  # 七、数据质量: findings, late data, revisions
    appendix.targets,  # 附录一: every plan year's targets
    appendix.places,  # 附录二: every street and its ranking
    appendix.buildings,  # 附录三: featured and key buildings
    appendix.lists,  # 附录四: vacancy, low-output and at-risk lists
    appendix.market,  # 附录五: the market by quarter, the industry structure
    method.section,  # 附录六、方法与数据来源: rules, definitions, settings, provenance
]


def build(inputs: ReportInputs, lang: str = "zh", edition: str = "public") -> list[Section]:
    """Every section of the report, in order."""
    return [section(inputs, lang, edition) for section in SECTIONS]


__all__ = ["SECTIONS", "Block", "CoverBlock", "Section", "SectionFn", "build", "show"]
