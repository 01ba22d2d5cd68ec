"""The columns of each kind of return (INTAKE.md): headers in Chinese, English aliases, units.

A header is matched after normalising what people type around it: spaces, full-width
parentheses, and a unit in parentheses (`租用面积（㎡）`, `税收金额（万元）`), which is read off
the header and applies to the whole column. This module only describes; `cells` parses values
and `table` applies both to a sheet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

KINDS = ("buildings", "roster", "tax", "city-tax")

#: What each kind is called in messages and templates.
KIND_NAMES = {
    "buildings": ("楼宇基本信息表", "buildings register"),
    "roster": ("入驻企业名录", "roster of enterprises"),
    "tax": ("纳税人税收明细", "tax by taxpayer"),
    "city-tax": ("全市税收收入", "city tax revenue"),
}

#: Units a header may carry, and the factor to the column's base unit (m² or yuan).
UNITS = {"㎡": 1.0, "m2": 1.0, "m²": 1.0, "平方米": 1.0, "元": 1.0, "万元": 10_000.0}
AREA_UNITS = ("㎡", "m2", "m²", "平方米")
MONEY_UNITS = ("元", "万元")


@dataclass(frozen=True)
class Column:
    """One column of a return: `key` (the field it feeds), its Chinese header, aliases."""

    key: str
    zh: str
    en: str
    value: str  # the parser in `cells`: text, uscc, taxpayer, date, area, money, …
    required: bool = False
    aliases: tuple[str, ...] = ()
    unit: str | None = None  # the default unit of an area or money column

    @property
    def header(self) -> str:
        """The header a template writes: with the unit, so nobody has to guess it."""
        return f"{self.zh}（{self.unit}）" if self.unit else self.zh

    def names(self) -> tuple[str, ...]:
        return (self.zh, self.en, self.key, *self.aliases)


C = Column
SPECS: dict[str, tuple[Column, ...]] = {
    "buildings": (
        C("building_id", "楼宇编号", "building id", "id"),
        C("name", "楼宇名称", "building name", "text", True, ("名称",)),
        C("district", "所属区县", "district", "text", True, ("区县", "所属区（县、市）")),
        C("street", "所属街道（镇）", "street", "text", True, ("所属街道", "街道", "所属镇街")),
        C("community", "所属社区", "community", "text", False, ("社区",)),
        C("address", "地址", "address", "text", False, ("楼宇地址",)),
        C("gross_floor_area_m2", "总建筑面积", "gross floor area", "area", True, (), "㎡"),
        C("rentable_area_m2", "可出租面积", "rentable area", "area", True, (), "㎡"),
        C("category", "楼宇类别", "category", "category", True, ("类别",)),
        C("grade", "等级", "grade", "grade", False, ("楼宇等级",)),
        C("standalone", "是否独栋", "standalone", "bool", True, ("独栋",)),
        C("status", "状态", "status", "building_status", True, ("建设状态",)),
        C("completed_on", "竣工日期", "completed on", "date", False, ("竣工时间",)),
        C("owner", "产权单位", "owner", "text"),
        C("property_manager", "物业公司", "property manager", "text", False, ("物业管理公司",)),
        C("self_held_ratio", "自持比例", "self-held ratio", "ratio"),
        C("lon", "经度", "longitude", "lon", False, ("lon",)),
        C("lat", "纬度", "latitude", "lat", False, ("lat",)),
        C("retired_on", "退出日期", "retired on", "date"),
        C("retire_reason", "退出原因", "retire reason", "retire_reason"),
    ),
    "roster": (
        C("building_id", "楼宇编号", "building id", "id"),
        C("building_name", "楼宇名称", "building name", "text", False, ("楼宇", "所在楼宇")),
        C(
            "tenant_id",
            "统一社会信用代码",
            "unified social credit code",
            "uscc",
            True,
            ("社会信用代码", "信用代码", "USCC"),
        ),
        C("tenant_name", "企业名称", "enterprise name", "text", True, ("企业", "单位名称")),
        C("area_m2", "租用面积", "area", "area", True, ("面积", "租赁面积"), "㎡"),
        C("since", "入驻日期", "move-in date", "date", False, ("入驻时间",)),
        C(
            "registered_here",
            "是否注册在本楼",
            "registered here",
            "bool",
            True,
            ("注册在本楼", "是否注册"),
        ),
        C("industry", "行业代码", "industry code", "industry", True, ("行业", "国民经济行业代码")),
        C("industry_edition", "行业代码版本", "industry code edition", "edition"),
        C("headcount", "从业人数", "headcount", "count", False, ("员工人数", "人数")),
        C("headquarters", "是否总部", "headquarters", "bool", False, ("总部企业",)),
        C("unit", "房号", "unit", "text", False, ("房间号",)),
        C("status", "状态", "status", "tenancy_status", False, ("入驻状态",)),
        C("moved_out_on", "迁出日期", "move-out date", "date", False, ("迁出时间",)),
        C("reason", "迁出原因", "move-out reason", "move_out_reason"),
    ),
    "tax": (
        C(
            "taxpayer_id",
            "纳税人识别号",
            "taxpayer id",
            "taxpayer",
            True,
            ("统一社会信用代码", "税务登记号", "纳税人识别号/统一社会信用代码"),
        ),
        C("taxpayer_name", "纳税人名称", "taxpayer name", "text", True, ("企业名称",)),
        C("period", "税款所属期", "period", "period", True, ("所属期", "所属月份")),
        C("amount", "税收金额", "amount", "money", True, ("税额", "入库税款", "税收"), "元"),
        C("bureau", "征收机关", "bureau", "bureau", False, ("税务机关",)),
    ),
    "city-tax": (
        C("period", "所属期", "period", "period", True, ("税款所属期", "月份")),
        C("amount", "税收收入", "revenue", "money", True, ("税收", "金额"), "元"),
        C("district", "区县", "district", "district", False, ("所属区县",)),
    ),
}

#: Values that the enumerated columns accept, and the event value each stands for.
CHOICES: dict[str, dict[str, str]] = {
    "category": {
        "商务写字楼": "office",
        "写字楼": "office",
        "商业综合体": "complex",
        "产业楼宇": "industrial",
        "产业/科创楼宇": "industrial",
        "科创楼宇": "industrial",
        "混合": "mixed",
        "office": "office",
        "complex": "complex",
        "industrial": "industrial",
        "mixed": "mixed",
    },
    "grade": {"甲": "A", "乙": "B", "丙": "C", "甲级": "A", "乙级": "B", "丙级": "C"}
    | {g: g for g in "ABC"},
    "building_status": {
        "规划": "planned",
        "在建": "under_construction",
        "已建成": "completed",
        "建成": "completed",
        "planned": "planned",
        "under construction": "under_construction",
        "completed": "completed",
    },
    "retire_reason": {
        "拆除": "demolished",
        "改变用途": "converted",
        "改建": "converted",
        "合并": "merged",
        "其他": "other",
        "demolished": "demolished",
        "converted": "converted",
        "merged": "merged",
        "other": "other",
    },
    "tenancy_status": {"在驻": "in", "已迁出": "out", "迁出": "out", "in": "in", "out": "out"},
    "move_out_reason": {
        "市内迁移": "relocated_in_city",
        "迁出本市": "left_city",
        "注销": "closed",
        "不详": "unknown",
        "relocated in city": "relocated_in_city",
        "left city": "left_city",
        "closed": "closed",
        "unknown": "unknown",
    },
    "bureau": {
        "国税": "national",
        "国家税务局": "national",
        "地税": "local",
        "地方税务局": "local",
        "税务": "",
        "税务局": "",
        "national": "national",
        "local": "local",
    },
    "edition": {"2011": "2011", "2017": "2017"},
}

#: The first choice of each list in Chinese: what drop-downs offer and messages name.
CHOICE_LISTS = {
    "category": ["商务写字楼", "商业综合体", "产业楼宇", "混合"],
    "grade": ["甲", "乙", "丙"],
    "building_status": ["规划", "在建", "已建成"],
    "retire_reason": ["拆除", "改变用途", "合并", "其他"],
    "tenancy_status": ["在驻", "已迁出"],
    "move_out_reason": ["市内迁移", "迁出本市", "注销", "不详"],
    "bureau": ["国税", "地税", "税务"],
    "edition": ["2011", "2017"],
    "bool": ["是", "否"],
}

_SPACE = re.compile(r"[\s\u3000]+")
_UNIT = re.compile(r"^(.*?)\((㎡|m2|m²|平方米|元|万元)\)$")
_WIDE = str.maketrans({"（": "(", "）": ")", "：": ":", "，": ","})


def normalise_header(text: str) -> tuple[str, str | None]:
    """A header as typed → (name to match, unit in parentheses or None)."""
    t = _SPACE.sub("", str(text)).translate(_WIDE).replace("*", "").replace("＊", "")
    m = _UNIT.match(t)
    name, unit = (m.group(1), m.group(2)) if m else (t, None)
    return name.lower(), unit


@cache
def lookup(kind: str) -> dict[str, Column]:
    """Every accepted (normalised) header of a kind → its column."""
    out: dict[str, Column] = {}
    for col in SPECS[kind]:
        for n in col.names():
            out[normalise_header(n)[0]] = col
    return out
