"""What the sample is made of and calibrated to, in one place.

The city comes from data. Its profile (`city/jiaxing/`: divisions with every street's district
and reporting area and every district's code, key industries and their GB/T 4754 codes, time
zone) is the package's; the rest that is Jiaxing's own and only the sample needs (budget
revenue, where buildings stand, which key industries each reporting area attracts, the words
names are made of, the story's boundary change) is `jiaxing.toml` beside this module, checked
against the profile when it is loaded (`CITY`).

The model's calibration is below: the designed share of the city's revenue paid in scope,
seasonality, the occupancy and registration paths the plan pushes towards, new supply,
official designations, the industry mix and each industry's tax intensity. The generator's
other probabilities are local decisions written where they are drawn.

Changing anything here changes the sample's bytes.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from louyu_research.city.profile import City, CityError, default_city

from .timeline import FIRST_YEAR, LAST_YEAR

JIAXING = Path(__file__).with_name("jiaxing.toml")


@dataclass(frozen=True)
class Names:
    """The words names are made of."""

    building_words: tuple[str, ...]
    building_suffix: dict[str, tuple[str, ...]]  # by building category
    roads: tuple[str, ...]  # of the city proper
    county_roads: tuple[str, ...]
    firm_words: tuple[str, ...]
    firm_trade: dict[str, tuple[str, ...]]  # by key industry or other-industry code
    bank_words: tuple[str, ...]


@dataclass(frozen=True)
class BoundaryChange:
    """Buildings of one street pass to another on a day (the sample moves a few of them)."""

    on: date
    street: str
    to: str


@dataclass(frozen=True)
class SampleCity:
    """The simulated city: its profile's divisions and the facts of `jiaxing.toml`."""

    name: str  # as firms' and owners' names start (嘉兴…)
    province: str
    division_code: str  # the prefecture's: a tenant's division when its district has no code
    divisions: dict[str, tuple[str, str]]  # street or town → (district, reporting area)
    district_codes: dict[str, str]
    urban_areas: frozenset[str]  # reporting areas of the city proper (the rest: counties)
    streets: dict[str, tuple[float, float, float]]  # street → (weight, lon, lat)
    themes: dict[str, dict[str, int]]  # reporting area → {key industry: weight}
    revenue: dict[int, float]  # general public budget revenue (yuan) of the anchor years
    boundary_change: BoundaryChange
    retire_in: tuple[str, ...]  # streets where the retired building is looked for first
    names: Names


def load_sample_city(path: Path = JIAXING, profile: City | None = None) -> SampleCity:
    """The sample's facts of `path` (TOML) about the city of `profile` (the shipped one by
    default), checked against the profile."""
    profile = profile or default_city()
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise CityError(f"{path}: cannot read: {err}") from None
    try:
        return _sample_city(raw, profile, path)
    except KeyError as err:
        raise CityError(f"{path}: {err.args[0]}: missing") from None


def _sample_city(raw: dict[str, Any], profile: City, path: Path) -> SampleCity:
    def fail(where: str, reason: str) -> CityError:
        return CityError(f"{path}: {where}: {reason}")

    rows = list(profile.divisions.iter_rows(named=True))
    streets = {
        row["name"]: (row["admin_district"], row["reporting_area"])
        for row in rows
        if row["level"] in ("street", "town")
    }
    codes = {row["name"]: row["code"] for row in rows if row["level"] == "district" and row["code"]}
    areas = {area for _, area in streets.values()}
    of = f"of city {profile.key!r}"
    for street in raw["streets"]:
        if street not in streets:
            raise fail("streets", f"{street!r} is not a street or town {of}")
    for area in {streets[s][1] for s in raw["streets"]} - set(raw["themes"]):
        raise fail("themes", f"no themes for reporting area {area!r}, which has streets")
    for area in [*raw["themes"], *raw["city"]["urban_areas"]]:
        if area not in areas:
            raise fail("themes", f"{area!r} is not a reporting area {of}")
    for area, weights in raw["themes"].items():
        for key in set(weights) - set(profile.key_industry_codes):
            raise fail(f"themes.{area}", f"{key!r} is not a key industry {of}")
    change = raw["story"]["boundary_change"]
    for street in (change["from"], change["to"], *raw["story"]["retire_in"]):
        if street not in streets:
            raise fail("story", f"{street!r} is not a street or town {of}")
    revenue = {int(year): float(amount) for year, amount in raw["revenue"].items()}
    if len(revenue) != 2 or abs(max(revenue) - min(revenue)) != 2:
        raise fail("revenue", "give two years two apart (the growth between them fills the rest)")
    names: dict[str, Any] = raw["names"]
    city = raw["city"]
    return SampleCity(
        name=city["name"],
        province=city["province"],
        division_code=city["division_code"],
        divisions=streets,
        district_codes=codes,
        urban_areas=frozenset(city["urban_areas"]),
        streets={s: (w, lon, lat) for s, (w, lon, lat) in raw["streets"].items()},
        themes=raw["themes"],
        revenue=revenue,
        boundary_change=BoundaryChange(change["on"], change["from"], change["to"]),
        retire_in=tuple(raw["story"]["retire_in"]),
        names=Names(
            building_words=tuple(names["building_words"]),
            building_suffix={k: tuple(v) for k, v in names["building_suffix"].items()},
            roads=tuple(names["roads"]),
            county_roads=tuple(names["county_roads"]),
            firm_words=tuple(names["firm_words"]),
            firm_trade={k: tuple(v) for k, v in names["firm_trade"].items()},
            bank_words=tuple(city["bank_words"]),
        ),
    )


CITY = load_sample_city()


