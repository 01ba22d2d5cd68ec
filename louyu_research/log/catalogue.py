"""The event catalogue: the only definition of what the log may hold (contract: EVENTS.md).

Each event type is a small immutable record with a past-tense name. Its fields are the
`data` object of the envelope. Drafts (what a writer submits) and stored events (what the
log holds) are both validated here, in strict mode, so a mistyped field is an error rather
than a silent coercion. JSON Schema files in `schemas/events/` are generated from these
models (`louyu schemas`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import operator
import re
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args, get_origin

import polars as pl
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
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
#
# Strict input at the log's door: a value the log accepts can never break a later read,
# replay or report. Strings hold no control characters and are not blank; numbers are finite
# and within plausible bounds (integers well inside Int64, the frames' type); dates, periods
# and timestamps are written with ASCII digits and lie in a documented window.

#: Business dates (`occurred_on`, `completed_on`) and periods (`period`) the log accepts.
DATE_MIN, DATE_MAX = date(1900, 1, 1), date(2099, 12, 31)
#: `recorded_at` (system time) the log accepts: from the Unix epoch to the end of `DATE_MAX`,
#: and on append no later than the writer's clock plus `FUTURE_TOLERANCE` (clock skew).
RECORDED_MIN = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(minutes=10)
#: The largest plausible area (m²): ten square kilometres of floor, far above any building.
MAX_AREA_M2 = 10_000_000.0
#: The largest plausible monthly tax (yuan): 10¹² is above any city's monthly revenue. A
#: tenant's month may be negative, down to minus that (refunds larger than the month's
#: payments, 退税); a city's or district's revenue, the tax share's denominator, may not.
MAX_MONEY_YUAN = 1e12
MAX_HEADCOUNT = 1_000_000
MAX_SEQ = 2**63 - 1  # Int64, the frames' type

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_CHARS)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


@functools.lru_cache(maxsize=1 << 16)
def is_valid_uscc(code: str) -> bool:
    """GB 32100-2015 check digit of an 18-character unified social credit code."""
    if not _USCC_SHAPE.fullmatch(code):
        return False
    total = sum(map(operator.mul, map(_USCC_VALUE.__getitem__, code[:17]), _USCC_WEIGHTS))
    return _USCC_CHARS[(31 - total % 31) % 31] == code[17]


@functools.lru_cache(maxsize=1 << 16)
def _fails_uscc(value: str) -> bool:
    """Looks like a USCC (its shape) but fails the check digit; memoised, as a tenant's id
    comes back every month."""
    return _USCC_SHAPE.fullmatch(value) is not None and not is_valid_uscc(value)


def _check_tenant_id(value: str) -> str:
    # Only what looks like a USCC is held to its check digit: other ids (individuals,
    # branches without a code) are legitimate stable strings chosen by the writer.
    if _fails_uscc(value):
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


def _check_period_year(value: str) -> str:
    if not DATE_MIN.year <= int(value[:4]) <= DATE_MAX.year:
        raise ValueError(f"period must lie in {DATE_MIN.year}-01 … {DATE_MAX.year}-12")
    return value


_DATE_TEXT = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
_RFC3339 = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)


_RECORDED_MAX = datetime(DATE_MAX.year, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def _day(value: Any) -> Any:
    """A date written `YYYY-MM-DD` in ASCII digits (not a Unix time, not full-width digits),
    inside the window. Parsed here (pydantic would also take a Unix time in a string), so the
    strict validator after it sees a `date`; one function, as it runs for every event, and
    memoised for text (a month's events share a handful of dates)."""
    return _day_text(value) if isinstance(value, str) else _day_checked(value)


@functools.lru_cache(maxsize=1 << 14)
def _day_text(value: str) -> Any:
    return _day_checked(value)


def _day_checked(value: Any) -> Any:
    if isinstance(value, str):
        if not _DATE_TEXT.fullmatch(value):
            raise ValueError("must be a date YYYY-MM-DD (ASCII digits)")
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not a day of the calendar: {value}") from None
    if isinstance(value, date) and not DATE_MIN <= value <= DATE_MAX:
        raise ValueError(f"must lie in {DATE_MIN} … {DATE_MAX}")
    return value


def _instant(value: Any) -> Any:
    """RFC 3339 only (date, `T`, time with seconds, at most microseconds, `Z` or ±HH:MM), in
    the window of `recorded_at`; memoised for text (a batch's events often share one)."""
    return _instant_text(value) if isinstance(value, str) else _instant_checked(value)


@functools.lru_cache(maxsize=1 << 14)
def _instant_text(value: str) -> Any:
    return _instant_checked(value)


def _instant_checked(value: Any) -> Any:
    if isinstance(value, str):
        if not _RFC3339.fullmatch(value):
            raise ValueError(
                "must be an RFC 3339 timestamp YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM), ASCII digits"
            )
        try:
            value = datetime.fromisoformat(value.upper())
        except ValueError:
            raise ValueError(f"not an instant of the calendar: {value}") from None
    # the local year first: converting 9999-12-31T23:59:59-23:59 to UTC would overflow
    if (
        isinstance(value, datetime)
        and value.tzinfo is not None
        and not (
            RECORDED_MIN.year <= value.year <= DATE_MAX.year
            and RECORDED_MIN <= value <= _RECORDED_MAX
        )
    ):
        raise ValueError(f"must lie in {RECORDED_MIN.year} … {DATE_MAX.year} (UTC)")
    return value


#: Text a person typed: not blank, no control characters (C0, C1, line/paragraph separators).
#: The same pattern in Python, Rust (pydantic) and ECMA (JSON Schema) regex syntax.
_TEXT_CHAR = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]"
_VISIBLE_CHAR = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029\s\u200b-\u200f\u2060\ufeff]"
TEXT_PATTERN = f"^{_TEXT_CHAR}*{_VISIBLE_CHAR}{_TEXT_CHAR}*$"
_TEXT_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def text_problem(value: str) -> str:
    """Why a string fails `TEXT_PATTERN`, in words (for the one-line rejection)."""
    bad = _TEXT_BAD.search(value)
    if bad:
        return f"holds the control character U+{ord(bad.group()):04X} at position {bad.start() + 1}"
    return "must not be empty or blank"


