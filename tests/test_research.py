"""The researcher's API and CLI: one vocabulary, a complete data dictionary, plain exports,
reasons instead of silence, and the helpers (tenant history, tax by section, USCC check digits,
Stata export). Figures are worked out by hand from the small log below."""

from __future__ import annotations

import io
import json
import subprocess
import tomllib
import unicodedata
import warnings
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from drafts import Kit, uscc
from typer.testing import CliRunner

from louyu_research import research
from louyu_research.cli import app
from louyu_research.core import glossary
from louyu_research.core.frame import columns
from louyu_research.indicators.figures import figures_from_log
from louyu_research.replay.log import Log
from louyu_research.schemas import FRAME_MODELS

TZ = ZoneInfo("Asia/Shanghai")


def build(path: Path) -> Log:
    """A in scope (standalone), B not. T1 (1,000 m², I65 → J66 from 15 Feb 2016) and T2
    (500 m², renamed 10 Jan 2016, left 20 Mar 2016) in A; T3 (300 m²) in B.
    Tax: T1 100 (Jan), 200 (Feb, recorded 15 Apr 23:30), 300 (Mar); T2 50 (Jan); T3 1,000 (Jan).
    City total 10,000 a month; March's recorded only on 16 April at 00:10 (local time)."""
    k = Kit(
        "2016-04-01T00:00:00+08:00",
        building_defaults={"completed_on": "2010-01-01"},
        tenancy_defaults={"industry_edition": "2011"},
    )
    k.building("A", gross_floor_area_m2=10000.0, rentable_area_m2=8000.0)
    k.building("B", gross_floor_area_m2=5000.0, rentable_area_m2=4000.0, standalone=False)
    k.move_in("T1", "A", "2015-06-01", 1000)
    k.move_in("T2", "A", "2015-06-01", 500)
    k.move_in("T3", "B", "2015-06-01", 300)
    k.add("TenantUpdated", "2016-01-10", tenant_id="T2", tenant_name="T2新名公司")
    k.add("TenantUpdated", "2016-02-15", tenant_id="T1", industry="J66", industry_edition="2011")
    k.move_out("T2", "A", "2016-03-20")
    k.tax("T1", "A", "2016-01", 100)
    k.tax("T2", "A", "2016-01", 50)
    k.tax("T3", "B", "2016-01", 1000)
    k.tax("T1", "A", "2016-03", 300)
    for period in ("2016-01", "2016-02"):
        k.add("CityTaxReported", f"{period}-28", period=period, amount_yuan=10_000.0)
    k.tax("T1", "A", "2016-02", 200, at="2016-04-15T23:30:00+08:00")
    k.add("CityTaxReported", "2016-03-31", period="2016-03", amount_yuan=10_000.0,
          at="2016-04-16T00:10:00+08:00")  # fmt: skip
    return k.write(path)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Log:
    return build(tmp_path_factory.mktemp("research") / "events")


def louyu(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args), env=env)
    return r.exit_code, r.stdout, r.stderr


# --- one vocabulary ------------------------------------------------------------------------


def test_a_date_as_recorded_by_is_the_end_of_that_day_in_the_city(log: Log) -> None:
    # 15 April as a date: the tax recorded at 23:30 that day counts, the city total of 00:10
    # the next day does not; the same as the explicit end of the day, as text or as values.
    end_of_day = datetime.combine(date(2016, 4, 15), time(23, 59, 59, 999999), TZ)
    for cut in ("2016-04-15", date(2016, 4, 15), "2016-04-15+08:00", end_of_day):
        state = log.replay("2016-03-31", recorded_by=cut)
        tax = state.tax.filter(pl.col("tenant_id") == "T1").sort("period")
        assert tax.get_column("amount_yuan").to_list() == [100.0, 200.0, 300.0], cut
        assert "2016-03" not in state.city_tax.get_column("period").to_list(), cut
    assert "2016-03" in log.replay("2016-03-31", recorded_by="2016-04-16").city_tax["period"]
    # a naive time is read in the city's zone: 23:00 on the 15th excludes the 23:30 report
    early = log.replay(date(2016, 3, 31), recorded_by="2016-04-15T23:00")
    assert early.tax.filter(pl.col("period") == "2016-02").is_empty()


