"""The event catalogue: the only definition of what the log may hold (contract: EVENTS.md).

Each event type is a small immutable record with a past-tense name. Its fields are the
`data` object of the envelope. Drafts (what a writer submits) and stored events (what the
log holds) are both validated here, in strict mode, so a mistyped field is an error rather
than a silent coercion. JSON Schema files in `schemas/events/` are generated from these
models (`louyu schemas`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    create_model,
    model_validator,
)

from louyu_research.city.profile import KEY_INDUSTRY_CODE
from louyu_research.core.periods import MONTH_PATTERN

__all__ = [
    "CATALOGUE",
    "EVENT_FRAME_SCHEMA",
    "GENESIS_HASH",
    "Draft",
    "Event",
    "canonical_json",
    "chain_hash",
    "is_valid_uscc",
    "parse_draft",
    "parse_event",
]

# --- field types -------------------------------------------------------------------------

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def is_valid_uscc(code: str) -> bool:
    """GB 32100-2015 check digit of an 18-character unified social credit code."""
    if not _USCC_SHAPE.match(code):
        return False
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(code[:17], _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31] == code[17]


def _check_tenant_id(value: str) -> str:
    # Only what looks like a USCC is held to its check digit: other ids (individuals,
    # branches without a code) are legitimate stable strings chosen by the writer.
    if _USCC_SHAPE.match(value) and not is_valid_uscc(value):
        raise ValueError(
            "looks like a unified social credit code but fails its GB 32100-2015 check digit"
        )
    return value


def _check_money(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("money must be finite")
    if abs(round(value, 2) - value) > 1e-6:
        raise ValueError("money has at most 2 decimals (fen)")
    return value


def _check_period(value: str) -> str:
    if not re.fullmatch(MONTH_PATTERN, value):
        raise ValueError("period must be a month YYYY-MM")
    return value


Id = Annotated[str, Field(min_length=1, max_length=128)]
Text = Annotated[str, Field(min_length=1, max_length=500)]
TenantId = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_check_tenant_id)]
Area = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Money = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_check_money)]
Period = Annotated[str, AfterValidator(_check_period)]
Ratio = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Industry = Annotated[str, Field(pattern=r"^[A-T][0-9]{0,4}$")]
Headcount = Annotated[int, Field(ge=0)]


class Category(StrEnum):
    office = "office"  # 商务写字楼
    complex = "complex"  # 商业综合体
    industrial = "industrial"  # 产业/科创楼宇
    mixed = "mixed"


class Grade(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class BuildingStatus(StrEnum):
    planned = "planned"
    under_construction = "under_construction"
    completed = "completed"


class RetireReason(StrEnum):
    demolished = "demolished"
    converted = "converted"
    merged = "merged"
    other = "other"


class MoveOutReason(StrEnum):
    relocated_in_city = "relocated_in_city"
    left_city = "left_city"
    closed = "closed"
    unknown = "unknown"


#: A key industry by its code; which codes exist is the city profile's (checked on append).
KeyIndustryCode = Annotated[str, StringConstraints(pattern=KEY_INDUSTRY_CODE)]


class TaxPart(StrEnum):
    """Which bureau's part of a tax report (before the 2018 merger they reported apart)."""

    national = "national"  # 国税
    local = "local"  # 地税


IndustryEdition = Literal["2011", "2017"]


# --- event types -------------------------------------------------------------------------


