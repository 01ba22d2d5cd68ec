"""A synthetic but believable event log of Jiaxing's building economy, 2014–2018.

Real municipal data is confidential, so the package ships a simulated log (`events/`) that
every command, notebook and report can run on. The generator is deterministic: the same
`seed` and `scale` give the same bytes (no wall clock, no hash-order dependence; every
`recorded_at` is given, back-filled with a +08:00 offset).

How the world is made, in three steps:

1. *World*: buildings spread over the streets of `data/jiaxing_divisions.csv`; month by
   month tenants move in towards each building's target occupancy, move out, relocate,
   expand, shrink and move their registration in. Key industries cluster in "themed"
   buildings, so featured buildings (INDICATORS.md) emerge over 2015–2017.
2. *Money*: a raw monthly tax per tenancy (area × the building's intensity × the tenant's
   size, with seasonality), scaled year by year so that in-scope buildings pay a designed
   share of the city's budget revenue (¥35.04 bn in 2015, ¥44.38 bn in 2017).
3. *Recording*: what the log learns and when: the census of January 2014, each street's
   monthly return in the first weeks of the next month (some late), the tax bureau's
   monthly file, restatements, retractions, a street boundary change, official featured
   designations, and a handful of deliberate data-quality problems (`Simulation.findings`).

Drafts are appended with `EventLog.append`, one batch per UTC month of `recorded_at`, so the
log validates every event exactly as it would a real writer's.
"""

from __future__ import annotations

import csv
import functools
import itertools
import json
import math
import random
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple, cast

import polars as pl

from louyu_research.log.store import EventLog, segment_of

__all__ = [
    "RECORDED_SCALE",
    "RECORDED_SEED",
    "Simulation",
    "make_uscc",
    "simulate",
    "write_log",
]

#: The shipped sample (`events/`) was generated with these (`louyu simulate --recorded`).
RECORDED_SEED = 20150723  # the day the action plan was issued
RECORDED_SCALE = 1.0

DATA = Path(__file__).parents[1] / "city" / "jiaxing"
TZ = timezone(timedelta(hours=8))
FIRST_YEAR, LAST_YEAR = 2014, 2018
MONTHS = (LAST_YEAR - FIRST_YEAR + 1) * 12
BUILDINGS_AT_SCALE_1 = 470

#: Jiaxing general public budget revenue (yuan): 2015 and 2017 from DOMAIN_NOTES, the other
#: years at the same compound growth (12.5 % a year).
CITY_REVENUE = {2015: 35.04e9, 2017: 44.38e9}
_GROWTH = math.sqrt(CITY_REVENUE[2017] / CITY_REVENUE[2015])
CITY_REVENUE |= {
    2014: CITY_REVENUE[2015] / _GROWTH,
    2016: CITY_REVENUE[2015] * _GROWTH,
    2018: CITY_REVENUE[2017] * _GROWTH,
}
#: The designed share of the city's revenue paid by in-scope buildings (the plan: 6/8/10 %).
TAX_SHARE_PATH = {2014: 0.066, 2015: 0.081, 2016: 0.091, 2017: 0.1025, 2018: 0.112}
#: Monthly seasonality: January (annual bonuses), April/July/October (quarterly prepayment of
#: corporate income tax), May (annual settlement), February (Spring Festival) low.
TENANT_SEASON = (1.30, 0.70, 0.95, 1.15, 1.20, 0.92, 1.08, 0.88, 0.92, 1.05, 0.90, 0.95)
CITY_SEASON = (1.22, 0.72, 0.92, 1.12, 1.15, 0.98, 1.06, 0.86, 0.92, 1.02, 0.88, 1.15)

#: Where buildings stand: a weight per street (more in the city's centre and the development
#: zone, fewer in towns and counties) and an approximate centre (lon, lat).
STREETS: dict[str, tuple[float, float, float]] = {
    "建设街道": (2.0, 120.755, 30.757),
    "解放街道": (2.0, 120.752, 30.746),
    "新嘉街道": (1.5, 120.772, 30.763),
    "南湖街道": (2.5, 120.772, 30.748),
    "新兴街道": (3.0, 120.766, 30.735),
    "城南街道": (3.5, 120.760, 30.720),
    "东栅街道": (1.0, 120.800, 30.752),
    "长水街道": (2.0, 120.738, 30.722),
    "七星街道": (0.6, 120.842, 30.733),
    "凤桥镇": (0.2, 120.840, 30.680),
    "余新镇": (0.3, 120.870, 30.780),
    "新丰镇": (0.2, 120.860, 30.700),
    "大桥镇": (0.4, 120.820, 30.720),
    "新城街道": (3.0, 120.720, 30.772),
    "嘉北街道": (2.5, 120.746, 30.786),
    "塘汇街道": (1.5, 120.731, 30.755),
    "高照街道": (1.5, 120.702, 30.765),
    "王江泾镇": (0.4, 120.700, 30.870),
    "油车港镇": (0.8, 120.800, 30.810),
    "新塍镇": (0.3, 120.640, 30.780),
    "王店镇": (0.5, 120.680, 30.660),
    "洪合镇": (0.2, 120.620, 30.720),
    "魏塘街道": (1.6, 120.926, 30.838),
    "罗星街道": (1.0, 120.905, 30.830),
    "惠民街道": (0.6, 120.960, 30.860),
    "西塘镇": (0.4, 120.890, 30.940),
    "姚庄镇": (0.2, 121.000, 30.920),
    "武原街道": (1.5, 120.944, 30.525),
    "西塘桥街道": (0.3, 121.030, 30.560),
    "秦山街道": (0.3, 120.940, 30.450),
    "望海街道": (0.4, 120.950, 30.500),
    "硖石街道": (1.2, 120.690, 30.515),
    "海洲街道": (1.6, 120.680, 30.530),
    "海昌街道": (0.8, 120.660, 30.540),
    "马桥街道": (0.4, 120.620, 30.520),
    "许村镇": (0.2, 120.380, 30.420),
    "长安镇": (0.4, 120.450, 30.470),
    "当湖街道": (1.6, 121.020, 30.700),
    "钟埭街道": (0.6, 121.060, 30.690),
    "曹桥街道": (0.3, 120.980, 30.720),
    "乍浦镇": (0.9, 121.080, 30.600),
    "梧桐街道": (1.5, 120.565, 30.630),
    "凤鸣街道": (0.8, 120.540, 30.610),
    "高桥街道": (0.3, 120.600, 30.660),
    "乌镇镇": (0.6, 120.490, 30.745),
    "濮院镇": (0.6, 120.560, 30.700),
    "崇福镇": (0.3, 120.430, 30.540),
}
DISTRICT_CODES = {
    "南湖区": "330402",
    "秀洲区": "330411",
    "嘉善县": "330421",
    "海盐县": "330424",
    "海宁市": "330481",
    "平湖市": "330482",
    "桐乡市": "330483",
}

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
#: Which themes suit which reporting area (Jiaxing's specialisations: finance in the CBD,
#: information and outsourcing in the zone and 秀洲, leather in 海宁, sweaters in 桐乡 …).
AREA_THEMES = {
    "南湖区": {
        "finance": 4,
        "information": 2,
        "health": 2,
        "tourism": 1,
        "ecommerce": 1,
        "outsourcing": 1,
    },
    "嘉兴经济技术开发区": {
        "finance": 3,
        "information": 3,
        "outsourcing": 2,
        "ecommerce": 2,
        "health": 1,
    },
    "秀洲区": {"information": 3, "ecommerce": 3, "outsourcing": 2, "fashion": 1, "environment": 1},
    "嘉善县": {"information": 2, "tourism": 2, "ecommerce": 1, "finance": 1},
    "海盐县": {"environment": 2, "information": 1, "finance": 1},
    "海宁市": {"fashion": 4, "ecommerce": 2, "finance": 1},
    "平湖市": {"fashion": 2, "ecommerce": 1, "finance": 1, "information": 1},
    "嘉兴港区": {"environment": 2, "ecommerce": 1, "outsourcing": 1},
    "桐乡市": {"fashion": 3, "information": 2, "tourism": 1, "ecommerce": 2},
}