def test_as_of_takes_a_date_a_datetime_or_text(log: Log) -> None:
    a = log.replay(date(2016, 3, 19)).tenancies
    for as_of in ("2016-03-19", datetime(2016, 3, 19, 12, tzinfo=TZ), "2016-03-19T12:00+08:00"):
        assert log.replay(as_of).tenancies.equals(a), as_of
    assert sorted(a["tenant_id"]) == ["T1", "T2", "T3"]  # T2 leaves on the 20th
    with pytest.raises(ValueError, match="as_of: not a date: 'yesterday'"):
        log.replay("yesterday")


def test_area_and_reporting_area_are_one_level_in_api_and_cli(log: Log) -> None:
    a = figures_from_log(log, "2016-03", "area").frame
    b = figures_from_log(log, "2016-03", "reporting_area").frame
    assert a.equals(b) and a.get_column("reporting_area").to_list() == ["南湖区"]
    for level in ("area", "reporting_area"):
        code, out, err = louyu("indicators", "--log", str(log.path), "--month", "2016-03",
                               "--level", level, "--format", "json")  # fmt: skip
        assert code == 0, err
        assert [r["reporting_area"] for r in json.loads(out)["rows"]] == ["南湖区"]


def test_the_district_has_one_name_in_panel_state_and_figures(log: Log) -> None:
    panel = log.panel("2016-03", "2016-03")
    for level in ("building", "street"):
        frame = figures_from_log(log, "2016-03", level).frame
        assert "district" in frame.columns and "admin_district" not in frame.columns
    building = figures_from_log(log, "2016-03", "building").frame
    assert (
        building.get_column("district").to_list()
        == panel.filter(pl.col("building_id") == "A").get_column("district").to_list()
        == ["南湖区"]
    )
    assert "district" in log.replay("2016-03-31").buildings.columns


def test_cli_recorded_by_takes_a_date_and_a_date_with_offset(log: Log) -> None:
    base = ("indicators", "--log", str(log.path), "--month", "2016-03", "--format", "json")
    for cut in ("2016-04-15", "2016-04-15+08:00", "2016-04-15T23:59:59+08:00"):
        code, out, err = louyu(*base, "--recorded-by", cut)
        assert code == 0, (cut, err)
        row = json.loads(out)["rows"][0]
        assert row["tax_yuan_ytd"] == 650.0 and row["tax_share_ytd"] is None, cut
    code, _, err = louyu(*base, "--recorded-by", "mid-April")
    assert code == 2 and "not a date or timestamp: 'mid-April'" in err
    assert "+08:00+08:00" not in err
    code, out, err = louyu("state", "--log", str(log.path), "--as-of", "2016-03-31", "--frame",
                           "tax", "--recorded-by", "2016-04-15", "--format", "csv")  # fmt: skip
    assert code == 0, err
    assert sorted(pl.read_csv(io.StringIO(out))["amount_yuan"].to_list()) == [
        50.0, 100.0, 200.0, 300.0, 1000.0,
    ]  # fmt: skip


# --- the data dictionary -------------------------------------------------------------------


def test_every_column_of_every_public_frame_is_in_the_glossary() -> None:
    lacking = {m.__name__: glossary.missing(columns(m)) for m in FRAME_MODELS}
    assert {k: v for k, v in lacking.items() if v} == {}
    for name in glossary.names():
        assert glossary.scope(name) in glossary.SCOPES, name