class EventData(BaseModel):
    """Base of every event type's `data`: immutable, closed (unknown fields are errors)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class BuildingRegistered(EventData):
    """A building enters the registry."""

    building_id: Id
    name: Text
    district: Text
    street: Text
    community: Text | None = None
    address: Text | None = None
    gross_floor_area_m2: Area
    rentable_area_m2: Area
    category: Category
    grade: Grade | None = None
    standalone: bool
    status: BuildingStatus
    completed_on: date | None = None
    owner: Text | None = None
    property_manager: Text | None = None
    self_held_ratio: Ratio | None = None
    lon: Lon | None = None
    lat: Lat | None = None


class BuildingCompleted(EventData):
    """The building is delivered (已建楼宇) on `occurred_on`."""

    building_id: Id


class BuildingUpdated(EventData):
    """Attribute changes from `occurred_on` on (re-measured area, street re-drawn, …)."""

    building_id: Id
    name: Text | None = None
    district: Text | None = None
    street: Text | None = None
    community: Text | None = None
    address: Text | None = None
    gross_floor_area_m2: Area | None = None
    rentable_area_m2: Area | None = None
    category: Category | None = None
    grade: Grade | None = None
    standalone: bool | None = None
    owner: Text | None = None
    property_manager: Text | None = None
    self_held_ratio: Ratio | None = None
    lon: Lon | None = None
    lat: Lat | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> BuildingUpdated:
        return _some_attribute(self, "building_id")


def _some_attribute(model: EventData, key: str) -> EventData:
    if all(getattr(model, f) is None for f in type(model).model_fields if f != key):
        raise ValueError(f"an update names at least one attribute besides {key}")
    return model


class BuildingFeaturedDesignated(EventData):
    """Officially recognised as a featured building (特色楼宇认定)."""

    building_id: Id
    industry: KeyIndustryCode


class BuildingFeaturedRevoked(EventData):
    """Featured recognition withdrawn."""

    building_id: Id


class BuildingRetired(EventData):
    """Leaves the statistics from `occurred_on` on."""

    building_id: Id
    reason: RetireReason


class TenantMovedIn(EventData):
    """A tenancy (tenant, building) starts on `occurred_on`."""

    tenant_id: TenantId
    tenant_name: Text
    building_id: Id
    area_m2: Area
    industry: Industry
    industry_edition: IndustryEdition | None = None
    registered_here: bool
    headcount: Headcount | None = None
    headquarters: bool | None = None
    unit: Text | None = None


class TenantAreaChanged(EventData):
    """A tenancy expands or shrinks to a new total area."""

    tenant_id: TenantId
    building_id: Id
    area_m2: Area


class TenantRegistrationChanged(EventData):
    """Registration moved into or out of the building."""

    tenant_id: TenantId
    building_id: Id
    registered_here: bool


class TenantUpdated(EventData):
    """Enterprise attributes change (all its tenancies)."""

    tenant_id: TenantId
    tenant_name: Text | None = None
    industry: Industry | None = None
    industry_edition: IndustryEdition | None = None
    headcount: Headcount | None = None
    headquarters: bool | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> TenantUpdated:
        return _some_attribute(self, "tenant_id")


class TenantMovedOut(EventData):
    """A tenancy ends on `occurred_on`."""

    tenant_id: TenantId
    building_id: Id
    reason: MoveOutReason | None = None


class TaxReported(EventData):
    """Tax paid by a tenant in a month, attributed to a building; the latest report wins.

    `part` names the bureau (national 国税 / local 地税) when the two reported apart; absent, the
    report is the total. The latest report per (tenant, building, period, part) counts, and the
    amount is the latest total or the sum of the latest parts, whichever was recorded later.
    """

    tenant_id: TenantId
    building_id: Id
    period: Period
    amount_yuan: Money
    part: TaxPart | None = None


class CityTaxReported(EventData):
    """The city's (or a district's) total tax of a month: the tax share's denominator."""

    period: Period
    amount_yuan: Money
    district: Text | None = None


class EventRetracted(EventData):
    """The named event is void for every replay recorded after this one."""

    event_id: Id
    reason: Text


CATALOGUE: dict[str, type[EventData]] = {
    cls.__name__: cls
    for cls in (
        BuildingRegistered,
        BuildingCompleted,
        BuildingUpdated,
        BuildingFeaturedDesignated,
        BuildingFeaturedRevoked,
        BuildingRetired,
        TenantMovedIn,
        TenantAreaChanged,
        TenantRegistrationChanged,
        TenantUpdated,
        TenantMovedOut,
        TaxReported,
        CityTaxReported,
        EventRetracted,
    )
}

