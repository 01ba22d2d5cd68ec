"""A city profile: one folder that says everything about a city the package needs.

`city.toml` holds the city's name, its plan (title and years), the quarterly report's title,
the time zone its offices work in, its key industries (code, Chinese and English name), and
names the data files beside it: the divisions (streets and reporting areas), the plan's
targets, the GB/T 4754 codes of each key industry and, optionally, default settings. The
shipped profile is Jiaxing (`city/jiaxing/`); `load_city(DIR)` loads another city's folder
of the same shape, so a new city needs no code change.

A profile is loaded and checked once (every table with its own checks; key industries named
by the code table must be the profile's), and identified by `digest`: the SHA-256 of its
files, recorded in the log's metadata and in every report's manifest.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from louyu_research.core.reference_tables import ReferenceTableError

from . import industries, reference
from .settings import Settings, SettingsError

__all__ = [
    "DEFAULT_CITY_DIR",
    "City",
    "CityError",
    "KeyIndustry",
    "default_city",
    "load_city",
]

DEFAULT_CITY_DIR = Path(__file__).parent / "jiaxing"
PROFILE = "city.toml"
#: A key industry's code: what events and frames carry (lowercase ASCII, digits, underscore).
KEY_INDUSTRY_CODE = r"^[a-z][a-z0-9_]{0,31}$"
_CODE_RE = re.compile(KEY_INDUSTRY_CODE)
#: The panel packs a building and a key industry into one integer key, 4 bits for the industry.
MAX_KEY_INDUSTRIES = 16
Lang = Literal["zh", "en"]


class CityError(ValueError):
    """A city profile that cannot be used: names the file, the field and the reason."""


@dataclass(frozen=True)
class KeyIndustry:
    """One of the plan's key industries (重点产业)."""

    code: str
    zh: str
    en: str

    def label(self, lang: Lang = "zh") -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True, eq=False)
class City:
    """A loaded, checked city profile (see the module docstring)."""

    key: str
    folder: Path
    digest: str
    name: dict[str, str]
    plan_title: dict[str, str]
    plan_years: tuple[int, int]
    report_title: dict[str, str]
    time_zone: str
    key_industries: tuple[KeyIndustry, ...]
    divisions: pl.DataFrame = field(repr=False)
    targets: pl.DataFrame = field(repr=False)
    industry_codes: pl.DataFrame = field(repr=False)
    settings: Settings = field(repr=False)

    @property
    def key_industry_codes(self) -> tuple[str, ...]:
        return tuple(k.code for k in self.key_industries)

    @property
    def street_names(self) -> frozenset[str]:
        """The streets and towns of the divisions table: where a building may stand."""
        return frozenset(reference.street_areas(self.divisions).get_column("street").to_list())

    def key_industry_label(self, code: str, lang: Lang = "zh") -> str:
        """The name of a key industry in `lang`; `other` and unknown codes as themselves."""
        for k in self.key_industries:
            if k.code == code:
                return k.label(lang)
        if code == industries.OTHER:
            return "其他" if lang == "zh" else "Other"
        return code

    def as_record(self) -> dict[str, Any]:
        """What a manifest or the log's metadata records of the city."""
        return {"key": self.key, "name": self.name["en"], "sha256": self.digest}


def _need(data: dict[str, Any], path: str, where: Path, kind: type) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise CityError(f"{where}: {path}: missing")
        node = node[part]
    if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
        raise CityError(f"{where}: {path}: must be {kind.__name__}, got {type(node).__name__}")
    if kind is str and not node.strip():
        raise CityError(f"{where}: {path}: empty")
    return node