def test_relabel_works_on_every_frame_the_package_makes(log: Log) -> None:
    state = log.replay("2016-03-31")
    frames = [state.frame(n) for n in ("buildings", "tenancies", "tenants", "tax", "city_tax",
                                        "findings")]  # fmt: skip
    frames.append(log.panel("2016-02", "2016-03"))
    frames += [figures_from_log(log, "2016-03", lv).frame for lv in ("building", "street",
                                                                     "area", "city")]  # fmt: skip
    frames += [research.tax_by_section(log, "2016-01", "2016-03"),
               research.tenant_history(log, tenant_id="T2"),
               research.figures(log, "2016-03", recorded_by="2016-04-15").reasons]  # fmt: skip
    for frame in frames:
        for lang in ("zh", "en"):
            shown = glossary.relabel(frame, lang)
            assert len(set(shown.columns)) == frame.width
    # two columns sharing a display name stay apart
    both = pl.DataFrame({"name": ["A大厦"], "building_name": ["A大厦"]})
    assert glossary.relabel(both).columns == ["楼宇名称 [name]", "楼宇名称 [building_name]"]
    with pytest.raises(KeyError, match="not in the glossary: nope"):
        glossary.relabel(pl.DataFrame({"month": ["2016-03"], "nope": [1]}))


def test_glossary_and_model_agree_on_the_leading_area_share(log: Log) -> None:
    from louyu_research.replay.frames import BuildingMonth

    model = BuildingMonth.to_schema().columns["leading_area_share"].description
    assert "tenancy area" in model
    assert "tenancy_area_m2" in glossary.definition("leading_area_share", "en")
    assert "not occupied_area_m2" in glossary.definition("leading_area_share", "en")


def test_scope_at_month_end_is_in_the_dictionary_and_out_of_scope_rows_are_left_out(
    log: Log,
) -> None:
    for column in ("tax_yuan", "tax_yuan_ytd"):
        assert "judged at each month's end" in glossary.definition(column, "en")
        assert glossary.scope(column) == "in_scope"
    # B is out of scope: its tenant's 1,000 of January tax is in the raw panel, not in the
    # researcher's panel, whose sum is the city figure (T1 100 + T2 50).
    raw = log.panel("2016-01", "2016-01")
    assert raw.get_column("tax_yuan").sum() == 1150.0
    panel = research.panel(log, "2016-01", "2016-01")
    assert panel.get_column("building_id").to_list() == ["A"]
    assert panel.get_column("tax_yuan").sum() == 150.0
    city = figures_from_log(log, "2016-01", "city").frame
    assert city.get_column("tax_yuan").to_list() == [150.0]


# --- plain CSV and provenance ----------------------------------------------------------------


def test_csv_is_one_header_line_and_the_provenance_goes_beside(log: Log, tmp_path: Path) -> None:
    base = ("indicators", "--log", str(log.path), "--month", "2016-03", "--format", "csv")
    code, out, err = louyu(*base)
    assert code == 0, err
    assert not out.startswith("#")
    frame = pl.read_csv(io.StringIO(out))
    assert frame.get_column("tax_yuan_ytd").to_list() == [650.0]
    assert '"seq": ' in err and "# city:" in err
    code, out, err = louyu(*base, "--labels", "zh", "--columns", "month,tax_yuan_ytd")
    assert out.splitlines()[0] == "月份,年累计税收"
    target = tmp_path / "city.csv"
    code, out, err = louyu(*base, "--labels", "en", "--out", str(target))
    assert code == 0 and out == "", err
    assert pl.read_csv(target).columns[:2] == ["Month", "Buildings in scope"]
    side = json.loads((tmp_path / "city.csv.provenance.json").read_text("utf-8"))
    assert side["log_position"]["seq"] == log.head.seq
    assert side["settings"]["scope_min_gross_floor_area_m2"] == 1000.0
    assert side["city"]["zh"] == "嘉兴市"
    code, out, _ = louyu(*base[:-2], "--format", "json")
    doc = json.loads(out)
    assert {"settings", "log_position", "city", "notes", "rows"} <= set(doc)


# --- reasons instead of silence ----------------------------------------------------------------


def test_an_empty_tax_share_says_the_city_total_was_not_recorded(log: Log) -> None:
    f = research.figures(log, "2016-03", "city", recorded_by="2016-04-15")
    assert f.frame.get_column("tax_share_ytd").to_list() == [None]
    assert f.reasons.select("month", "column").rows() == [("2016-03", "tax_share_ytd")]
    assert "not recorded by this cut-off for 2016-03" in f.reasons["reason"][0]
    later = research.figures(log, "2016-03", "city", recorded_by="2016-04-16")
    assert later.reasons.is_empty()
    assert later.frame.get_column("tax_share_ytd").to_list() == [pytest.approx(650 / 30_000)]
    code, _, err = louyu("indicators", "--log", str(log.path), "--month", "2016-03",
                         "--recorded-by", "2016-04-15")  # fmt: skip
    assert code == 0 and "note: 2016-03 tax_share_ytd is empty" in err


