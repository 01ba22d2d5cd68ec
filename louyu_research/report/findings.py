"""The rules behind the report's summary (核心结论) and its problems and suggestions (存在问题与
建议): which findings a quarter's figures support, with the numbers that support them.

Each rule reads the `ReportInputs` and either stays silent or returns one `Finding`: its rule
key, how far past its threshold the figure is (`weight`, used to order the summary), and the
figures a sentence needs (`fields`, raw numbers; the sections word and format them). A finding
appears only when its figure crosses the rule's threshold (`Thresholds`, written out in the
method section), so the summary says what this quarter's data says and nothing else.

Summary rules: `targets` first, then the others that speak, the furthest past its threshold
first (`weight`: the figure ÷ its threshold), at most `Thresholds.max_findings` in all.

- `targets`: the year's plan targets at the quarter's end (whenever the year has targets):
  those met, and those behind: not met, and either no month is left or the straight-line
  pace needed per month exceeds the average monthly change of the quarter's three months
  (the year misses it at the quarter's pace); the others are not met but on pace.
- `street_movers`: a street's composite rank moved by at least `mover_ranks` places since the
  previous quarter's last month; names the largest rise and the largest fall.
- `area_movers`: a reporting area's occupancy rate changed by at least `area_change_pp`
  percentage points since the previous quarter's end; names the largest rise and fall.
- `new_supply`: the quarter's new supply is at least `supply_share` of the rentable area at
  its end; gives the supply, the net absorption, their ratio and the vacancy rate.
- `tax_concentration`: the ten largest tax-paying tenants pay at least `top10_share` of the
  buildings' tax YTD (a city figure: no tenant is named); with the change on a year before.
- `revisions`: a plan figure of the previous quarter's end was revised since its report by at
  least `revision_pp` percentage points (rates) or `revision_count` (counts); names the
  largest revision (by its share of the threshold).

Problem rules (存在问题与建议), in this order, at most `max_problems`:

- `streets_behind`: streets whose occupancy rate is below the year's occupancy target by
  at least `street_gap_pp` points; counts them and names the three furthest behind.
- `vacancy`: buildings on the vacancy list (盘活一批) hold at least `vacancy_share` of the
  vacant area in scope.
- `low_output`: at least `low_output_min` buildings on the low-output list (退低进高).
- `at_risk`: at least `at_risk_min` tenants at risk of leaving; names the street with most
  (tenants are only ever counted).
- `late_data`: tax recorded late or restated since the previous report amounts to at least
  `late_share` of the buildings' tax YTD of the previous quarter's end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import polars as pl

from louyu_research.indicators.figures import PLAN_INDICATORS

from .inputs import RATE_INDICATORS, ReportInputs

Kind = Literal["finding", "problem"]


@dataclass(frozen=True)
class Thresholds:
    """Where each rule starts to speak (rates and shares as fractions, points as fractions
    of 1: 0.02 is 2 percentage points)."""

    mover_ranks: int = 5
    area_change_pp: float = 0.02
    supply_share: float = 0.005
    top10_share: float = 0.25
    revision_pp: float = 0.001
    revision_count: float = 1.0
    street_gap_pp: float = 0.10
    vacancy_share: float = 0.10
    low_output_min: int = 1
    at_risk_min: int = 10
    late_share: float = 0.001
    max_findings: int = 5
    max_problems: int = 5

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Finding:
    """One finding of a rule: its key, kind, weight (how far past the threshold) and the
    figures its sentence needs."""

    rule: str
    kind: Kind
    weight: float
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))


Rule = Callable[[ReportInputs, Thresholds], Finding | None]


# --- figures the rules share ------------------------------------------------------------------


def city_at(inputs: ReportInputs, month: Any) -> dict[str, Any] | None:
    """The city figures of a month (None when the log does not hold it)."""
    rows = inputs.city.filter(pl.col("month") == str(month)).to_dicts()
    return rows[0] if rows else None


def targets_now(inputs: ReportInputs) -> pl.DataFrame:
    """The plan's indicators at the quarter's end against the year's target: value, target,
    met, months left, the pace needed per month and the average monthly change over the
    quarter's three months (`pace_now`), in the plan's order."""
    month = inputs.month
    start = str(inputs.quarter.shift(-1).last_month)
    long = inputs.city.select("month", *PLAN_INDICATORS).unpivot(
        index="month", variable_name="indicator", value_name="value"
    )
    now = long.filter(pl.col("month") == str(month)).select("indicator", "value")
    before = long.filter(pl.col("month") == start).select(
        "indicator", pl.col("value").alias("start")
    )
    # a year-to-date figure starts from zero in January: its quarter's pace counts from there
    ytd = ("tax_share_ytd", "key_buildings")
    first_quarter = inputs.quarter.number == 1
    tgt = inputs.targets.filter(pl.col("year") == month.year).select(
        "indicator", "target", "comparison"
    )
    order = pl.DataFrame(
        {"indicator": list(PLAN_INDICATORS), "order": list(range(len(PLAN_INDICATORS)))}
    )
    left = 12 - month.month
    met = (
        pl.when(pl.col("comparison") == "<=")
        .then(pl.col("value") <= pl.col("target"))
        .otherwise(pl.col("value") >= pl.col("target"))
    )
    start_value = (
        pl.when(pl.lit(first_quarter) & pl.col("indicator").is_in(ytd))
        .then(0.0)
        .otherwise(pl.col("start"))
    )
    return (
        order.join(now, on="indicator", how="left")
        .join(before, on="indicator", how="left")
        .join(tgt, on="indicator", how="inner")
        .filter(pl.col("value").is_not_null())
        .with_columns(
            met.alias("met"),
            pl.lit(left, pl.Int64).alias("months_left"),
            ((pl.col("value") - start_value) / 3).alias("pace_now"),
            pl.col("indicator").is_in(list(RATE_INDICATORS)).alias("is_rate"),
        )
        .with_columns(
            pl.when(pl.col("met"))
            .then(0.0)
            .when(pl.col("months_left") > 0)
            .then((pl.col("target") - pl.col("value")) / pl.col("months_left"))
            .otherwise(None)
            .alias("pace_needed")
        )
        .sort("order")
    )


def quarter_flows(inputs: ReportInputs) -> dict[str, float]:
    """The quarter's new supply, net absorption and gross take-up (sums of its months)."""
    months = [str(m) for m in inputs.quarter.months]
    q = inputs.city.filter(pl.col("month").is_in(months))
    return {
        c: float(q.get_column(c).sum() or 0.0)
        for c in ("new_supply_m2", "net_absorption_m2", "gross_take_up_m2")
    }


