"""The plan's monthly figures at every level, target tracking and the street ranking.

Pure functions over frames: the BuildingMonth panel (`replay.Log.panel`), the tax frame
(tenant × building × period, restatements and retractions applied) and the city tax frame.
`figures_from_log` is the I/O edge that pins them to a log position.

Choices (INDICATORS.md leaves them open; the glossary repeats them for readers):

* Scope: a building counts in month M when the panel says `in_scope` at M's last day.
  Every stock and flow of month M (areas, tenancies, tax, moves, take-up, featured, key)
  is summed over buildings in scope at M's end; a building out of scope contributes 0.
* Levels: building → street → reporting area → city. A building belongs to the street it
  is in at the end of M (the panel row of M), and that street's reporting area comes from the
  divisions table; so flows of a month (tax, moves) count in the street the building was in
  at the end of the month they happened, and no building counts twice.
* Rates at aggregate levels are ratios of sums, null when the denominator is 0:
  occupancy = occupied ÷ rentable, registration = registered ÷ tenancies,
  tax per m² = tax YTD ÷ rentable, tax share = tax YTD ÷ city total tax YTD.
* `vacant_area_m2` = rentable − occupied (not clipped, so occupied + vacant = rentable).
* Sums are rounded to 1e-4 m² and to the fen (a float sum depends on the order of addition,
  which a group-by does not fix), so every figure is the same on every run.
* `tax_share_ytd`: the denominator is Σ `CityTaxReported` without district over Jan..M of
  M's year; it is null when any of those months has no city total (a partial denominator
  would overstate the share). At street and area level it is the level's share of the city.
* `top10_tax_share`: tenants' tax YTD (Jan..M) summed per `tenant_id` over the level's
  in-scope buildings; the ten largest ÷ the level's total; null when the total is ≤ 0.
* `new_supply_m2`: rentable area of buildings that entered scope in M by completing in M.
  `withdrawn_m2`: rentable area (at M−1's end) of buildings in scope at M−1's end that
  retired in M (demolitions, conversions, mergers).
* `net_absorption_m2`: occupied area at M's end − at M−1's end over the buildings in scope at
  both ends; a building completed in M enters as vacant space (its occupied area at M's end is
  absorption) and a building retired in M leaves as vacant space (its occupied area at
  M−1's end is negative absorption), so that, when scope changes only by completion and
  retirement and no rentable area is re-measured, net absorption = vacant at start +
  new supply − withdrawn − vacant at end exactly. A building entering or leaving scope for
  another reason (re-measured below the threshold, no longer standalone) is excluded.
  Building-level rows therefore include buildings retired in M (`in_scope` false): they
  carry only their withdrawal and absorption, so building rows sum to every level.
* Featured (rule): in scope, ≥ `min_tenants` tenancies, a leading key industry, and its share
  ≥ threshold on any / all of the chosen measures (area, tenancies, tax YTD). A share that is
  null (e.g. tax YTD 0) fails its measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import polars as pl

from louyu_research.city.profile import City, default_city
from louyu_research.city.reference import street_areas
from louyu_research.city.settings import FeaturedRule, Settings
from louyu_research.core.instants import DateLike, cut_off
from louyu_research.core.periods import Month, MonthError, MonthLike

Level = Literal["building", "street", "reporting_area", "city"]
LEVELS: tuple[Level, ...] = ("building", "street", "reporting_area", "city")
#: Every accepted spelling of a level (API and CLI alike: `area` is `reporting_area`) → level.
LEVEL_ALIASES: dict[str, Level] = {
    "building": "building",
    "street": "street",
    "area": "reporting_area",
    "reporting_area": "reporting_area",
    "city": "city",
}
LEVEL_KEYS: dict[Level, tuple[str, ...]] = {
    "building": ("building_id", "name", "street", "district", "reporting_area"),
    "street": ("street", "district", "reporting_area"),
    "reporting_area": ("reporting_area",),
    "city": (),
}

COUNT_COLUMNS = (
    "buildings",
    "tenancies",
    "registered_tenancies",
    "featured_buildings",
    "designated_buildings",
    "key_buildings",
    "move_ins",
    "move_outs",
)
SUM_COLUMNS = (
    "rentable_area_m2",
    "occupied_area_m2",
    "vacant_area_m2",
    "tax_yuan",
    "tax_yuan_ytd",
    "new_supply_m2",
    "withdrawn_m2",
    "net_absorption_m2",
    "gross_take_up_m2",
)
#: The plan's five target indicators (INDICATORS.md), in the plan's order.
PLAN_INDICATORS = (
    "occupancy_rate",
    "registration_rate",
    "tax_share_ytd",
    "featured_buildings",
    "key_buildings",
)
#: The figure columns of every level, in output order (INDICATORS.md names + withdrawn_m2).
FIGURE_COLUMNS = (
    "buildings",
    "rentable_area_m2",
    "occupied_area_m2",
    "vacant_area_m2",
    "occupancy_rate",
    "tenancies",
    "registered_tenancies",
    "registration_rate",
    "tax_yuan",
    "tax_yuan_ytd",
    "city_tax_yuan_ytd",
    "tax_share_ytd",
    "tax_per_m2_ytd",
    "featured_buildings",
    "designated_buildings",
    "key_buildings",
    "move_ins",
    "move_outs",
    "top10_tax_share",
    "new_supply_m2",
    "withdrawn_m2",
    "net_absorption_m2",
    "gross_take_up_m2",
)


# --- months ---------------------------------------------------------------------------------
# Frames carry months as `YYYY-MM` text (it sorts like the months); these helpers work on that
# text through the one `Month` value type, so the format has one definition (`core.periods`).


class LevelError(ValueError):
    """A level that is none of building, street, reporting_area (area) or city."""


def parse_level(value: str) -> Level:
    """A level from any accepted spelling (`LEVEL_ALIASES`: `area` = `reporting_area`)."""
    if value not in LEVEL_ALIASES:
        raise LevelError(
            f"unknown level {value!r} (building, street, reporting_area (or area), city)"
        )
    return LEVEL_ALIASES[value]


def parse_month(value: MonthLike) -> str:
    """A month checked (`YYYY-MM`, a `date` or a `Month`), as the text frames carry."""
    return str(Month.parse(value))


def shift_month(month: MonthLike, by: int) -> str:
    """`month` moved by `by` months (negative: earlier)."""
    return str(Month.parse(month).shift(by))


def month_range(start: MonthLike, end: MonthLike) -> list[str]:
    """Every month from start to end inclusive."""
    return [str(m) for m in Month.range(start, end)]


def month_end(month: MonthLike) -> date:
    """The last day of a month."""
    return Month.parse(month).last_day


# --- building level -------------------------------------------------------------------------


def featured_expr(rule: FeaturedRule) -> pl.Expr:
    """The featured rule as a boolean expression over panel columns (in scope not included)."""
    share = {
        "area": "leading_area_share",
        "tenancies": "leading_tenancy_share",
        "tax": "leading_tax_share_ytd",
    }
    checks = [pl.col(share[m]).fill_null(-1.0) >= rule.threshold for m in rule.measures]
    combined = pl.any_horizontal(checks) if rule.rule == "any" else pl.all_horizontal(checks)
    return (
        (pl.col("tenancies") >= rule.min_tenants)
        & pl.col("leading_industry").is_not_null()
        & combined
    )


def city_tax_ytd(city_tax: pl.DataFrame, months: Sequence[str]) -> pl.DataFrame:
    """month → city total tax Jan..M (`city_tax_yuan_ytd`), null when a month is missing."""
    totals = (
        city_tax.lazy()
        .filter(pl.col("district").is_null())
        .group_by("period")
        .agg(pl.col("amount_yuan").sum())
    )
    wanted = pl.LazyFrame({"month": list(months)}, schema={"month": pl.String}).with_columns(
        pl.col("month").str.slice(0, 4).alias("year")
    )
    ytd = (
        wanted.join(totals.with_columns(pl.col("period").str.slice(0, 4).alias("year")), on="year")
        .filter(pl.col("period") <= pl.col("month"))
        .group_by("month")
        .agg(pl.col("amount_yuan").sum().alias("total"), pl.col("period").n_unique().alias("n"))
    )
    return (
        wanted.join(ytd, on="month", how="left")
        .select(
            "month",
            pl.when(pl.col("n") == pl.col("month").str.slice(5, 2).cast(pl.Int64))
            .then(pl.col("total").round(2))
            .otherwise(None)
            .cast(pl.Float64)
            .alias("city_tax_yuan_ytd"),
        )
        .sort("month")
        .collect()
    )


def building_figures(
    panel: pl.DataFrame,
    *,
    divisions: pl.DataFrame | None = None,
    settings: Settings | None = None,
    months: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Building-level contributions for each month (rows: in scope at M's end, or retired
    in M while in scope at M−1's end).

    `months` default: every panel month but the first (month M needs M−1's row for net
    absorption and withdrawals). Ratios and `top10_tax_share` are added by `figures`.
    """
    s = settings or Settings()
    divisions = divisions if divisions is not None else default_city().divisions
    all_months = sorted(panel.get_column("month").unique().to_list())
    if months is None:
        months = all_months[1:]
    months = sorted(set(months))
    missing = [m for m in months if m not in all_months or shift_month(m, -1) not in all_months]
    if missing:
        raise MonthError(f"the panel lacks month(s) or their previous month: {', '.join(missing)}")
    p = panel.lazy().with_columns(pl.col("in_scope").fill_null(False))
    prev = p.select(
        "building_id",
        pl.col("month")
        .str.to_date("%Y-%m")
        .dt.offset_by("1mo")
        .dt.strftime("%Y-%m")
        .alias("month"),
        pl.col("in_scope").alias("in_prev"),
        pl.col("rentable_area_m2").alias("rentable_prev"),
        pl.col("occupied_area_m2").alias("occupied_prev"),
    )
    ins = pl.col("in_scope")
    inp = pl.col("in_prev")
    entered = ins & ~inp & pl.col("completed_in_month").fill_null(False)
    left = ~ins & inp & pl.col("retired_in_month").fill_null(False)

    def inside(col: str) -> pl.Expr:
        return pl.when(ins).then(pl.col(col)).otherwise(0)

    frame = (
        p.filter(pl.col("month").is_in(months))
        .join(prev, on=["building_id", "month"], how="left")
        .with_columns(pl.col("in_prev").fill_null(False))
        .filter(ins | left)
        .select(
            "month",
            "building_id",
            "name",
            "street",
            pl.col("category"),
            pl.col("in_scope"),
            ins.cast(pl.Int64).alias("buildings"),
            inside("rentable_area_m2").cast(pl.Float64).alias("rentable_area_m2"),
            inside("occupied_area_m2").cast(pl.Float64).alias("occupied_area_m2"),
            inside("tenancies").cast(pl.Int64).alias("tenancies"),
            inside("registered_tenancies").cast(pl.Int64).alias("registered_tenancies"),
            inside("tax_yuan").cast(pl.Float64).alias("tax_yuan"),
            inside("tax_yuan_ytd").cast(pl.Float64).alias("tax_yuan_ytd"),
            (ins & featured_expr(s.featured)).cast(pl.Int64).alias("featured_buildings"),
            (ins & pl.col("featured_designated").fill_null(False))
            .cast(pl.Int64)
            .alias("designated_buildings"),
            (ins & (pl.col("tax_yuan_ytd") >= s.key_building_tax_yuan))
            .cast(pl.Int64)
            .alias("key_buildings"),
            inside("move_ins").cast(pl.Int64).alias("move_ins"),
            inside("move_outs").cast(pl.Int64).alias("move_outs"),
            pl.when(entered)
            .then(pl.col("rentable_area_m2"))
            .otherwise(0)
            .cast(pl.Float64)
            .alias("new_supply_m2"),
            pl.when(left)
            .then(pl.col("rentable_prev"))
            .otherwise(0)
            .cast(pl.Float64)
            .alias("withdrawn_m2"),
            pl.when(ins & inp)
            .then(pl.col("occupied_area_m2") - pl.col("occupied_prev"))
            .when(entered)
            .then(pl.col("occupied_area_m2"))
            .when(left)
            .then(-pl.col("occupied_prev"))
            .otherwise(0)
            .cast(pl.Float64)
            .alias("net_absorption_m2"),
            inside("gross_take_up_m2").cast(pl.Float64).alias("gross_take_up_m2"),
        )
        .with_columns(
            (pl.col("rentable_area_m2") - pl.col("occupied_area_m2")).alias("vacant_area_m2")
        )
        .collect()
    )
    return _attach_areas(frame, divisions)


