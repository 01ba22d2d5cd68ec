"""Disclosure control of the public edition, by hand."""

from __future__ import annotations

import polars as pl

from louyu_research.report.disclosure import control as disclosure


def tax_rows(rows: list[tuple[str, str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["tenant_id", "building_id", "period", "amount_yuan"], orient="row"
    )


def test_streets_and_buildings_are_held_to_the_same_rule():
    tax = tax_rows(
        [
            ("t1", "A", "2017-03", 100.0),  # street S1: building A alone, one tenant
            ("t2", "B", "2017-03", 50.0),  # street S2: B (t2, t3) and C (t4, t5)
            ("t3", "B", "2017-03", 50.0),
            ("t4", "C", "2017-02", 40.0),
            ("t5", "C", "2017-01", 60.0),
            ("t5", "C", "2016-12", 9e9),  # last year: not in 2017's YTD
            ("t6", "C", "2017-04", 9e9),  # after the month: not counted
        ]
    )
    buildings = disclosure(tax, "2017-03", min_tenants=3, max_dominance=0.8)
    assert buildings.select("building_id", "tax_payers", "tax_suppressed").rows() == [
        ("A", 1, True),
        ("B", 2, True),
        ("C", 2, True),
    ]
    groups = pl.DataFrame({"building_id": ["A", "B", "C"], "street": ["S1", "S2", "S2"]})
    streets = disclosure(
        tax, "2017-03", min_tenants=3, max_dominance=0.8, groups=groups, key="street"
    )
    # S1 would publish A's withheld figure; S2 has 4 payers, the largest 60 of 200 = 30%
    assert streets.rows() == [("S1", 1, 1.0, True), ("S2", 4, 0.3, False)]
    dominated = tax_rows(
        [("t1", "A", "2017-01", 81.0), *[(f"s{i}", "A", "2017-01", 1.0) for i in range(19)]]
    )
    (row,) = disclosure(dominated, "2017-01", min_tenants=3, max_dominance=0.8).rows(named=True)
    assert row["tax_payers"] == 20 and row["top_tenant_share"] == 0.81 and row["tax_suppressed"]