def street_changes(inputs: ReportInputs) -> pl.DataFrame:
    """Each street's composite rank at the quarter's end and at the previous quarter's end,
    and the change (positive: moved up); streets ranked in both months only."""
    prev = str(inputs.compare_months()["prev_q"])
    now = inputs.ranking.filter(pl.col("month") == str(inputs.month)).select(
        "street", "reporting_area", "composite_rank"
    )
    before = inputs.ranking.filter(pl.col("month") == prev).select(
        "street", pl.col("composite_rank").alias("rank_before")
    )
    return (
        now.join(before, on="street", how="inner")
        .with_columns((pl.col("rank_before") - pl.col("composite_rank")).alias("change"))
        .sort("street")
    )


def area_changes(inputs: ReportInputs, column: str = "occupancy_rate") -> pl.DataFrame:
    """Each reporting area's `column` at the quarter's end, at the previous quarter's end and
    a year before, with the changes (`chg_q`, `chg_y`)."""
    cmp = inputs.compare_months()
    months = inputs.areas.get_column("month") if "month" in inputs.areas.columns else None
    if months is None:
        frame = inputs.areas.select("reporting_area", pl.col(column).alias("now"))
        return frame.with_columns(
            pl.lit(None, pl.Float64).alias("before_q"),
            pl.lit(None, pl.Float64).alias("before_y"),
            pl.lit(None, pl.Float64).alias("chg_q"),
            pl.lit(None, pl.Float64).alias("chg_y"),
        )

    def at(month: Any, name: str) -> pl.DataFrame:
        return inputs.areas.filter(pl.col("month") == str(month)).select(
            "reporting_area", pl.col(column).alias(name)
        )

    return (
        at(inputs.month, "now")
        .join(at(cmp["prev_q"], "before_q"), on="reporting_area", how="left")
        .join(at(cmp["prev_y"], "before_y"), on="reporting_area", how="left")
        .with_columns(
            (pl.col("now") - pl.col("before_q")).alias("chg_q"),
            (pl.col("now") - pl.col("before_y")).alias("chg_y"),
        )
        .sort("reporting_area")
    )