# Which kind of subject each type is about, for the log's referential checks.
BUILDING_EVENTS = frozenset(
    {
        "BuildingCompleted",
        "BuildingUpdated",
        "BuildingFeaturedDesignated",
        "BuildingFeaturedRevoked",
        "BuildingRetired",
    }
)
TENANCY_EVENTS = frozenset(
    {"TenantAreaChanged", "TenantRegistrationChanged", "TenantMovedOut", "TaxReported"}
)


# --- envelopes -----------------------------------------------------------------------------


class _Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    event_id: Id
    occurred_on: date
    source: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class _DraftBase(_Envelope):
    """What a writer submits: the envelope without `seq` and `hash`."""

    recorded_at: AwareDatetime | None = None


class _EventBase(_Envelope):
    """What the log holds: the draft plus `seq`, `recorded_at` and `hash` assigned on append."""

    seq: Annotated[int, Field(ge=1)]
    recorded_at: AwareDatetime
    hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


def _variants(base: type[BaseModel], suffix: str) -> Any:
    models = [
        create_model(
            f"{name}{suffix}",
            __base__=base,
            __doc__=cls.__doc__,
            type=(Literal[name], ...),  # type: ignore[valid-type]
            data=(cls, ...),
        )
        for name, cls in CATALOGUE.items()
    ]
    return Annotated[
        next(iter(models)) if len(models) == 1 else _union(models), Field(discriminator="type")
    ]


def _union(models: list[type[BaseModel]]) -> Any:
    from typing import Union

    return Union[tuple(models)]  # noqa: UP007 - a runtime union of generated classes


Draft = _variants(_DraftBase, "Draft")
Event = _variants(_EventBase, "Event")
DRAFT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Draft)
EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Event)


def _problems(err: ValidationError) -> list[str]:
    out = []
    for e in err.errors(include_url=False):
        loc = [str(p) for p in e["loc"]]
        # Drop the discriminator's variant name: `TenantMovedInDraft.data.area_m2` → `data.area_m2`.
        if loc and (loc[0] in CATALOGUE or loc[0].endswith(("Draft", "Event"))):
            loc = loc[1:]
        field = ".".join(loc) or "(line)"
        msg = e["msg"]
        if e["type"] == "union_tag_invalid":
            field, msg = (
                "type",
                f"unknown event type {e['input'].get('type')!r}"
                if isinstance(e["input"], dict)
                else msg,
            )
        out.append(f"{field}: {msg}")
    return out


class InvalidEvent(ValueError):
    """A line that is not a valid draft or event: carries one message per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_draft(line: str | bytes) -> Any:
    """Validate one JSON line as a draft (strict: no silent coercion)."""
    try:
        return DRAFT_ADAPTER.validate_json(line)
    except ValidationError as err:
        raise InvalidEvent(_problems(err)) from None


def parse_event(line: str | bytes) -> Any:
    """Validate one stored line as an event."""
    try:
        return EVENT_ADAPTER.validate_json(line)
    except ValidationError as err:
        raise InvalidEvent(_problems(err)) from None


# --- canonical serialisation and the hash chain ----------------------------------------------

GENESIS_HASH = "0" * 64


def to_record(model: BaseModel) -> dict[str, Any]:
    """The JSON-ready dict of a draft or event; absent optional fields are omitted."""
    return model.model_dump(mode="json", exclude_none=True)


def canonical_json(record: dict[str, Any]) -> str:
    """The one serialisation of a record: keys sorted, no spaces, UTF-8 literal (no \\u escapes).

    Numbers are written by Python's `json` (floats in shortest round-trip form, e.g. 1200.0),
    dates as `YYYY-MM-DD`, timestamps as pydantic writes them (RFC 3339, `Z` for UTC).
    A stored line *is* the canonical form of its event, so `verify` can detect any edited byte.
    """
    return json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def chain_hash(prev_hash: str, record_without_hash: dict[str, Any]) -> str:
    """SHA-256 over the previous event's hash (64 hex chars) followed by the canonical record."""
    payload = prev_hash + canonical_json(record_without_hash)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def content_key(record: dict[str, Any]) -> str:
    """What makes two events with the same `event_id` "identical" (idempotent re-append)."""
    keep = {
        k: record[k] for k in ("event_id", "type", "occurred_on", "source", "data") if k in record
    }
    return canonical_json(keep)