Id = Annotated[str, Field(min_length=1, max_length=128, pattern=TEXT_PATTERN)]
Text = Annotated[str, Field(min_length=1, max_length=500, pattern=TEXT_PATTERN)]
TenantId = Annotated[
    str,
    Field(min_length=1, max_length=128, pattern=TEXT_PATTERN),
    AfterValidator(_check_tenant_id),
]
Area = Annotated[float, Field(gt=0, le=MAX_AREA_M2, allow_inf_nan=False)]
Money = Annotated[
    float,
    Field(ge=-MAX_MONEY_YUAN, le=MAX_MONEY_YUAN, allow_inf_nan=False),
    AfterValidator(_check_money),
]
Revenue = Annotated[
    float, Field(ge=0, le=MAX_MONEY_YUAN, allow_inf_nan=False), AfterValidator(_check_money)
]
Period = Annotated[str, Field(pattern=MONTH_PATTERN), AfterValidator(_check_period_year)]
Ratio = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Industry = Annotated[str, Field(pattern=r"^[A-T][0-9]{0,4}$")]
Headcount = Annotated[int, Field(ge=0, le=MAX_HEADCOUNT)]
Day = Annotated[date, BeforeValidator(_day)]
Instant = Annotated[AwareDatetime, BeforeValidator(_instant)]

#: Friendlier words for pydantic's "String should match pattern '…'".
_PATTERN_WORDS = {
    MONTH_PATTERN: "must be a month YYYY-MM (ASCII digits)",
    r"^[A-T][0-9]{0,4}$": "must be a GB/T 4754 code: a section letter A–T and up to 4 digits",
    r"^[0-9a-f]{64}$": "must be 64 lowercase hex digits",
}


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
    completed_on: Day | None = None
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
    amount_yuan: Revenue
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
    occurred_on: Day
    source: Annotated[str, Field(min_length=1, max_length=500, pattern=TEXT_PATTERN)] | None = None


class _DraftBase(_Envelope):
    """What a writer submits: the envelope without `seq` and `hash`."""

    recorded_at: Instant | None = None


class _EventBase(_Envelope):
    """What the log holds: the draft plus `seq`, `recorded_at` and `hash` assigned on append."""

    seq: Annotated[int, Field(ge=1, le=MAX_SEQ)]
    recorded_at: Instant
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
#: `DRAFT_ADAPTER.validate_json` without its wrapper (it runs for every line of a batch).
_validate_draft = DRAFT_ADAPTER.validator.validate_json


