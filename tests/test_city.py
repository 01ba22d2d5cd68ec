"""A city is data: a made-up second city (other divisions, targets, key industries, settings,
plan title) runs through the log, the replay, the indicators and the CLI with no code change."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from drafts import building, envelope, moved_in, tax, uscc

from louyu_research.city.profile import CityError, default_city, load_city
from louyu_research.indicators.figures import figures_from_log, targets_from_log
from louyu_research.log import EventLog, LogError
from louyu_research.log.store import AppendRejected
from louyu_research.replay import open_log

CITY_TOML = """
key = "harbor"
time_zone = "Asia/Shanghai"

[name]
zh = "港城市"
en = "Harbor City"

[plan]
title_zh = "港城市楼宇经济行动计划(2020~2022)"
title_en = "Harbor City building economy plan (2020–2022)"
first_year = 2020
last_year = 2022

[report]
title_zh = "港城市楼宇经济季度分析"
title_en = "Harbor City Buildings: Quarterly Analysis"

[files]
divisions = "divisions.csv"
targets = "targets.csv"
industry_codes = "codes.csv"
settings = "settings.toml"

[[key_industries]]
code = "robotics"
zh = "机器人"
en = "Robotics"

[[key_industries]]
code = "biotech"
zh = "生物医药"
en = "Biotech"
"""

DIVISIONS = """code,name,level,admin_district,reporting_area,note
,海港区,district,海港区,海港区,
,新区,zone,海港区,新区,
,东岸街道,street,海港区,海港区,
,西岸街道,street,海港区,新区,
"""

TARGETS = """year,indicator,target,comparison,source
2020,occupancy_rate,0.7,>=,港城市楼宇经济行动计划
2020,designated_buildings,2,>=,港城市楼宇经济行动计划
"""

CODES = """edition,code_prefix,key_industry,name_zh
2017,C349,robotics,其他通用设备制造业
2017,M734,biotech,医学研究和试验发展
"""

# A stricter scope than INDICATORS.md's default: 2,000 m² instead of 1,000.
SETTINGS = "scope_min_gross_floor_area_m2 = 2000.0\n"


@pytest.fixture
def harbor(tmp_path: Path) -> Path:
    folder = tmp_path / "harbor"
    folder.mkdir()
    for name, text in (
        ("city.toml", CITY_TOML),
        ("divisions.csv", DIVISIONS),
        ("targets.csv", TARGETS),
        ("codes.csv", CODES),
        ("settings.toml", SETTINGS),
    ):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


A, B, C = uscc("91330400MA2B00001"), uscc("91330400MA2B00002"), uscc("91330400MA2B00003")
REC = "2020-04-10T09:00:00+08:00"


def _drafts() -> list[dict]:
    where = {"district": "海港区", "completed_on": "2015-01-01"}
    out = [
        building("H1", "2019-12-01", REC, street="东岸街道", rentable_area_m2=10000, **where),
        building("H2", "2019-12-01", REC, street="西岸街道", rentable_area_m2=8000, **where),
        # Below this city's 2,000 m² scope: never counted.
        building(
            "H3",
            "2019-12-01",
            REC,
            street="西岸街道",
            gross_floor_area_m2=1500,
            rentable_area_m2=1200,
            **where,
        ),
        moved_in(A, "H1", "2020-01-02", REC, area=4000, industry="C3491"),
        moved_in(B, "H2", "2020-01-02", REC, area=2000, industry="M7340"),
        moved_in(C, "H3", "2020-01-02", REC, area=1000, industry="M7340"),
        envelope(
            "feat-H1",
            "BuildingFeaturedDesignated",
            "2020-02-01",
            REC,
            {"building_id": "H1", "industry": "robotics"},
        ),
    ]
    for m in ("01", "02", "03"):
        period = f"2020-{m}"
        out += [tax(A, "H1", period, 100_000, REC), tax(B, "H2", period, 50_000, REC)]
        out += [tax(C, "H3", period, 70_000, REC)]
        out.append(
            envelope(
                f"city-{period}",
                "CityTaxReported",
                f"{period}-28",
                REC,
                {"period": period, "amount_yuan": 3_000_000},
            )
        )
    return out


def _log(tmp_path: Path, harbor: Path) -> Path:
    path = tmp_path / "log"
    EventLog.init(path, city=load_city(harbor)).append(_drafts())
    return path


def test_the_profile_loads_and_is_recorded_in_the_log(tmp_path: Path, harbor: Path) -> None:
    city = load_city(harbor)
    assert city.key_industry_codes == ("robotics", "biotech")
    assert city.plan_title["zh"] == "港城市楼宇经济行动计划(2020~2022)"
    assert city.settings.scope_min_gross_floor_area_m2 == 2000.0
    path = _log(tmp_path, harbor)
    meta = json.loads((path / "log.json").read_text("utf-8"))
    assert meta["city"] == {"key": "harbor", "name": "Harbor City", "sha256": city.digest}
    # The log says which city it is about: opening it as Jiaxing's, or without the profile,
    # is refused with a reason.
    with pytest.raises(LogError, match="city 'harbor'"):
        open_log(path)
    with pytest.raises(LogError, match="not 'jiaxing'"):
        open_log(path, city=default_city())


def test_key_industries_are_the_citys(tmp_path: Path, harbor: Path) -> None:
    path = _log(tmp_path, harbor)
    log = EventLog(path, city=load_city(harbor))
    before = sorted(p.name for p in path.iterdir())
    designation = envelope(
        "feat-H2",
        "BuildingFeaturedDesignated",
        "2020-03-01",
        "2020-04-11T09:00:00+08:00",
        {"building_id": "H2", "industry": "information"},  # Jiaxing's, not Harbor City's
    )
    with pytest.raises(AppendRejected) as err:
        log.append([designation])
    assert "not a key industry of this city (robotics, biotech)" in str(err.value.problems[0])
    assert sorted(p.name for p in path.iterdir()) == before


def test_indicators_and_targets_of_the_second_city(tmp_path: Path, harbor: Path) -> None:
    log = open_log(_log(tmp_path, harbor), city=load_city(harbor))
    city = figures_from_log(log, "2020-03", "city").frame.row(0, named=True)
    # By hand: H3 (1,500 m² GFA) is out of this city's scope; H1 + H2 are in.
    assert city["buildings"] == 2
    assert city["rentable_area_m2"] == 18000
    assert city["occupancy_rate"] == pytest.approx(6000 / 18000)
    assert city["tax_yuan_ytd"] == pytest.approx(3 * 150_000)
    assert city["tax_share_ytd"] == pytest.approx(450_000 / 9_000_000)
    assert city["designated_buildings"] == 1
    areas = figures_from_log(log, "2020-03", "reporting_area").frame
    assert dict(zip(areas["reporting_area"], areas["occupied_area_m2"], strict=True)) == {
        "海港区": 4000,
        "新区": 2000,
    }
    targets = targets_from_log(log, 2020).frame
    occ = targets.filter(targets["indicator"] == "occupancy_rate").row(0, named=True)
    assert occ["target"] == 0.7 and occ["met"] is False
    assert occ["value"] == pytest.approx(1 / 3)
    designated = targets.filter(targets["indicator"] == "designated_buildings").row(0, named=True)
    assert (designated["value"], designated["target"]) == (1, 2)


def test_the_cli_takes_the_city(tmp_path: Path, harbor: Path) -> None:
    path = _log(tmp_path, harbor)
    louyu = [sys.executable, "-m", "louyu_research.cli"]
    args = ["indicators", "--log", str(path), "--month", "2020-03", "--level", "street"]
    ok = subprocess.run([*louyu, *args, "--city", str(harbor), "--format", "json"], **_RUN)
    assert ok.returncode == 0, ok.stderr
    rows = json.loads(ok.stdout)["rows"]
    assert {r["street"]: r["buildings"] for r in rows} == {"东岸街道": 1, "西岸街道": 1}
    missing = subprocess.run([*louyu, *args], **_RUN)
    assert missing.returncode == 2
    assert "city 'harbor'" in missing.stderr and "Traceback" not in missing.stderr


_RUN = {"capture_output": True, "text": True, "timeout": 120}


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda t: t.replace('time_zone = "Asia/Shanghai"', 'time_zone = "Mars/Olympus"'),
            "time_zone",
        ),
        (lambda t: t.replace('code = "biotech"', 'code = "robotics"'), "listed twice"),
        (lambda t: t.replace('code = "biotech"', 'code = "Bio Tech"'), "key_industries[2].code"),
        (
            lambda t: t.replace('industry_codes = "codes.csv"', 'industry_codes = "../x.csv"'),
            "files.industry_codes",
        ),
        (lambda t: t.replace("first_year = 2020", 'first_year = "2020"'), "plan.first_year"),
    ],
)
def test_a_bad_profile_names_the_field(harbor: Path, edit, reason: str) -> None:
    toml = harbor / "city.toml"
    toml.write_text(edit(toml.read_text("utf-8")), encoding="utf-8")
    with pytest.raises(CityError, match=r"city\.toml") as err:
        load_city(harbor)
    assert reason in str(err.value)


def test_industry_codes_must_name_the_citys_key_industries(harbor: Path) -> None:
    (harbor / "codes.csv").write_text(CODES + "2017,I64,information,互联网\n", encoding="utf-8")
    with pytest.raises(
        CityError, match="key_industry 'information' is not one of robotics, biotech"
    ):
        load_city(harbor)


def _dated(drafts: list[dict], first: str) -> list[dict]:
    """The same drafts recorded as a city office would: the census in December, each month's
    events and returns a week into the next month (in order)."""
    out = []
    for d in drafts:
        on = d["occurred_on"]
        month = on[:7] if d["type"] != "BuildingRegistered" else first
        y, m = int(month[:4]), int(month[5:7])
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append({**d, "recorded_at": f"{y:04d}-{m:02d}-08T09:00:00+08:00"})
    return sorted(out, key=lambda d: d["recorded_at"])


@pytest.mark.slow
def test_a_report_of_the_second_city(tmp_path: Path, harbor: Path) -> None:
    """The quarterly report speaks of the city of its profile: its title, plan and key
    industries, its settings and divisions; the manifest records the city."""
    from louyu_research.report.pipeline import build_report

    path = tmp_path / "log"
    EventLog.init(path, city=load_city(harbor)).append(_dated(_drafts(), "2019-11"))
    built = build_report(
        "2020Q1", log=path, out_root=tmp_path / "reports", city=harbor, say=lambda _: None
    )
    html = (built.folder / "report.html").read_text("utf-8")
    assert "港城市楼宇经济季度分析" in html
    assert "港城市楼宇经济行动计划(2020~2022)" in html
    assert "嘉兴" not in html
    manifest = json.loads((built.folder / "manifest.json").read_text("utf-8"))
    assert manifest["city"] == load_city(harbor).as_record()
    assert manifest["settings"]["scope_min_gross_floor_area_m2"] == 2000.0
    city = [
        line for line in (built.folder / "tables" / "headline.csv").read_text("utf-8").splitlines()
    ]
    assert any("33.3%" in line or "0.333" in line for line in city), city


@pytest.mark.slow
def test_a_notice_of_the_second_city(tmp_path: Path, harbor: Path) -> None:
    """`louyu notice --city` ranks the streets of the city of its profile and records the city;
    without it, the log's city is named in one line."""
    path = tmp_path / "log"
    EventLog.init(path, city=load_city(harbor)).append(_dated(_drafts(), "2019-11"))
    louyu = [sys.executable, "-m", "louyu_research.cli", "notice", "--month", "2020-03"]
    args = ["--log", str(path), "--out", str(tmp_path / "reports")]
    missing = subprocess.run([*louyu, *args], **_RUN)
    assert missing.returncode == 2
    assert "city 'harbor'" in missing.stderr and "Traceback" not in missing.stderr
    done = subprocess.run([*louyu, *args, "--city", str(harbor)], **{**_RUN, "timeout": 600})
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "reports" / "notices" / "2020-03"
    html = (folder / "report.html").read_text("utf-8")
    assert "港城市" in html and "嘉兴" not in html
    assert "东岸街道" in html and "西岸街道" in html
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["city"] == load_city(harbor).as_record()
    # the notice reproduces from its pinned position, read as a log of that city
    verify = [sys.executable, "-m", "louyu_research.cli", "verify-reports", *args]
    refused = subprocess.run(verify, **_RUN)
    assert refused.returncode == 2 and "city 'harbor'" in refused.stderr, refused.stderr
    again = subprocess.run([*verify, "--city", str(harbor)], **{**_RUN, "timeout": 600})
    assert again.returncode == 0, again.stderr