def streets_behind(inputs: ReportInputs, gap: float) -> pl.DataFrame:
    """Streets (with a building in scope) whose occupancy rate at the quarter's end is below
    the year's occupancy target by at least `gap`; furthest behind first."""
    target = inputs.targets.filter(
        (pl.col("year") == inputs.month.year) & (pl.col("indicator") == "occupancy_rate")
    ).get_column("target")
    if target.is_empty():
        return pl.DataFrame(schema={"street": pl.String, "occupancy_rate": pl.Float64})
    t = float(target[0])
    return (
        inputs.streets.filter(
            (pl.col("month") == str(inputs.month))
            & (pl.col("buildings") > 0)
            & (pl.col("occupancy_rate") <= t - gap + 1e-12)
        )
        .select(
            "street",
            "reporting_area",
            "occupancy_rate",
            (pl.col("occupancy_rate") - t).alias("gap"),
            pl.lit(t).alias("target"),
        )
        .sort(["gap", "street"])
    )


# --- the summary's rules ----------------------------------------------------------------------


def targets(inputs: ReportInputs, th: Thresholds) -> Finding | None:
    """The year's targets at the quarter's end: those met, and those behind (not met, and no
    month left or the pace needed above the quarter's own pace)."""
    t = targets_now(inputs)
    if t.is_empty():
        return None
    cols = ["indicator", "value", "target", "pace_needed", "pace_now", "is_rate", "months_left"]
    behind = t.filter(
        ~pl.col("met")
        & (pl.col("pace_needed").is_null() | (pl.col("pace_needed") > pl.col("pace_now")))
    )
    on_pace = t.filter(~pl.col("met")).join(behind.select("indicator"), on="indicator", how="anti")
    return Finding(
        "targets",
        "finding",
        float(behind.height),
        {
            "of": t.height,
            "met": t.filter(pl.col("met")).select(cols).to_dicts(),
            "behind": behind.select(cols).to_dicts(),
            "on_pace": on_pace.select(cols).to_dicts(),
            "months_left": int(t.get_column("months_left")[0]),
        },
    )


def street_movers(inputs: ReportInputs, th: Thresholds) -> Finding | None:
    ch = street_changes(inputs)
    moved = ch.filter(pl.col("change").abs() >= th.mover_ranks)
    if moved.is_empty():
        return None
    up = moved.filter(pl.col("change") > 0).sort(["change", "street"], descending=[True, False])
    down = moved.filter(pl.col("change") < 0).sort(["change", "street"])
    return Finding(
        "street_movers",
        "finding",
        float(moved.get_column("change").abs().max()) / th.mover_ranks,
        {
            "moved": moved.height,
            "up": up.head(1).to_dicts()[0] if up.height else None,
            "down": down.head(1).to_dicts()[0] if down.height else None,
        },
    )


