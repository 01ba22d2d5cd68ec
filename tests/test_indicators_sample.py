"""Identities that must hold on the sample log, at every month it covers since 2014.

The shipped sample (`events/`) when it is there; otherwise the simulator's log at a small
scale (same generator, so the same kinds of events). The identities are checked against the
BuildingMonth panel directly, an independent route to the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from louyu_research.indicators import figures as ind
from louyu_research.replay.log import Log, open_log

SAMPLE = Path(__file__).resolve().parents[1] / "events"
SUMMED = [*ind.COUNT_COLUMNS, *ind.SUM_COLUMNS]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Log:
    if (SAMPLE / "HEAD").exists():
        return open_log(SAMPLE)
    from louyu_research.sample import simulate

    path = tmp_path_factory.mktemp("sample") / "events"
    simulate.write_log(simulate.simulate(scale=0.1), path)
    return open_log(path)


@pytest.fixture(scope="module")
def inputs(sample: Log) -> ind.Inputs:
    first, last = ind.covered_months(sample)
    return ind.read_inputs(sample, ind.month_range(max(first, "2014-01"), last))


@pytest.fixture(scope="module")
def levels(inputs: ind.Inputs) -> dict[str, pl.DataFrame]:
    return {
        lv: ind.figures(
            inputs.panel, tax=inputs.tax, city_tax=inputs.city_tax, level=lv, months=inputs.months
        )
        for lv in ind.LEVELS
    }


def _sums(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.group_by("month").agg(pl.col(SUMMED).sum()).sort("month")


def test_the_sample_has_something_to_count(levels: dict[str, pl.DataFrame]) -> None:
    city = levels["city"]
    assert city.height >= 36
    assert city.get_column("buildings").max() > 20
    assert city.get_column("tax_yuan_ytd").max() > 0
    assert levels["street"].get_column("street").n_unique() > 5


@pytest.mark.parametrize(
    ("finer", "coarser"),
    [("building", "street"), ("street", "reporting_area"), ("reporting_area", "city")],
)
def test_each_level_sums_to_the_next(
    levels: dict[str, pl.DataFrame], finer: str, coarser: str
) -> None:
    a, b = _sums(levels[finer]), _sums(levels[coarser])
    assert a.get_column("month").to_list() == b.get_column("month").to_list()
    for col in SUMMED:
        assert a.get_column(col).to_list() == pytest.approx(
            b.get_column(col).to_list(), rel=1e-12, abs=1e-3
        ), col
    if coarser == "street":  # every street's reporting area comes from the divisions table
        keys = ["month", "street", "reporting_area"]
        per_street = levels["building"].group_by(keys).agg(pl.col("buildings").sum()).sort(keys)
        assert per_street.equals(levels["street"].select(*keys, "buildings").sort(keys))


def test_occupied_plus_vacant_is_rentable_at_every_level(levels: dict[str, pl.DataFrame]) -> None:
    for lv, frame in levels.items():
        diff = frame.select(
            (pl.col("occupied_area_m2") + pl.col("vacant_area_m2") - pl.col("rentable_area_m2"))
            .abs()
            .max()
        ).item()
        assert diff < 1e-6, lv


def test_net_absorption_identity(inputs: ind.Inputs, levels: dict[str, pl.DataFrame]) -> None:
    """net absorption = vacant at start + completions − demolitions − vacant at end, plus the
    terms INDICATORS.md's identity assumes away, computed from the panel on their own:
    re-measured rentable area of buildings in scope at both ends, and the vacant area of
    buildings that entered or left scope for another reason than completion or retirement."""
    p = inputs.panel.with_columns(pl.col("in_scope").fill_null(False))
    prev = p.select(
        "building_id",
        pl.col("month").str.to_date("%Y-%m").dt.offset_by("1mo").dt.strftime("%Y-%m"),
        pl.col("in_scope").alias("in0"),
        pl.col("rentable_area_m2").alias("rent0"),
        (pl.col("rentable_area_m2") - pl.col("occupied_area_m2")).alias("vac0"),
    )
    joined = p.join(prev, on=["building_id", "month"]).filter(pl.col("month").is_in(inputs.months))
    in1, in0 = pl.col("in_scope"), pl.col("in0")
    vac1 = pl.col("rentable_area_m2") - pl.col("occupied_area_m2")
    terms = joined.group_by("month").agg(
        pl.when(in0).then(pl.col("vac0")).otherwise(0).sum().alias("vacant_start"),
        pl.when(in0 & in1)
        .then(pl.col("rent0") - pl.col("rentable_area_m2"))
        .otherwise(0)
        .sum()
        .alias("remeasured"),
        pl.when(in0 & ~in1 & ~pl.col("retired_in_month"))
        .then(pl.col("vac0"))
        .otherwise(0)
        .sum()
        .alias("left_other"),
        pl.when(~in0 & in1 & ~pl.col("completed_in_month"))
        .then(vac1)
        .otherwise(0)
        .sum()
        .alias("entered_other"),
    )
    city = levels["city"].join(terms, on="month").sort("month")
    expected = (
        city["vacant_start"]
        + city["new_supply_m2"]
        - city["withdrawn_m2"]
        - city["vacant_area_m2"]
        - city["remeasured"]
        - city["left_other"]
        + city["entered_other"]
    )
    assert city["net_absorption_m2"].to_list() == pytest.approx(expected.to_list(), abs=1e-3)
    # The textbook identity itself holds in every month without such changes.
    plain = city.filter(
        (pl.col("remeasured") == 0) & (pl.col("left_other") == 0) & (pl.col("entered_other") == 0)
    )
    assert plain.height >= city.height // 2
    textbook = (
        plain["vacant_start"]
        + plain["new_supply_m2"]
        - plain["withdrawn_m2"]
        - plain["vacant_area_m2"]
    )
    assert plain["net_absorption_m2"].to_list() == pytest.approx(textbook.to_list(), abs=1e-3)


def test_rates_are_ratios_of_sums(levels: dict[str, pl.DataFrame]) -> None:
    for lv, frame in levels.items():
        occ = frame.filter(pl.col("rentable_area_m2") > 0)
        assert occ["occupancy_rate"].to_list() == pytest.approx(
            (occ["occupied_area_m2"] / occ["rentable_area_m2"]).to_list()
        ), lv
        reg = frame.filter(pl.col("tenancies") > 0)
        assert reg["registration_rate"].to_list() == pytest.approx(
            (reg["registered_tenancies"] / reg["tenancies"]).to_list()
        ), lv
        share = frame.filter(pl.col("city_tax_yuan_ytd").is_not_null())
        assert share["tax_share_ytd"].to_list() == pytest.approx(
            (share["tax_yuan_ytd"] / share["city_tax_yuan_ytd"]).to_list()
        ), lv


def test_street_ranking_over_the_sample(levels: dict[str, pl.DataFrame]) -> None:
    ranking = ind.rank_streets(levels["street"])
    ranked = levels["street"].filter(pl.col("buildings") > 0)
    assert ranking.height == ranked.height
    # ranks run from 1 and no rank exceeds the number of streets ranked that month
    assert (ranking["composite_rank"] <= ranking["ranked_streets"].cast(pl.Int64)).all()
    assert (
        ranking.group_by("month").agg(pl.col("composite_rank").min())["composite_rank"].eq(1).all()
    )