def test_empty_cells_of_the_lists_carry_their_reasons() -> None:
    vacancy = pl.DataFrame(
        {
            "month": ["2016-03", "2016-03"],
            "building_id": ["A", "B"],
            "rentable_area_m2": [0.0, 8000.0],
            "vacancy_rate": [None, 0.875],
            "leading_industry": ["information", None],
        }
    )
    reasons = research.null_reasons(vacancy, pl.DataFrame())
    assert reasons.select("key", "column").rows() == [
        ("B", "leading_industry"),
        ("A", "vacancy_rate"),
    ]
    assert "no rentable area" in reasons["reason"][1]
    at_risk = pl.DataFrame(
        {
            "month": ["2016-03"],
            "tenant_id": ["T1"],
            "building_id": ["A"],
            "area_m2_before": [None],
            "tax_change_rate": [None],
        },
        schema_overrides={"area_m2_before": pl.Float64, "tax_change_rate": pl.Float64},
    )
    lines = research.notes(research.null_reasons(at_risk, pl.DataFrame()))
    assert lines == [
        "2016-03 area_m2_before is empty: the tenancy did not exist at the start of the "
        "comparison window",
        "2016-03 tax_change_rate is empty: no tax in the previous window, so no rate of change",
    ]


def test_an_empty_list_says_so(log: Log) -> None:
    vacancy = research.plan_list(log, "vacancy", "2016-03")
    # A: 8,000 m² rentable, T1's 1,000 m² let after T2 left on 20 March; B is not standalone
    assert vacancy.frame.select("building_id", "vacancy_rate").rows() == [("A", 7000 / 8000)]
    assert vacancy.frame["leading_industry"].to_list() == ["finance"] and vacancy.reasons.is_empty()
    assert research.plan_list(log, "key", date(2016, 3, 1)).frame.is_empty()
    code, out, err = louyu("list", "key", "--log", str(log.path), "--month", "2016-03",
                           "--format", "csv")  # fmt: skip
    assert code == 0 and out.splitlines()[0].startswith("month,building_id")
    assert len(out.splitlines()) == 1
    assert "note: 2016-03 the key list is empty" in err


def test_unknown_building_ids_are_errors_with_the_closest_ids(log: Log) -> None:
    base = ("indicators", "--log", str(log.path), "--month", "2016-03", "--level", "building")
    code, out, err = louyu(*base, "--building", "a")
    assert code == 2 and out == "" and "unknown building id 'a'" in err and "closest: A" in err
    assert len(err.strip().splitlines()) == 1
    code, out, _ = louyu(*base, "--building", "A", "--format", "csv")
    assert code == 0 and pl.read_csv(io.StringIO(out))["building_id"].to_list() == ["A"]
    with pytest.raises(research.UnknownIdError, match="closest: T1"):
        research.tenant_history(log, tenant_id="t1")
    assert research.closest("jx0215", ["JX0215", "JX0216", "JX9999"])[0] == "JX0215"
    from louyu_research.research import explore

    with pytest.raises(research.UnknownIdError, match="closest: A"):
        explore.building_events(log, "a")
    assert explore.building_events(log, "A")["type"].to_list()[0] == "BuildingRegistered"


def test_dates_outside_the_log_warn(log: Log) -> None:
    with pytest.warns(research.OutsideLogWarning, match="before the log's first business date"):
        research.state(log, "2000-01-01")
    with pytest.warns(research.OutsideLogWarning, match="after the log's last business date"):
        research.state(log, "2030-01-01")
    with pytest.warns(research.OutsideLogWarning, match="before the first tax period"):
        research.state(log, "2015-07-01")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        research.state(log, "2016-03-31")
    code, _, err = louyu("state", "--log", str(log.path), "--as-of", "2000-01-01",
                         "--frame", "buildings")  # fmt: skip
    assert code == 0 and "warning: as of 2000-01-01 is before" in err
    code, _, err = louyu("indicators", "--log", str(log.path), "--month", "2015-08")
    assert code == 0 and "warning: month 2015-08 is before the first tax period" in err