_NAME_WORDS = [
    "禾兴",
    "嘉德",
    "华庭",
    "中港",
    "汇融",
    "财通",
    "恒创",
    "新湖",
    "南溪",
    "长水",
    "秀水",
    "东方",
    "环球",
    "金穗",
    "银座",
    "汇金",
    "国贸",
    "凯旋",
    "万联",
    "瑞丰",
    "锦绣",
    "明珠",
    "嘉和",
    "鸿运",
    "越秀",
    "天和",
    "正原",
    "泰富",
    "中茂",
    "睿达",
    "云海",
    "星耀",
    "嘉禾",
    "梅湾",
    "月河",
    "子城",
    "烟雨",
    "鸳湖",
    "槜李",
    "嘉源",
    "华鼎",
    "智汇",
    "创智",
    "海创",
    "数智",
    "云谷",
    "光彩",
    "同创",
    "嘉业",
    "鼎盛",
    "宏达",
    "富润",
    "金都",
    "金鹰",
    "时代",
    "世纪",
    "开元",
    "和平",
    "新天地",
    "天丰",
    "汇鑫",
    "永和",
    "嘉实",
    "名仕",
    "英伦",
    "君悦",
    "格林",
    "中天",
    "元通",
    "东湖",
    "西湖",
    "南洋",
    "北辰",
    "江南",
    "运河",
    "湘家",
    "荡湖",
    "广益",
    "昌盛",
    "文华",
    "凯迪",
    "融创",
    "泓业",
    "佳源",
    "恒基",
    "天际",
    "铂金",
    "钻石",
    "财富",
    "未来",
    "科泰",
    "联创",
    "万和",
    "金诚",
    "三环",
    "浙北",
    "吴越",
]
_BUILDING_SUFFIX = {
    "office": ["大厦", "大厦", "商务楼", "中心", "国际", "商务中心", "金融中心", "大楼"],
    "complex": ["广场", "广场", "中心", "城", "天地", "购物中心"],
    "industrial": ["科技大厦", "创新中心", "科创中心", "科技楼", "孵化楼", "智造大厦"],
    "mixed": ["大厦", "广场", "商厦", "国际大厦"],
}
_ROADS = [
    "中山路",
    "禾兴路",
    "洪兴路",
    "城南路",
    "东升路",
    "广益路",
    "昌盛路",
    "庆丰路",
    "由拳路",
    "中环南路",
    "南溪路",
    "长水路",
    "凌公塘路",
    "秀洲大道",
    "槜李路",
    "亚太路",
    "文昌路",
    "越秀路",
    "纺工路",
    "常秀街",
    "少年路",
    "勤俭路",
    "紫阳街",
    "建国路",
    "晴湾路",
    "云东路",
    "三环南路",
    "嘉杭路",
]
_COUNTY_ROADS = [
    "人民路",
    "解放路",
    "中山路",
    "文昌路",
    "新华路",
    "振兴路",
    "世纪大道",
    "开发大道",
    "环城路",
    "南大街",
]
_FIRM_WORDS = [
    "禾信",
    "嘉华",
    "汇通",
    "宏图",
    "恒信",
    "明达",
    "卓越",
    "天成",
    "博远",
    "华瑞",
    "新源",
    "聚力",
    "锦程",
    "睿智",
    "鼎立",
    "联众",
    "盛世",
    "润泽",
    "优品",
    "众创",
    "云帆",
    "星河",
    "远航",
    "嘉诚",
    "东升",
    "正泰",
    "华浩",
    "广利",
    "金桥",
    "海纳",
    "银河",
    "智联",
    "达美",
    "康泰",
    "益民",
    "仁和",
    "长青",
    "晨曦",
    "蓝海",
    "易联",
    "通达",
    "合力",
    "凯瑞",
    "德信",
    "佳美",
    "百川",
    "万象",
    "启航",
    "和谐",
    "永盛",
    "安泰",
    "信达",
    "华腾",
    "鸿基",
    "嘉隆",
    "祥和",
    "瑞康",
]
_FIRM_TRADE = {
    "information": ["网络科技", "信息技术", "软件", "数据科技", "通信技术", "智能科技"],
    "environment": ["环保科技", "环境工程", "节能科技", "环境检测"],
    "health": ["医疗管理", "健康管理", "门诊部", "康复医疗", "养老服务"],
    "fashion": ["服饰", "皮革制品", "时装", "针织服装", "鞋业"],
    "tourism": ["旅行社", "酒店管理", "国际旅游", "文旅发展"],
    "finance": ["投资管理", "融资担保", "金融服务", "保险代理", "资产管理", "小额贷款"],
    "ecommerce": ["电子商务", "网络贸易", "供应链管理", "跨境电商"],
    "outsourcing": ["人力资源", "企业服务", "研发", "呼叫中心服务", "外包服务"],
    "F51": ["贸易", "进出口", "商贸"],
    "K70": ["房地产开发", "置业", "房产经纪"],
    "L72": ["企业管理咨询", "广告", "会展服务", "商务咨询"],
    "E48": ["建设工程", "建筑工程", "市政工程"],
    "C39": ["电子", "光电科技"],
    "C28": ["化纤", "新材料"],
    "M74": ["工程设计", "检测技术", "勘察设计"],
    "P82": ["培训", "教育科技"],
    "G58": ["物流", "国际货运代理"],
}

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def make_uscc(rng: random.Random, division: str, new_style: bool) -> str:
    """A unified social credit code (GB 32100-2015) with both check characters right.

    `9` (registered by market regulation) `1` (enterprise), the 6-digit division, a 9-char
    organisation code (GB 11714: 8 characters and its own check; firms founded after the
    2015 reform get the `MA` prefix), and the GB 32100 check character.
    """
    if new_style:
        body = "MA" + "".join(
            rng.choice(_USCC_CHARS[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(6)
        )
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    total = sum(
        (int(c) if c.isdigit() else ord(c) - 55) * w
        for c, w in zip(body, _ORG_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    org = body + ("X" if check == 10 else "0" if check == 11 else str(check))
    head = "91" + division + org
    s = sum(_USCC_CHARS.index(c) * w for c, w in zip(head, _USCC_WEIGHTS, strict=True))
    return head + _USCC_CHARS[(31 - s % 31) % 31]


# --- calendar helpers ------------------------------------------------------------------------


def _month_start(m: int) -> date:
    return date(FIRST_YEAR + m // 12, m % 12 + 1, 1)


def _month_end(m: int) -> date:
    return _month_start(m + 1) - timedelta(days=1)


def _month_of(d: date) -> int:
    return (d.year - FIRST_YEAR) * 12 + d.month - 1


def _period(m: int) -> str:
    return f"{FIRST_YEAR + m // 12}-{m % 12 + 1:02d}"


def _day_in(rng: random.Random, m: int) -> date:
    start = _month_start(m)
    return start + timedelta(days=rng.randrange((_month_end(m) - start).days + 1))


def _at(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=TZ)


def _wchoice(rng: random.Random, options: dict[str, float]) -> str:
    keys = list(options)
    return rng.choices(keys, weights=[options[k] for k in keys])[0]


# --- the world ---------------------------------------------------------------------------------


@dataclass
class Building:
    building_id: str
    name: str
    street: str
    district: str
    area: str  # reporting area
    gfa: float
    rentable: float
    category: str
    grade: str
    standalone: bool
    completed_on: date
    announced: str  # "census" (existing), "census_uc" (under construction in 2014), "new"
    lon: float
    lat: float
    owner: str
    manager: str
    address: str
    self_held: float | None
    typical_area: float
    offset: float  # target occupancy relative to the city's path
    intensity: float  # tax per m² relative to the average building
    theme: str | None = None
    theme_from: int = 0
    theme_strength: float = 0.0
    retire_on: date | None = None
    standalone_from: date | None = None  # re-surveyed as standalone (enters the scope)
    remeasure: tuple[date, float] | None = None  # re-measured rentable area
    street_from: tuple[date, str] | None = None  # moved to another street (boundary change)
    tenancies: list[Tenancy] = field(default_factory=list)
    rentable_initial: float = 0.0

    def __post_init__(self) -> None:
        self.rentable_initial = self.rentable

    def street_on(self, d: date) -> str:
        if self.street_from and self.street_from[0] <= d:
            return self.street_from[1]
        return self.street

    def completed_by(self, d: date) -> bool:
        return self.completed_on <= d

    def occupied(self) -> float:
        return sum(t.area for t in self.tenancies if t.end is None)


@dataclass
class Tenant:
    tenant_id: str
    name: str
    key: str  # key industry or an OTHER_CODES code (e.g. "K70")
    code2011: str
    code2017: str
    headquarters: bool
    size: float  # tax multiplier of the firm
    founded: date
    giant: bool = False  # one of the few very large payers


@dataclass
class Tenancy:
    tenant: Tenant
    building: Building
    start: date
    area: float
    registered: bool
    unit: str
    end: date | None = None
    end_reason: str | None = None
    areas: list[tuple[date, float]] = field(default_factory=list)  # (from, area)
    regs: list[tuple[date, bool]] = field(default_factory=list)  # changes after the start
    census: bool = False  # known at the census (moved in before 2014)

    def area_on(self, d: date) -> float:
        area = self.areas[0][1]
        for since, a in self.areas:
            if since <= d:
                area = a
        return area


@dataclass
class Finding:
    """A deliberate data-quality problem the sample holds (listed in events/README.md)."""

    event_id: str
    problem: str


@dataclass
class Simulation:
    """The drafts of a simulated log, in `recorded_at` order, and what was planted in it.

    The drafts are kept as JSON bytes (`lines`): at benchmark scale there are millions.
    """

    seed: int
    scale: float
    lines: list[bytes]
    segments: list[tuple[str, int]]  # (log segment, how many of `lines` fall in it), in order
    findings: list[Finding]
    retracted: list[Finding]
    buildings: int
    tenants: int
    tenancies: int

    def drafts(self) -> Iterator[dict[str, Any]]:
        """The drafts as dicts, in `recorded_at` order."""
        return (json.loads(line) for line in self.lines)

    def batches(self) -> Iterator[list[bytes]]:
        """The drafts one batch per log segment (UTC month of `recorded_at`), as a writer
        appending each month's returns would."""
        start = 0
        for _, n in self.segments:
            yield self.lines[start : start + n]
            start += n


class _World:
    def __init__(self, seed: int, scale: float):
        self.seed = seed
        self.scale = scale
        self.rng = random.Random(f"louyu:{seed}:world")
        self.divisions = _load_divisions()
        self.buildings: list[Building] = []
        self.tenants: dict[str, Tenant] = {}
        self.tenancies: list[Tenancy] = []
        self.names: set[str] = set()
        self.relocating: list[tuple[Tenant, int, Building]] = []
        self.street_changes: list[tuple[Building, date, str]] = []
        self.updates: list[tuple[Building, date, dict[str, Any]]] = []
        self.designations: list[tuple[Building, date, str]] = []
        self.revocations: list[tuple[Building, date]] = []
        self.retirements: list[tuple[Building, date]] = []
        self.tenant_renames: list[tuple[Tenant, date, str]] = []
        self.by_tenant: defaultdict[str, list[Tenancy]] = defaultdict(list)
        self.tenant_list: list[Tenant] = []

    # buildings ---------------------------------------------------------------------------------

    def make_buildings(self) -> None:
        rng = self.rng
        n = max(12, round(BUILDINGS_AT_SCALE_1 * self.scale))
        streets = [s for s in STREETS if s in self.divisions]
        weights = [STREETS[s][0] for s in streets]
        for i in range(n):
            street = rng.choices(streets, weights=weights)[0]
            district, area = self.divisions[street]
            self.buildings.append(self._building(i, street, district, area))
        self.buildings.sort(key=lambda b: b.building_id)

    def _building(self, i: int, street: str, district: str, area: str) -> Building:
        rng = self.rng
        county = area not in ("南湖区", "秀洲区", "嘉兴经济技术开发区")
        category = _wchoice(
            rng, {"office": 0.55, "complex": 0.12, "industrial": 0.23, "mixed": 0.10}
        )
        kind = rng.random()
        # when it is (was) completed: most before 2014; new supply 2014–2018
        r = rng.random()
        if r < 0.80:
            completed = date(rng.randint(1996, 2013), rng.randint(1, 12), rng.randint(1, 28))
            announced = "census"
        elif r < 0.93:
            completed = _day_in(
                rng,
                rng.choices(range(MONTHS), weights=[_supply_weight(m) for m in range(MONTHS)])[0],
            )
            announced = "new"
        else:
            completed = _day_in(
                rng, rng.choices(range(6, MONTHS + 18), weights=[1.0] * (MONTHS + 12))[0]
            )
            announced = "census_uc"
        standalone = True
        if kind < 0.05:  # a small building below the 1,000 m² threshold
            gfa = float(rng.randint(380, 990))
        elif kind < 0.11:  # part of a larger estate: not standalone (裙楼, 商住楼)
            gfa = float(round(rng.lognormvariate(math.log(9000), 0.5), -1))
            standalone = False
        else:
            median = {"office": 17000, "complex": 42000, "industrial": 13000, "mixed": 15000}[
                category
            ]
            if county:
                median *= 0.7
            gfa = float(
                round(min(100000, max(1000, rng.lognormvariate(math.log(median), 0.55))), -1)
            )
        gfa = max(gfa, 380.0)
        rentable = float(round(gfa * rng.uniform(0.64, 0.82), 1))
        newer = completed.year >= 2008
        grade = _wchoice(
            rng,
            {"A": 0.45 if newer and gfa > 15000 else 0.12, "B": 0.45, "C": 0.1 if newer else 0.4},
        )
        lon0, lat0 = STREETS[street][1:]
        bid = f"JX{i + 1:04d}"
        name = self._building_name(category, street, county)
        n_typical = min(40.0, max(3.0, rng.lognormvariate(math.log(10.5), 0.45)))
        if category == "complex":
            n_typical *= 1.4
        offset = rng.gauss(0, 0.09)
        if rng.random() < 0.07:
            offset -= rng.uniform(0.2, 0.35)  # a building that fails to let (the 盘活 list)
        intensity = rng.lognormvariate(0, 0.8) * {"A": 1.5, "B": 1.0, "C": 0.6}[grade]
        intensity *= {"office": 1.15, "complex": 0.75, "industrial": 0.75, "mixed": 0.9}[category]
        if county:
            intensity *= 0.85
        road = rng.choice(_COUNTY_ROADS if county else _ROADS)
        word = rng.choice(_NAME_WORDS)
        return Building(
            building_id=bid,
            name=name,
            street=street,
            district=district,
            area=area,
            gfa=gfa,
            rentable=rentable,
            category=category,
            grade=grade,
            standalone=standalone,
            completed_on=completed,
            announced=announced,
            lon=round(lon0 + rng.uniform(-0.012, 0.012), 5),
            lat=round(lat0 + rng.uniform(-0.010, 0.010), 5),
            owner=rng.choice(
                [
                    f"嘉兴{word}置业有限公司",
                    f"浙江{word}房地产开发有限公司",
                    f"嘉兴{word}投资集团有限公司",
                ]
            ),
            manager=f"嘉兴{rng.choice(_NAME_WORDS)}物业服务有限公司",
            address=f"{district}{road}{rng.randint(1, 1999)}号",
            self_held=round(rng.uniform(0, 0.4), 2) if rng.random() < 0.5 else None,
            typical_area=rentable / n_typical,
            offset=offset,
            intensity=intensity,
        )

    def _building_name(self, category: str, street: str, county: bool) -> str:
        rng = self.rng
        for _ in range(50):
            word = rng.choice(_NAME_WORDS)
            if county and rng.random() < 0.3:
                word = street[:2] + word[-1]
            name = word + rng.choice(_BUILDING_SUFFIX[category])
            if rng.random() < 0.12:
                name += rng.choice(["A座", "B座", "1号楼", "2号楼", "东楼"])
            if name not in self.names:
                self.names.add(name)
                return name
        name = f"{rng.choice(_NAME_WORDS)}{rng.choice(_BUILDING_SUFFIX[category])}{len(self.names)}号楼"
        self.names.add(name)
        return name

    def assign_themes(self) -> None:
        """Themed buildings attract one key industry: featured buildings emerge from them."""
        rng = self.rng
        for b in self.buildings:
            p = {"office": 0.55, "industrial": 0.62, "mixed": 0.35, "complex": 0.08}[b.category]
            if rng.random() >= p:
                continue
            b.theme = _wchoice(rng, AREA_THEMES[b.area])
            r = rng.random()
            if b.announced != "census":
                b.theme_from = max(0, _month_of(b.completed_on))  # new buildings open themed
            elif r < 0.12:
                b.theme_from = 0  # featured before the plan
            else:
                b.theme_from = rng.randint(4, 38)  # the plan's campaigns, 2014H2–2017
            b.theme_strength = rng.uniform(0.6, 0.95)

    # tenants -----------------------------------------------------------------------------------

    def new_tenant(self, b: Building, m: int, founded: date | None = None) -> Tenant:
        rng = self.rng
        key = None
        if b.theme and m >= b.theme_from and rng.random() < b.theme_strength:
            key = b.theme
        else:
            mix = dict(BASE_MIX)
            mix["other"] = 1 - sum(BASE_MIX.values())
            key = _wchoice(rng, mix)
        if key == "other":
            c2011, c2017, _ = rng.choices(OTHER_CODES, weights=[w for *_, w in OTHER_CODES])[0]
            key = c2011
        else:
            c2011, c2017, _ = rng.choices(KEY_CODES[key], weights=[w for *_, w in KEY_CODES[key]])[
                0
            ]
        if founded is None:
            founded = date(rng.randint(1998, 2013), rng.randint(1, 12), rng.randint(1, 28))
            if m > 0 and rng.random() < 0.45:  # a new firm, founded shortly before moving in
                founded = _month_start(m) - timedelta(days=rng.randint(5, 200))
        hq = rng.random() < 0.035
        size = rng.lognormvariate(0, 0.95) * (3.0 if hq else 1.0)
        giant = rng.random() < 0.04
        if giant:
            size *= rng.uniform(12, 60)  # a few very large payers (the 亿元楼 makers)
        division = DISTRICT_CODES.get(b.district, "330400")
        new_style = founded >= date(2015, 10, 1)
        while True:
            tid = make_uscc(rng, division, new_style)
            if tid not in self.tenants:
                break
        if hq and rng.random() < 0.2:
            c2011 = c2017 = "L7211"
            key = "headquarters"
        t = Tenant(tid, self._firm_name(b, key, hq), key, c2011, c2017, hq, size, founded, giant)
        self.tenants[tid] = t
        return t

    def _firm_name(self, b: Building, key: str, hq: bool) -> str:
        rng = self.rng
        trade = rng.choice(_FIRM_TRADE.get(key, ["企业管理"]))
        prefix = rng.choice(["嘉兴", "嘉兴", "浙江", "嘉兴市", b.district[:2]])
        suffix = (
            "集团有限公司"
            if hq
            else rng.choice(["有限公司", "有限公司", "有限公司", "股份有限公司"])
        )
        if key == "finance" and rng.random() < 0.25:
            return f"{rng.choice(['浙商', '嘉禾', '禾城', '南湖', '鸳湖'])}{rng.choice(['银行', '证券', '保险'])}嘉兴{rng.choice(_FIRM_WORDS)}支行"
        if key == "health" and trade == "门诊部":
            return f"嘉兴{rng.choice(_FIRM_WORDS)}门诊部有限公司"
        return f"{prefix}{rng.choice(_FIRM_WORDS)}{rng.choice(_FIRM_WORDS)[-1]}{trade}{suffix}"

    def _unit(self, b: Building) -> str:
        floors = max(2, min(40, int(b.gfa / 1200)))
        return f"{self.rng.randint(1, floors)}{self.rng.randint(1, 20):02d}室"

    def move_in(
        self, b: Building, m: int, when: date, area: float, reg_p: float, t: Tenant | None = None
    ) -> Tenancy:
        t = t or self.new_tenant(b, m)
        registered = self.rng.random() < reg_p
        ten = Tenancy(t, b, when, round(area, 1), registered, self._unit(b))
        ten.areas.append((when, ten.area))
        b.tenancies.append(ten)
        self.tenancies.append(ten)
        if not self.by_tenant[t.tenant_id]:
            self.tenant_list.append(t)
        self.by_tenant[t.tenant_id].append(ten)
        return ten

    # the monthly process ---------------------------------------------------------------------------

    def census(self) -> None:
        """Tenancies that already exist when the log starts (moved in before 2014)."""
        rng = self.rng
        for b in self.buildings:
            if b.completed_on >= date(FIRST_YEAR, 1, 1):
                continue
            target = _clamp(_city_occupancy(0) + b.offset, 0.1, 0.97) * b.rentable
            first = max(b.completed_on, date(2006, 1, 1))
            while b.occupied() < target * 0.97:
                area = self._draw_area(b, target - b.occupied())
                if area is None:
                    break
                span = (date(2013, 12, 31) - first).days
                when = first + timedelta(days=rng.randint(0, max(0, span)))
                ten = self.move_in(b, 0, when, area, 0.80)
                ten.census = True
                if ten.tenant.founded > when:
                    ten.tenant.founded = when - timedelta(days=rng.randint(30, 900))

    def _draw_area(self, b: Building, room: float) -> float | None:
        vacant = b.rentable - b.occupied()
        cap = min(vacant, max(room, 0.0) * 1.2 + 0.3 * b.typical_area)
        if cap < 30:
            return None
        area = b.typical_area * self.rng.lognormvariate(0, 0.55)
        area = min(area, cap, 0.45 * b.rentable)
        area = max(area, min(40.0, cap))
        return float(max(5, math.floor(area / 5) * 5))  # whole 5 m², never more than is vacant

    def run(self) -> None:
        for m in range(MONTHS):
            for b in self.buildings:
                self.step(b, m)
            self.relocating = [r for r in self.relocating if r[1] >= m - 3]
            if m in (23, 35, 47):  # official designations each December (from 2015)
                self.designate(m)
        self.revoke()

    def step(self, b: Building, m: int) -> None:
        rng = self.rng
        start, end = _month_start(m), _month_end(m)
        if not b.completed_by(end) or (b.retire_on and b.retire_on < start):
            return
        if b.remeasure and _month_of(b.remeasure[0]) == m:
            b.rentable = b.remeasure[1]
        active = [t for t in b.tenancies if t.end is None]
        closing = b.retire_on is not None and b.retire_on <= end + timedelta(days=200)
        # departures, area changes, registration
        for ten in active:
            if closing and b.retire_on is not None and b.retire_on <= end:
                self.move_out(
                    ten,
                    max(
                        ten.start + timedelta(days=1),
                        b.retire_on - timedelta(days=rng.randint(1, 20)),
                    ),
                    m,
                    "relocated_in_city",
                )
                continue
            p_out = 0.0085 if ten.area > 300 else 0.013
            if closing:
                p_out = 0.2
            if rng.random() < p_out and ten.start < start:
                reason = rng.choices(
                    ["relocated_in_city", "left_city", "closed", "unknown"], [0.35, 0.2, 0.35, 0.1]
                )[0]
                self.move_out(ten, _day_in(rng, m), m, reason)
                continue
            r = rng.random()
            if r < 0.006 and ten.start < start:
                new = min(ten.area * rng.uniform(1.15, 1.7), ten.area + b.rentable - b.occupied())
                if new > ten.area + 20:
                    self.change_area(ten, _day_in(rng, m), new)
            elif r < 0.0105 and ten.start < start:
                self.change_area(ten, _day_in(rng, m), ten.area * rng.uniform(0.45, 0.85))
            if not ten.registered and rng.random() < _registration_pull(m):
                ten.registered = True
                ten.regs.append((max(_day_in(rng, m), ten.start + timedelta(days=1)), True))
            elif ten.registered and rng.random() < 0.0009:
                ten.registered = False
                ten.regs.append((max(_day_in(rng, m), ten.start + timedelta(days=1)), False))
        if closing:
            return
        # arrivals towards the building's target occupancy
        target = self.target_occupancy(b, m) * b.rentable
        gap = target - b.occupied()
        expected = max(0.0, gap) * 0.3 / b.typical_area + 0.05
        for _ in range(_poisson(rng, expected)):
            area = self._draw_area(b, target - b.occupied())
            if area is None:
                break
            when = _day_in(rng, m)
            if when < b.completed_on:
                when = b.completed_on + timedelta(days=rng.randint(0, 10))
                if when > end:
                    continue
            tenant = self.relocated_tenant(b, m)
            if tenant is None and self.tenant_list and rng.random() < 0.012:
                branch = rng.choice(self.tenant_list)  # a firm opens a second office
                if all(x.tenant is not branch for x in b.tenancies) and any(
                    x.end is None for x in self.by_tenant[branch.tenant_id]
                ):
                    tenant = branch
            self.move_in(b, m, when, area, _registration_of_new(m), tenant)
        self._no_overlap(b, start, end)

    @staticmethod
    def _no_overlap(b: Building, start: date, end: date) -> None:
        """Space taken in a month (move-ins, expansions) is taken after it was freed that month.

        Otherwise a move-in on the 3rd into space vacated on the 25th would overfill the
        building for three weeks: a data-quality finding nobody planted.
        """
        freed = start
        for t in b.tenancies:
            if t.end and start <= t.end <= end:
                freed = max(freed, t.end)
            for (d, a), (_, before) in zip(t.areas[1:], t.areas, strict=False):
                if start <= d <= end and a < before:
                    freed = max(freed, d)
        if freed == start:
            return
        for t in b.tenancies:
            if start <= t.start < freed and t.areas[0][0] == t.start:
                t.start = freed
                t.areas[0] = (freed, t.areas[0][1])
            for k in range(1, len(t.areas)):
                d, a = t.areas[k]
                if start <= d < freed and a > t.areas[k - 1][1]:
                    t.areas[k] = (freed, a)

    def target_occupancy(self, b: Building, m: int) -> float:
        level = _clamp(_city_occupancy(m) + b.offset, 0.08, 0.98)
        age = m - _month_of(b.completed_on)
        if b.completed_on >= date(FIRST_YEAR, 1, 1):
            level = min(level, 0.12 + 0.85 * min(1.0, max(0, age) / 26))  # lease-up of new supply
        return level

    def relocated_tenant(self, b: Building, m: int) -> Tenant | None:
        for i, (t, since, old) in enumerate(self.relocating):
            if since < m and old is not b and all(x.tenant is not t for x in b.tenancies):
                del self.relocating[i]
                return t
        return None

    def move_out(self, ten: Tenancy, when: date, m: int, reason: str) -> None:
        ten.end = max(when, ten.start + timedelta(days=1))
        ten.end_reason = reason
        if reason == "relocated_in_city" and not any(
            x.end is None and x is not ten for x in self.tenancies_of(ten.tenant)
        ):
            self.relocating.append((ten.tenant, m, ten.building))

    def tenancies_of(self, t: Tenant) -> list[Tenancy]:
        return self.by_tenant[t.tenant_id]

    def change_area(self, ten: Tenancy, when: date, area: float) -> None:
        area = float(math.floor(area / 5) * 5)
        if area <= 0 or abs(area - ten.area) < 5:
            return
        when = max(when, ten.start + timedelta(days=1))
        ten.area = area
        ten.areas.append((when, area))

    # official acts -----------------------------------------------------------------------------

    def designate(self, m: int) -> None:
        """Each December the city recognises featured buildings: mostly ones that meet the rule."""
        rng = self.rng
        already = {b.building_id for b, _, _ in self.designations}
        candidates = []
        for b in self.buildings:
            if b.building_id in already or not _in_scope(b, _month_end(m)):
                continue
            lead, share, n = _leading_share(b)
            if n >= 5 and lead and share >= 0.6:
                candidates.append((share, b.building_id, b, lead))
        candidates.sort(key=lambda c: (-c[0], c[1]))
        quota = {23: 16, 35: 22, 47: 26}[m]
        quota = max(1, round(quota * self.scale))
        picked = candidates[:quota]
        # and one that does not meet the rule (a disagreement the report should show)
        others = [
            b
            for b in self.buildings
            if b.building_id not in already
            and b.theme
            and _in_scope(b, _month_end(m))
            and all(b is not p[2] for p in picked)
        ]
        if others:
            b = rng.choice(others)
            picked.append((0.0, b.building_id, b, b.theme))
        when = _month_end(m) - timedelta(days=rng.randint(3, 12))
        for _, _, b, lead in picked:
            self.designations.append((b, when, lead))

    def revoke(self) -> None:
        if not self.designations:
            return
        weakest = min(self.designations, key=lambda d: (_leading_share(d[0])[1], d[0].building_id))
        self.revocations.append((weakest[0], date(2018, 6, 28)))


def _leading_share(b: Building) -> tuple[str | None, float, int]:
    """The leading key industry by occupied area, its area share, and the tenancy count."""
    active = [t for t in b.tenancies if t.end is None]
    total = sum(t.area for t in active)
    by_key: Counter[str] = Counter()
    for t in active:
        if t.tenant.key in KEY_CODES:
            by_key[t.tenant.key] += t.area
    if not by_key or total <= 0:
        return None, 0.0, len(active)
    lead, area = max(by_key.items(), key=lambda kv: (kv[1], kv[0]))
    return lead, area / total, len(active)


def _in_scope(b: Building, d: date) -> bool:
    standalone = b.standalone or (b.standalone_from is not None and b.standalone_from <= d)
    return (
        b.completed_on <= d
        and standalone
        and b.gfa >= 1000
        and not (b.retire_on and b.retire_on <= d)
    )


def _clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-min(lam, 30)), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _supply_weight(m: int) -> float:
    """New supply by month: the 2015–2017 building boom."""
    year = FIRST_YEAR + m // 12
    return {2014: 0.6, 2015: 1.2, 2016: 1.4, 2017: 1.2, 2018: 0.5}[year]


def _interp(m: int, points: dict[int, float]) -> float:
    keys = sorted(points)
    if m <= keys[0]:
        return points[keys[0]]
    for a, b in itertools.pairwise(keys):
        if m <= b:
            return points[a] + (points[b] - points[a]) * (m - a) / (b - a)
    return points[keys[-1]]


def _city_occupancy(m: int) -> float:
    """The occupancy existing buildings drift towards (the plan's push, not quite reaching 85 %)."""
    return _interp(m, {0: 0.62, 11: 0.66, 23: 0.73, 35: 0.815, 47: 0.90, 59: 0.91})


def _registration_of_new(m: int) -> float:
    return _interp(m, {0: 0.80, 23: 0.86, 35: 0.89, 47: 0.905, 59: 0.91})


def _registration_pull(m: int) -> float:
    """Monthly chance an unregistered tenancy moves its registration in (属地注册 campaigns)."""
    return _interp(m, {0: 0.008, 17: 0.012, 18: 0.019, 47: 0.019, 48: 0.01, 59: 0.01})


def _load_divisions() -> dict[str, tuple[str, str]]:
    """street → (administrative district, reporting area), from the package's divisions table."""
    out = {}
    with open(DATA / "jiaxing_divisions.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["level"] in ("street", "town"):
                out[row["name"]] = (row["admin_district"], row["reporting_area"])
    return out


# --- official acts planned before the months run -------------------------------------------------


def _plan_acts(w: _World) -> None:
    """One retirement, one street boundary change, re-surveys, re-measures, renames."""
    rng = random.Random(f"louyu:{w.seed}:acts")
    census = [b for b in w.buildings if b.announced == "census" and _in_scope(b, date(2014, 1, 1))]
    old = sorted(census, key=lambda b: (b.completed_on, b.building_id))
    if old:
        b = next((x for x in old if x.street in ("解放街道", "建设街道", "南湖街道")), old[0])
        b.retire_on = date(2017, 6, 30)
        w.retirements.append((b, b.retire_on))
    moved = sorted(
        (b for b in w.buildings if b.street == "新兴街道"), key=lambda b: (b.lat, b.building_id)
    )
    for b in moved[: max(2, round(4 * w.scale))]:
        b.street_from = (date(2017, 1, 1), "城南街道")
    annexes = [b for b in w.buildings if not b.standalone and b.gfa >= 1000]
    for b in rng.sample(annexes, min(len(annexes), max(1, round(3 * w.scale)))):
        b.standalone_from = date(2015, rng.randint(4, 9), 1)
    for b in rng.sample(census, min(len(census), max(1, round(10 * w.scale)))):
        if b.retire_on is None:
            b.remeasure = (
                _day_in(rng, rng.randint(14, 46)),
                round(b.rentable * rng.uniform(1.01, 1.05), 1),
            )
    for b in rng.sample(w.buildings, max(1, round(14 * w.scale))):
        w.updates.append(
            (
                b,
                _day_in(rng, rng.randint(3, 57)),
                {"property_manager": f"嘉兴{rng.choice(_NAME_WORDS)}物业管理有限公司"},
            )
        )
    renamed = rng.choice(census)
    w.updates.append(
        (renamed, date(2016, 3, 1), {"name": renamed.name.removesuffix("大厦") + "国际大厦"})
    )


# --- money -----------------------------------------------------------------------------------------


def _tax(w: _World) -> dict[int, dict[int, float]]:
    """Monthly tax per tenancy (index in `w.tenancies`) → {month: yuan}, calibrated to the city."""
    rng = random.Random(f"louyu:{w.seed}:tax")
    raw: dict[int, dict[int, float]] = {}
    in_scope_raw = [0.0] * MONTHS
    scope = {
        (b.building_id, m): _in_scope(b, _month_end(m)) for b in w.buildings for m in range(MONTHS)
    }
    for i, ten in enumerate(w.tenancies):
        t, b = ten.tenant, ten.building
        # the many grow, the few giants (real estate, old industry) stagnate: more buildings
        # cross ¥10 m a year as the plan goes on
        drift = -0.12 if t.giant else rng.gauss(0.06, 0.10)
        declining = ten.end is not None and rng.random() < 0.35
        base = b.intensity * INDUSTRY_TAX.get(t.key, 1.0) * t.size
        first = max(0, _month_of(ten.start))
        last = MONTHS - 1 if ten.end is None else min(MONTHS - 1, _month_of(ten.end))
        series: dict[int, float] = {}
        for m in range(first, last + 1):
            ms, me = _month_start(m), _month_end(m)
            lo, hi = max(ms, ten.start), min(me, (ten.end - timedelta(days=1)) if ten.end else me)
            if hi < lo:
                continue
            frac = ((hi - lo).days + 1) / ((me - ms).days + 1)
            mid = lo + (hi - lo) / 2
            amount = ten.area_on(mid) * base * TENANT_SEASON[m % 12] * frac
            amount *= math.exp(drift * (m / 12)) * rng.lognormvariate(0, 0.15)
            if (ms - t.founded).days < 365 and m - first < 6:
                amount *= 0.4 + 0.1 * (m - first)  # a young firm ramps up
            if declining and ten.end and (ten.end - ms).days < 200:
                amount *= 0.35  # business falls before the move-out (an at-risk signal)
            series[m] = amount
            if scope[(b.building_id, m)]:
                in_scope_raw[m] += amount
        raw[i] = series
    # scale: a factor per month, log-linear between mid-year anchors, so that each year's
    # in-scope total is the designed share of the city's revenue
    noise = {y: rng.uniform(-0.002, 0.002) for y in TAX_SHARE_PATH}
    want = {y: (TAX_SHARE_PATH[y] + noise[y]) * CITY_REVENUE[y] for y in TAX_SHARE_PATH}
    anchors = {
        y: want[y] / max(1.0, sum(in_scope_raw[(y - FIRST_YEAR) * 12 : (y - FIRST_YEAR) * 12 + 12]))
        for y in want
    }
    for _ in range(6):
        factor = _monthly_factor(anchors)
        for y in anchors:
            got = sum(
                in_scope_raw[m] * factor[m]
                for m in range((y - FIRST_YEAR) * 12, (y - FIRST_YEAR) * 12 + 12)
            )
            anchors[y] *= want[y] / max(got, 1.0)
    factor = _monthly_factor(anchors)
    out: dict[int, dict[int, float]] = {}
    for i, series in raw.items():
        scaled = {m: round(a * factor[m], 2) for m, a in series.items()}
        out[i] = {m: a for m, a in scaled.items() if a >= 1.0}
    return out


def _monthly_factor(anchors: dict[int, float]) -> list[float]:
    points = {(y - FIRST_YEAR) * 12 + 5.5: math.log(k) for y, k in anchors.items()}
    keys = sorted(points)
    out = []
    for m in range(MONTHS):
        if m <= keys[0]:
            a, b = keys[0], keys[1]
        elif m >= keys[-1]:
            a, b = keys[-2], keys[-1]
        else:
            a = max(k for k in keys if k <= m)
            b = min(k for k in keys if k > m)
        v = points[a] + (points[b] - points[a]) * (m - a) / (b - a)
        out.append(math.exp(v))
    return out


def _city_tax(seed: int) -> dict[int, float]:
    rng = random.Random(f"louyu:{seed}:city")
    out = {}
    for y, total in CITY_REVENUE.items():
        months = [CITY_SEASON[k] * rng.uniform(0.97, 1.03) for k in range(12)]
        s = sum(months)
        for k in range(12):
            out[(y - FIRST_YEAR) * 12 + k] = round(total * months[k] / s, 2)
    return out


# --- recording -------------------------------------------------------------------------------------

_PRIORITY = {
    "BuildingRegistered": 0,
    "BuildingCompleted": 1,
    "BuildingUpdated": 2,
    "BuildingFeaturedDesignated": 3,
    "BuildingFeaturedRevoked": 3,
    "TenantMovedIn": 4,
    "TenantUpdated": 5,
    "TenantAreaChanged": 6,
    "TenantRegistrationChanged": 6,
    "TenantMovedOut": 7,
    "BuildingRetired": 8,
    "TaxReported": 9,
    "CityTaxReported": 10,
    "EventRetracted": 11,
}
CENSUS_SOURCE = "import:louyu-census-2013.xlsx"
TAX_SOURCE = "市税务局"
CITY_SOURCE = "市财政局"
OFFICE_SOURCE = "市楼宇经济办公室"
STATS_SOURCE = "市统计局"
LAST_RECORD = datetime(LAST_YEAR + 1, 3, 31, 18, 0, tzinfo=TZ)


class _Item(NamedTuple):
    """A draft waiting to be recorded, kept compact (its JSON as bytes): a city-scale run
    holds millions of them until they can be put in `recorded_at` order."""

    when: datetime
    priority: int
    n: int
    type: str
    building_id: str | None
    tenant_id: str | None
    payload: bytes

    def line(self) -> bytes:
        """The draft as the log receives it: its JSON with `recorded_at` as the last field."""
        return self.payload[:-1] + b',"recorded_at":"' + self.when.isoformat().encode() + b'"}'


def _encode(draft: dict[str, Any]) -> bytes:
    return json.dumps(draft, ensure_ascii=False, separators=(",", ":")).encode()


class _Recorder:
    def __init__(self, w: _World):
        self.w = w
        self.seed = w.seed
        self.rng = random.Random(f"louyu:{w.seed}:recording")
        self.items: list[_Item] = []
        self.index: dict[str, int] = {}  # event_id → position in `items`
        self.laggards = set(random.Random(f"louyu:{w.seed}:laggards").sample(sorted(STREETS), 5))
        self._returns: dict[tuple[str, int], datetime] = {}

    def uid(self, base: str) -> str:
        eid, k = base, 1
        while eid in self.index:
            k += 1
            eid = f"{base}-{k}"
        return eid

    def add(
        self,
        eid: str,
        type_: str,
        occurred: date,
        recorded: datetime,
        source: str | None,
        data: dict[str, Any],
    ) -> str:
        eid = self.uid(eid)
        draft: dict[str, Any] = {
            "event_id": eid,
            "type": type_,
            "occurred_on": occurred.isoformat(),
        }
        if source:
            draft["source"] = source
        draft["data"] = data
        n = len(self.items)
        self.index[eid] = n
        self.items.append(
            _Item(
                recorded,
                _PRIORITY[type_],
                n,
                type_,
                data.get("building_id"),
                data.get("tenant_id"),
                _encode(draft),
            )
        )
        return eid

    def draft(self, eid: str) -> dict[str, Any]:
        return json.loads(self.items[self.index[eid]].payload)

    def at(self, eid: str) -> datetime:
        """When the event is recorded."""
        return self.items[self.index[eid]].when

    def redate(self, eid: str, occurred: date) -> None:
        k = self.index[eid]
        draft = json.loads(self.items[k].payload)
        draft["occurred_on"] = occurred.isoformat()
        self.items[k] = self.items[k]._replace(payload=_encode(draft))

    def returned(
        self, b: Building, eid: str, type_: str, occurred: date, data: dict[str, Any]
    ) -> str:
        """An event of building `b` that its street returns: recorded with that return."""
        when, src = self.recorded_for(b, occurred)
        return self.add(eid, type_, occurred, when, src, data)

    def street_return(self, street: str, m: int) -> datetime:
        """When a street's return for month m is filed: early next month (laggards later)."""
        key = (street, m)
        if key not in self._returns:
            rng = random.Random(f"louyu:{self.seed}:return:{street}:{m}")
            nxt = _month_start(m + 1)
            day = rng.randint(14, 27) if street in self.laggards else rng.randint(2, 10)
            if street in self.laggards and rng.random() < 0.15:
                day += 28  # filed in the month after next
            self._returns[key] = _at(
                nxt + timedelta(days=day - 1), rng.randint(9, 16), rng.randint(0, 59)
            )
        return self._returns[key]

    def recorded_for(self, b: Building, d: date) -> tuple[datetime, str]:
        street = b.street_on(d)
        m = max(0, _month_of(d))
        when = self.street_return(street, m)
        if self.rng.random() < 0.025:  # a late entry, filed with a later return
            when = self.street_return(street, m + self.rng.randint(1, 3)) + timedelta(minutes=1)
        area = self.w.divisions[street][1]
        return when, f"{area}{street}"


def _building_data(b: Building, status: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "building_id": b.building_id,
        "name": b.name,
        "district": b.district,
        "street": b.street,
        "address": b.address,
        "gross_floor_area_m2": b.gfa,
        "rentable_area_m2": b.rentable_initial,
        "category": b.category,
        "grade": b.grade,
        "standalone": b.standalone,
        "status": status,
        "owner": b.owner,
        "property_manager": b.manager,
        "lon": b.lon,
        "lat": b.lat,
    }
    if status == "completed":
        data["completed_on"] = b.completed_on.isoformat()
    if b.self_held is not None:
        data["self_held_ratio"] = b.self_held
    return data


def _initial_registration(ten: Tenancy) -> bool:
    return ten.registered if len(ten.regs) % 2 == 0 else not ten.registered


def _edition(d: date) -> str:
    return "2017" if d >= date(2017, 10, 1) else "2011"


def _record(
    w: _World, tax: dict[int, dict[int, float]]
) -> tuple[list[bytes], list[tuple[str, int]], list[Finding], list[Finding]]:
    """Every draft the log receives (JSON), in `recorded_at` order, and its batches: how many
    drafts fall in each log segment (UTC month of `recorded_at`)."""
    r = _Recorder(w)
    rng = r.rng
    end = _month_end(MONTHS - 1)
    census_at = _at(date(FIRST_YEAR, 1, 16), 10)

    # buildings
    for b in w.buildings:
        bid = b.building_id
        if b.announced == "census":
            r.add(
                f"bld-{bid}",
                "BuildingRegistered",
                b.completed_on,
                census_at,
                CENSUS_SOURCE,
                _building_data(b, "completed"),
            )
        elif b.announced == "census_uc":
            status = "planned" if b.completed_on > date(2016, 6, 30) else "under_construction"
            r.add(
                f"bld-{bid}",
                "BuildingRegistered",
                date(2013, 12, 31),
                census_at,
                CENSUS_SOURCE,
                _building_data(b, status),
            )
            if b.completed_on <= end:
                when, src = (
                    r.street_return(b.street_on(b.completed_on), _month_of(b.completed_on)),
                    OFFICE_SOURCE,
                )
                r.add(
                    f"bld-{bid}-completed",
                    "BuildingCompleted",
                    b.completed_on,
                    when,
                    src,
                    {"building_id": bid},
                )
        elif b.completed_on <= end:
            street = b.street_on(b.completed_on)
            when = r.street_return(street, _month_of(b.completed_on))
            r.add(
                f"bld-{bid}",
                "BuildingRegistered",
                b.completed_on,
                when,
                f"{w.divisions[street][1]}{street}",
                _building_data(b, "completed"),
            )
        if b.standalone_from:
            r.returned(
                b,
                f"bld-{bid}-standalone",
                "BuildingUpdated",
                b.standalone_from,
                {"building_id": bid, "standalone": True},
            )
        if b.remeasure:
            d, area = b.remeasure
            r.returned(
                b,
                f"bld-{bid}-remeasured",
                "BuildingUpdated",
                d,
                {"building_id": bid, "rentable_area_m2": area},
            )
        if b.street_from:
            d, street = b.street_from
            r.add(
                f"bld-{bid}-street",
                "BuildingUpdated",
                d,
                _at(date(2017, 1, 6), 10),
                OFFICE_SOURCE,
                {"building_id": bid, "street": street},
            )
    for b, d, fields in w.updates:
        d = max(d, b.completed_on + timedelta(days=30)) if b.announced == "new" else d
        if d > end or (b.retire_on and d >= b.retire_on):
            continue
        r.returned(
            b,
            f"bld-{b.building_id}-upd-{d:%Y%m%d}",
            "BuildingUpdated",
            d,
            {"building_id": b.building_id, **fields},
        )
    for b, d in w.retirements:
        r.returned(
            b,
            f"bld-{b.building_id}-retired",
            "BuildingRetired",
            d,
            {"building_id": b.building_id, "reason": "converted"},
        )
    for b, d, lead in w.designations:
        when = _at(_month_start(_month_of(d) + 1) + timedelta(days=rng.randint(8, 14)), 15)
        r.add(
            f"bld-{b.building_id}-featured",
            "BuildingFeaturedDesignated",
            d,
            when,
            OFFICE_SOURCE,
            {"building_id": b.building_id, "industry": lead},
        )
    for b, d in w.revocations:
        r.add(
            f"bld-{b.building_id}-featured-revoked",
            "BuildingFeaturedRevoked",
            d,
            _at(date(2018, 7, 12), 15),
            OFFICE_SOURCE,
            {"building_id": b.building_id},
        )

    # tenants: renames
    renamed: dict[str, tuple[date, str]] = {}
    for t in w.tenant_list:
        if rng.random() < 0.01:
            first = w.by_tenant[t.tenant_id][0]
            d = max(first.start, date(FIRST_YEAR, 1, 1)) + timedelta(days=rng.randint(60, 900))
            if d < (first.end or end) and d <= end:
                renamed[t.tenant_id] = (
                    d,
                    t.name.replace("有限公司", "科技有限公司", 1)
                    if "科技" not in t.name
                    else "浙江" + t.name.removeprefix("嘉兴"),
                )

    def name_on(t: Tenant, d: date) -> str:
        rn = renamed.get(t.tenant_id)
        return rn[1] if rn and rn[0] <= d else t.name

    # tenancies
    tax_eids: list[tuple[str, int, float]] = []
    for i, ten in enumerate(w.tenancies):
        t, b = ten.tenant, ten.building
        tid, bid = t.tenant_id, b.building_id
        ed = _edition(ten.start)
        data = {
            "tenant_id": tid,
            "tenant_name": name_on(t, ten.start),
            "building_id": bid,
            "area_m2": ten.areas[0][1],
            "industry": t.code2017 if ed == "2017" else t.code2011,
            "industry_edition": ed,
            "registered_here": _initial_registration(ten),
            "headcount": max(1, int(ten.areas[0][1] / (9 + (hash_int(tid) % 9)))),
            "headquarters": t.headquarters,
            "unit": ten.unit,
        }
        if ten.census:
            when, src = census_at, CENSUS_SOURCE
        else:
            when, src = r.recorded_for(b, ten.start)
        r.add(f"in-{tid}-{bid}", "TenantMovedIn", ten.start, when, src, data)
        for d, area in ten.areas[1:]:
            r.returned(
                b,
                f"area-{tid}-{bid}-{d:%Y%m%d}",
                "TenantAreaChanged",
                d,
                {"tenant_id": tid, "building_id": bid, "area_m2": area},
            )
        for d, reg in ten.regs:
            r.returned(
                b,
                f"reg-{tid}-{bid}-{d:%Y%m%d}",
                "TenantRegistrationChanged",
                d,
                {"tenant_id": tid, "building_id": bid, "registered_here": reg},
            )
        if ten.end and ten.end <= end:
            r.returned(
                b,
                f"out-{tid}-{bid}",
                "TenantMovedOut",
                ten.end,
                {"tenant_id": tid, "building_id": bid, "reason": ten.end_reason},
            )
        for m, amount in tax[i].items():
            when = _tax_file(w.seed, m)
            if rng.random() < 0.02:  # a late return
                when = _tax_file(w.seed, m + rng.randint(1, 2)) + timedelta(hours=2)
            period = _period(m)
            eid = r.add(
                f"tax-{tid}-{bid}-{period}",
                "TaxReported",
                _month_end(m),
                when,
                TAX_SOURCE,
                {"tenant_id": tid, "building_id": bid, "period": period, "amount_yuan": amount},
            )
            tax_eids.append((eid, m, amount))
    for tid, (d, name) in renamed.items():
        b = w.by_tenant[tid][0].building
        r.returned(
            b,
            f"tupd-{tid}-{d:%Y%m%d}",
            "TenantUpdated",
            d,
            {"tenant_id": tid, "tenant_name": name},
        )
    recode = date(2017, 10, 1)
    for t in w.tenant_list:
        if t.code2011 != t.code2017 and any(
            x.start < recode and (x.end is None or x.end > recode) for x in w.by_tenant[t.tenant_id]
        ):
            r.add(
                f"tupd-{t.tenant_id}-gbt4754-2017",
                "TenantUpdated",
                recode,
                _at(date(2017, 11, 8), 11),
                STATS_SOURCE,
                {"tenant_id": t.tenant_id, "industry": t.code2017, "industry_edition": "2017"},
            )

    # the city's revenue
    city = _city_tax(w.seed)
    for m, amount in sorted(city.items()):
        when = _at(_month_start(m + 1) + timedelta(days=18), 16)
        r.add(
            f"city-{_period(m)}",
            "CityTaxReported",
            _month_end(m),
            when,
            CITY_SOURCE,
            {"period": _period(m), "amount_yuan": amount},
        )

    _fix_dependencies(r)
    findings, retracted = _corrections(r, w, tax_eids)
    items = r.items
    r.items = []
    items.sort(key=lambda it: (it.when, it.priority, it.n))
    batches: list[tuple[str, int]] = []  # (segment, drafts in it)
    for k, it in enumerate(items):
        seg = segment_of(it.when.astimezone(UTC))
        if batches and batches[-1][0] == seg:
            batches[-1] = (seg, batches[-1][1] + 1)
        else:
            batches.append((seg, 1))
        items[k] = it.line()  # type: ignore[call-overload]  # freed item by item: no second copy
    return cast(list[bytes], items), batches, findings, retracted


def hash_int(text: str) -> int:
    """A stable small integer from a string (Python's `hash` is salted per process)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(text))


@functools.cache  # one datetime per month shared by its millions of returns
def _tax_file(seed: int, m: int) -> datetime:
    rng = random.Random(f"louyu:{seed}:taxfile:{m}")
    return _at(_month_start(m + 1) + timedelta(days=rng.randint(10, 16)), 10, rng.randint(0, 59))


def _fix_dependencies(r: _Recorder) -> None:
    """No event may be recorded before what it refers to: late references wait for them."""
    first_seen: dict[str, datetime] = {
        it.building_id: it.when
        for it in r.items
        if it.type == "BuildingRegistered" and it.building_id is not None
    }
    tenancy_seen: dict[tuple[str | None, str | None], datetime] = {}
    tenant_seen: dict[str | None, datetime] = {}
    # buildings, then move-ins, then the rest
    for k in sorted(range(len(r.items)), key=lambda k: r.items[k].priority):
        it = r.items[k]
        when = it.when
        need = []
        if it.type != "BuildingRegistered" and it.building_id is not None:
            need.append(first_seen[it.building_id])
        if it.type in (
            "TenantAreaChanged",
            "TenantRegistrationChanged",
            "TenantMovedOut",
            "TaxReported",
        ):
            need.append(tenancy_seen[(it.tenant_id, it.building_id)])
        if it.type == "TenantUpdated":
            need.append(tenant_seen[it.tenant_id])
        for dep in need:
            if dep > when:
                when = dep + timedelta(minutes=1)
        if it.type == "TenantMovedIn":
            tenancy_seen[(it.tenant_id, it.building_id)] = when
            tenant_seen[it.tenant_id] = min(when, tenant_seen.get(it.tenant_id, when))
        if when != it.when:
            r.items[k] = it._replace(when=when)


def _corrections(
    r: _Recorder, w: _World, tax_eids: list[tuple[str, int, float]]
) -> tuple[list[Finding], list[Finding]]:
    """Restatements, retractions of wrong events, and the deliberate data-quality problems."""
    rng = random.Random(f"louyu:{w.seed}:corrections")
    end = _month_end(MONTHS - 1)
    # tax restated months later (the latest report for tenant, building, period wins)
    for eid, m, amount in tax_eids:
        if rng.random() < 0.006:
            when = r.at(eid) + timedelta(days=rng.randint(45, 240))
            when = when.replace(hour=14, minute=rng.randint(0, 59))
            if when > LAST_RECORD:
                continue
            factor = rng.uniform(0.6, 0.95) if rng.random() < 0.5 else rng.uniform(1.05, 1.5)
            d = r.draft(eid)
            r.add(
                f"{eid}-r1",
                "TaxReported",
                _month_end(m),
                when,
                TAX_SOURCE,
                {**d["data"], "amount_yuan": round(amount * factor, 2)},
            )
    for period, when, factor in (
        ("2016-05", _at(date(2016, 9, 21), 16), 1.0035),
        ("2017-12", _at(date(2018, 3, 20), 16), 0.9962),
    ):
        d = r.draft(f"city-{period}")
        r.add(
            f"city-{period}-r1",
            "CityTaxReported",
            date.fromisoformat(d["occurred_on"]),
            when,
            CITY_SOURCE,
            {**d["data"], "amount_yuan": round(d["data"]["amount_yuan"] * factor, 2)},
        )

    findings: list[Finding] = []
    retracted: list[Finding] = []
    ended = [
        t
        for t in w.tenancies
        if t.end and t.end <= end and not t.census and t.end.year in (2016, 2017)
    ]
    ended.sort(key=lambda t: (t.end, t.tenant.tenant_id))
    live = [t for t in w.tenancies if t.end is None and t.start < date(2016, 1, 1)]
    live.sort(key=lambda t: (t.start, t.tenant.tenant_id))

    def street_src(b: Building, d: date) -> tuple[datetime, str]:
        street = b.street_on(d)
        return r.street_return(street, _month_of(d)), f"{w.divisions[street][1]}{street}"

    # F1: an area typed ten times too large pushes a building over its rentable area
    for ten in live:
        b = ten.building
        d0, d1 = date(2016, 9, 12), date(2016, 12, 1)
        if not _in_scope(b, d0) or any(
            d0 - timedelta(days=40) <= d <= d1 + timedelta(days=40) for d, _ in ten.areas[1:]
        ):
            continue
        occupied = sum(
            x.area_on(d0) for x in b.tenancies if x.start <= d0 and (x.end is None or x.end > d1)
        )
        area = ten.area_on(d0)
        if area >= 150 and occupied + 9 * area > b.rentable * 1.05 and occupied < b.rentable:
            when, src = street_src(b, d0)
            eid = r.add(
                f"area-{ten.tenant.tenant_id}-{b.building_id}-{d0:%Y%m%d}",
                "TenantAreaChanged",
                d0,
                max(when, r.at(f"in-{ten.tenant.tenant_id}-{b.building_id}"))
                + timedelta(minutes=1),
                src,
                {
                    "tenant_id": ten.tenant.tenant_id,
                    "building_id": b.building_id,
                    "area_m2": area * 10,
                },
            )
            when, src = street_src(b, d1)
            fix = r.add(
                f"area-{ten.tenant.tenant_id}-{b.building_id}-{d1:%Y%m%d}",
                "TenantAreaChanged",
                d1,
                when,
                src,
                {"tenant_id": ten.tenant.tenant_id, "building_id": b.building_id, "area_m2": area},
            )
            findings.append(
                Finding(
                    eid,
                    f"{b.building_id} {b.name}: a tenancy's area entered as {area * 10:g} m² instead of {area:g} m²; "
                    f"the tenancies' areas exceed the building's rentable area ({b.rentable:g} m²) from {d0} until the correction {fix} on {d1}",
                )
            )
            break
    if len(ended) < 10 or len(live) < 10:  # a toy scale: no room for the planted problems
        return findings, retracted
    # F2: a move-out entered twice (a second return repeats it two months later)
    ten = ended[len(ended) // 5]
    tid, bid = ten.tenant.tenant_id, ten.building.building_id
    assert ten.end is not None
    later = ten.end + timedelta(days=61)
    eid = r.add(
        f"out-{tid}-{bid}-dup",
        "TenantMovedOut",
        later,
        r.at(f"out-{tid}-{bid}") + timedelta(days=75),
        "import:street-cleanup-2017.xlsx",
        {"tenant_id": tid, "building_id": bid, "reason": "unknown"},
    )
    findings.append(
        Finding(
            eid,
            f"{bid}: moves tenant {tid} out on {later}, but its tenancy already ended on {ten.end} (out-{tid}-{bid})",
        )
    )
    # F3: an area change after the tenancy ended
    ten = ended[len(ended) // 3]
    tid, bid = ten.tenant.tenant_id, ten.building.building_id
    assert ten.end is not None
    later = ten.end + timedelta(days=20)
    when, src = street_src(ten.building, later)
    eid = r.add(
        f"area-{tid}-{bid}-{later:%Y%m%d}",
        "TenantAreaChanged",
        later,
        max(when, r.at(f"out-{tid}-{bid}")) + timedelta(minutes=1),
        src,
        {"tenant_id": tid, "building_id": bid, "area_m2": round(ten.areas[-1][1] * 0.5, 1)},
    )
    findings.append(
        Finding(
            eid,
            f"{bid}: changes the area of tenant {tid} on {later}, after its tenancy ended on {ten.end}",
        )
    )
    # F4: a move-out whose date was typed a year early, before the move-in
    for ten in ended[len(ended) // 2 :]:
        assert ten.end is not None
        typo = (
            ten.end.replace(year=ten.end.year - 1)
            if not (ten.end.month == 2 and ten.end.day == 29)
            else None
        )
        if typo and typo < ten.start and ten.start.year >= 2016:
            eid = f"out-{ten.tenant.tenant_id}-{ten.building.building_id}"
            r.redate(eid, typo)
            findings.append(
                Finding(
                    eid,
                    f"{ten.building.building_id}: tenant {ten.tenant.tenant_id} moves out on {typo}, before it moved in on {ten.start} (the year was mistyped; meant {ten.end}); so the tenancy never ends in a replay and, once its space is let again, the building looks fuller than its rentable area",
                )
            )
            break
    # F5: the tax bureau keeps attributing a departed tenant's tax to its old building
    for ten in ended[len(ended) * 2 // 3 :]:
        if ten.end_reason == "left_city" and ten.end and ten.end.year == 2017:
            tid, bid = ten.tenant.tenant_id, ten.building.building_id
            m_end = _month_of(ten.end)
            for k in (1, 2):
                m = m_end + k
                eid = r.add(
                    f"tax-{tid}-{bid}-{_period(m)}",
                    "TaxReported",
                    _month_end(m),
                    max(_tax_file(w.seed, m), r.at(f"in-{tid}-{bid}")),
                    TAX_SOURCE,
                    {
                        "tenant_id": tid,
                        "building_id": bid,
                        "period": _period(m),
                        "amount_yuan": round(2000 + rng.random() * 30000, 2),
                    },
                )
                findings.append(
                    Finding(
                        eid,
                        f"{bid}: tax of {_period(m)} reported for tenant {tid}, whose tenancy ended on {ten.end}",
                    )
                )
            break
    # F6: an update dated before the building entered the registry
    for b in w.buildings:
        if (
            b.announced == "new"
            and b.completed_on.year == 2016
            and f"bld-{b.building_id}" in r.index
        ):
            d = b.completed_on - timedelta(days=95)
            when = r.at(f"bld-{b.building_id}") + timedelta(minutes=2)
            eid = r.add(
                f"bld-{b.building_id}-upd-{d:%Y%m%d}",
                "BuildingUpdated",
                d,
                when,
                OFFICE_SOURCE,
                {
                    "building_id": b.building_id,
                    "property_manager": f"嘉兴{rng.choice(_NAME_WORDS)}物业服务有限公司",
                },
            )
            findings.append(
                Finding(
                    eid,
                    f"{b.building_id} {b.name}: updated on {d}, before the building was registered (completed {b.completed_on})",
                )
            )
            break

    # wrong events, retracted
    def retract(target: str, when: datetime, reason: str, what: str) -> None:
        eid = r.add(
            f"retract-{target}",
            "EventRetracted",
            when.date(),
            when,
            OFFICE_SOURCE if not target.startswith("tax-") else TAX_SOURCE,
            {"event_id": target, "reason": reason},
        )
        retracted.append(Finding(target, f"{what}; retracted by {eid}"))

    big = sorted((t for t in tax_eids if 24 <= t[1] < 36), key=lambda t: (-t[2], t[0]))
    eid, m, amount = big[len(big) // 50]
    d = r.draft(eid)
    when = r.at(eid) + timedelta(days=1)
    typo = r.add(
        f"{eid}-x",
        "TaxReported",
        _month_end(m),
        when,
        TAX_SOURCE,
        {**d["data"], "amount_yuan": round(amount * 100, 2)},
    )
    retract(
        typo,
        when + timedelta(days=20),
        "金额录入错误(多录两位)",
        f"a restatement of {eid} with the amount typed 100 times too large",
    )

    ten = live[len(live) // 7]
    tid, bid = ten.tenant.tenant_id, ten.building.building_id
    others = [
        b
        for b in w.buildings
        if b.street == ten.building.street
        and b is not ten.building
        and all(x.building is not b for x in w.by_tenant[tid])
        and b.completed_on < date(2016, 1, 1)
    ]
    if others:
        wrong = others[0]
        src_in = r.draft(f"in-{tid}-{bid}")
        when = _at(date(2016, 4, 7), 11)
        bad = r.add(
            f"in-{tid}-{wrong.building_id}",
            "TenantMovedIn",
            date(2016, 3, 15),
            when,
            src_in.get("source"),
            {
                **src_in["data"],
                "building_id": wrong.building_id,
                "industry": ten.tenant.code2011,
                "industry_edition": "2011",
            },
        )
        retract(
            bad,
            _at(date(2016, 5, 9), 11),
            f"楼宇录错：该企业在{bid}",
            f"a move-in of {tid} entered in the wrong building {wrong.building_id}",
        )

    b = next(
        x
        for x in w.buildings
        if x.announced == "census" and _in_scope(x, date(2015, 6, 1)) and x.retire_on is None
    )
    when = _at(date(2015, 7, 8), 10)
    bad = r.add(
        f"bld-{b.building_id}-upd-20150630",
        "BuildingUpdated",
        date(2015, 6, 30),
        when,
        OFFICE_SOURCE,
        {"building_id": b.building_id, "rentable_area_m2": round(b.rentable_initial * 10, 1)},
    )
    retract(
        bad,
        _at(date(2015, 7, 20), 10),
        "可租面积录入错误",
        f"{b.building_id}'s rentable area typed 10 times too large",
    )

    ten = live[len(live) // 3]
    tid, bid = ten.tenant.tenant_id, ten.building.building_id
    when, src = street_src(ten.building, date(2018, 4, 16))
    bad = r.add(
        f"out-{tid}-{bid}",
        "TenantMovedOut",
        date(2018, 4, 16),
        when,
        src,
        {"tenant_id": tid, "building_id": bid, "reason": "unknown"},
    )
    retract(
        bad,
        when + timedelta(days=33),
        "企业未迁出，误报",
        f"a move-out of {tid} from {bid} that did not happen",
    )
    return findings, retracted


# --- the public face -----------------------------------------------------------------------------


def simulate(seed: int = RECORDED_SEED, scale: float = RECORDED_SCALE) -> Simulation:
    """The drafts of a simulated log (pure: nothing is written)."""
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    w = _World(seed, scale)
    w.make_buildings()
    w.assign_themes()
    _plan_acts(w)
    w.census()
    w.run()
    tax = _tax(w)
    lines, segments, findings, retracted = _record(w, tax)
    return Simulation(
        seed=seed,
        scale=scale,
        lines=lines,
        segments=segments,
        findings=findings,
        retracted=retracted,
        buildings=len(w.buildings),
        tenants=len(w.tenant_list),
        tenancies=len(w.tenancies),
    )


def write_log(sim: Simulation, out: str | Path) -> EventLog:
    """A new log at `out` holding the simulation, appended one batch per month of `recorded_at`."""
    log = EventLog.init(out)
    for batch in sim.batches():
        log.append(batch)
    return log


def clear_log_folder(path: Path) -> None:
    """Remove a previous log (and its README) from `path`, nothing else."""
    for p in path.iterdir():
        if p.name in ("log.json", "HEAD", ".lock", "README.md") or p.name.endswith(
            (".jsonl", ".jsonl.gz", ".tmp")
        ):
            p.unlink()
        elif p.name == ".cache" and p.is_dir():
            shutil.rmtree(p)


# --- what the sample looks like (for its README) -----------------------------------------------

_KEY_OF_CODE = {
    edition: {pair[i]: key for key, pairs in KEY_CODES.items() for pair in pairs}
    for i, edition in ((0, "2011"), (1, "2017"))
}
for _edition_codes in _KEY_OF_CODE.values():
    _edition_codes["L7211"] = "headquarters"


def _key_of(code: str | None, edition: str | None) -> str | None:
    table = _KEY_OF_CODE.get(edition or "2017", {})
    for n in range(len(code or ""), 0, -1):
        if code and code[:n] in table:
            return table[code[:n]]
    return None


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
        keys = {
            (c, e): _key_of(c, e)
            for c, e in industry.select("industry", "industry_edition").unique().iter_rows()
        }
        industry = industry.with_columns(
            key=pl.Series(
                [
                    keys[(c, e)]
                    for c, e in industry.select("industry", "industry_edition").iter_rows()
                ],
                dtype=pl.String,
            )
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
# day inside the window of the planted over-rentable area (2016-09-12 … 2016-12-01).
README_FINDING_DATES = (
    date(2014, 12, 31),
    date(2015, 12, 31),
    date(2016, 10, 31),
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
        "`louyu_research/simulate.py`. Nothing in it is real municipal data: buildings, firms, names,",
        "unified social credit codes (valid check digits, but invented) and amounts are simulated; the",
        "geography (`louyu_research/data/jiaxing_divisions.csv`) and the city's budget revenue are real.",
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
        f"- street boundary change on 2017-01-01 (新兴街道 → 城南街道, so these buildings move from the 南湖区 reporting area to the development zone's): {', '.join(moved['building_id'].to_list())}",
        f"- retired: {', '.join(f'{r[0]} ({r[1]})' for r in retired.select('building_id', 'occurred_on').iter_rows())} (converted)",
        "- officially designated featured buildings (`BuildingFeaturedDesignated`) by year: "
        + ", ".join(f"{y}: {n}" for y, n in designated.iter_rows())
        + (
            f"; revoked: {', '.join(revoked['building_id'].to_list())} (2018-06-28)"
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
        "Calibration: the city's general public budget revenue is ¥35.04 bn in 2015 and ¥44.38 bn in 2017",
        "(DOMAIN_NOTES.md); 2014, 2016 and 2018 follow the same compound growth. In-scope buildings' tax is",
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
