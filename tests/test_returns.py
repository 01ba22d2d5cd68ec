"""The sample as the city's files (`louyu simulate --returns`): taking them in, in the order
received, into an empty log reproduces the shipped log's building figures at every month end
2014-01..2018-12 (both compared as recorded at the end of their log).

Where files cannot say what the log says, the difference is expected, and each is computed
here from the shipped log's raw events (not from the code under test):

1. Tax of an enterprise with tenancies in several buildings in one month: a tax file is by
   taxpayer, so intake attributes it (to the tenancy registered in its building, else by
   area), where the simulator placed it per tenancy. The taxpayer's total is the same.
2. Tax reported for a period in which the tenancy had ended (the sample's planted
   `tax_inactive` problem): in a file it matches no tenancy, so it is not attributed.
3. A retracted move-in or move-out: the files carry it in the month it was first returned and
   a corrected roster takes it back (a move-out, or a move-in again, at that month's end), so
   that month counts one move-in and one move-out more (the month-end stock agrees). The wrong
   move-in's tenant also has two tenancies that month (1.).
4. Featured designations are the office's acts, not returns: no file carries them.
5. Tax taken in before a move of the taxpayer dated in or before its period was returned (a
   late roster entry): intake attributed it by the tenancies it knew then, and a later roster
   does not move tax already reported. The taxpayer's total is the same.

Every other figure of every building and month is equal.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from typer.testing import CliRunner

from louyu_research.cli import app
from louyu_research.indicators.figures import figures_from_log, month_range
from louyu_research.replay import open_log
from louyu_research.sample.returns import MANIFEST, read_manifest, take_in

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("returns"), pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
MONTHS = month_range("2014-01", "2018-12")
TAX_COLUMNS = (
    "tax_yuan",
    "tax_yuan_ytd",
    "tax_share_ytd",
    "tax_per_m2_ytd",
    "top10_tax_share",
    "key_buildings",
    "featured_buildings",
)
MOVE_COLUMNS = ("move_ins", "move_outs", "gross_take_up_m2")


@pytest.fixture(scope="module")
def returns(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("returns") / "returns"
    result = CliRunner().invoke(app, ["simulate", "--returns", str(folder), "--out", str(EVENTS)])
    assert result.exit_code == 0, result.output
    assert "manifest.csv" in result.output
    return folder


@pytest.fixture(scope="module")
def taken(returns: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    log = tmp_path_factory.mktemp("intake") / "log"
    take_in(returns, log, compress_sealed=False)
    return log


# --- the shipped log's raw events: the expected differences, computed independently ----------


@pytest.fixture(scope="module")
def raw() -> pl.DataFrame:
    return open_log(EVENTS).scan().collect()


@pytest.fixture(scope="module")
def voided(raw: pl.DataFrame) -> pl.DataFrame:
    """The retracted events (the sample retracts no retraction, so every one is void)."""
    targets = raw.filter(pl.col("type") == "EventRetracted")["retracted_event_id"]
    assert (
        not raw.filter(pl.col("event_id").is_in(targets.implode()))["type"]
        .is_in(["EventRetracted"])
        .any()
    )
    return raw.filter(pl.col("event_id").is_in(targets.implode()))


def _periods() -> pl.DataFrame:
    return pl.DataFrame({"period": MONTHS}).with_columns(
        pl.col("period").str.to_date("%Y-%m").alias("p_start"),
        pl.col("period").str.to_date("%Y-%m").dt.month_end().alias("p_end"),
    )


@pytest.fixture(scope="module")
def spans(raw: pl.DataFrame, voided: pl.DataFrame) -> pl.DataFrame:
    """Per tenancy, its first move-in and its last move-out after it (none: still in), over
    the events that stand: wider than its spells, so every day it was in lies inside."""
    ok = raw.join(voided.select("event_id"), on="event_id", how="anti")
    ins = (
        ok.filter(pl.col("type") == "TenantMovedIn")
        .group_by("tenant_id", "building_id")
        .agg(pl.col("occurred_on").min().alias("first_in"))
    )
    outs = ok.filter(pl.col("type") == "TenantMovedOut").select(
        "tenant_id", "building_id", pl.col("occurred_on").alias("out")
    )
    last_out = (
        ins.join(outs, on=["tenant_id", "building_id"])
        .filter(pl.col("out") >= pl.col("first_in"))
        .group_by("tenant_id", "building_id")
        .agg(pl.col("out").max().alias("last_out"))
    )
    return ins.join(last_out, on=["tenant_id", "building_id"], how="left")


@pytest.fixture(scope="module")
def shipped_tax(raw: pl.DataFrame, voided: pl.DataFrame) -> pl.DataFrame:
    """The latest standing report per (tenant, building, period), in fen (no parts: the
    sample reports totals)."""
    tax = raw.filter(pl.col("type") == "TaxReported").join(
        voided.select("event_id"), on="event_id", how="anti"
    )
    assert tax["part"].is_null().all()
    return (
        tax.sort("seq")
        .unique(["tenant_id", "building_id", "period"], keep="last")
        .select(
            "tenant_id",
            "building_id",
            "period",
            (pl.col("amount_yuan") * 100).round(0).cast(pl.Int64).alias("fen"),
        )
    )


@pytest.fixture(scope="module")
def several(spans: pl.DataFrame, voided: pl.DataFrame) -> pl.DataFrame:
    """(1., 3.) Tenant-periods with tenancies in several buildings, and the buildings: from
    the spans, plus the retracted move-ins (in the files for their month)."""
    in_period = spans.join(_periods(), how="cross").filter(
        (pl.col("first_in") <= pl.col("p_end"))
        & (pl.col("last_out").is_null() | (pl.col("last_out") >= pl.col("p_start")))
    )
    wrong_ins = voided.filter(pl.col("type") == "TenantMovedIn").select(
        "tenant_id", "building_id", pl.col("occurred_on").dt.strftime("%Y-%m").alias("period")
    )
    pairs = pl.concat([in_period.select("tenant_id", "building_id", "period"), wrong_ins])
    return pairs.filter(pl.col("building_id").n_unique().over("tenant_id", "period") > 1)


@pytest.fixture(scope="module")
def late(raw: pl.DataFrame, spans: pl.DataFrame) -> pl.DataFrame:
    """(5.) Tenant-periods whose first tax report was received (city time: the month of the
    tax file) before a move of the tenant dated up to the period's end, and the tenant's
    tenancies begun by then."""
    received = pl.col("recorded_at").dt.convert_time_zone("Asia/Shanghai").dt.strftime("%Y-%m")
    tax = (
        raw.filter(pl.col("type") == "TaxReported")
        .group_by("tenant_id", "period")
        .agg(received.min().alias("tax_month"))
    )
    moves = raw.filter(pl.col("type").is_in(["TenantMovedIn", "TenantMovedOut"])).select(
        "tenant_id", "occurred_on", received.alias("move_month")
    )
    pairs = (
        tax.join(_periods(), on="period")
        .join(moves, on="tenant_id")
        .filter(
            (pl.col("occurred_on") <= pl.col("p_end"))
            & (pl.col("move_month") > pl.col("tax_month"))
        )
        .select("tenant_id", "period", "p_end")
        .unique()
    )
    return (
        pairs.join(spans, on="tenant_id")
        .filter(pl.col("first_in") <= pl.col("p_end"))
        .select("tenant_id", "building_id", "period")
    )


@pytest.fixture(scope="module")
def inactive(shipped_tax: pl.DataFrame, spans: pl.DataFrame) -> pl.DataFrame:
    """(2.) Tax reported for a period outside its tenancy's span."""
    p = _periods()
    return (
        shipped_tax.join(spans, on=["tenant_id", "building_id"], how="left")
        .join(p, on="period")
        .filter(
            pl.col("first_in").is_null()
            | (pl.col("first_in") > pl.col("p_end"))
            | (pl.col("last_out") < pl.col("p_start"))
        )
        .select("tenant_id", "building_id", "period", "fen")
    )