# --- helpers ---------------------------------------------------------------------------------


def test_tenant_history_names_every_row_as_of_its_date(log: Log) -> None:
    h = research.tenant_history(log, tenant_id="T2")
    assert h.select("occurred_on", "type", "tenant_name", "area_m2").rows() == [
        (date(2015, 6, 1), "TenantMovedIn", "T2公司", 500.0),
        (date(2016, 3, 20), "TenantMovedOut", "T2新名公司", 500.0),  # the area it left
    ]
    by_building = research.tenant_history(log, building_id="A")
    assert by_building.get_column("tenant_name").null_count() == 0
    assert sorted(set(by_building["tenant_id"])) == ["T1", "T2"]


def test_tax_by_section_takes_each_month_s_industry(log: Log) -> None:
    t = research.tax_by_section(log, "2016-01", "2016-03")
    # T1 is I65 until 15 Feb, then J66: January's tax counts in I, February's and March's in J.
    assert t.select("month", "section", "tax_yuan", "taxpayers").rows() == [
        ("2016-01", "I", 150.0, 2),
        ("2016-02", "J", 200.0, 1),
        ("2016-03", "J", 300.0, 1),
    ]
    assert t.filter(pl.col("section") == "J")["section_name_zh"][0] == "金融业"
    every = research.tax_by_section(log, "2016-01", "2016-01", in_scope_only=False)
    assert every.get_column("tax_yuan").to_list() == [1150.0]  # B's tenant too
    names = research.section_names()
    assert names.height == 20 and names["section"].to_list() == [chr(c) for c in range(65, 85)]


def test_uscc_check_digit_matches_an_independent_computation() -> None:
    for body in ("91330402MA28A0000", "91330400000000001", "12330400470000000",
                 "9133040200153362Y", "Y1330402MA2B00000"):  # fmt: skip
        assert body + research.uscc_check_digit(body) == uscc(body)
    assert research.uscc_check_digit("91350100M000100Y4") == "3"  # a published example
    with pytest.raises(ValueError, match="17 of"):
        research.uscc_check_digit("91330402I0000000")


def test_pinned_shows_itself_in_jupyter(log: Log) -> None:
    f = research.figures(log, "2016-03", recorded_by="2016-04-15")
    html = f._repr_html_()
    assert f"seq {f.position['seq']}" in html and "<table" in html
    assert "Empty figures" in html and "tax_share_ytd" in html


def test_pandas_interop_and_stata_export_with_glossary_labels(log: Log, tmp_path: Path) -> None:
    import pandas as pd

    f = research.figures(log, "2016-03", "building")
    assert f.frame.to_pandas().loc[0, "building_id"] == "A"
    files = research.export(f, tmp_path / "b.dta")
    assert [p.name for p in files] == ["b.dta", "b.dta.provenance.json"]
    back = pd.read_stata(tmp_path / "b.dta")
    assert back.loc[0, "tax_yuan_ytd"] == 650.0 and back.loc[0, "in_scope"] == 1
    with pd.io.stata.StataReader(tmp_path / "b.dta") as reader:
        labels = reader.variable_labels()
    assert labels["occupancy_rate"] == "Occupancy rate"
    research.export(f, tmp_path / "b_zh.dta", lang="zh")
    with pd.io.stata.StataReader(tmp_path / "b_zh.dta") as reader:
        assert reader.variable_labels()["occupancy_rate"] == "入驻率"
    research.export(log.replay("2016-03-31").buildings, tmp_path / "buildings.dta")
    assert pd.read_stata(tmp_path / "buildings.dta").loc[0, "completed_on"] == pd.Timestamp(
        "2010-01-01"
    )
    research.export(f, tmp_path / "b.parquet")
    meta = pl.read_parquet_metadata(tmp_path / "b.parquet")
    assert json.loads(meta["louyu"])["log_position"]["seq"] == log.head.seq
    assert pl.read_parquet(tmp_path / "b.parquet").equals(f.frame)