def recorded_instant(model: Any) -> datetime:
    return model.recorded_at


# --- the flat, columnar form of events (the log → replay interface) --------------------------

_DATA_DTYPES: dict[str, pl.DataType] = {}


def _polars_dtype(annotation: Any) -> pl.DataType:
    text = repr(annotation)
    if "bool" in text:
        return pl.Boolean()
    if "float" in text:
        return pl.Float64()
    if "int" in text:
        return pl.Int64()
    return pl.String()


for _cls in CATALOGUE.values():
    for _name, _field in _cls.model_fields.items():
        _DATA_DTYPES.setdefault(_name, _polars_dtype(_field.annotation))

#: How a stored line is read by Polars (`read_ndjson(schema=...)`): the envelope, and `data`
#: as one struct holding every field of every type (absent fields read as null).
NDJSON_SCHEMA: dict[str, pl.DataType] = {
    "seq": pl.Int64(),
    "event_id": pl.String(),
    "type": pl.String(),
    "occurred_on": pl.String(),
    "recorded_at": pl.String(),
    "source": pl.String(),
    "hash": pl.String(),
    "data": pl.Struct(_DATA_DTYPES),
}

#: The flat event frame: envelope columns, then every data field under its own name, except
#: `EventRetracted.event_id`, which becomes `retracted_event_id` (the envelope owns `event_id`).
EVENT_FRAME_SCHEMA: dict[str, pl.DataType] = {
    "seq": pl.Int64(),
    "event_id": pl.String(),
    "type": pl.String(),
    "occurred_on": pl.Date(),
    "recorded_at": pl.Datetime("us", "UTC"),
    "source": pl.String(),
    "hash": pl.String(),
    **{("retracted_event_id" if k == "event_id" else k): v for k, v in _DATA_DTYPES.items()},
}
for _k in ("completed_on",):
    EVENT_FRAME_SCHEMA[_k] = pl.Date()


def flatten(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Nested `read_ndjson` output → the flat event frame with typed dates and timestamps."""
    lf = frame.lazy()
    return (
        lf.with_columns(
            pl.col("data").struct.rename_fields(
                [("retracted_event_id" if k == "event_id" else k) for k in _DATA_DTYPES]
            )
        )
        .unnest("data")
        .with_columns(
            pl.col("occurred_on").str.to_date("%Y-%m-%d"),
            # the one form `to_record_time` writes (fraction and offset optional, Z or ±HH:MM);
            # an explicit format parses ~15x faster than inference (replay benchmark)
            pl.col("recorded_at").str.to_datetime(
                "%Y-%m-%dT%H:%M:%S%.f%#z", time_zone="UTC", time_unit="us"
            ),
            pl.col("completed_on").str.to_date("%Y-%m-%d"),
        )
        .select(list(EVENT_FRAME_SCHEMA))
    )


def empty_event_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=EVENT_FRAME_SCHEMA)


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every draft and stored event type, and of the two envelopes (unions)."""
    out: dict[str, dict[str, Any]] = {
        "draft.schema.json": DRAFT_ADAPTER.json_schema(),
        "event.schema.json": EVENT_ADAPTER.json_schema(),
    }
    for name, cls in CATALOGUE.items():
        out[f"data/{name}.schema.json"] = cls.model_json_schema()
    return out


_TIME = TypeAdapter(AwareDatetime)


def to_record_time(ts: datetime) -> str:
    """A timestamp exactly as `to_record` writes one, so a stored line round-trips byte for byte."""
    return _TIME.dump_python(ts, mode="json")