def area_movers(inputs: ReportInputs, th: Thresholds) -> Finding | None:
    ch = area_changes(inputs).drop_nulls("chg_q")
    moved = ch.filter(pl.col("chg_q").abs() >= th.area_change_pp - 1e-12)
    if moved.is_empty():
        return None
    up = moved.filter(pl.col("chg_q") > 0).sort("chg_q", descending=True)
    down = moved.filter(pl.col("chg_q") < 0).sort("chg_q")
    return Finding(
        "area_movers",
        "finding",
        float(moved.get_column("chg_q").abs().max()) / th.area_change_pp,
        {
            "up": up.head(1).to_dicts()[0] if up.height else None,
            "down": down.head(1).to_dicts()[0] if down.height else None,
        },
    )


def new_supply(inputs: ReportInputs, th: Thresholds) -> Finding | None:
    now = city_at(inputs, inputs.month)
    if now is None or not now.get("rentable_area_m2"):
        return None
    flows = quarter_flows(inputs)
    share = flows["new_supply_m2"] / now["rentable_area_m2"]
    if share < th.supply_share:
        return None
    before = city_at(inputs, inputs.compare_months()["prev_q"])
    vacancy = now["vacant_area_m2"] / now["rentable_area_m2"]
    vacancy_before = (
        before["vacant_area_m2"] / before["rentable_area_m2"]
        if before and before.get("rentable_area_m2")
        else None
    )
    return Finding(
        "new_supply",
        "finding",
        share / th.supply_share,
        {
            **flows,
            "share": share,
            "absorbed": flows["net_absorption_m2"] / flows["new_supply_m2"],
            "vacancy": vacancy,
            "vacancy_chg_q": None if vacancy_before is None else vacancy - vacancy_before,
        },
    )


def tax_concentration(inputs: ReportInputs, th: Thresholds) -> Finding | None:
    now = city_at(inputs, inputs.month)
    share = (now or {}).get("top10_tax_share")
    if share is None or share < th.top10_share:
        return None
    before = city_at(inputs, inputs.compare_months()["prev_y"])
    share_y = (before or {}).get("top10_tax_share")
    return Finding(
        "tax_concentration",
        "finding",
        share / th.top10_share,
        {"share": share, "chg_y": None if share_y is None else share - share_y},
    )


def revisions(inputs: ReportInputs, th: Thresholds) -> Finding | None:
    r = inputs.revisions.drop_nulls("difference").with_columns(
        (
            pl.col("difference").abs()
            / pl.when(pl.col("is_rate")).then(th.revision_pp).otherwise(th.revision_count)
        ).alias("weight")
    )
    big = r.filter(pl.col("weight") >= 1 - 1e-9).sort(["weight", "order"], descending=[True, False])
    if big.is_empty():
        return None
    top = big.row(0, named=True)
    return Finding(
        "revisions",
        "finding",
        float(top["weight"]),
        {
            "revised": big.height,
            "indicator": top["indicator"],
            "published": top["published"],
            "now": top["revised"],
            "difference": top["difference"],
            "is_rate": top["is_rate"],
            "previous": str(inputs.quarter.shift(-1)),
        },
    )


# --- problems and suggestions -------------------------------------------------------------------


def streets_behind_rule(inputs: ReportInputs, th: Thresholds) -> Finding | None:
    behind = streets_behind(inputs, th.street_gap_pp)
    if behind.is_empty():
        return None
    ranked = inputs.streets.filter(
        (pl.col("month") == str(inputs.month)) & (pl.col("buildings") > 0)
    ).height
    return Finding(
        "streets_behind",
        "problem",
        behind.height / max(ranked, 1) * 10,
        {
            "streets": behind.height,
            "of": ranked,
            "target": float(behind.get_column("target")[0]),
            "gap": th.street_gap_pp,
            "worst": behind.head(3).select("street", "occupancy_rate").to_dicts(),
        },
    )