def test_louyu_export_writes_the_file_and_its_provenance(log: Log, tmp_path: Path) -> None:
    out = tmp_path / "streets.csv"
    code, _, err = louyu("export", "figures", "--log", str(log.path), "--from", "2016-02",
                              "--to", "2016-03", "--level", "street", "--out", str(out),
                              "--lang", "zh")  # fmt: skip
    assert code == 0, err
    frame = pl.read_csv(out)
    assert frame.columns[:2] == ["月份", "街道（镇）"] and frame.height == 2
    assert json.loads((tmp_path / "streets.csv.provenance.json").read_text("utf-8"))["rows"] == 2
    code, _, err = louyu("export", "tenancies", "--log", str(log.path), "--as-of",
                         "2016-03-31", "--out", str(tmp_path / "t.parquet"))  # fmt: skip
    assert code == 0 and "for internal use only" in err
    code, _, err = louyu("export", "panel", "--log", str(log.path), "--out", str(tmp_path / "p.x"))
    assert code == 2 and "--from is needed" in err


def test_louyu_export_never_writes_tenants_where_git_would_track_them(
    log: Log, tmp_path: Path
) -> None:
    repo = tmp_path / "study"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text("private/\n", encoding="utf-8")
    args = ["--log", str(log.path), "--as-of", "2016-03-31", "--out"]
    code, _, err = louyu("export", "tenancies", *args, str(repo / "t.parquet"))
    assert code == 2 and "git would track it" in err and str(repo) in err
    assert not (repo / "t.parquet").exists()
    code, _, err = louyu("export", "tax", *args, str(repo / "private" / "tax.csv"))
    assert code == 0, err
    assert (repo / "private" / "tax.csv").is_file()
    # a frame without tenants goes anywhere
    code, _, err = louyu("export", "buildings", *args, str(repo / "buildings.csv"))
    assert code == 0, err


# --- the command line ------------------------------------------------------------------------


def test_version_presets_and_full_choice_lists_in_help(root: Path) -> None:
    version = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    code, out, _ = louyu("--version")
    assert code == 0 and out.strip() == f"louyu-research {version}"
    _, out, _ = louyu("state", "--help", env={"COLUMNS": "100"})
    for name in ("buildings", "tenancies", "tenants", "tax", "city_tax", "findings"):
        assert name in out, name
    _, out, _ = louyu("indicators", "--help", env={"COLUMNS": "120"})
    assert "wuhan-wuchang" in out and "reporting_area" in out


def test_featured_preset_from_the_command_line(log: Log) -> None:
    code, out, err = louyu("indicators", "--log", str(log.path), "--month", "2016-03",
                           "--featured", "wuhan-wuchang", "--format", "json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["settings"]["featured"]["threshold"] == 0.7
    assert research.featured_preset("wuhan-wuchang").featured.threshold == 0.7
    code, _, err = louyu("indicators", "--log", str(log.path), "--month", "2016-03",
                         "--featured", "strict")  # fmt: skip
    assert code == 2 and "unknown preset 'strict'" in err


def _width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_tables_fit_the_terminal_with_percentages(log: Log) -> None:
    code, out, err = louyu("indicators", "--log", str(log.path), "--month", "2016-03",
                           "--level", "building", env={"COLUMNS": "90"})  # fmt: skip
    assert code == 0, err
    assert max(_width(line) for line in out.splitlines()) <= 90
    code, out, _ = louyu("indicators", "--log", str(log.path), "--month", "2016-03",
                         "--columns", "occupancy_rate,tax_yuan_ytd", env={"COLUMNS": "90"})  # fmt: skip
    # A: T1 1,000 m² at the end of March (T2 left) of 8,000 m² rentable
    assert "12.5%" in out and "650.0" in out and "0.125" not in out
    code, _, err = louyu("indicators", "--log", str(log.path), "--month", "2016-03",
                         "--columns", "occupancy")  # fmt: skip
    assert code == 2 and "closest: occupancy_rate" in err
