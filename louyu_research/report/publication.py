"""The quarterly report's content (季度分析通报): section frames, disclosure control, text.

The notebook `notebooks/quarterly_report.ipynb` only calls `QuarterlyReport.build(...)` and
shows its sections; everything a reader sees is decided here, as pure functions over the
frames of `indicators` and `lists`, so the notebook, the tests and `louyu report` agree.

Editions: `public` applies disclosure control (no tenant names, no tenant-level tax; a
building's tax is withheld when fewer than `disclosure_min_tenants` tenants pay tax in it or
one tenant pays more than `disclosure_max_dominance` of it, marked ‡); `internal` shows
everything and says so on every page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl

from louyu_research import __version__

from . import charts as ch
from .tables import SUPPRESSED_MARK, Column, Table

Lang = Literal["zh", "en"]
Edition = Literal["public", "internal"]
Block = Any  # Markdown text (str), a Table or a charts.Figure

QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")
INDICATORS = (
    "occupancy_rate",
    "registration_rate",
    "tax_share_ytd",
    "featured_buildings",
    "key_buildings",
)
RATE_INDICATORS = frozenset({"occupancy_rate", "registration_rate", "tax_share_ytd"})


class QuarterError(ValueError):
    """A QUARTER that is malformed or outside the log (one line, never a path)."""


# --- quarters -------------------------------------------------------------------------------


def parse_quarter(text: str) -> tuple[int, int]:
    """`2017Q4` → (2017, 4); anything else is a QuarterError naming the expected form."""
    m = QUARTER_RE.match(text or "")
    if not m:
        shown = text if re.fullmatch(r"[\w-]{0,12}", text or "") else "(not a quarter)"
        raise QuarterError(f"QUARTER must look like 2017Q4 (year, Q, 1-4), got {shown!r}")
    return int(m.group(1)), int(m.group(2))


def quarter_months(quarter: str) -> list[str]:
    year, q = parse_quarter(quarter)
    return [f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]


def quarter_of(month: str) -> str:
    return f"{month[:4]}Q{(int(month[5:7]) - 1) // 3 + 1}"


def shift_quarter(quarter: str, by: int) -> str:
    year, q = parse_quarter(quarter)
    n = year * 4 + (q - 1) + by
    return f"{n // 4}Q{n % 4 + 1}"


def quarters_covered(first_month: str, last_month: str) -> list[str]:
    """Every quarter whose three months lie inside [first_month, last_month]."""
    out, q = [], quarter_of(first_month)
    while quarter_months(q)[0] <= last_month:
        months = quarter_months(q)
        if months[0] >= first_month and months[-1] <= last_month:
            out.append(q)
        q = shift_quarter(q, 1)
    return out


def log_months(log: Any, upto_seq: int | None = None) -> tuple[str, str]:
    """The months a report can speak of: from the first month the log recorded anything
    (opening stock is back-dated to old completion dates, so business dates start earlier)
    to the last business month it holds."""
    from louyu_research.indicators.figures import covered_months

    first, last = covered_months(log, upto_seq=upto_seq)
    recorded = (
        log.scan(upto_seq=upto_seq)
        .select(
            pl.col("recorded_at").min().dt.convert_time_zone("Asia/Shanghai").dt.strftime("%Y-%m")
        )
        .collect()
        .item()
    )
    return max(first, recorded or first), last


def check_quarter(quarter: str, first_month: str, last_month: str) -> str:
    """The quarter, checked well formed and inside the log's months."""
    parse_quarter(quarter)
    covered = quarters_covered(first_month, last_month)
    if quarter not in covered:
        span = f"{covered[0]} to {covered[-1]}" if covered else "none"
        raise QuarterError(f"quarter {quarter} is outside the log (quarters covered: {span})")
    return quarter


# --- words ------------------------------------------------------------------------------------

T: dict[str, dict[str, str]] = {
    "title": {
        "zh": "嘉兴市楼宇经济季度分析通报",
        "en": "Jiaxing Building Economy: Quarterly Report",
    },
    "quarter": {"zh": "{y}年第{q}季度", "en": "{y} Q{q}"},
    "public": {"zh": "公开版", "en": "Public edition"},
    "internal": {"zh": "内部版", "en": "Internal edition"},
    "banner": {
        "zh": "内部版：含企业名称与企业税收，仅限内部使用，不得对外公开",
        "en": "INTERNAL EDITION: contains tenant names and tenant-level tax, not for publication",
    },
    "s1": {"zh": "一、主要指标完成情况", "en": "1. Headline: the plan's five indicators"},
    "s2": {"zh": "二、月度走势", "en": "2. Monthly trends"},
    "s3": {"zh": "三、楼宇市场", "en": "3. Market view"},
    "s4": {
        "zh": "四、片区与街道（动态排名通报）",
        "en": "4. Reporting areas and streets (ranking)",
    },
    "s5": {
        "zh": "五、专业楼宇、千万元楼与产业结构",
        "en": "5. Featured buildings, key buildings, industries",
    },
    "s6": {
        "zh": "六、盘活资源、低效楼宇与迁出预警",
        "en": "6. Vacancy, low output, tenants at risk",
    },
    "s7": {"zh": "七、数据质量", "en": "7. Data quality"},
    "s8": {"zh": "八、方法与数据来源", "en": "8. Method and provenance"},
    "indicator": {"zh": "指标", "en": "Indicator"},
    "value_q": {"zh": "季末值", "en": "Quarter end"},
    "target_y": {"zh": "年度目标", "en": "Target"},
    "gap": {"zh": "差距", "en": "Gap"},
    "met": {"zh": "是否达标", "en": "Met"},
    "pace": {"zh": "每月需提升", "en": "Pace needed / month"},
    "chg_q": {"zh": "较上季度", "en": "vs previous quarter"},
    "chg_y": {"zh": "较上年同期", "en": "vs a year ago"},
    "yes": {"zh": "已达标", "en": "met"},
    "no": {"zh": "未达标", "en": "not met"},
    "suppressed_note": {
        "zh": "‡ 信息保护：纳税企业不足{n}户或单户税收占比超过{p}的楼宇、街道或片区，税收数据不予公开。",
        "en": "‡ Withheld: fewer than {n} tax-paying tenants, or one tenant above {p} of the tax (of a building, street or area).",
    },
}

INDICATOR_LABEL = {
    "occupancy_rate": {"zh": "已建楼宇入驻率", "en": "Occupancy rate"},
    "registration_rate": {"zh": "市场主体注册率", "en": "Registration rate"},
    "tax_share_ytd": {"zh": "楼宇税收占全市税收比例", "en": "Building tax share of city tax (YTD)"},
    "featured_buildings": {"zh": "专业楼宇（幢）", "en": "Featured buildings"},
    "key_buildings": {"zh": "千万元楼（幢）", "en": "Key buildings (≥ ¥10m tax)"},
}