# --- the manifest and the files -------------------------------------------------------------


def test_manifest_lists_every_file_in_the_order_received(returns: Path) -> None:
    m = read_manifest(returns)
    files = {str(p.relative_to(returns)) for p in returns.rglob("*") if p.is_file()}
    assert set(m["file"]) == files - {MANIFEST}
    assert m["order"].to_list() == list(range(1, m.height + 1))
    assert m["received"].is_sorted()
    # the census first: its workbook is both the register and the first roster
    assert m.head(2).select("kind", "month", "why").rows() == [
        ("buildings", "2013-12", "census"),
        ("roster", "2013-12", "census"),
    ]
    # a month's files arrive after it ends; each month's rosters and tax files arrive
    for r in m.iter_rows(named=True):
        assert r["month"] < r["received"], r
    monthly = m.filter(pl.col("why") == "monthly")
    for kind in ("roster", "tax", "city-tax"):
        assert set(monthly.filter(pl.col("kind") == kind)["month"]) == set(MONTHS), kind
    # 46 streets have buildings with enterprises: each sends a roster every month
    rosters = monthly.filter(pl.col("kind") == "roster")
    assert rosters.group_by("month").agg(pl.col("sender").n_unique())["sender"].max() == 46


def test_files_are_as_offices_send_them(returns: Path) -> None:
    m = read_manifest(returns)
    rosters = m.filter(pl.col("kind") == "roster", pl.col("why") != "census")
    suffixes = set(rosters["file"].str.extract(r"\.(\w+)$").to_list())
    assert suffixes == {"csv", "xlsx"}
    csv_roster = returns / rosters.filter(pl.col("file").str.ends_with(".csv"))["file"][0]
    data = csv_roster.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.decode("gb18030").startswith("楼宇编号,楼宇名称,统一社会信用代码")
    tax = m.filter(pl.col("kind") == "tax")
    before, after = (
        tax.filter(pl.col("month") < "2018-01"),
        tax.filter(pl.col("month") >= "2018-01"),
    )
    assert set(before["sender"]) == {"国家税务局", "地方税务局"}
    assert set(after["sender"]) == {"税务局"}
    # the local bureau's CSV in 万元, some taxpayers under 15-character legacy numbers
    local = (
        returns
        / before.filter(pl.col("sender") == "地方税务局", pl.col("month") == "2014-06")["file"][0]
    )
    rows = list(csv.reader(local.read_text("gb18030").splitlines()))
    assert rows[0] == ["纳税人识别号", "纳税人名称", "税款所属期", "税收金额（万元）", "征收机关"]
    ids = [r[0] for r in rows[1:]]
    assert {len(i) for i in ids} == {15, 18}
    later = returns / after.filter(pl.col("why") == "monthly")["file"][0]
    assert pl.read_excel(later)["纳税人识别号"].str.len_chars().unique().to_list() == [18]