def vacancy(inputs: ReportInputs, th: Thresholds) -> Finding | None:
    now = city_at(inputs, inputs.month)
    vac = inputs.lists["vacancy"]
    if now is None or vac.is_empty() or not now.get("vacant_area_m2"):
        return None
    area = float(vac.get_column("vacant_area_m2").sum())
    share = area / now["vacant_area_m2"]
    if share < th.vacancy_share:
        return None
    return Finding(
        "vacancy",
        "problem",
        share / th.vacancy_share,
        {"buildings": vac.height, "vacant_area": area, "share": share},
    )


def low_output(inputs: ReportInputs, th: Thresholds) -> Finding | None:
    low = inputs.lists["low_output"]
    if low.height < th.low_output_min:
        return None
    area = float(low.get_column("rentable_area_m2").sum())
    return Finding(
        "low_output",
        "problem",
        low.height / th.low_output_min,
        {"buildings": low.height, "rentable_area": area},
    )


def at_risk(inputs: ReportInputs, th: Thresholds) -> Finding | None:
    risk = inputs.lists["at_risk"]
    if risk.height < th.at_risk_min:
        return None
    by_street = (
        risk.group_by("street")
        .agg(pl.len().alias("tenants"))
        .sort(["tenants", "street"], descending=[True, False])
    )
    top = by_street.row(0, named=True)
    return Finding(
        "at_risk",
        "problem",
        risk.height / th.at_risk_min,
        {
            "tenants": risk.height,
            "streets": by_street.height,
            "top_street": top["street"],
            "top_tenants": top["tenants"],
        },
    )


def late_data(inputs: ReportInputs, th: Thresholds) -> Finding | None:
    before = city_at(inputs, inputs.compare_months()["prev_q"])
    tax = (before or {}).get("tax_yuan_ytd")
    late = inputs.late.filter(pl.col("kind").is_in(["late", "restated"]))
    amount = float(late.get_column("amount_yuan").abs().sum() or 0.0)
    if not tax or amount / tax < th.late_share:
        return None
    return Finding(
        "late_data",
        "problem",
        amount / tax / th.late_share,
        {
            "events": int(late.get_column("events").sum()),
            "amount": amount,
            "share": amount / tax,
            "previous": str(inputs.quarter.shift(-1)),
        },
    )


#: The summary's rules in the order it shows them.
SUMMARY_RULES: dict[str, Rule] = {
    "targets": targets,
    "street_movers": street_movers,
    "area_movers": area_movers,
    "new_supply": new_supply,
    "tax_concentration": tax_concentration,
    "revisions": revisions,
}
#: The problems' rules in the order they are shown.
PROBLEM_RULES: dict[str, Rule] = {
    "streets_behind": streets_behind_rule,
    "vacancy": vacancy,
    "at_risk": at_risk,
    "low_output": low_output,
    "late_data": late_data,
}


def summary(inputs: ReportInputs, th: Thresholds | None = None) -> list[Finding]:
    """The summary's findings: the targets first, then every other rule that speaks, the
    furthest past its threshold first (ties in `SUMMARY_RULES` order), at most
    `max_findings` in all."""
    th = th or Thresholds()
    order = list(SUMMARY_RULES)
    found = [f for rule in SUMMARY_RULES.values() if (f := rule(inputs, th)) is not None]
    first = [f for f in found if f.rule == "targets"]
    rest = sorted(
        (f for f in found if f.rule != "targets"),
        key=lambda f: (-f.weight, order.index(f.rule)),
    )
    return [*first, *rest][: th.max_findings]


def problems(inputs: ReportInputs, th: Thresholds | None = None) -> list[Finding]:
    """The problems: every rule that speaks, in `PROBLEM_RULES` order, at most
    `max_problems`."""
    th = th or Thresholds()
    found = [f for rule in PROBLEM_RULES.values() if (f := rule(inputs, th)) is not None]
    return found[: th.max_problems]


__all__ = [
    "PROBLEM_RULES",
    "SUMMARY_RULES",
    "Finding",
    "Thresholds",
    "area_changes",
    "city_at",
    "problems",
    "quarter_flows",
    "street_changes",
    "streets_behind",
    "summary",
    "targets_now",
]