KEY_INDUSTRY_LABEL = {
    "information": {"zh": "信息", "en": "Information"},
    "environment": {"zh": "环保", "en": "Environment"},
    "health": {"zh": "健康", "en": "Health"},
    "fashion": {"zh": "时尚", "en": "Fashion"},
    "tourism": {"zh": "旅游", "en": "Tourism"},
    "finance": {"zh": "金融", "en": "Finance"},
    "ecommerce": {"zh": "电子商务", "en": "E-commerce"},
    "outsourcing": {"zh": "服务外包", "en": "Service outsourcing"},
    "headquarters": {"zh": "总部经济", "en": "Head offices"},
    "other": {"zh": "其他", "en": "Other"},
}
CATEGORY_LABEL = {
    "office": {"zh": "商务写字楼", "en": "Office"},
    "complex": {"zh": "商业综合体", "en": "Complex"},
    "industrial": {"zh": "产业楼宇", "en": "Industrial"},
    "mixed": {"zh": "综合楼宇", "en": "Mixed"},
}
STATUS_LABEL = {
    "both": {"zh": "规则与认定一致", "en": "Both"},
    "rule_only": {"zh": "仅规则认定", "en": "Rule only"},
    "designated_only": {"zh": "仅官方认定", "en": "Designated only"},
}
REASON_LABEL = {
    "rate": {"zh": "空置率高", "en": "Vacancy rate"},
    "area": {"zh": "空置面积大", "en": "Vacant area"},
    "both": {"zh": "两者皆是", "en": "Both"},
}
EXTRA_LABEL = {
    "tax_payers": {"zh": "纳税企业数", "en": "Tax-paying tenants"},
    "top_tenant_share": {"zh": "最大单户占比", "en": "Largest tenant's share"},
    "quarter": {"zh": "季度", "en": "Quarter"},
    "occupied_share": {"zh": "面积占比", "en": "Share of occupied area"},
    "take_up_m2": {"zh": "本季新入驻面积", "en": "New leases this quarter"},
    "at_risk": {"zh": "预警户数", "en": "Tenancies at risk"},
    "shrank_n": {"zh": "缩租户数", "en": "Shrank"},
    "tax_dropped_n": {"zh": "税收下降户数", "en": "Tax fell"},
    "area_change_sum": {"zh": "缩减面积合计", "en": "Area given up"},
    "problem": {"zh": "问题", "en": "Problem"},
    "count": {"zh": "条数", "en": "Count"},
    "kind": {"zh": "类别", "en": "Kind"},
    "events": {"zh": "事件数", "en": "Events"},
    "amount_yuan": {"zh": "涉及金额（万元）", "en": "Amount (10k yuan)"},
    "published": {"zh": "上期通报值", "en": "As published"},
    "revised": {"zh": "现值", "en": "Now"},
    "difference": {"zh": "差异", "en": "Difference"},
    "setting": {"zh": "设置项", "en": "Setting"},
    "setting_value": {"zh": "取值", "en": "Value"},
    "item": {"zh": "项目", "en": "Item"},
    "definition": {"zh": "定义", "en": "Definition"},
    "seq": {"zh": "序号", "en": "Seq"},
    "event_id": {"zh": "事件编号", "en": "Event id"},
    "status_label": {"zh": "认定一致性", "en": "Rule vs designation"},
    "label": {"zh": "名称", "en": "Name"},
}


def t(key: str, lang: Lang, **fmt: Any) -> str:
    text = T[key][lang]
    return text.format(**fmt) if fmt else text


def label(column: str, lang: Lang) -> str:
    """Column label: our own words first, then the package glossary, else the name."""
    if column in EXTRA_LABEL:
        return EXTRA_LABEL[column][lang]
    from louyu_research.core.glossary import label as glossary_label

    try:
        return glossary_label(column, lang)
    except KeyError:
        return column


def _mapped(col: str, mapping: dict[str, dict[str, str]], lang: Lang) -> pl.Expr:
    """Replace codes by their words in `lang` (unknown codes kept)."""
    return pl.col(col).replace_strict({k: v[lang] for k, v in mapping.items()}, default=pl.col(col))


def quarter_title(quarter: str, lang: Lang) -> str:
    y, q = parse_quarter(quarter)
    return t("quarter", lang, y=y, q=q)


def pct(v: float | None, d: int = 1) -> str:
    """A rate as the report prints it (same rule as tables: half-up at d decimals)."""
    if v is None:
        return "—"
    return f"{_round_half_up(v * 100, d):.{d}f}%"


def _round_half_up(x: float, d: int) -> float:
    from decimal import ROUND_HALF_EVEN, Decimal

    # Polars' round (used by the tables) rounds half to even on the float's exact value
    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_EVEN))


def fmt_value(indicator: str, v: float | None) -> str:
    if v is None:
        return "—"
    return pct(v) if indicator in RATE_INDICATORS else f"{round(v):,d}"


# --- disclosure control ---------------------------------------------------------------------


def disclosure(
    tax: pl.DataFrame,
    month: str,
    *,
    min_tenants: int,
    max_dominance: float,
    groups: pl.DataFrame | None = None,
    key: str = "building_id",
) -> pl.DataFrame:
    """Per building (or per `key` of `groups`, a building_id → key map): tax-paying tenants and
    the largest tenant's share of the tax YTD (Jan..M), and whether that tax must be withheld
    in the public edition. Applied to streets and areas too: a street holding one building
    would otherwise publish the very figure withheld for the building."""
    lf = tax.lazy().filter((pl.col("period") >= f"{month[:4]}-01") & (pl.col("period") <= month))
    if groups is not None:
        lf = lf.join(groups.lazy().select("building_id", key).unique(), on="building_id")
    ytd = (
        lf.group_by(key, "tenant_id")
        .agg(pl.col("amount_yuan").sum())
        .filter(pl.col("amount_yuan") > 0)
        .group_by(key)
        .agg(
            pl.len().alias("tax_payers"),
            (pl.col("amount_yuan").max() / pl.col("amount_yuan").sum()).alias("top_tenant_share"),
        )
    )
    return (
        ytd.with_columns(
            (
                (pl.col("tax_payers") < min_tenants) | (pl.col("top_tenant_share") > max_dominance)
            ).alias("tax_suppressed")
        )
        .sort(key)
        .collect()
    )


def with_disclosure(
    frame: pl.DataFrame, control: pl.DataFrame, edition: Edition, key: str = "building_id"
) -> pl.DataFrame:
    """Attach `tax_suppressed` (always false in the internal edition; true in the public one
    when the rule says so, or when the building has no tax-paying tenant but shows tax)."""
    out = frame.join(control.select(key, "tax_suppressed"), on=key, how="left")
    if edition == "internal":
        return out.with_columns(pl.lit(False).alias("tax_suppressed"))
    return out.with_columns(pl.col("tax_suppressed").fill_null(True))


# --- the report -----------------------------------------------------------------------------


