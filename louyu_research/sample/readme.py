"""The sample's `events/README.md`: how it was made, what it holds, what is wrong in it on
purpose, and the city's figures at each year end (`yearly_summary`).

Reads the written log (and the `Simulation` that made it, for the seed and the planted
problems); the findings table is what a replay of the log reports.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from louyu_research.city.industries import OTHER, classify
from louyu_research.log.store import EventLog

from .calibration import CITY, CITY_REVENUE, KEY_CODES
from .corrections import OVERFULL_FROM
from .recording import Simulation
from .timeline import FIRST_YEAR, LAST_YEAR, month_end, month_of
from .world import REVOKED_ON


def yearly_summary(log: EventLog) -> pl.DataFrame:
    """The city's December figures of each year (a quick Polars fold, for the sample's README).

    The indicators module is the authority on these figures; this summary documents what the
    generator was calibrated to produce (scope, occupancy, registration, tax share, key and
    featured buildings by the default rule).
    """
    ev = log.read()
    gone = ev.filter(pl.col("type") == "EventRetracted")["retracted_event_id"]
    ev = ev.filter(~pl.col("event_id").is_in(gone.implode())).sort("occurred_on", "seq")
    tax = (
        ev.filter(pl.col("type") == "TaxReported")
        .sort("seq")
        .unique(["tenant_id", "building_id", "period"], keep="last")
        .with_columns(year=pl.col("period").str.slice(0, 4).cast(pl.Int32))
    )
    city = (
        ev.filter((pl.col("type") == "CityTaxReported") & pl.col("district").is_null())
        .sort("seq")
        .unique("period", keep="last")
        .group_by(year=pl.col("period").str.slice(0, 4).cast(pl.Int32))
        .agg(city_tax=pl.col("amount_yuan").sum())
    )
    rows = []
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        day = date(year, 12, 31)
        upto = ev.filter(pl.col("occurred_on") <= day)
        b = upto.filter(pl.col("type").str.starts_with("Building"))
        attrs = (
            b.filter(pl.col("type").is_in(["BuildingRegistered", "BuildingUpdated"]))
            .group_by("building_id")
            .agg(
                pl.col("standalone").drop_nulls().last(),
                pl.col("gross_floor_area_m2").drop_nulls().last(),
                pl.col("rentable_area_m2").drop_nulls().last(),
            )
        )
        done = b.filter(
            (pl.col("type") == "BuildingCompleted")
            | ((pl.col("type") == "BuildingRegistered") & (pl.col("status") == "completed"))
        )["building_id"]
        retired = b.filter(pl.col("type") == "BuildingRetired")["building_id"]
        scope = attrs.filter(
            pl.col("building_id").is_in(done.implode())
            & ~pl.col("building_id").is_in(retired.implode())
            & pl.col("standalone")
            & (pl.col("gross_floor_area_m2") >= 1000)
        ).select("building_id", "rentable_area_m2")
        kinds = [
            "TenantMovedIn",
            "TenantAreaChanged",
            "TenantRegistrationChanged",
            "TenantMovedOut",
        ]
        tenancies = (
            upto.filter(pl.col("type").is_in(kinds))
            .group_by("tenant_id", "building_id")
            .agg(
                active=pl.col("type")
                .filter(pl.col("type").is_in(["TenantMovedIn", "TenantMovedOut"]))
                .last()
                == "TenantMovedIn",
                area=pl.col("area_m2").drop_nulls().last(),
                registered=pl.col("registered_here").drop_nulls().last(),
            )
            .filter(pl.col("active"))
            .join(scope.select("building_id"), on="building_id", how="semi")
        )
        industry = (
            upto.filter(pl.col("type").is_in(["TenantMovedIn", "TenantUpdated"]))
            .group_by("tenant_id")
            .agg(
                pl.col("industry").drop_nulls().last(),
                pl.col("industry_edition").drop_nulls().last(),
            )
        )
        industry = (
            classify(industry, log.city.industry_codes)
            .select(
                "tenant_id",
                key=pl.when(pl.col("key_industry") != OTHER).then(pl.col("key_industry")),
            )
            .collect()
        )
        year_tax = (
            tax.filter(pl.col("year") == year)
            .group_by("tenant_id", "building_id")
            .agg(tax=pl.col("amount_yuan").sum())
        )
        building_tax = (
            year_tax.join(scope, on="building_id", how="semi")
            .group_by("building_id")
            .agg(pl.col("tax").sum())
        )
        t = (
            tenancies.join(industry.select("tenant_id", "key"), on="tenant_id", how="left")
            .join(year_tax, on=["tenant_id", "building_id"], how="left")
            .with_columns(pl.col("tax").fill_null(0.0))
        )
        per_key = (
            t.filter(pl.col("key").is_not_null())
            .group_by("building_id", "key")
            .agg(k_area=pl.col("area").sum(), k_n=pl.len(), k_tax=pl.col("tax").sum())
            .sort("building_id", "k_area", "key", descending=[False, True, True])
            .unique("building_id", keep="first")
        )
        per_building = (
            t.group_by("building_id")
            .agg(n=pl.len(), area=pl.col("area").sum())
            .join(building_tax, on="building_id", how="left")
            .with_columns(pl.col("tax").fill_null(0.0))
        )
        featured = per_building.join(per_key, on="building_id").filter(
            (pl.col("n") >= 5)
            & (
                (pl.col("k_area") / pl.col("area") >= 0.5)
                | (pl.col("k_n") / pl.col("n") >= 0.5)
                | ((pl.col("tax") > 0) & (pl.col("k_tax") / pl.col("tax") >= 0.5))
            )
        )
        city_tax = city.filter(pl.col("year") == year)["city_tax"].sum()
        rows.append(
            {
                "year": year,
                "buildings": scope.height,
                "occupancy_rate": tenancies["area"].sum() / scope["rentable_area_m2"].sum(),
                "registration_rate": tenancies["registered"].sum() / tenancies.height,
                "building_tax_yuan": building_tax["tax"].sum(),
                "city_tax_yuan": city_tax,
                "tax_share": building_tax["tax"].sum() / city_tax,
                "key_buildings": building_tax.filter(pl.col("tax") >= 10_000_000).height,
                "featured_buildings": featured.height,
            }
        )
    return pl.DataFrame(rows).sort("year")


def _md_table(frame: pl.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    lines = [head, rule]
    for row in frame.iter_rows():
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1 else f"{v:,.2f}"
    return str(v)


# The replay dates at which the README lists the findings: the year ends of its figures, and a
# day inside the window of the planted over-rentable area (a month end after it begins).
README_FINDING_DATES = (
    date(2014, 12, 31),
    date(2015, 12, 31),
    month_end(month_of(OVERFULL_FROM) + 1),
    date(2016, 12, 31),
    date(2017, 12, 31),
    date(2018, 12, 31),
)


def _findings_section(sim: Simulation, log: EventLog, seq_of: dict[str, int]) -> list[str]:
    """The README's table of findings: exactly what `louyu state --frame findings` reports at
    each of README_FINDING_DATES (as recorded at the head), with the generator's own words for
    the planted problems (tests/test_sample_findings.py holds README and replay together)."""
    from louyu_research.replay.log import open_log

    found = open_log(log.path).findings_at(list(README_FINDING_DATES))
    planted = {f.event_id: f.problem for f in sim.findings}
    rows = (
        found.group_by("seq", "event_id", "code")
        .agg(pl.col("as_of"), pl.col("problem").sort_by("as_of").last())
        .sort("seq", "code")
    )
    days = [d.isoformat() for d in README_FINDING_DATES]
    lines = [
        "A replay (`louyu state --as-of DATE --frame findings`, at the head) reports exactly these at",
        "the dates of the columns (✓) and nothing else. An `over_rentable` finding names the latest",
        "tenancy event of the over-full building, so one problem can show another `seq` at another",
        "date; a `tax_inactive` finding is tax reported for a period outside the tenancy (the tax",
        "still counts as reported money).",
        "",
        f"| seq | event_id | code | {' | '.join(days)} | problem |",
        "|---|---|---|" + "---|" * len(days) + "---|",
    ]
    for seq, eid, code, on, problem in rows.iter_rows():
        marks = " | ".join("✓" if date.fromisoformat(d) in on else "–" for d in days)
        text = planted.get(eid, f"not planted itself; the replay says: {problem}")
        lines.append(f"| {seq} | `{eid}` | {code} | {marks} | {text} |")
    for f in sim.findings:  # planted but not found would be a replay bug: listed, not hidden
        if f.event_id not in set(rows["event_id"]):
            lines.append(
                f"| {seq_of[f.event_id]} | `{f.event_id}` | – | {' | '.join('–' for _ in days)} | "
                f"{f.problem} (not reported by the replay) |"
            )
    return lines


def readme(sim: Simulation, log: EventLog) -> str:
    """The sample's README: how it was made, what it holds, and what is wrong in it on purpose."""
    frame = log.read()
    seq_of = dict(zip(frame["event_id"].to_list(), frame["seq"].to_list(), strict=True))
    counts = frame.group_by("type").len().sort("type")
    head = log.head
    change = CITY.boundary_change
    y0, y1 = sorted(CITY.revenue)
    sizes = sorted((p.name, p.stat().st_size) for p in log.path.glob("*.jsonl*"))
    summary = (
        yearly_summary(log)
        .with_columns(
            (pl.col("building_tax_yuan") / 1e8).round(2).alias("building_tax_100m_yuan"),
            (pl.col("city_tax_yuan") / 1e8).round(2).alias("city_tax_100m_yuan"),
        )
        .drop("building_tax_yuan", "city_tax_yuan")
    )
    restated = (
        frame.filter(pl.col("type") == "TaxReported")
        .group_by("tenant_id", "building_id", "period")
        .len()
        .filter(pl.col("len") > 1)
        .height
    )
    designated = (
        frame.filter(pl.col("type") == "BuildingFeaturedDesignated")
        .group_by(pl.col("occurred_on").dt.year().alias("year"))
        .len()
        .sort("year")
    )
    moved = frame.filter(
        (pl.col("type") == "BuildingUpdated") & pl.col("street").is_not_null()
    ).sort("seq")
    retired = frame.filter(pl.col("type") == "BuildingRetired")
    revoked = frame.filter(pl.col("type") == "BuildingFeaturedRevoked")
    late = frame.filter(
        pl.col("type").is_in(
            [
                "TenantMovedIn",
                "TenantMovedOut",
                "TenantAreaChanged",
                "TenantRegistrationChanged",
                "TaxReported",
            ]
        )
        & (
            pl.col("recorded_at").dt.date()
            > pl.col("occurred_on").dt.offset_by("1mo").dt.month_end()
        )
    ).height
    codes = "\n".join(
        f"| {key} | {', '.join(c[0] for c in pairs)} | {', '.join(c[1] for c in pairs)} |"
        for key, pairs in KEY_CODES.items()
    )
    lines = [
        "# The shipped sample log (synthetic)",
        "",
        "A **synthetic** event log of Jiaxing's building economy (楼宇经济), 2014–2018, made by",
        "`louyu_research/sample/` (`louyu simulate`). Nothing in it is real municipal data: buildings, firms, names,",
        "unified social credit codes (valid check digits, but invented) and amounts are simulated; the",
        "geography (the city profile `louyu_research/city/jiaxing/`) and the city's budget revenue are real.",
        "",
        "Regenerate it, byte for byte: `make sample`, i.e. `louyu simulate --recorded --out events --force`",
        "(a test regenerates it and compares every file).",
        "",
        "## How it was made",
        "",
        f"- seed **{sim.seed}**, scale **{sim.scale:g}** (`louyu simulate --seed {sim.seed} --scale {sim.scale:g}`)",
        f"- {sim.buildings} buildings registered, {sim.tenants} tenants (enterprises), {sim.tenancies} tenancies",
        f"- {head.seq} events; head seq {head.seq}, hash `{head.hash}`, recorded_at {head.recorded_at}",
        f"- {len(sizes)} segments, {sum(s for _, s in sizes):,} bytes on disk (sealed segments gzip-compressed)",
        f"- business dates {frame['occurred_on'].min()} … {frame['occurred_on'].max()} (the census back-dates buildings and tenancies that existed before 2014); recorded {frame['recorded_at'].min()} … {frame['recorded_at'].max()} (UTC)",
        "",
        "Recorded like reality: the January 2014 census (`import:louyu-census-2013.xlsx`), then each street's",
        "monthly return in the first weeks of the next month (five lagging streets file later), the tax",
        "bureau's monthly file (`市税务局`), the city's monthly budget revenue (`市财政局`, `CityTaxReported`",
        "without district) and acts of the building-economy office (`市楼宇经济办公室`).",
        "",
        f"- late entries (recorded after the end of the month following the business date): {late}",
        f"- tax restated months later (more than one report for a tenant, building and period): {restated}",
        "- city revenue restated: 2016-05 and 2017-12",
        f"- street boundary change on {change.on} ({change.street} → {change.to}, so these buildings move from the {CITY.divisions[change.street][1]} reporting area to the development zone's): {', '.join(moved['building_id'].to_list())}",
        f"- retired: {', '.join(f'{r[0]} ({r[1]})' for r in retired.select('building_id', 'occurred_on').iter_rows())} (converted)",
        "- officially designated featured buildings (`BuildingFeaturedDesignated`) by year: "
        + ", ".join(f"{y}: {n}" for y, n in designated.iter_rows())
        + (
            f"; revoked: {', '.join(revoked['building_id'].to_list())} ({REVOKED_ON})"
            if revoked.height
            else ""
        ),
        '- industry codes: GB/T 4754-2011 (`industry_edition` "2011") for move-ins before 2017-10-01, 2017 after;',
        "  on 2017-10-01 tenants whose code differs between the editions get a `TenantUpdated` (source `市统计局`)",
        "  with their 2017 code.",
        "",
        "Key-industry codes the generator emits (2011 edition | 2017 edition); other tenants get F51, K70, L72, E48,",
        "C39, C28, M74, P82→P83, G58; some head offices L7211.",
        "",
        "| key industry | 2011 | 2017 |",
        "|---|---|---|",
        codes,
        "",
        "## Events by type",
        "",
        _md_table(counts.rename({"type": "type", "len": "events"})),
        "",
        "## The city's figures at each year end",
        "",
        "A quick fold of this log (`simulate.yearly_summary`; the `indicators` module is the authority),",
        "as recorded at the head, at 31 December, by INDICATORS.md's definitions (scope: completed,",
        "not retired, standalone, ≥ 1,000 m²; featured: ≥ 5 tenancies and the leading key industry ≥ 50 %",
        "of occupied area, tenancies or tax). Plan targets (2015/2016/2017): occupancy 65/75/85 %,",
        "registration 84/87/90 %, tax share 6/8/10 %, featured 40/70/100, key buildings 40/70/100.",
        "",
        _md_table(summary),
        "",
        f"Calibration: the city's general public budget revenue is ¥{CITY_REVENUE[y0] / 1e9:.2f} bn in {y0} and ¥{CITY_REVENUE[y1] / 1e9:.2f} bn in {y1}",
        "(as published; `louyu_research/sample/jiaxing.toml`); 2014, 2016 and 2018 follow the same compound growth. In-scope buildings' tax is",
        "scaled to a designed share of it (about 6.6 % in 2014 rising to 11 % in 2018).",
        "",
        "## Deliberate data-quality findings",
        "",
        *_findings_section(sim, log, seq_of),
        "",
        "## Wrong events, retracted (`EventRetracted`)",
        "",
        "Not findings: void for every replay recorded after the retraction, visible before it.",
        "",
        "| seq | event_id | what |",
        "|---|---|---|",
        *(f"| {seq_of[f.event_id]} | `{f.event_id}` | {f.problem} |" for f in sim.retracted),
        "",
        "## Segments",
        "",
        "| file | bytes |",
        "|---|---|",
        *(f"| {name} | {size:,} |" for name, size in sizes),
        "",
    ]
    return "\n".join(lines)