#: The longest field name and message a rejection prints: a line stays one readable line
#: whatever the input (a 50 MB value is described, not echoed).
FIELD_CHARS, MESSAGE_CHARS = 80, 240
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str, limit: int = MESSAGE_CHARS) -> str:
    """`text` as one bounded line: control characters escaped, cut at `limit` characters."""
    if len(text) > 4 * limit:
        text = text[: 4 * limit]
    text = _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: Any, limit: int = 40) -> str:
    """A value as a message may quote it: short values as their repr, long ones cut and sized."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit + 2 else text[:limit] + "…"


def _problem(e: Any) -> tuple[str, str]:
    loc = [str(p) for p in e["loc"]]
    # Drop the discriminator's variant name: `TenantMovedInDraft.data.area_m2` → `data.area_m2`.
    if loc and (loc[0] in CATALOGUE or loc[0].endswith(("Draft", "Event"))):
        loc = loc[1:]
    field, msg, kind = ".".join(loc) or "(line)", e["msg"], e["type"]
    if kind == "union_tag_invalid":
        given = e["input"].get("type") if isinstance(e["input"], dict) else None
        field, msg = "type", f"unknown event type {shown(given)}"
    elif kind == "union_tag_not_found":
        field, msg = "type", "missing: every line names its event type"
    elif kind == "string_pattern_mismatch":
        pattern = e.get("ctx", {}).get("pattern")
        if pattern == TEXT_PATTERN and isinstance(e["input"], str):
            msg = text_problem(e["input"])
        else:
            msg = _PATTERN_WORDS.get(pattern, msg)
    elif kind == "extra_forbidden":
        msg = "not a field of this event type"
    return one_line(field, FIELD_CHARS), one_line(msg)


class InvalidEvent(ValueError):
    """A line that is not a valid draft or event: one (field, message) pair per problem."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self.pairs = pairs
        self.problems = [f"{f}: {m}" for f, m in pairs]
        super().__init__("; ".join(self.problems))


class _Repeated(Exception):
    """A JSON object with a key given twice (the fast check's signal)."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Repeated
    return out


class _Keys(dict):  # type: ignore[type-arg]
    """A JSON object that remembers which of its keys were given more than once."""

    repeated: list[str]


def _marked(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = _Keys(pairs)
    seen: set[str] = set()
    out.repeated = [k for k, _ in pairs if k in seen or seen.add(k)]
    return out


_BLANK_BEFORE_COLON = re.compile(rb'"[ \t\r\n]+:')


def duplicate_keys(line: str | bytes) -> list[str]:
    """Dotted paths of keys given twice in a JSON line (JSON parsers let the last one win)."""
    try:
        json.loads(line, object_pairs_hook=_object)  # the common case: no key twice
        return []
    except _Repeated:
        tree = json.loads(line, object_pairs_hook=_marked)
    except (ValueError, RecursionError):
        return []
    out: list[str] = []
    stack: list[tuple[str, Any]] = [("", tree)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            out.extend(f"{path}{k}" for k in getattr(node, "repeated", ()))
            stack.extend((f"{path}{k}.", v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((f"{path}{i}.", v) for i, v in enumerate(node))
    return sorted(out)


def parse_draft(line: str | bytes) -> Any:
    """Validate one JSON line as a draft (strict: no silent coercion, no repeated keys)."""
    try:
        draft = _validate_draft(line)
    except ValidationError as err:
        raise InvalidEvent([_problem(e) for e in err.errors(include_url=False)]) from None
    # A valid draft holds two objects, the envelope and `data`, and every key it was given is
    # in their `model_fields_set`. Each key of the raw text ends in a quote and a colon; a
    # string value is never followed by a colon, and a quote inside a string is escaped (so
    # `\":` there only adds to the count). With no blank between a key and its colon, as
    # many `":` as keys given means no key was given twice; anything else is decoded exactly.
    raw = line if isinstance(line, bytes) else line.encode()
    given = len(draft.model_fields_set) + len(draft.data.model_fields_set)
    if raw.count(b'":') != given or _BLANK_BEFORE_COLON.search(raw):
        repeated = duplicate_keys(line)
        if repeated:
            raise InvalidEvent(
                [(one_line(k, FIELD_CHARS), "key given more than once") for k in repeated]
            )
    return draft


def parse_event(line: str | bytes) -> Any:
    """Validate one stored line as an event."""
    try:
        return EVENT_ADAPTER.validate_json(line)
    except ValidationError as err:
        raise InvalidEvent([_problem(e) for e in err.errors(include_url=False)]) from None


# --- canonical serialisation and the hash chain ----------------------------------------------

GENESIS_HASH = "0" * 64


def to_record(model: BaseModel) -> dict[str, Any]:
    """The JSON-ready dict of a draft or event; absent optional fields are omitted.

    `model_dump(mode="json", exclude_none=True)`, asked of the serializer directly (it runs
    for every event of a batch)."""
    return model.__pydantic_serializer__.to_python(model, mode="json", exclude_none=True)


def canonical_json(record: dict[str, Any]) -> str:
    """The one serialisation of a record: keys sorted, no spaces, UTF-8 literal (no \\u escapes).

    Numbers are written by Python's `json` (floats in shortest round-trip form, e.g. 1200.0),
    dates as `YYYY-MM-DD`, timestamps as pydantic writes them (RFC 3339, `Z` for UTC).
    A stored line *is* the canonical form of its event, so `verify` can detect any edited byte.
    """
    return _encode_canonical(record)


#: The canonical encoder, made once (`json.dumps` with options builds one per call).
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def _canonical_encoder() -> Any:
    """`_CANONICAL.encode`, or the C encoder it would build for each call, built once: the
    same bytes without the per-call set-up. No check for circular references (a record is a
    tree of JSON values by construction; a cycle is a RecursionError instead)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: the pure-Python encoder
        return _CANONICAL.encode
    iterencode = make(
        None,
        _CANONICAL.default,
        json.encoder.encode_basestring,
        None,
        _CANONICAL.key_separator,
        _CANONICAL.item_separator,
        True,
        False,
        False,
    )

    def encode(record: Any) -> str:
        return "".join(iterencode(record, 0))

    return encode