@dataclass
class QuarterlyReport:
    """Every frame the report shows for one quarter, read once at one pinned log position."""

    quarter: str
    edition: Edition
    lang: Lang
    log_path: Path
    position: dict[str, Any]
    settings: Any
    first_month: str
    last_month: str
    city: pl.DataFrame  # city figures, every month since the log starts
    areas: pl.DataFrame  # reporting-area figures of the quarter's last month
    streets: pl.DataFrame  # street figures of the quarter's last month and the month before
    buildings: pl.DataFrame  # building figures of the quarter's last month
    panel: pl.DataFrame
    tax: pl.DataFrame
    targets: pl.DataFrame  # track_targets of every plan year
    ranking: pl.DataFrame
    lists: dict[str, pl.DataFrame]
    tenancies: pl.DataFrame  # at the quarter's end
    findings: pl.DataFrame
    revisions: pl.DataFrame  # figures of the previous quarter: as published vs now
    late: pl.DataFrame  # late / restated / retracted events since the previous report
    control: pl.DataFrame  # disclosure control per building
    previous_cutoff: dict[str, Any] = field(default_factory=dict)
    # a revised edition (issue 7): this quarter's figures as published vs at the head
    published_seq: int | None = None
    revision: pl.DataFrame | None = None

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        quarter: str,
        log: str | Path = "events",
        *,
        upto_seq: int | None = None,
        edition: Edition = "public",
        lang: Lang = "zh",
        settings: Any = None,
        published_seq: int | None = None,
        previous: dict[str, Any] | None = None,
    ) -> QuarterlyReport:
        """Read the log once at a pinned position (HEAD when `upto_seq` is None).

        `published_seq`: build a revised edition, which shows what changed against the
        edition published from that log position. `previous`: where the previous quarter's
        report read the log (`previous_cutoff`), pinned by the manifest so a rebuild agrees.
        """
        from louyu_research.city.reference import load_targets
        from louyu_research.city.settings import Settings
        from louyu_research.indicators import figures as ind
        from louyu_research.indicators import lists as li
        from louyu_research.replay.log import open_log

        if edition not in ("public", "internal"):
            raise ValueError(f"edition must be public or internal, got {edition!r}")
        if lang not in ("zh", "en"):
            raise ValueError(f"lang must be zh or en, got {lang!r}")
        s = settings or Settings()
        lg = open_log(log)
        seq = upto_seq if upto_seq is not None else lg.head.seq
        first, last = log_months(lg, seq)
        check_quarter(quarter, first, last)
        month = quarter_months(quarter)[-1]
        prev_month = ind.shift_month(month, -1)
        trend_months = ind.month_range(ind.shift_month(first, 1), month)
        inp = ind.read_inputs(lg, trend_months, upto_seq=seq, settings=s)
        common = {"tax": inp.tax, "city_tax": inp.city_tax, "settings": s}
        city = ind.figures(inp.panel, level="city", months=trend_months, **common)
        areas = ind.figures(inp.panel, level="reporting_area", months=[month], **common)
        streets = ind.figures(inp.panel, level="street", months=[prev_month, month], **common)
        buildings = ind.figures(inp.panel, level="building", months=[month], **common)
        targets = ind.track_targets(city, load_targets())
        ranking = ind.rank_streets(streets, s)
        sheet = li.building_sheet(buildings, inp.panel, month)
        now = lg.replay(ind.month_end(month), settings=s, upto_seq=seq)
        before = lg.replay(
            ind.month_end(ind.shift_month(month, -s.at_risk_window_months)),
            settings=s,
            upto_seq=seq,
        )
        lists = {
            "key": li.key_buildings(sheet, s),
            "vacancy": li.vacancy_list(sheet, s),
            "low_output": li.low_output_list(sheet, s),
            "featured": li.featured_list(sheet, s),
            "at_risk": li.tenants_at_risk(
                sheet, now.tenancies, before.tenancies, inp.tax, month, s
            ),
        }
        control = disclosure(
            inp.tax,
            month,
            min_tenants=s.disclosure_min_tenants,
            max_dominance=s.disclosure_max_dominance,
        )
        cutoff = previous or previous_cutoff(lg, quarter, seq)
        prev_q_month = quarter_months(shift_quarter(quarter, -1))[-1]
        revisions = _revisions(lg, prev_q_month, cutoff.get("seq"), seq, s)
        revision = _revisions(lg, month, published_seq, seq, s) if published_seq else None
        late = late_and_restated(lg.scan(upto_seq=seq), quarter, cutoff.get("seq"), lang)
        return cls(
            quarter=quarter,
            edition=edition,
            lang=lang,
            log_path=Path(log),
            position=dict(inp.position),
            settings=s,
            first_month=first,
            last_month=last,
            city=city,
            areas=areas,
            streets=streets,
            buildings=buildings,
            panel=inp.panel,
            tax=inp.tax,
            targets=targets,
            ranking=ranking,
            lists=lists,
            tenancies=now.tenancies,
            findings=now.findings,
            revisions=revisions,
            late=late,
            control=control,
            previous_cutoff=cutoff,
            published_seq=published_seq,
            revision=revision,
        )

    @property
    def month(self) -> str:
        return quarter_months(self.quarter)[-1]

    @property
    def year(self) -> int:
        return int(self.month[:4])

    def _l(self, column: str) -> str:
        return label(column, self.lang)

    def _zh(self) -> bool:
        return self.lang == "zh"

    # -- blocks -----------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        """What the renderer needs: title, banner, footer, the PDF's date (log position)."""
        lang = self.lang
        sub = f"{quarter_title(self.quarter, lang)} · {t(self.edition, lang)}"
        seq = self.position.get("seq")
        footer = (
            f"louyu-research {__version__} · {'日志位置' if self._zh() else 'log position'} seq {seq}"
            f" · {self.position.get('hash', '')[:12]}"
        )
        ts = self.position.get("recorded_at")
        return {
            "title": t("title", lang),
            "subtitle": sub,
            "lang": lang,
            "edition": self.edition,
            "banner": t("banner", lang) if self.edition == "internal" else "",
            "footer": footer,
            "timestamp": _iso(ts),
        }

    def cover(self) -> list[Block]:
        m = self.meta()
        seq = self.position.get("seq")
        if self._zh():
            intro = (
                f"本通报依据《嘉兴市促进楼宇经济提质发展三年行动计划(2015~2017)》“对照年度目标，实行楼宇经济形势"
                f"季度分析通报”的要求编制，统计口径为独栋1000平方米以上已建楼宇。数据截至"
                f"{self.month[:4]}年{int(self.month[5:]):d}月末，依据事件日志第 {seq} 条记录。"
            )
        else:
            intro = (
                "This report follows the 2015–2017 action plan's call for a quarterly analysis against "
                "the year's targets. Scope: completed standalone buildings of at least 1,000 m². "
                f"Figures at the end of {self.month}, from the event log up to seq {seq}."
            )
        return [CoverBlock(m["title"], m["subtitle"], intro, m), *self.revision_section()]

    def revision_section(self) -> list[Block]:
        """A revised edition says first what changed against the published one."""
        if self.revision is None:
            return []
        lang = self.lang
        rev = self.revision.with_columns(
            _mapped("indicator", INDICATOR_LABEL, lang).alias("indicator_label")
        )
        if self._zh():
            head = "## 修订说明"
            text = (
                f"本版为修订版：依据事件日志第 {self.position.get('seq')} 条记录重新编制；已发布版本依据第 "
                f"{self.published_seq} 条记录。下表列出{self.month[:4]}年{int(self.month[5:]):d}月末五项指标的变化。"
            )
        else:
            head = "## Revision"
            text = (
                f"This is a revised edition, built from the log up to seq {self.position.get('seq')}; the "
                f"published edition read it up to seq {self.published_seq}. The five plan figures at the "
                f"end of {self.month}, as published and as revised:"
            )
        table = Table(
            "revision",
            "与已发布版本的差异" if self._zh() else "Changes against the published edition",
            rev,
            (
                Column("indicator_label", t("indicator", lang)),
                Column(
                    "published",
                    "已发布值" if self._zh() else "Published",
                    "mixed",
                    percent_if="is_rate",
                ),
                Column(
                    "revised", "修订值" if self._zh() else "Revised", "mixed", percent_if="is_rate"
                ),
                Column("difference", self._l("difference"), "mixed_delta", percent_if="is_rate"),
            ),
            sheet="修订" if self._zh() else "Revision",
        )
        return [head, text, table]

    # 1 headline ------------------------------------------------------------------------------

    def headline_frame(self) -> pl.DataFrame:
        """The five indicators at quarter end against the year's target, with the changes on
        the previous quarter's end and a year before (same month of the previous year)."""
        months = {
            "now": self.month,
            "prev_q": quarter_months(shift_quarter(self.quarter, -1))[-1],
            "prev_y": f"{self.year - 1}-{self.month[5:]}",
        }
        long = self.city.select("month", *INDICATORS).unpivot(
            index="month", variable_name="indicator", value_name="value"
        )
        at = {
            k: long.filter(pl.col("month") == m).select("indicator", pl.col("value").alias(k))
            for k, m in months.items()
        }
        tgt = self.targets.filter(pl.col("year") == self.year).select(
            "indicator", "target", "comparison", "pace_needed_per_month", "months_left"
        )
        order = pl.DataFrame({"indicator": list(INDICATORS), "order": list(range(len(INDICATORS)))})
        frame = order.join(at["now"], on="indicator", how="left")
        for k in ("prev_q", "prev_y"):
            frame = frame.join(at[k], on="indicator", how="left")
        frame = frame.join(tgt, on="indicator", how="left").with_columns(
            (pl.col("now") - pl.col("target")).alias("gap"),
            pl.when(pl.col("target").is_null())
            .then(None)
            .when(pl.col("comparison") == "<=")
            .then(pl.col("now") <= pl.col("target"))
            .otherwise(pl.col("now") >= pl.col("target"))
            .alias("met"),
            (pl.col("now") - pl.col("prev_q")).alias("chg_q"),
            (pl.col("now") - pl.col("prev_y")).alias("chg_y"),
            pl.col("indicator").is_in(list(RATE_INDICATORS)).alias("is_rate"),
        )
        # the pace needed from the quarter's end to December (straight line), 0 when met
        left = 12 - int(self.month[5:])
        frame = frame.with_columns(
            pl.when(pl.col("met"))
            .then(0.0)
            .when(pl.lit(left) > 0)
            .then((pl.col("target") - pl.col("now")) / left)
            .otherwise(None)
            .alias("pace")
        )
        return frame.sort("order")

    def headline(self) -> list[Block]:
        lang = self.lang
        f = self.headline_frame()
        rows = f.to_dicts()
        words = []
        for r in rows:
            name = INDICATOR_LABEL[r["indicator"]][lang]
            v = fmt_value(r["indicator"], r["now"])
            tv = fmt_value(r["indicator"], r["target"])
            if self._zh():
                state = "已达到" if r["met"] else "尚未达到"
                words.append(f"{name} **{v}**，{state}年度目标 {tv}")
            else:
                state = "meets" if r["met"] else "is short of"
                words.append(f"{name} **{v}** {state} the target of {tv}")
        met_n = sum(1 for r in rows if r["met"])
        if self._zh():
            lead = (
                f"截至{self.year}年{int(self.month[5:])}月末，五项目标中已完成 {met_n} 项："
                + "；".join(words)
                + "。"
            )
        else:
            lead = (
                f"At the end of {self.month}, {met_n} of the five targets are met: "
                + "; ".join(words)
                + "."
            )
        shown = f.with_columns(
            _mapped("indicator", INDICATOR_LABEL, lang).alias("indicator_label"),
            pl.when(pl.col("met").is_null())
            .then(None)
            .when(pl.col("met"))
            .then(pl.lit(t("yes", lang)))
            .otherwise(pl.lit(t("no", lang)))
            .alias("met_label"),
        )
        cols = (
            Column("indicator_label", t("indicator", lang)),
            Column("now", t("value_q", lang), "mixed", percent_if="is_rate"),
            Column("target", t("target_y", lang), "mixed", percent_if="is_rate"),
            Column("gap", t("gap", lang), "mixed_delta", percent_if="is_rate"),
            Column("met_label", t("met", lang)),
            Column("pace", t("pace", lang), "mixed_delta", percent_if="is_rate"),
            Column("chg_q", t("chg_q", lang), "mixed_delta", percent_if="is_rate"),
            Column("chg_y", t("chg_y", lang), "mixed_delta", percent_if="is_rate"),
        )
        note = (
            "差距、较上季度、较上年同期：比率类为百分点（pp），数量类为幢。每月需提升：自季末至年末按直线进度达到目标所需的月均增量。"
            if self._zh()
            else "Gaps and changes: percentage points for rates, buildings for counts. Pace: the straight-line "
            "monthly change from the quarter's end that reaches the target by December."
        )
        table = Table(
            "headline",
            t("s1", lang)[2:] if self._zh() else "Headline",
            shown,
            cols,
            notes=(note,),
            sheet="主要指标" if self._zh() else "Headline",
        )
        year_tbl = self._targets_table()
        return [f"## {t('s1', lang)}", lead, table, year_tbl]

    def _targets_table(self) -> Table:
        lang = self.lang
        f = (
            self.targets.with_columns(
                _mapped("indicator", INDICATOR_LABEL, lang).alias("indicator_label"),
                pl.col("indicator").is_in(list(RATE_INDICATORS)).alias("is_rate"),
                pl.when(pl.col("met").is_null())
                .then(None)
                .when(pl.col("met"))
                .then(pl.lit(t("yes", lang)))
                .otherwise(pl.lit(t("no", lang)))
                .alias("met_label"),
                pl.col("year").cast(pl.Int64),
            )
            .join(
                pl.DataFrame({"indicator": list(INDICATORS), "order": list(range(5))}),
                on="indicator",
            )
            .sort("year", "order")
        )
        cols = (
            Column("year", self._l("year"), "text_int"),
            Column("indicator_label", t("indicator", lang)),
            Column("month", self._l("month")),
            Column("value", self._l("value"), "mixed", percent_if="is_rate"),
            Column("target", self._l("target"), "mixed", percent_if="is_rate"),
            Column("gap", self._l("gap"), "mixed_delta", percent_if="is_rate"),
            Column("met_label", self._l("met")),
        )
        title = "历年目标完成情况" if self._zh() else "Targets by year"
        return Table("targets", title, f, cols, sheet=title)

    # 2 trends --------------------------------------------------------------------------------

    def trends(self) -> list[Block]:
        lang = self.lang
        rates = ["occupancy_rate", "registration_rate"]
        long = self.city.select(
            "month", *rates, "tax_share_ytd", "featured_buildings", "key_buildings"
        ).with_columns(pl.col("month").str.to_date("%Y-%m").alias("date"))
        target_rows = self.targets.select(pl.col("year").cast(pl.Int64), "indicator", "target")
        months = long.select("date", pl.col("date").dt.year().cast(pl.Int64).alias("year"))

        def series(cols: Sequence[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
            data = (
                long.select("date", *cols)
                .unpivot(index="date", variable_name="indicator", value_name="value")
                .with_columns(_mapped("indicator", INDICATOR_LABEL, lang).alias("series"))
                .drop_nulls("value")
                .sort("indicator", "date")
            )
            tg = (
                months.join(target_rows.filter(pl.col("indicator").is_in(list(cols))), on="year")
                .with_columns(_mapped("indicator", INDICATOR_LABEL, lang).alias("series"))
                .sort("indicator", "date")
            )
            return data, tg

        d1, t1 = series(rates)
        d2, t2 = series(["tax_share_ytd"])
        d3, t3 = series(["featured_buildings", "key_buildings"])
        ttl = {
            "zh": (
                "入驻率与注册率（虚线为年度目标）",
                "楼宇税收占全市税收比例（年累计）",
                "专业楼宇与千万元楼数量",
            ),
            "en": (
                "Occupancy and registration (dashed: targets)",
                "Building tax share of city tax (YTD)",
                "Featured and key buildings",
            ),
        }[lang]
        figs = [
            ch.Figure(
                "trend_rates",
                ch.trend_chart(
                    d1, x="date", y="value", series="series", title=ttl[0], y_title="", targets=t1
                ),
            ),
            ch.Figure(
                "trend_tax_share",
                ch.trend_chart(
                    d2, x="date", y="value", series="series", title=ttl[1], y_title="", targets=t2
                ),
            ),
            ch.Figure(
                "trend_counts",
                ch.trend_chart(
                    d3,
                    x="date",
                    y="value",
                    series="series",
                    title=ttl[2],
                    y_title="",
                    targets=t3,
                    percent=False,
                ),
            ),
        ]
        last = self.city.filter(pl.col("month") == self.month).row(0, named=True)
        first = self.city.row(0, named=True)
        if self._zh():
            text = (
                f"自{first['month']}以来，全市楼宇入驻率由 {pct(first['occupancy_rate'])} 变为 "
                f"{pct(last['occupancy_rate'])}，市场主体注册率由 {pct(first['registration_rate'])} 变为 "
                f"{pct(last['registration_rate'])}。税收占比为年累计口径，每年1月重新起算。"
            )
        else:
            text = (
                f"Since {first['month']} occupancy moved from {pct(first['occupancy_rate'])} to "
                f"{pct(last['occupancy_rate'])} and registration from {pct(first['registration_rate'])} to "
                f"{pct(last['registration_rate'])}. The tax share is year to date and restarts each January."
            )
        return [f"## {t('s2', lang)}", text, *figs]

    # 3 market --------------------------------------------------------------------------------

    def market_frame(self) -> pl.DataFrame:
        """By quarter: new supply, net absorption, gross take-up (sums of the months) and the
        vacancy rate at the quarter's last month (complete quarters up to this one)."""
        c = self.city.with_columns(
            (
                pl.col("month").str.slice(0, 4)
                + "Q"
                + ((pl.col("month").str.slice(5, 2).cast(pl.Int32) - 1) // 3 + 1).cast(pl.String)
            ).alias("quarter")
        )
        q = (
            c.group_by("quarter")
            .agg(
                pl.len().alias("months"),
                pl.col("new_supply_m2").sum(),
                pl.col("net_absorption_m2").sum(),
                pl.col("gross_take_up_m2").sum(),
                pl.col("vacant_area_m2").sort_by("month").last(),
                pl.col("rentable_area_m2").sort_by("month").last(),
            )
            .filter(pl.col("months") == 3)
            .with_columns(
                (pl.col("vacant_area_m2") / pl.col("rentable_area_m2")).alias("vacancy_rate")
            )
            .sort("quarter")
        )
        return q.filter(pl.col("quarter") <= self.quarter).drop("months")

    def market(self) -> list[Block]:
        lang = self.lang
        q = self.market_frame()
        names = {
            "new_supply_m2": label("new_supply_m2", lang),
            "net_absorption_m2": label("net_absorption_m2", lang),
        }
        long = (
            q.select("quarter", "new_supply_m2", "net_absorption_m2", "vacancy_rate")
            .unpivot(
                index=["quarter", "vacancy_rate"],
                on=["new_supply_m2", "net_absorption_m2"],
                variable_name="measure_code",
                value_name="area",
            )
            .with_columns(pl.col("measure_code").replace_strict(names).alias("measure"))
            .sort("quarter", "measure_code")
        )
        fig = ch.Figure(
            "market_supply_absorption",
            ch.market_chart(
                long,
                period="quarter",
                measure="measure",
                value="area",
                line="vacancy_rate",
                title="新增供应、净吸纳量与空置率（按季度）"
                if self._zh()
                else "New supply, net absorption and vacancy by quarter",
                bars_title="㎡",
                line_title=label("vacancy_rate", lang),
            ),
        )
        take = ch.Figure(
            "market_take_up",
            ch.bar_chart(
                q.sort("quarter").with_columns(pl.lit(label("gross_take_up_m2", lang)).alias("s")),
                category="quarter",
                value="gross_take_up_m2",
                title="总吸纳量（迁入与扩租面积，按季度）"
                if self._zh()
                else "Gross take-up by quarter",
                value_title="㎡",
            ),
        )
        ind = self.leasing_by_industry()
        lease = ch.Figure(
            "leasing_by_industry",
            ch.bar_chart(
                ind,
                category="industry_label",
                value="take_up_m2",
                title="本季度新入驻面积（按重点产业）"
                if self._zh()
                else "New leases this quarter by key industry",
                value_title="㎡",
            ),
        )
        cols = (
            Column("quarter", self._l("quarter")),
            Column("new_supply_m2", self._l("new_supply_m2"), "area"),
            Column("net_absorption_m2", self._l("net_absorption_m2"), "area"),
            Column("gross_take_up_m2", self._l("gross_take_up_m2"), "area"),
            Column("vacant_area_m2", self._l("vacant_area_m2"), "area"),
            Column("vacancy_rate", self._l("vacancy_rate"), "pct"),
        )
        title = "楼宇市场（按季度）" if self._zh() else "Market by quarter"
        tbl = Table("market", title, q.sort("quarter"), cols, sheet=title)
        cur = q.filter(pl.col("quarter") == self.quarter).to_dicts()
        text = ""
        if cur:
            r = cur[0]
            if self._zh():
                text = (
                    f"本季度新增供应 {r['new_supply_m2']:,.0f} ㎡，净吸纳量 {r['net_absorption_m2']:,.0f} ㎡，"
                    f"总吸纳量 {r['gross_take_up_m2']:,.0f} ㎡，季末空置率 {pct(r['vacancy_rate'])}。"
                )
            else:
                text = (
                    f"This quarter: new supply {r['new_supply_m2']:,.0f} m², net absorption "
                    f"{r['net_absorption_m2']:,.0f} m², gross take-up {r['gross_take_up_m2']:,.0f} m², "
                    f"vacancy at the quarter's end {pct(r['vacancy_rate'])}."
                )
        return [f"## {t('s3', lang)}", text, fig, take, lease, tbl]

    def leasing_by_industry(self) -> pl.DataFrame:
        """Area of tenancies that started in the quarter and are in place at its end, in
        in-scope buildings, by key industry (largest first)."""
        months = quarter_months(self.quarter)
        start = date(int(months[0][:4]), int(months[0][5:]), 1)
        scope = self.buildings.filter(pl.col("in_scope")).select("building_id")
        ten = self.tenancies.join(scope, on="building_id", how="semi")
        since = "since" if "since" in ten.columns else "moved_in_on"
        out = (
            ten.filter(pl.col(since) >= start)
            .with_columns(pl.col("key_industry").fill_null("other"))
            .group_by("key_industry")
            .agg(pl.col("area_m2").sum().alias("take_up_m2"))
        )
        return out.with_columns(
            _mapped("key_industry", KEY_INDUSTRY_LABEL, self.lang).alias("industry_label")
        ).sort(["take_up_m2", "key_industry"], descending=[True, False])

    # 4 areas and streets ---------------------------------------------------------------------

    def places(self) -> list[Block]:
        lang = self.lang
        fig_cols = (
            Column("buildings", self._l("buildings"), "int"),
            Column("rentable_area_m2", self._l("rentable_area_m2"), "area"),
            Column("occupancy_rate", self._l("occupancy_rate"), "pct"),
            Column("registration_rate", self._l("registration_rate"), "pct"),
            Column(
                "tax_yuan_ytd",
                self._l("tax_yuan_ytd") + ("（万元）" if self._zh() else " (10k yuan)"),
                "wan",
            ),
            Column("tax_share_ytd", self._l("tax_share_ytd"), "pct"),
        )
        withheld = {"tax_yuan_ytd": "tax_suppressed", "tax_share_ytd": "tax_suppressed"}
        notes = (self._suppression_note(),) if self.edition == "public" else ()
        areas = self._level_disclosure(self.areas, "reporting_area").sort("reporting_area")
        t_areas = Table(
            "reporting_areas",
            "统计片区" if self._zh() else "Reporting areas",
            areas,
            (Column("reporting_area", self._l("reporting_area")), *fig_cols),
            sheet="统计片区" if self._zh() else "Reporting areas",
            notes=notes,
            suppressed=withheld,
        )
        streets = self._level_disclosure(
            self.streets.filter(pl.col("month") == self.month), "street"
        ).sort("reporting_area", "street")
        t_streets = Table(
            "streets",
            "街道（镇）" if self._zh() else "Streets",
            streets,
            (
                Column("reporting_area", self._l("reporting_area")),
                Column("street", self._l("street")),
                *fig_cols,
            ),
            sheet="街道" if self._zh() else "Streets",
            notes=notes,
            suppressed=withheld,
        )
        rk = self.ranking.filter(pl.col("month") == self.month).sort("composite_rank", "street")
        t_rank = Table(
            "street_ranking",
            f"{self.month} 街道动态排名" if self._zh() else f"Street ranking, {self.month}",
            rk,
            (
                Column("composite_rank", self._l("composite_rank"), "int"),
                Column("street", self._l("street")),
                Column("reporting_area", self._l("reporting_area")),
                Column("occupancy_rank", self._l("occupancy_rank"), "int"),
                Column("registration_rank", self._l("registration_rank"), "int"),
                Column("tax_contribution_rank", self._l("tax_contribution_rank"), "int"),
                Column("composite_score", self._l("composite_score"), "num", decimals=1),
                Column("previous_rank", self._l("previous_rank"), "int"),
                Column("rank_change", self._l("rank_change"), "signed_int"),
            ),
            notes=(self.ranking_method(),),
            sheet="街道排名" if self._zh() else "Ranking",
        )
        chart_frame = rk.select("street", "composite_score").sort(
            ["composite_score", "street"], descending=[True, False]
        )
        fig = ch.Figure(
            "street_ranking",
            ch.bar_chart(
                chart_frame,
                category="street",
                value="composite_score",
                title="街道综合得分" if self._zh() else "Streets' composite score",
                value_title="",
            ),
        )
        up = rk.filter(pl.col("rank_change") > 0).height
        down = rk.filter(pl.col("rank_change") < 0).height
        top = rk.head(3).get_column("street").to_list()
        if self._zh():
            text = f"{self.month} 综合排名前三位：{'、'.join(top)}；与上月相比，{up} 个街道名次上升，{down} 个下降。"
        else:
            text = f"Top three in {self.month}: {', '.join(top)}; against last month {up} streets moved up, {down} down."
        return [f"## {t('s4', lang)}", t_areas, t_streets, text, t_rank, fig]

    def _level_disclosure(self, frame: pl.DataFrame, key: str) -> pl.DataFrame:
        """The disclosure rule applied to a street's or area's tax (its tenants as contributors)."""
        groups = self.buildings.filter(pl.col("in_scope")).select("building_id", key)
        control = disclosure(
            self.tax,
            self.month,
            min_tenants=self.settings.disclosure_min_tenants,
            max_dominance=self.settings.disclosure_max_dominance,
            groups=groups,
            key=key,
        )
        return with_disclosure(frame, control, self.edition, key=key)

    def ranking_method(self) -> str:
        from louyu_research.indicators.figures import RANKING_METHOD_EN, RANKING_METHOD_ZH

        return RANKING_METHOD_ZH if self._zh() else RANKING_METHOD_EN

    # 5 featured, key, industries -------------------------------------------------------------

    def _suppression_note(self) -> str:
        s = self.settings
        return t(
            "suppressed_note",
            self.lang,
            n=s.disclosure_min_tenants,
            p=f"{s.disclosure_max_dominance:.0%}",
        )

    def featured_key(self) -> list[Block]:
        lang = self.lang
        feat = (
            self.lists["featured"]
            .with_columns(
                _mapped("featured_status", STATUS_LABEL, lang).alias("status_label"),
                _mapped("leading_industry", KEY_INDUSTRY_LABEL, lang).alias("leading_industry"),
            )
            .sort("street", "building_id")
        )
        t_feat = Table(
            "featured_buildings",
            "专业楼宇（规则认定与官方认定）"
            if self._zh()
            else "Featured buildings (rule vs designated)",
            feat,
            (
                Column("name", self._l("name")),
                Column("street", self._l("street")),
                Column("tenancies", self._l("tenancies"), "int"),
                Column("leading_industry", self._l("leading_industry")),
                Column("leading_area_share", self._l("leading_area_share"), "pct"),
                Column("leading_tenancy_share", self._l("leading_tenancy_share"), "pct"),
                Column("status_label", self._l("status_label")),
            ),
            sheet="专业楼宇" if self._zh() else "Featured",
        )
        key = with_disclosure(self.lists["key"], self.control, self.edition).sort(
            "tax_rank", "building_id"
        )
        t_key = Table(
            "key_buildings",
            "千万元楼（税收年累计超千万元）" if self._zh() else "Key buildings (tax YTD ≥ ¥10m)",
            key,
            (
                Column("tax_rank", self._l("tax_rank"), "int"),
                Column("name", self._l("name")),
                Column("street", self._l("street")),
                Column("tenancies", self._l("tenancies"), "int"),
                Column(
                    "tax_yuan_ytd",
                    self._l("tax_yuan_ytd") + ("（万元）" if self._zh() else " (10k yuan)"),
                    "wan",
                ),
                Column("tax_per_m2_ytd", self._l("tax_per_m2_ytd"), "yuan"),
            ),
            notes=(self._suppression_note(),) if self.edition == "public" else (),
            suppressed={"tax_yuan_ytd": "tax_suppressed", "tax_per_m2_ytd": "tax_suppressed"},
            sheet="千万元楼" if self._zh() else "Key buildings",
        )
        struct = self.industry_structure()
        t_ind = Table(
            "industry_structure",
            "产业结构（季末入驻面积）" if self._zh() else "Industry structure (occupied area)",
            struct,
            (
                Column("industry_label", self._l("key_industry")),
                Column("tenancies", self._l("tenancies"), "int"),
                Column("area_m2", self._l("occupied_area_m2"), "area"),
                Column("occupied_share", self._l("occupied_share"), "pct"),
            ),
            sheet="产业结构" if self._zh() else "Industries",
        )
        fig = ch.Figure(
            "industry_structure",
            ch.bar_chart(
                struct,
                category="industry_label",
                value="occupied_share",
                percent=True,
                title="重点产业入驻面积占比"
                if self._zh()
                else "Key industries' share of occupied area",
                value_title="",
            ),
        )
        f_n = feat.filter(pl.col("featured_rule")).height
        d_n = feat.filter(pl.col("featured_designated")).height
        both = feat.filter(pl.col("featured_status") == "both").height
        if self._zh():
            text = (
                f"按规则认定的专业楼宇 {f_n} 幢，官方认定特色楼宇 {d_n} 幢，两者一致 {both} 幢；"
                f"税收超千万元的重点楼宇 {key.height} 幢。"
            )
        else:
            text = (
                f"{f_n} buildings are featured by the rule, {d_n} are officially designated, {both} both; "
                f"{key.height} buildings pay ≥ ¥10m tax this year."
            )
        return [f"## {t('s5', lang)}", text, t_feat, t_key, fig, t_ind]

    def industry_structure(self) -> pl.DataFrame:
        scope = self.buildings.filter(pl.col("in_scope")).select("building_id")
        ten = self.tenancies.join(scope, on="building_id", how="semi").with_columns(
            pl.col("key_industry").fill_null("other")
        )
        total = ten.get_column("area_m2").sum()
        out = ten.group_by("key_industry").agg(pl.len().alias("tenancies"), pl.col("area_m2").sum())
        return out.with_columns(
            (pl.col("area_m2") / total if total else pl.lit(None, pl.Float64)).alias(
                "occupied_share"
            ),
            _mapped("key_industry", KEY_INDUSTRY_LABEL, self.lang).alias("industry_label"),
            pl.col("tenancies").cast(pl.Int64),
        ).sort(["area_m2", "key_industry"], descending=[True, False])

    # 6 lists ---------------------------------------------------------------------------------

    def lists_section(self) -> list[Block]:
        lang = self.lang
        vac = (
            self.lists["vacancy"]
            .with_columns(
                _mapped("category", CATEGORY_LABEL, lang).alias("category"),
                _mapped("vacancy_reason", REASON_LABEL, lang).alias("vacancy_reason"),
                _mapped("leading_industry", KEY_INDUSTRY_LABEL, lang).alias("leading_industry"),
            )
            .sort(["vacant_area_m2", "building_id"], descending=[True, False])
        )
        t_vac = Table(
            "vacancy_list",
            "“盘活一批”楼宇资源库" if self._zh() else "Vacancy resource list (盘活)",
            vac,
            (
                Column("name", self._l("name")),
                Column("street", self._l("street")),
                Column("category", self._l("category")),
                Column("rentable_area_m2", self._l("rentable_area_m2"), "area"),
                Column("vacant_area_m2", self._l("vacant_area_m2"), "area"),
                Column("vacancy_rate", self._l("vacancy_rate"), "pct"),
                Column("leading_industry", self._l("leading_industry")),
                Column("vacancy_reason", self._l("vacancy_reason")),
            ),
            sheet="盘活资源库" if self._zh() else "Vacancy",
        )
        low = (
            with_disclosure(self.lists["low_output"], self.control, self.edition)
            .with_columns(_mapped("category", CATEGORY_LABEL, lang).alias("category"))
            .sort("category", "category_rank", "building_id")
        )
        t_low = Table(
            "low_output_list",
            "低效楼宇（“退低进高”）" if self._zh() else "Low-output buildings",
            low,
            (
                Column("name", self._l("name")),
                Column("street", self._l("street")),
                Column("category", self._l("category")),
                Column("age_years", self._l("age_years"), "int"),
                Column("rentable_area_m2", self._l("rentable_area_m2"), "area"),
                Column("tax_per_m2_ytd", self._l("tax_per_m2_ytd"), "yuan"),
                Column("category_rank", self._l("category_rank"), "int"),
                Column("category_buildings", self._l("category_buildings"), "int"),
            ),
            notes=(self._suppression_note(),) if self.edition == "public" else (),
            suppressed={"tax_per_m2_ytd": "tax_suppressed"},
            sheet="低效楼宇" if self._zh() else "Low output",
        )
        risk = self.lists["at_risk"]
        if self.edition == "internal":
            shown = risk.with_columns(
                _mapped("key_industry", KEY_INDUSTRY_LABEL, lang).alias("key_industry")
            ).sort(
                ["tax_previous_window_yuan", "tenant_id", "building_id"],
                descending=[True, False, False],
            )
            t_risk = Table(
                "tenants_at_risk",
                "迁出预警企业（内部）" if self._zh() else "Tenants at risk (internal)",
                shown,
                (
                    Column("tenant_name", self._l("tenant_name")),
                    Column("building_name", self._l("building_name")),
                    Column("street", self._l("street")),
                    Column("key_industry", self._l("key_industry")),
                    Column("area_m2", self._l("area_m2"), "area"),
                    Column("area_change_m2", self._l("area_change_m2"), "area"),
                    Column("tax_last_window_yuan", self._l("tax_last_window_yuan"), "yuan"),
                    Column("tax_previous_window_yuan", self._l("tax_previous_window_yuan"), "yuan"),
                    Column("tax_change_rate", self._l("tax_change_rate"), "pct"),
                ),
                sheet="迁出预警" if self._zh() else "At risk",
            )
        else:
            t_risk = Table(
                "tenants_at_risk",
                "迁出预警（按街道汇总，不含企业信息）"
                if self._zh()
                else "Tenants at risk by street (no tenant data)",
                at_risk_by_street(risk),
                (
                    Column("reporting_area", self._l("reporting_area")),
                    Column("street", self._l("street")),
                    Column("at_risk", self._l("at_risk"), "int"),
                    Column("shrank_n", self._l("shrank_n"), "int"),
                    Column("tax_dropped_n", self._l("tax_dropped_n"), "int"),
                    Column("area_change_sum", self._l("area_change_sum"), "area"),
                ),
                sheet="迁出预警" if self._zh() else "At risk",
            )
        if self._zh():
            text = (
                f"列入“盘活一批”资源库的楼宇 {vac.height} 幢，空置面积合计 "
                f"{vac.get_column('vacant_area_m2').sum():,.0f} ㎡；低效楼宇 {low.height} 幢；"
                f"迁出预警企业 {risk.height} 户。"
            )
        else:
            text = (
                f"{vac.height} buildings on the vacancy list ({vac.get_column('vacant_area_m2').sum():,.0f} m² vacant); "
                f"{low.height} low-output buildings; {risk.height} tenancies at risk."
            )
        return [f"## {t('s6', lang)}", text, t_vac, t_low, t_risk]

    # 7 data quality --------------------------------------------------------------------------

    def data_quality(self) -> list[Block]:
        lang = self.lang
        fnd = self.findings
        code = "code" if "code" in fnd.columns else "problem"
        counts = (
            fnd.group_by(code)
            .agg(pl.len().alias("count"))
            .rename({code: "problem"})
            .sort("problem")
        )
        if self._zh() and code == "code":  # the finding codes, in the readers' words
            from louyu_research.replay.log import FINDING_CODES_ZH

            counts = counts.with_columns(pl.col("problem").replace(FINDING_CODES_ZH)).sort(
                "problem"
            )
        t_f = Table(
            "findings",
            "回放发现的数据问题" if self._zh() else "Findings of the replay",
            counts.with_columns(pl.col("count").cast(pl.Int64)),
            (Column("problem", self._l("problem")), Column("count", self._l("count"), "int")),
            sheet="数据问题" if self._zh() else "Findings",
        )
        t_late = Table(
            "late_and_restated",
            "上期通报后补报、更正与撤回的数据"
            if self._zh()
            else "Late, restated and retracted data since the last report",
            self.late,
            (
                Column("kind_label", self._l("kind")),
                Column("events", self._l("events"), "int"),
                Column("amount_yuan", self._l("amount_yuan"), "wan"),
            ),
            sheet="补报与更正" if self._zh() else "Late data",
        )
        rev = self.revisions.with_columns(
            _mapped("indicator", INDICATOR_LABEL, lang).alias("indicator_label")
        )
        t_rev = Table(
            "revisions",
            (
                f"上期（{shift_quarter(self.quarter, -1)}）通报数据的修订"
                if self._zh()
                else f"Revisions of the previous quarter ({shift_quarter(self.quarter, -1)})"
            ),
            rev,
            (
                Column("indicator_label", t("indicator", lang)),
                Column("published", self._l("published"), "mixed", percent_if="is_rate"),
                Column("revised", self._l("revised"), "mixed", percent_if="is_rate"),
                Column("difference", self._l("difference"), "mixed_delta", percent_if="is_rate"),
            ),
            sheet="数据修订" if self._zh() else "Revisions",
        )
        cut = self.previous_cutoff
        if self._zh():
            text = (
                f"本期数据依据事件日志第 {self.position.get('seq')} 条记录；上期通报口径为第 {cut.get('seq')} 条"
                f"（{cut.get('how', '')}）。回放共发现 {fnd.height} 条数据问题（已按规则处理，未计入或已更正）。"
            )
        else:
            text = (
                f"This report reads the log up to seq {self.position.get('seq')}; the previous report up to seq "
                f"{cut.get('seq')} ({cut.get('how', '')}). The replay noted {fnd.height} findings."
            )
        return [f"## {t('s7', lang)}", text, t_f, t_late, t_rev]

    # 8 method --------------------------------------------------------------------------------

    def method(self) -> list[Block]:
        from louyu_research.core.glossary import definition

        lang = self.lang
        terms = [
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
        ]
        gl = pl.DataFrame(
            {
                "item": [label(c, lang) for c in terms],
                "definition": [_safe_definition(definition, c, lang) for c in terms],
            }
        )
        t_gl = Table(
            "glossary",
            "指标定义" if self._zh() else "Definitions",
            gl,
            (Column("item", self._l("item")), Column("definition", self._l("definition"))),
            sheet="指标定义" if self._zh() else "Definitions",
        )
        settings = _flatten(self.settings.as_record())
        t_set = Table(
            "settings",
            "参数设置" if self._zh() else "Settings",
            pl.DataFrame(
                {"setting": list(settings), "setting_value": [str(v) for v in settings.values()]}
            ),
            (
                Column("setting", self._l("setting")),
                Column("setting_value", self._l("setting_value")),
            ),
            sheet="参数设置" if self._zh() else "Settings",
        )
        pos = self.position
        prov = {
            ("日志位置（seq）" if self._zh() else "Log position (seq)"): str(pos.get("seq")),
            ("记录时间" if self._zh() else "Recorded at"): _iso(pos.get("recorded_at")) or "",
            ("链哈希" if self._zh() else "Chain hash"): str(pos.get("hash")),
            (
                "日志覆盖月份" if self._zh() else "Months in the log"
            ): f"{self.first_month} – {self.last_month}",
            ("软件版本" if self._zh() else "Package version"): f"louyu-research {__version__}",
            ("版本" if self._zh() else "Edition"): t(self.edition, lang),
        }
        t_prov = Table(
            "provenance",
            "数据来源" if self._zh() else "Provenance",
            pl.DataFrame({"item": list(prov), "setting_value": list(prov.values())}),
            (Column("item", self._l("item")), Column("setting_value", self._l("setting_value"))),
            sheet="数据来源" if self._zh() else "Provenance",
        )
        if self._zh():
            text = (
                "口径：独栋、建筑面积1000平方米以上的已建楼宇纳入统计；比率类指标在各层级均为“合计之比”。"
                "公开版对企业信息进行保护：不披露企业名称和企业税收；楼宇纳税企业不足"
                f"{self.settings.disclosure_min_tenants}户或单户税收占比超过"
                f"{self.settings.disclosure_max_dominance:.0%}时，不披露该楼宇税收（以 {SUPPRESSED_MARK} 标注）。"
            )
        else:
            text = (
                "Scope: completed standalone buildings of at least 1,000 m²; rates at every level are ratios of "
                "sums. The public edition shows no tenant names or tenant-level tax, and withholds a building's "
                f"tax (marked {SUPPRESSED_MARK}) when fewer than {self.settings.disclosure_min_tenants} tenants pay "
                f"tax in it or one pays more than {self.settings.disclosure_max_dominance:.0%} of it."
            )
        return [f"## {t('s8', lang)}", text, t_gl, t_set, t_prov]

    def sections(self) -> list[list[Block]]:
        return [
            self.cover(),
            self.headline(),
            self.trends(),
            self.market(),
            self.places(),
            self.featured_key(),
            self.lists_section(),
            self.data_quality(),
            self.method(),
        ]


# --- helpers over frames ------------------------------------------------------------------------


def at_risk_by_street(risk: pl.DataFrame) -> pl.DataFrame:
    """Tenants at risk counted per street (the public edition: no tenant rows)."""
    return (
        risk.group_by("reporting_area", "street")
        .agg(
            pl.len().cast(pl.Int64).alias("at_risk"),
            pl.col("shrank").sum().cast(pl.Int64).alias("shrank_n"),
            pl.col("tax_dropped").sum().cast(pl.Int64).alias("tax_dropped_n"),
            pl.col("area_change_m2")
            .filter(pl.col("area_change_m2") < 0)
            .sum()
            .alias("area_change_sum"),
        )
        .sort("reporting_area", "street")
    )


LATE_KINDS = {
    "late": {"zh": "补报税收（首次报送晚于上期通报）", "en": "Late tax returns"},
    "restated": {"zh": "更正税收（重报）", "en": "Restated tax"},
    "retracted": {"zh": "撤回事件", "en": "Retracted events"},
    "other": {"zh": "补录的其他事件", "en": "Other late events"},
}


def late_and_restated(
    events: pl.DataFrame | pl.LazyFrame, quarter: str, cutoff_seq: int | None, lang: Lang = "zh"
) -> pl.DataFrame:
    """Events recorded after the previous report's cut-off about business dates on or before
    the previous quarter's end: late tax, restatements (a later report of the same tenant,
    building and period) and retractions; with the tax amounts they carry."""
    prev_end = quarter_months(shift_quarter(quarter, -1))[-1]
    kinds = pl.DataFrame({"kind": list(LATE_KINDS), "order": list(range(len(LATE_KINDS)))})
    if cutoff_seq is None:
        return _late_frame(
            kinds.with_columns(
                pl.lit(0, pl.Int64).alias("events"), pl.lit(0.0).alias("amount_yuan")
            ),
            lang,
        )
    ev = events.lazy()
    tax = ev.filter(pl.col("type") == "TaxReported")
    first_seq = tax.group_by("tenant_id", "building_id", "period").agg(
        pl.col("seq").min().alias("first_seq")
    )
    new = ev.filter(pl.col("seq") > cutoff_seq)
    about_past = pl.col("occurred_on").dt.strftime("%Y-%m") <= prev_end
    tax_new = (
        new.filter(pl.col("type") == "TaxReported")
        .join(first_seq, on=["tenant_id", "building_id", "period"], how="left")
        .filter(pl.col("period") <= prev_end)
        .with_columns(
            pl.when(pl.col("seq") == pl.col("first_seq"))
            .then(pl.lit("late"))
            .otherwise(pl.lit("restated"))
            .alias("kind")
        )
        .select("kind", "amount_yuan")
    )
    other = new.filter((pl.col("type") != "TaxReported") & about_past).select(
        pl.when(pl.col("type") == "EventRetracted")
        .then(pl.lit("retracted"))
        .otherwise(pl.lit("other"))
        .alias("kind"),
        pl.lit(None, pl.Float64).alias("amount_yuan"),
    )
    counts = (
        pl.concat([tax_new.with_columns(pl.col("amount_yuan").cast(pl.Float64)), other])
        .group_by("kind")
        .agg(pl.len().cast(pl.Int64).alias("events"), pl.col("amount_yuan").sum())
        .collect()
    )
    full = kinds.join(counts, on="kind", how="left").with_columns(
        pl.col("events").fill_null(0), pl.col("amount_yuan").fill_null(0.0)
    )
    return _late_frame(full, lang)


def _late_frame(frame: pl.DataFrame, lang: Lang) -> pl.DataFrame:
    return frame.with_columns(_mapped("kind", LATE_KINDS, lang).alias("kind_label")).sort("order")


def publication_cutoff(log: Any, quarter: str, upto_seq: int) -> dict[str, Any]:
    """Where a quarter's report reads the log by convention: what was recorded by the end of
    the month after the quarter, 24:00 Beijing time (a month's returns arrive in the next
    month), within `upto_seq`."""
    last = quarter_months(quarter)[-1]
    y, m = int(last[:4]), int(last[5:])
    # the first day of the second month after the quarter's last month
    y3, m3 = (y + 1, m + 2 - 12) if m + 2 > 12 else (y, m + 2)
    cutoff = datetime.fromisoformat(f"{y3:04d}-{m3:02d}-01T00:00:00+08:00")
    seq = (
        log.scan(upto_seq=upto_seq)
        .filter(pl.col("recorded_at") < cutoff)
        .select(pl.col("seq").max())
        .collect()
        .item()
    )
    return {
        "seq": int(seq) if seq is not None else 0,
        "how": f"recorded before {cutoff.date().isoformat()}",
    }


def previous_cutoff(
    log: Any, quarter: str, upto_seq: int, reports: Path = Path("reports")
) -> dict[str, Any]:
    """Where the previous quarter's report read the log: its manifest's position when one is
    published under reports/, else `publication_cutoff` of the previous quarter."""
    prev = shift_quarter(quarter, -1)
    manifest = reports / prev / "manifest.json"
    if manifest.exists():
        import json

        try:
            pos = json.loads(manifest.read_text("utf-8")).get("log_position", {})
            if isinstance(pos.get("seq"), int):
                return {"seq": min(pos["seq"], upto_seq), "how": f"reports/{prev}/manifest.json"}
        except ValueError:
            pass
    return publication_cutoff(log, prev, upto_seq)


def _revisions(
    log: Any, month: str, published_seq: int | None, seq: int, settings: Any
) -> pl.DataFrame:
    """The five plan figures of `month` as read at `published_seq` (published) and at `seq`."""
    from louyu_research.indicators import figures as ind

    lang_rows = []
    values: dict[str, dict[str, float | None]] = {}
    for key, cut in (("published", published_seq), ("revised", seq)):
        try:
            inp = ind.read_inputs(log, [month], upto_seq=cut, settings=settings)
            city = ind.figures(
                inp.panel,
                tax=inp.tax,
                city_tax=inp.city_tax,
                level="city",
                months=[month],
                settings=settings,
            )
            values[key] = {k: city.get_column(k)[0] for k in INDICATORS} if city.height else {}
        except ind.MonthError:
            values[key] = {}
    for i, k in enumerate(INDICATORS):
        a, b = values["published"].get(k), values["revised"].get(k)
        lang_rows.append({"order": i, "indicator": k, "published": a, "revised": b})
    frame = pl.DataFrame(
        lang_rows,
        schema={
            "order": pl.Int64,
            "indicator": pl.String,
            "published": pl.Float64,
            "revised": pl.Float64,
        },
    )
    return frame.with_columns(
        (pl.col("revised") - pl.col("published")).alias("difference"),
        pl.col("indicator").is_in(list(RATE_INDICATORS)).alias("is_rate"),
    ).sort("order")


def _safe_definition(fn: Any, column: str, lang: Lang) -> str:
    try:
        return str(fn(column, lang))
    except KeyError:
        return ""


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in sorted(record):
        v = record[k]
        if isinstance(v, dict):
            out |= _flatten(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def _iso(ts: Any) -> str | None:
    if ts is None:
        return None
    if isinstance(ts, datetime):
        return ts.isoformat()
    return str(ts)


# --- showing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverBlock:
    """The report's title block; carries the meta the renderer reads (title, banner, date)."""

    title: str
    subtitle: str
    intro: str
    meta: dict[str, Any]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        import html

        h = (
            f'<header class="cover"><h1>{html.escape(self.title)}</h1>'
            f'<p class="subtitle">{html.escape(self.subtitle)}</p>'
            f"<p>{html.escape(self.intro)}</p></header>"
        )
        md = f"{self.intro}\n"
        return {"text/html": h, "text/markdown": md, "text/plain": self.title}, {
            "louyu": {"kind": "meta", "meta": self.meta}
        }


def show(blocks: Iterable[Block]) -> None:
    """Display a section's blocks in a notebook: Markdown text, tables, charts (as SVG)."""
    from IPython.display import Markdown, display

    for b in blocks:
        if isinstance(b, str):
            if b.strip():
                display(Markdown(b))
        else:
            display(b)