def _attach_areas(frame: pl.DataFrame, divisions: pl.DataFrame) -> pl.DataFrame:
    """Add district (the divisions table's admin_district of the street: one name with the
    panel's `district`) and reporting_area by street; an unknown street is an error."""
    areas = street_areas(divisions).rename({"admin_district": "district"})
    out = frame.join(areas, on="street", how="left")
    unknown = out.filter(pl.col("reporting_area").is_null())
    if unknown.height:
        streets = sorted(set(unknown.get_column("street").cast(pl.String).fill_null("(none)")))
        raise UnknownStreetError(
            "street(s) not in the divisions table, so no reporting area: "
            + ", ".join(streets)
            + " (pass a divisions file that has them)"
        )
    return out


class UnknownStreetError(ValueError):
    """A building's street is not in the divisions table."""


# --- aggregation ----------------------------------------------------------------------------


def _group_keys(level: Level) -> list[str]:
    return ["month", *LEVEL_KEYS[level]] if level != "building" else ["month", "building_id"]


def top10_tax_share(
    contributions: pl.DataFrame, tax: pl.DataFrame, level: Level, *, top: int = 10
) -> pl.DataFrame:
    """Share of the level's building tax YTD paid by its `top` largest tenants, per month.

    `contributions`: `building_figures` output (month, building_id, in_scope, level keys).
    A tenant is a `tenant_id`: its tax YTD is summed over the level's in-scope buildings.
    """
    keys = _group_keys(level)
    members = (
        contributions.lazy()
        .filter(pl.col("in_scope"))
        .select("month", "building_id", *[k for k in keys if k not in ("month", "building_id")])
    )
    months = (
        contributions.lazy()
        .select("month")
        .unique()
        .with_columns(pl.col("month").str.slice(0, 4).alias("year"))
    )
    ytd = (
        tax.lazy()
        .select(
            "tenant_id",
            "building_id",
            "period",
            pl.col("period").str.slice(0, 4).alias("year"),
            pl.col("amount_yuan").cast(pl.Float64),
        )
        .join(months, on="year")  # each report joins the months of its year …
        .filter(pl.col("period") <= pl.col("month"))  # … up to which it counts (YTD)
        .join(members, on=["month", "building_id"])
        .group_by([*keys, "tenant_id"])
        .agg(pl.col("amount_yuan").sum())
    )
    return (
        ytd.group_by(keys)
        .agg(
            pl.col("amount_yuan").sort(descending=True).head(top).sum().round(2).alias("top"),
            pl.col("amount_yuan").sum().round(2).alias("total"),
        )
        .select(
            *keys,
            pl.when(pl.col("total") > 0)
            .then(pl.col("top") / pl.col("total"))
            .otherwise(None)
            .alias("top10_tax_share"),
        )
        .collect()
    )