def test_restatements_arrive_later_as_their_month(returns: Path, raw: pl.DataFrame) -> None:
    m = read_manifest(returns)
    # the city's revenue of 2016-05 restated in September 2016: a later finance-bureau file
    restated = raw.filter(pl.col("event_id") == "city-2016-05-r1").row(0, named=True)
    received = restated["recorded_at"].astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    f = m.filter(pl.col("kind") == "city-tax", pl.col("received") == received)
    assert f.height == 1 and received == "2016-09"
    rows = list(csv.reader((returns / f["file"][0]).read_text("gb18030").splitlines()))
    assert ["2016-05", f"{restated['amount_yuan']:.2f}", ""] in rows
    # a restated tax report: a later tax file received in the month it was recorded
    r1 = raw.filter(pl.col("event_id").str.ends_with("-r1"), pl.col("type") == "TaxReported")
    assert r1.height > 100
    later = m.filter(pl.col("kind") == "tax", pl.col("why") == "late-or-restated")
    assert later["received"].n_unique() > 30


def test_a_retracted_move_in_is_a_corrected_roster(returns: Path, voided: pl.DataFrame) -> None:
    wrong = voided.filter(pl.col("type") == "TenantMovedIn").row(0, named=True)
    month = wrong["occurred_on"].strftime("%Y-%m")
    m = read_manifest(returns).filter(pl.col("kind") == "roster", pl.col("month") == month)

    def listed(why: str) -> set[tuple[str, str]]:
        out = set()
        for f in m.filter(pl.col("why") == why)["file"]:
            p = returns / f
            frame = (
                pl.read_csv(p.read_text("gb18030").encode(), infer_schema=False)
                if p.suffix == ".csv"
                else pl.read_excel(p, infer_schema_length=0)
            )
            out |= set(frame.select("统一社会信用代码", "楼宇编号").iter_rows())
        return out

    pair = (wrong["tenant_id"], wrong["building_id"])
    assert pair in listed("monthly")
    assert pair not in listed("corrected")
    assert wrong["tenant_id"] in {t for t, _ in listed("corrected")}


# --- the reproduction -----------------------------------------------------------------------


def test_taxpayers_totals_are_the_logs(
    taken: Path,
    shipped_tax: pl.DataFrame,
    inactive: pl.DataFrame,
    several: pl.DataFrame,
    late: pl.DataFrame,
) -> None:
    mine = (
        open_log(taken)
        .replay(date(2018, 12, 31))
        .tax.select(
            "tenant_id",
            "building_id",
            "period",
            (pl.col("amount_yuan") * 100).round(0).cast(pl.Int64).alias("fen"),
        )
    )
    key = ["tenant_id", "period"]
    shipped = shipped_tax.join(inactive, on=key, how="anti")
    # (2.) tax of an ended tenancy matched no tenancy: not in the files' log
    assert inactive.height == 2
    assert mine.join(inactive, on=key, how="semi").is_empty()
    # every taxpayer's total per period is the log's
    per_taxpayer = [f.group_by(key).agg(pl.col("fen").sum()).sort(key) for f in (shipped, mine)]
    assert per_taxpayer[0].equals(per_taxpayer[1])
    # and per building, but for taxpayers with several tenancies that month (1.) or whose
    # move was returned after their tax (5.)
    multi = pl.concat([several.select(key), late.select(key)]).unique()
    # a small share of the roughly 218,000 tenant-periods with tax
    assert 0 < multi.height < 0.01 * shipped.select(key).n_unique()
    full = ["tenant_id", "building_id", "period"]
    a = shipped.join(multi, on=key, how="anti").sort(full)
    b = mine.join(multi, on=key, how="anti").sort(full)
    assert a.equals(b)