_encode_canonical = _canonical_encoder()


def chain_hash(prev_hash: str, record_without_hash: dict[str, Any]) -> str:
    """SHA-256 over the previous event's hash (64 hex chars) followed by the canonical record."""
    payload = prev_hash + canonical_json(record_without_hash)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def sealed_bytes(prev_hash: str, record_without_hash: dict[str, Any]) -> tuple[str, bytes]:
    """The chain hash of a record and its stored line (`canonical_json` with the hash, as
    UTF-8 bytes ending in a newline), with one serialisation, encoded once for the hash and
    the line: the hash field is spliced in before `occurred_on`, where sorted keys put it
    (`data`, `event_id`, `hash`, `occurred_on`, …; no key of `data` is `occurred_on`, and
    inside a JSON string a quote is always escaped, so the first match is the envelope's)."""
    body = _encode_canonical(record_without_hash).encode("utf-8")
    digest = hashlib.sha256(prev_hash.encode("utf-8") + body).hexdigest()
    cut = body.index(b',"occurred_on":')
    return digest, b"".join(
        (body[:cut], b',"hash":"', digest.encode("ascii"), b'"', body[cut:], b"\n")
    )


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


def _allowed_values(annotation: Any) -> list[str] | None:
    """The closed set of values of an enum or literal field (None for an open field)."""
    args = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    for arg in args:
        if isinstance(arg, type) and issubclass(arg, StrEnum):
            return [m.value for m in arg]
        if get_origin(arg) is Literal:
            return [str(v) for v in get_args(arg)]
    return None


def _frame_rules() -> list[tuple[str, pl.Expr]]:
    """What every row of the flat frame holds when its line is a valid event, as expressions:
    (field, rows that break it). Derived from the catalogue: required fields present, closed
    fields within their values, periods `YYYY-MM`, seq consecutive; one rule per column."""
    rules: list[tuple[str, pl.Expr]] = [
        ("type", ~pl.col("type").is_in(list(CATALOGUE)) | pl.col("type").is_null()),
        ("seq", pl.col("seq").is_null() | (pl.col("seq").diff().fill_null(1) != 1)),
        *((c, pl.col(c).is_null()) for c in ("event_id", "occurred_on", "recorded_at", "hash")),
    ]
    required: dict[str, list[str]] = {}
    allowed: dict[tuple[str, tuple[str, ...]], list[str]] = {}  # a column's values, per type
    for name, cls in CATALOGUE.items():
        for fname, info in cls.model_fields.items():
            col = "retracted_event_id" if (name, fname) == ("EventRetracted", "event_id") else fname
            if info.is_required():
                required.setdefault(col, []).append(name)
            values = _allowed_values(info.annotation)
            if values is not None:
                allowed.setdefault((col, tuple(values)), []).append(name)
    for col, types in required.items():
        label = "data.event_id" if col == "retracted_event_id" else f"data.{col}"
        rules.append((label, pl.col(col).is_null() & pl.col("type").is_in(types)))
    for (col, values), types in allowed.items():
        rules.append(
            (
                f"data.{col}",
                ~pl.col(col).is_in(list(values)) & pl.col("type").is_in(types),
            )
        )
    rules.append(("data.period", ~pl.col("period").str.contains(MONTH_PATTERN)))
    return rules


_FRAME_RULES = _frame_rules()


def frame_problem(frame: pl.DataFrame) -> tuple[int, int | None, str] | None:
    """The first row of a parsed segment that no valid event makes: (row, seq, field), or None.

    A cheap, columnar check that every reader makes, so that a stored line edited or damaged
    by hand is a one-line error naming it, never a failure deep inside a replay."""
    if (
        frame.is_empty()
        or not frame.select(pl.any_horizontal(e for _, e in _FRAME_RULES).any()).item()
    ):
        return None
    first = frame.with_row_index("_row").select(
        pl.col("_row").filter(bad).first().alias(str(i)) for i, (_, bad) in enumerate(_FRAME_RULES)
    )
    row, i = min((row, i) for i, row in enumerate(first.row(0)) if row is not None)
    return row, frame["seq"][row], _FRAME_RULES[i][0]


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