def _ratio(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None)


def aggregate(
    contributions: pl.DataFrame,
    level: Level,
    *,
    tax: pl.DataFrame,
    city_tax: pl.DataFrame,
) -> pl.DataFrame:
    """Sum building contributions to `level` and derive its rates (ratios of sums)."""
    keys = _group_keys(level)
    months = sorted(contributions.get_column("month").unique().to_list())
    if level == "building":
        summed = contributions
        ident = [
            "building_id",
            "name",
            "street",
            "district",
            "reporting_area",
            "category",
            "in_scope",
        ]
    else:
        summed = contributions.group_by(keys).agg(
            *[pl.col(c).sum() for c in (*COUNT_COLUMNS, *SUM_COLUMNS)]
        )
        ident = list(LEVEL_KEYS[level])
    # Sums of floats depend on the order of addition, which a group-by does not fix: round
    # areas to 1e-4 m² and money to the fen so a figure is the same on every run.
    summed = summed.with_columns(
        *[pl.col(c).round(4) for c in SUM_COLUMNS if c.endswith("_m2")],
        *[pl.col(c).round(2) for c in SUM_COLUMNS if c.startswith("tax_")],
    )
    out = (
        summed.join(city_tax_ytd(city_tax, months), on="month", how="left")
        .join(top10_tax_share(contributions, tax, level), on=keys, how="left")
        .with_columns(
            _ratio("occupied_area_m2", "rentable_area_m2").alias("occupancy_rate"),
            _ratio("registered_tenancies", "tenancies").alias("registration_rate"),
            _ratio("tax_yuan_ytd", "city_tax_yuan_ytd").alias("tax_share_ytd"),
            _ratio("tax_yuan_ytd", "rentable_area_m2").alias("tax_per_m2_ytd"),
        )
    )
    return out.select("month", *ident, *FIGURE_COLUMNS).sort("month", *ident)