def test_building_figures_at_every_month_end_are_the_logs(
    taken: Path,
    several: pl.DataFrame,
    inactive: pl.DataFrame,
    late: pl.DataFrame,
    voided: pl.DataFrame,
) -> None:
    shipped = figures_from_log(open_log(EVENTS), MONTHS, "building").frame
    mine = figures_from_log(open_log(taken), MONTHS, "building").frame
    key = ["month", "building_id"]
    assert shipped.select(key).equals(mine.select(key))
    # (4.) no designation in the files
    assert mine["designated_buildings"].sum() == 0 and shipped["designated_buildings"].sum() > 0
    # (1., 2., 5.) tax of the year to date of a building touched by a taxpayer with several
    # tenancies, by tax of an ended tenancy, or by tax taken in before a move was returned,
    # in that year up to the month
    touched = (
        pl.concat([f.select("building_id", "period") for f in (several, inactive, late)])
        .unique()
        .join(pl.DataFrame({"month": MONTHS}), how="cross")
        .filter(
            (pl.col("period") <= pl.col("month"))
            & (pl.col("period").str.slice(0, 4) == pl.col("month").str.slice(0, 4))
        )
        .select(key)
        .unique()
    )
    # (3.) the months of the retracted move-in and move-out
    moves = voided.filter(pl.col("type").is_in(["TenantMovedIn", "TenantMovedOut"])).select(
        pl.col("occurred_on").dt.strftime("%Y-%m").alias("month"), "building_id"
    )
    assert moves.height == 2
    j = shipped.join(mine, on=key, suffix="_files")
    expected = {
        **{c: touched for c in TAX_COLUMNS},
        **{c: moves for c in MOVE_COLUMNS},
        "designated_buildings": j.select(key),
    }
    differing: dict[str, int] = {}
    for c in shipped.columns:
        if c in key:
            continue
        a, b = pl.col(c), pl.col(f"{c}_files")
        same = (
            ((a - b).abs() <= 1e-6 * (1 + a.abs())) | (a.is_null() & b.is_null())
            if shipped.schema[c].is_float()
            else a.eq_missing(b)
        )
        bad = j.filter(~same.fill_null(False)).select(key)
        allowed = expected.get(c)
        outside = bad if allowed is None else bad.join(allowed, on=key, how="anti")
        assert outside.is_empty(), (c, outside.head(5).rows())
        differing[c] = bad.height
    # the move counts differ by exactly the one retracted move-in and move-out
    for c in ("move_ins", "move_outs"):
        at = j.join(moves, on=key)
        assert (at[f"{c}_files"] - at[c]).to_list() == [1, 1], c
    # the differences are few: the tax of under a tenth of the building-months
    assert 0 < differing["tax_yuan"] < 0.1 * j.height and differing["occupancy_rate"] == 0


def test_taking_in_the_last_files_again_appends_nothing(
    returns: Path, taken: Path, tmp_path: Path
) -> None:
    m = read_manifest(returns)
    last = m.filter(pl.col("received") == m["received"].max())
    assert last.height
    head = open_log(taken).head.seq
    last.with_columns(
        pl.col("file").map_elements(lambda f: str(returns / f), return_dtype=pl.String)
    ).write_csv(tmp_path / MANIFEST)
    result = take_in(tmp_path, taken)
    assert result["intakes"] >= 1 and sum(result["appended"].values()) == 0
    assert open_log(taken).head.seq == head


def test_returns_cli_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(
        app, ["simulate", "--returns", str(tmp_path / "r"), "--out", str(tmp_path / "none")]
    )
    assert r.exit_code == 2 and "holds no log" in r.output
    r = runner.invoke(
        app, ["simulate", "--returns", str(tmp_path / "r"), "--out", str(EVENTS), "--seed", "1"]
    )
    assert r.exit_code == 2 and "--returns reads the log" in r.output
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("x")
    r = runner.invoke(app, ["simulate", "--returns", str(tmp_path / "busy"), "--out", str(EVENTS)])
    assert r.exit_code == 2 and "not empty" in r.output
    r = runner.invoke(
        app, ["simulate", "--returns", str(tmp_path / "busy"), "--out", str(EVENTS), "--force"]
    )
    assert r.exit_code == 2 and "not returns" in r.output
