"""Settings: every cut-off a figure depends on, with the defaults of INDICATORS.md.

One immutable object, loadable from a TOML or JSON file, and echoed (`as_record`) in every
output that depends on it, so a figure can always be traced to the rule that made it.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Share = Annotated[float, Field(ge=0, le=1)]
FeaturedMeasure = Literal["area", "tenancies", "tax"]


class FeaturedRule(BaseModel):
    """专业楼宇 rule: the leading key industry's share of a building on the chosen measures."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_tenants: Annotated[int, Field(ge=1)] = 5
    threshold: Share = 0.5
    rule: Literal["any", "all"] = "any"
    measures: tuple[FeaturedMeasure, ...] = ("area", "tenancies", "tax")


#: Named featured-rule presets: the plan's default and Wuhan Wuchang's 70% rule.
FEATURED_PRESETS: dict[str, FeaturedRule] = {
    "default": FeaturedRule(),
    "wuhan-wuchang": FeaturedRule(min_tenants=5, threshold=0.7, rule="any"),
}


class RankingWeights(BaseModel):
    """Weights of the street ranking's composite score (normalised to sum 1 when used)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    occupancy_rate: Annotated[float, Field(ge=0)] = 1.0
    registration_rate: Annotated[float, Field(ge=0)] = 1.0
    tax_contribution: Annotated[float, Field(ge=0)] = 1.0

    @model_validator(mode="after")
    def _some_weight(self) -> RankingWeights:
        if self.occupancy_rate + self.registration_rate + self.tax_contribution <= 0:
            raise ValueError("at least one ranking weight must be positive")
        return self


class Settings(BaseModel):
    """All settings; the defaults are those of INDICATORS.md."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scope_min_gross_floor_area_m2: Annotated[float, Field(ge=0)] = 1000.0
    scope_standalone_only: bool = True
    featured: FeaturedRule = FeaturedRule()
    key_building_tax_yuan: Annotated[float, Field(ge=0)] = 10_000_000.0
    vacancy_min_rate: Share = 0.30
    vacancy_min_area_m2: Annotated[float, Field(ge=0)] = 5000.0
    low_output_quantile: Share = 0.20
    low_output_min_age_years: Annotated[int, Field(ge=0)] = 2
    ranking_weights: RankingWeights = RankingWeights()
    at_risk_tax_drop: Share = 0.5
    at_risk_window_months: Annotated[int, Field(ge=1)] = 3
    disclosure_min_tenants: Annotated[int, Field(ge=1)] = 3
    disclosure_max_dominance: Share = 0.8

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> Settings:
        """Defaults, then a TOML/JSON file, then keyword overrides. Errors name the field."""
        data: dict[str, Any] = {}
        if path is not None:
            p = Path(path)
            try:
                text = p.read_text("utf-8")
                data = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
            except (OSError, ValueError) as err:
                raise SettingsError(f"{p}: {err}") from None
            preset = data.get("featured")
            if isinstance(preset, str):
                if preset not in FEATURED_PRESETS:
                    raise SettingsError(
                        f"{p}: featured: unknown preset {preset!r} ({', '.join(FEATURED_PRESETS)})"
                    )
                data["featured"] = FEATURED_PRESETS[preset].model_dump()
        data.update(overrides)
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            first = err.errors(include_url=False)
            msg = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in first)
            raise SettingsError(f"{path or 'settings'}: {msg}") from None

    def as_record(self) -> dict[str, Any]:
        """The settings as plain JSON-ready data, to echo beside every figure."""
        return self.model_dump(mode="json")


class SettingsError(ValueError):
    """A bad settings file or value (the message names the field)."""