def figures(
    panel: pl.DataFrame,
    *,
    tax: pl.DataFrame,
    city_tax: pl.DataFrame,
    level: Level = "city",
    divisions: pl.DataFrame | None = None,
    settings: Settings | None = None,
    months: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Every monthly figure of INDICATORS.md at `level`, validated, sorted by month and ids.

    `panel`: BuildingMonth frame covering each wanted month and the month before it.
    `tax`: tenant_id, building_id, period, amount_yuan (restatements applied).
    `city_tax`: period, district (null = city), amount_yuan.
    """
    from .frames import validate_figures

    level = parse_level(level)
    contributions = building_figures(panel, divisions=divisions, settings=settings, months=months)
    return validate_figures(aggregate(contributions, level, tax=tax, city_tax=city_tax), level)


# --- from a log -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pinned:
    """A frame with what it depends on: the settings and the log position it was built from."""

    frame: pl.DataFrame
    settings: Settings
    position: dict[str, Any]

    def provenance(self) -> dict[str, Any]:
        return {"settings": self.settings.as_record(), "log_position": self.position}

    def _repr_html_(self) -> str:
        """Jupyter's display: the log position, then the frame."""
        import html

        pos = self.position
        where = html.escape(
            f"log position seq {pos.get('seq')} ({pos.get('recorded_at')}, "
            f"{str(pos.get('hash', ''))[:12]}…)"
        )
        return f"<p><small>{where}</small></p>" + self.frame._repr_html_()


# --- target tracking ------------------------------------------------------------------------


def track_targets(city: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """Each (year, indicator) target against the year's figure, with gap, met and pace needed.

    `city`: city-level `figures` (any months). The figure of a year is its December figure
    when known, else the latest month of that year with a value (the running year):
    `year_end` says which. `gap` = value − target; `met` follows the target's comparison;
    `pace_needed_per_month` = (target − value) ÷ months left in the year when not met (the
    straight-line change per month that reaches the target by December), 0 when met, null
    when no month is left. A year with no data has null value, gap, met and pace.
    """
    from .frames import validate_frame

    indicators = targets.get_column("indicator").unique().to_list()
    long = (
        city.lazy()
        .select("month", *[pl.col(c).cast(pl.Float64) for c in indicators])
        .unpivot(index="month", variable_name="indicator", value_name="value")
        .filter(pl.col("value").is_not_null())
        .with_columns(pl.col("month").str.slice(0, 4).cast(pl.Int32).alias("year"))
        .sort("month")
        .group_by("year", "indicator")
        .agg(pl.col("month").last(), pl.col("value").last())
    )
    months_left = 12 - pl.col("month").str.slice(5, 2).cast(pl.Int64)
    met = (
        pl.when(pl.col("comparison") == "<=")
        .then(pl.col("value") <= pl.col("target"))
        .otherwise(pl.col("value") >= pl.col("target"))
    )
    out = (
        targets.lazy()
        .join(long, on=["year", "indicator"], how="left")
        .with_columns(
            (pl.col("month").str.slice(5, 2) == "12").alias("year_end"),
            (pl.col("value") - pl.col("target")).alias("gap"),
            met.alias("met"),
            months_left.alias("months_left"),
        )
        .with_columns(
            pl.when(pl.col("met"))
            .then(0.0)
            .when(pl.col("months_left") > 0)
            .then((pl.col("target") - pl.col("value")) / pl.col("months_left"))
            .otherwise(None)
            .alias("pace_needed_per_month")
        )
        .select(
            "year",
            "indicator",
            "month",
            "year_end",
            "value",
            "target",
            "comparison",
            "gap",
            "met",
            "months_left",
            "pace_needed_per_month",
            "source",
        )
        .sort("year", "indicator")
        .collect()
    )
    return validate_frame(out, "TargetTracking")


# --- street ranking -------------------------------------------------------------------------

RANKING_INDICATORS = {
    "occupancy_rate": "occupancy",
    "registration_rate": "registration",
    "tax_contribution": "tax_contribution",
}

RANKING_METHOD_EN = (
    "Each month, streets with at least one in-scope building are ranked on occupancy rate, "
    "registration rate and tax contribution (the street's share of the city's building tax "
    "YTD), highest first; ties share the best rank; a street whose rate is undefined ranks "
    "after all others. Each rank becomes a score 100 × (n − rank) ÷ (n − 1) among the n "
    "ranked streets (best 100, worst 0; 100 when n = 1). The composite score is the weighted "
    "mean of the three scores (weights from the settings, default equal) and is ranked the "
    "same way; the rank change is last month's composite rank minus this month's (positive: "
    "moved up)."
)
RANKING_METHOD_ZH = (
    "每月对至少有一幢纳统楼宇的街道，分别按楼宇入驻率、市场主体注册率、税收贡献（该街道楼宇税收"
    "占全市楼宇税收年累计的比重）从高到低排名；并列者取最好名次；指标无法计算的街道排在最后。"
    "每项名次折算为得分 100×(n−名次)÷(n−1)（n为参加排名的街道数，第一名100分，最后一名0分；"
    "n=1时为100分）。综合得分为三项得分的加权平均（权重见设置，默认相等），按同样方法排名；"
    "名次变化 = 上月综合名次 − 本月综合名次（正数表示上升）。"
)


def rank_streets(streets: pl.DataFrame, settings: Settings | None = None) -> pl.DataFrame:
    """The monthly street ranking (街道动态排名) from street-level `figures`.

    Method: `RANKING_METHOD_EN` (percentile scores from ranks, weighted mean, "min" ties).
    The rank change needs the previous month in `streets`; otherwise it is null.
    """
    from .frames import validate_frame

    w = (settings or Settings()).ranking_weights
    weights = {
        "occupancy": w.occupancy_rate,
        "registration": w.registration_rate,
        "tax_contribution": w.tax_contribution,
    }
    total_w = sum(weights.values())
    ranked = (
        streets.lazy()
        .filter(pl.col("buildings") > 0)
        .with_columns(
            pl.when(pl.col("tax_yuan_ytd").sum().over("month").round(2) > 0)
            .then(pl.col("tax_yuan_ytd") / pl.col("tax_yuan_ytd").sum().over("month").round(2))
            .otherwise(None)
            .alias("tax_contribution"),
            pl.len().over("month").cast(pl.Int64).alias("ranked_streets"),
        )
    )
    n = pl.col("ranked_streets")
    rank_cols = []
    for col, short in RANKING_INDICATORS.items():
        rank_cols.append(
            pl.col(col)
            .fill_null(float("-inf"))
            .rank(method="min", descending=True)
            .over("month")
            .cast(pl.Int64)
            .alias(f"{short}_rank")
        )
    ranked = ranked.with_columns(rank_cols)

    def score(short: str) -> pl.Expr:
        return (
            pl.when(n > 1)
            .then(100.0 * (n - pl.col(f"{short}_rank")) / (n - 1))
            .otherwise(100.0)
            .alias(f"{short}_score")
        )

    ranked = ranked.with_columns([score(s) for s in weights]).with_columns(
        (sum(pl.col(f"{s}_score") * (wt / total_w) for s, wt in weights.items()))
        .round(9)
        .alias("composite_score")
    )
    ranked = ranked.with_columns(
        pl.col("composite_score")
        .rank(method="min", descending=True)
        .over("month")
        .cast(pl.Int64)
        .alias("composite_rank")
    )
    previous = ranked.select(
        pl.col("month").str.to_date("%Y-%m").dt.offset_by("1mo").dt.strftime("%Y-%m"),
        "street",
        pl.col("composite_rank").alias("previous_rank"),
    )
    out = (
        ranked.join(previous, on=["month", "street"], how="left")
        .with_columns((pl.col("previous_rank") - pl.col("composite_rank")).alias("rank_change"))
        .select(
            "month",
            "street",
            "district",
            "reporting_area",
            "buildings",
            "ranked_streets",
            "occupancy_rate",
            "occupancy_rank",
            "occupancy_score",
            "registration_rate",
            "registration_rank",
            "registration_score",
            "tax_contribution",
            "tax_contribution_rank",
            "tax_contribution_score",
            "composite_score",
            "composite_rank",
            "previous_rank",
            "rank_change",
        )
        .sort("month", "composite_rank", "street")
        .collect()
    )
    return validate_frame(out, "StreetRanking")


# --- the I/O edge: pinned to a log position -------------------------------------------------


def covered_months(
    log: Any, *, recorded_by: DateLike | None = None, upto_seq: int | None = None
) -> tuple[str, str]:
    """First and last month of the business dates (`occurred_on`) the log holds by the cut-off."""
    cut = None if recorded_by is None else cut_off(recorded_by, log.city.time_zone)
    lo, hi = (
        log.scan(upto_seq=upto_seq, recorded_by=cut)
        .select(pl.col("occurred_on").min().alias("lo"), pl.col("occurred_on").max().alias("hi"))
        .collect()
        .row(0)
    )
    if lo is None:
        raise MonthError("the log holds no events by that cut-off")
    return lo.strftime("%Y-%m"), hi.strftime("%Y-%m")


def check_months(
    log: Any,
    months: Sequence[str],
    *,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
) -> list[str]:
    """The months, checked well formed and inside what the log covers by the cut-off."""
    wanted = sorted({parse_month(m) for m in months})
    first, last = covered_months(log, recorded_by=recorded_by, upto_seq=upto_seq)
    outside = [m for m in wanted if not first <= m <= last]
    if outside:
        raise MonthError(
            f"month {', '.join(outside)} is outside the log ({first} to {last} by that cut-off)"
        )
    return wanted


@dataclass(frozen=True)
class Inputs:
    """What the figures of some months need from a log, read once at one cut-off."""

    months: list[str]
    panel: pl.DataFrame
    tax: pl.DataFrame
    city_tax: pl.DataFrame
    position: dict[str, Any]
    settings: Settings
    city: City

    def figures(self, level: Level = "city", divisions: pl.DataFrame | None = None) -> Pinned:
        """`figures` of these months at `level` (read the log once, then every level); the
        divisions are the city's unless given."""
        level = parse_level(level)
        frame = figures(
            self.panel,
            tax=self.tax,
            city_tax=self.city_tax,
            level=level,
            divisions=divisions if divisions is not None else self.city.divisions,
            settings=self.settings,
            months=self.months,
        )
        return Pinned(frame, self.settings, self.position)


def read_inputs(
    log: Any,
    months: Sequence[str],
    *,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
    settings: Settings | None = None,
) -> Inputs:
    """Panel (from the month before the first wanted month), tax and city tax at the cut-off;
    settings default to the log's city's."""
    s = settings or log.city.settings
    wanted = check_months(log, months, recorded_by=recorded_by, upto_seq=upto_seq)
    cut = {"recorded_by": recorded_by, "upto_seq": upto_seq}
    panel = log.panel(shift_month(wanted[0], -1), wanted[-1], settings=s, **cut)
    state = log.replay(month_end(wanted[-1]), settings=s, **cut)
    return Inputs(wanted, panel, state.tax, state.city_tax, dict(state.position), s, log.city)


def figures_from_log(
    log: Any,
    months: str | Sequence[str],
    level: Level = "city",
    *,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
    settings: Settings | None = None,
    divisions: pl.DataFrame | None = None,
) -> Pinned:
    """`figures` of `months` at `level`, as the log knew them at the cut-off (default HEAD)."""
    if isinstance(months, str | Month | date):
        months = [months]  # type: ignore[list-item]
    level = parse_level(level)
    inp = read_inputs(log, months, recorded_by=recorded_by, upto_seq=upto_seq, settings=settings)
    return inp.figures(level, divisions)


def targets_from_log(
    log: Any,
    year: int,
    *,
    targets: pl.DataFrame | None = None,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
    settings: Settings | None = None,
    divisions: pl.DataFrame | None = None,
) -> Pinned:
    """Target tracking of `year`: its December figures, or the latest month the log covers."""
    t = (targets if targets is not None else log.city.targets).filter(pl.col("year") == year)
    if t.is_empty():
        raise MonthError(f"no target for {year} in the targets table")
    first, last = covered_months(log, recorded_by=recorded_by, upto_seq=upto_seq)
    months = [m for m in month_range(f"{year}-01", f"{year}-12") if first <= m <= last]
    if not months:
        raise MonthError(f"{year} is outside the log ({first} to {last} by that cut-off)")
    city = figures_from_log(
        log,
        months,
        "city",
        recorded_by=recorded_by,
        upto_seq=upto_seq,
        settings=settings,
        divisions=divisions,
    )
    return Pinned(track_targets(city.frame, t), city.settings, city.position)


def ranking_from_log(
    log: Any,
    month: str,
    *,
    recorded_by: DateLike | None = None,
    upto_seq: int | None = None,
    settings: Settings | None = None,
    divisions: pl.DataFrame | None = None,
) -> Pinned:
    """The street ranking of `month` (with its rank change against the month before)."""
    first, _ = covered_months(log, recorded_by=recorded_by, upto_seq=upto_seq)
    months = [shift_month(parse_month(month), -1), month]
    months = [m for m in months if m >= first] or [month]
    streets = figures_from_log(
        log,
        months,
        "street",
        recorded_by=recorded_by,
        upto_seq=upto_seq,
        settings=settings,
        divisions=divisions,
    )
    ranking = rank_streets(streets.frame, streets.settings)
    return Pinned(ranking.filter(pl.col("month") == month), streets.settings, streets.position)
