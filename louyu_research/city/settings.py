"""Settings: every cut-off a figure depends on, with the defaults of INDICATORS.md.

One immutable object, loadable from a TOML or JSON file, and echoed (`as_record`) in every
output that depends on it, so a figure can always be traced to the rule that made it.

Values are strict and bounded: a number is a number (`true`, `"3"` or `"0.3"` are refused,
not coerced), finite and within a plausible range, a count is a whole number, the featured
rule names at least one measure, and a file is one TOML table or JSON object of reasonable
size and depth. Every refusal is one line naming the file and the field.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Area = Annotated[float, Field(ge=0, le=10_000_000, allow_inf_nan=False)]  # m², as the log's
Yuan = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]  # as the log's money
Weight = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]
FeaturedMeasure = Literal["area", "tenancies", "tax"]

#: The largest settings file read, and the deepest nesting it may have (the settings are two
#: levels deep; a file nested thousands deep is not settings).
MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 16
_MESSAGE_CHARS = 400
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class FeaturedRule(_Strict):
    """专业楼宇 rule: the leading key industry's share of a building on the chosen measures."""

    min_tenants: Annotated[int, Field(ge=1, le=100_000)] = 5
    threshold: Share = 0.5
    rule: Literal["any", "all"] = "any"
    # a list in a file or in Python, kept as a tuple; at least one measure, each once
    measures: Annotated[
        tuple[FeaturedMeasure, ...], Field(min_length=1, max_length=3, strict=False)
    ] = ("area", "tenancies", "tax")

    @model_validator(mode="after")
    def _distinct(self) -> FeaturedRule:
        if len(set(self.measures)) != len(self.measures):
            raise ValueError("measures: each measure at most once")
        return self


#: Named featured-rule presets: the plan's default and Wuhan Wuchang's 70% rule.
FEATURED_PRESETS: dict[str, FeaturedRule] = {
    "default": FeaturedRule(),
    "wuhan-wuchang": FeaturedRule(min_tenants=5, threshold=0.7, rule="any"),
}


class RankingWeights(_Strict):
    """Weights of the street ranking's composite score (normalised to sum 1 when used)."""

    occupancy_rate: Weight = 1.0
    registration_rate: Weight = 1.0
    tax_contribution: Weight = 1.0

    @model_validator(mode="after")
    def _some_weight(self) -> RankingWeights:
        if self.occupancy_rate + self.registration_rate + self.tax_contribution <= 0:
            raise ValueError("at least one ranking weight must be positive")
        return self


class Settings(_Strict):
    """All settings; the defaults are those of INDICATORS.md."""

    scope_min_gross_floor_area_m2: Area = 1000.0
    scope_standalone_only: bool = True
    featured: FeaturedRule = FeaturedRule()
    key_building_tax_yuan: Yuan = 10_000_000.0
    vacancy_min_rate: Share = 0.30
    vacancy_min_area_m2: Area = 5000.0
    low_output_quantile: Share = 0.20
    low_output_min_age_years: Annotated[int, Field(ge=0, le=200)] = 2
    ranking_weights: RankingWeights = RankingWeights()
    at_risk_tax_drop: Share = 0.5
    at_risk_window_months: Annotated[int, Field(ge=1, le=120)] = 3
    disclosure_min_tenants: Annotated[int, Field(ge=1, le=1000)] = 3
    disclosure_max_dominance: Share = 0.8

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> Settings:
        """Defaults, then a TOML/JSON file, then keyword overrides. Errors name the field."""
        data: dict[str, Any] = {}
        where = str(path) if path is not None else "settings"
        if path is not None:
            data = _read(Path(path))
            preset = data.get("featured")
            if isinstance(preset, str):
                if preset not in FEATURED_PRESETS:
                    raise SettingsError(
                        f"{where}: featured: unknown preset {_shown(preset)} "
                        f"({', '.join(FEATURED_PRESETS)})"
                    )
                data["featured"] = FEATURED_PRESETS[preset].model_dump()
        data.update(overrides)
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            msg = "; ".join(_problem(e) for e in err.errors(include_url=False))
            raise SettingsError(f"{where}: {msg}") from None

    def as_record(self) -> dict[str, Any]:
        """The settings as plain JSON-ready data, to echo beside every figure."""
        return self.model_dump(mode="json")


class SettingsError(ValueError):
    """A bad settings file or value (one line naming the file and the field)."""

    def __init__(self, message: str):
        text = _CONTROL.sub(" ", message)
        super().__init__(text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…")


def _read(p: Path) -> dict[str, Any]:
    """A settings file as a dict: one TOML table or JSON object, bounded in size and depth."""
    try:
        with open(p, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise SettingsError(f"{p}: cannot read: {err.strerror or type(err).__name__}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SettingsError(f"{p}: larger than {MAX_FILE_BYTES:,} bytes: not a settings file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SettingsError(f"{p}: not UTF-8 text (byte {err.start + 1})") from None
    if _depth(text) > MAX_DEPTH:
        raise SettingsError(f"{p}: nested more than {MAX_DEPTH} levels deep: not a settings file")
    try:
        if p.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        else:
            data = json.loads(text, object_pairs_hook=_unique, parse_constant=_no_constant)
    except (ValueError, RecursionError) as err:
        raise SettingsError(f"{p}: {_first_line(err)}") from None
    if not isinstance(data, dict):
        kind = {list: "an array", str: "a string", bool: "true/false", type(None): "null"}.get(
            type(data), "a number"
        )
        raise SettingsError(f"{p}: the top level must be a table of settings, not {kind}")
    return data


def _depth(text: str) -> int:
    """How deeply brackets nest in `text` (an upper bound: brackets in strings count too)."""
    depth = deepest = 0
    for ch in re.findall(r"[\[\]{}]", text):
        depth = depth + 1 if ch in "[{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"{_shown(twice)}: key given more than once")
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a setting can have")


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _problem(e: Any) -> str:
    loc = ".".join(str(p) for p in e["loc"])
    if len(loc) > 80:
        loc = loc[:79] + "…"
    return f"{loc or '(settings)'}: {e['msg']}"