def _file(
    folder: Path, where: Path, data: dict[str, Any], name: str, required: bool
) -> Path | None:
    files = data.get("files", {})
    if not isinstance(files, dict):
        raise CityError(f"{where}: files: must be a table")
    if name not in files:
        if required:
            raise CityError(f"{where}: files.{name}: missing")
        return None
    rel = files[name]
    if not isinstance(rel, str) or Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise CityError(f"{where}: files.{name}: must be a file name inside the profile folder")
    path = folder / rel
    if not path.is_file():
        raise CityError(f"{where}: files.{name}: {path} does not exist")
    return path


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def load_city(folder: str | Path | None = None) -> City:
    """Load and check the city profile in `folder` (the shipped Jiaxing profile by default)."""
    root = Path(folder) if folder is not None else DEFAULT_CITY_DIR
    where = root / PROFILE
    try:
        data = tomllib.loads(where.read_text("utf-8"))
    except OSError as err:
        raise CityError(f"{where}: cannot read the city profile: {err.strerror or err}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise CityError(f"{where}: not valid TOML: {err}") from None

    key = _need(data, "key", where, str)
    if not _CODE_RE.match(key):
        raise CityError(f"{where}: key: {key!r} must be lowercase letters, digits or _")
    tz = _need(data, "time_zone", where, str)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise CityError(f"{where}: time_zone: unknown time zone {tz!r}") from None
    name = {lang: _need(data, f"name.{lang}", where, str) for lang in ("zh", "en")}
    plan_title = {lang: _need(data, f"plan.title_{lang}", where, str) for lang in ("zh", "en")}
    years = (_need(data, "plan.first_year", where, int), _need(data, "plan.last_year", where, int))
    if not 1900 <= years[0] <= years[1] <= 2200:
        raise CityError(f"{where}: plan: first_year..last_year {years} is not a span of years")
    report_title = {lang: _need(data, f"report.title_{lang}", where, str) for lang in ("zh", "en")}

    raw = data.get("key_industries")
    if not isinstance(raw, list) or not raw:
        raise CityError(f"{where}: key_industries: at least one [[key_industries]] entry needed")
    keys: list[KeyIndustry] = []
    for i, entry in enumerate(raw, start=1):
        at = f"key_industries[{i}]"
        if not isinstance(entry, dict):
            raise CityError(f"{where}: {at}: must be a table with code, zh, en")
        code, zh, en = (_need(entry, f, where, str) for f in ("code", "zh", "en"))
        if not _CODE_RE.match(code) or code == industries.OTHER:
            raise CityError(
                f"{where}: {at}.code: {code!r} must be lowercase letters, digits or _ "
                f"(and not {industries.OTHER!r})"
            )
        if code in {k.code for k in keys}:
            raise CityError(f"{where}: {at}.code: {code!r} listed twice")
        keys.append(KeyIndustry(code, zh, en))
    if len(keys) > MAX_KEY_INDUSTRIES:
        raise CityError(f"{where}: key_industries: at most {MAX_KEY_INDUSTRIES} (got {len(keys)})")

    paths = {
        n: _file(root, where, data, n, required)
        for n, required in (
            ("divisions", True),
            ("targets", True),
            ("industry_codes", True),
            ("settings", False),
        )
    }
    codes = tuple(k.code for k in keys)
    try:
        divisions = reference.load_divisions(paths["divisions"])
        targets = reference.load_targets(paths["targets"])
        industry_codes = industries.load_mapping(paths["industry_codes"], key_industries=codes)
        settings = Settings.load(paths["settings"]) if paths["settings"] else Settings()
    except (ReferenceTableError, industries.MappingError, SettingsError) as err:
        raise CityError(str(err)) from None
    digest = _digest([where, *(p for p in paths.values() if p is not None)])
    return City(
        key=key,
        folder=root.resolve(),
        digest=digest,
        name=name,
        plan_title=plan_title,
        plan_years=years,
        report_title=report_title,
        time_zone=tz,
        key_industries=tuple(keys),
        divisions=divisions,
        targets=targets,
        industry_codes=industry_codes,
        settings=settings,
    )


@cache
def default_city() -> City:
    """The shipped profile (Jiaxing), loaded once."""
    return load_city(DEFAULT_CITY_DIR)