def _revenue_by_year(anchors: dict[int, float]) -> dict[int, float]:
    """The anchor years (two years apart), then every other year of the span at the same
    compound growth, in that order (the city's monthly figures are drawn in it)."""
    (y0, r0), (y1, r1) = sorted(anchors.items())
    growth = math.sqrt(r1 / r0)

    def grown(year: int) -> float:
        if year < y0:
            return r0 / growth ** (y0 - year)
        if year < y1:
            return r0 * growth ** (year - y0)
        return r1 * growth ** (year - y1)

    return anchors | {y: grown(y) for y in range(FIRST_YEAR, LAST_YEAR + 1) if y not in anchors}


#: Buildings of the sample at scale 1.
BUILDINGS_AT_SCALE_1 = 470

#: The city's general public budget revenue (yuan) by year.
CITY_REVENUE = _revenue_by_year(CITY.revenue)
#: The designed share of the city's revenue paid by in-scope buildings (the plan: 6/8/10 %).
TAX_SHARE_PATH = {2014: 0.066, 2015: 0.081, 2016: 0.091, 2017: 0.1025, 2018: 0.112}
#: Monthly seasonality: January (annual bonuses), April/July/October (quarterly prepayment of
#: corporate income tax), May (annual settlement), February (Spring Festival) low.
TENANT_SEASON = (1.30, 0.70, 0.95, 1.15, 1.20, 0.92, 1.08, 0.88, 0.92, 1.05, 0.90, 0.95)
CITY_SEASON = (1.22, 0.72, 0.92, 1.12, 1.15, 0.98, 1.06, 0.86, 0.92, 1.02, 0.88, 1.15)

#: The occupancy existing buildings drift towards, by month index (the plan's push, not quite
#: reaching 85 %).
OCCUPANCY_PATH = {0: 0.62, 11: 0.66, 23: 0.73, 35: 0.815, 47: 0.90, 59: 0.91}
#: The chance a new tenancy is registered in its building, by month index.
REGISTRATION_OF_NEW = {0: 0.80, 23: 0.86, 35: 0.89, 47: 0.905, 59: 0.91}
#: The monthly chance an unregistered tenancy moves its registration in (属地注册 campaigns).
REGISTRATION_PULL = {0: 0.008, 17: 0.012, 18: 0.019, 47: 0.019, 48: 0.01, 59: 0.01}
#: New supply by year completed: the 2015–2017 building boom.
SUPPLY_BY_YEAR = {2014: 0.6, 2015: 1.2, 2016: 1.4, 2017: 1.2, 2018: 0.5}
#: Featured buildings the city designates each December, at scale 1 (and one that does not
#: meet the rule).
DESIGNATIONS = {2015: 16, 2016: 22, 2017: 26}

#: Key industries: GB/T 4754 codes as (2011 edition, 2017 edition), with a weight. Health,
#: tourism, e-commerce and call centres were renumbered in 2017 (83→84, 727→7291, …).
KEY_CODES: dict[str, list[tuple[str, str, float]]] = {
    "information": [("I63", "I63", 0.15), ("I64", "I64", 0.30), ("I65", "I65", 0.55)],
    "environment": [("N77", "N77", 0.6), ("M746", "M746", 0.4)],
    "health": [("Q83", "Q84", 0.8), ("Q84", "Q85", 0.2)],
    "fashion": [
        ("C18", "C18", 0.35),
        ("C19", "C19", 0.15),
        ("F5132", "F5132", 0.3),
        ("F5232", "F5232", 0.2),
    ],
    "tourism": [("L727", "L7291", 0.6), ("H61", "H61", 0.4)],
    "finance": [
        ("J66", "J66", 0.35),
        ("J67", "J67", 0.25),
        ("J68", "J68", 0.25),
        ("J69", "J69", 0.15),
    ],
    "ecommerce": [("F5294", "F5292", 1.0)],
    "outsourcing": [("L726", "L726", 0.4), ("M73", "M73", 0.35), ("I6592", "I6591", 0.25)],
}
OTHER_CODES: list[tuple[str, str, float]] = [
    ("F51", "F51", 0.20),  # 批发业
    ("K70", "K70", 0.10),  # 房地产业
    ("L72", "L72", 0.20),  # 商务服务业
    ("E48", "E48", 0.10),  # 土木工程建筑业
    ("C39", "C39", 0.05),  # 计算机、通信和其他电子设备制造业 (offices)
    ("C28", "C28", 0.05),  # 化学纤维制造业 (offices)
    ("M74", "M74", 0.12),  # 专业技术服务业
    ("P82", "P83", 0.08),  # 教育 (2011: 82, 2017: 83)
    ("G58", "G58", 0.10),  # 运输代理
]
#: The code of head offices (企业总部管理) in both editions: some head offices' industry.
HEADQUARTERS_CODE = "L7211"
#: Share of move-ins by key industry outside a themed building (the rest is "other").
BASE_MIX = {
    "information": 0.06,
    "finance": 0.05,
    "ecommerce": 0.03,
    "outsourcing": 0.03,
    "fashion": 0.025,
    "health": 0.02,
    "tourism": 0.015,
    "environment": 0.01,
}
#: Tax paid per m² relative to the average tenant.
INDUSTRY_TAX = {
    "finance": 2.0,
    "information": 1.1,
    "ecommerce": 1.3,
    "outsourcing": 0.6,
    "fashion": 0.9,
    "health": 0.8,
    "tourism": 0.5,
    "environment": 0.8,
    "F51": 1.2,
    "K70": 3.5,
    "L72": 0.7,
    "E48": 2.0,
    "C39": 1.5,
    "C28": 1.5,
    "M74": 0.7,
    "P82": 0.4,
    "G58": 0.9,
}
