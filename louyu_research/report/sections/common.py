"""What every section is made of: `Section` (a heading and blocks), the cover block, `show`,
and the few formatting rules the report's sentences share with its tables."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import polars as pl

from louyu_research.city.industries import OTHER
from louyu_research.report import disclosure
from louyu_research.report.charts import Figure
from louyu_research.report.inputs import RATE_INDICATORS, ReportInputs
from louyu_research.report.tables import Table

from . import words


@dataclass(frozen=True)
class CoverBlock:
    """The report's title block; carries the meta the renderer reads (title, banner, date)."""

    title: str
    subtitle: str
    intro: str
    meta: dict[str, Any]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        import html

        h = (
            f'<header class="cover"><h1>{html.escape(self.title)}</h1>'
            f'<p class="subtitle">{html.escape(self.subtitle)}</p>'
            f"<p>{html.escape(self.intro)}</p></header>"
        )
        md = f"{self.intro}\n"
        return {"text/html": h, "text/markdown": md, "text/plain": self.title}, {
            "louyu": {"kind": "meta", "meta": self.meta}
        }


#: What a section shows, in order: Markdown text, a table, a chart or the cover.
Block = str | Table | Figure | CoverBlock


@dataclass(frozen=True)
class Section:
    """One section of the report as built for a language and edition: its heading (a level-2
    Markdown heading; empty when the section continues the one before) and its blocks."""

    key: str
    lang: str
    edition: str
    heading: str
    blocks: tuple[Block, ...]

    def __post_init__(self) -> None:
        words.check_lang(self.lang)
        disclosure.check_edition(self.edition)
        object.__setattr__(self, "blocks", tuple(self.blocks))

    def shown(self) -> list[Block]:
        """The blocks as the notebook displays them, the heading first."""
        return [f"## {self.heading}", *self.blocks] if self.heading else list(self.blocks)

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]

    def texts(self) -> list[str]:
        """The heading and the Markdown texts."""
        return [b for b in self.shown() if isinstance(b, str)]


#: A section of the report: a pure function of the inputs, the language and the edition.
SectionFn = Callable[[ReportInputs, str, str], Section]


def show(shown: Section | Iterable[Block]) -> None:
    """Display a section (or a list of blocks) in a notebook: Markdown text, tables, charts as
    SVG. A public section is checked by disclosure control first (`disclosure.check_public`)."""
    from IPython.display import Markdown, display

    if isinstance(shown, Section):
        if shown.edition == "public":
            disclosure.check_public(shown.tables())
        blocks = shown.shown()
    else:
        blocks = list(shown)
    for b in blocks:
        if isinstance(b, str):
            if b.strip():
                display(Markdown(b))
        else:
            display(b)


# --- formatting shared by sentences and tables ------------------------------------------------


def pct(v: float | None, d: int = 1) -> str:
    """A rate as the report prints it: the tables' rounding (half to even on the float's exact
    value, as Polars rounds) at `d` decimals, then %."""
    if v is None:
        return "—"
    x = float(Decimal(repr(v * 100)).quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_EVEN))
    return f"{x:.{d}f}%"


def points(v: float | None, lang: str, d: int = 1, *, signed: bool = True) -> str:
    """A change of a rate in percentage points (+2.9 个百分点 / +2.9 pp); `pct`'s rounding."""
    if v is None:
        return "—"
    x = float(Decimal(repr(v * 100)).quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_EVEN))
    shown = f"{x:+.{d}f}" if signed else f"{x:.{d}f}"
    return words.text("unit.pp", lang, v=shown)


def fmt_value(indicator: str, v: float | None) -> str:
    """A plan figure in a sentence: rates as `pct`, counts as whole numbers."""
    if v is None:
        return "—"
    return pct(v) if indicator in RATE_INDICATORS else f"{round(v):,d}"


def edition_name(edition: str, lang: str) -> str:
    """公开版 / Internal edition …; an unknown edition is an error naming it."""
    return words.text(f"edition.{disclosure.check_edition(edition)}", lang)


def industry_names(inputs: ReportInputs, column: str, lang: str) -> pl.Expr:
    """`column`'s key-industry codes as the city names them (`other` too; unknown codes kept)."""
    city, lang = inputs.profile, words.check_lang(lang)
    names = {k.code: k.label(lang) for k in city.key_industries}
    names[OTHER] = city.key_industry_label(OTHER, lang)
    return pl.col(column).replace_strict(names, default=pl.col(column))


def met_label(lang: str, met: str = "met") -> pl.Expr:
    """`met` (boolean) as the words for met / not met (null stays null)."""
    return (
        pl.when(pl.col(met).is_null())
        .then(None)
        .when(pl.col(met))
        .then(pl.lit(words.text("met.yes", lang)))
        .otherwise(pl.lit(words.text("met.no", lang)))
    )


def wan(column: str, lang: str) -> str:
    """A yuan column's heading when shown in 10,000 yuan (万元)."""
    return words.text("unit.wan", lang, label=words.label(column, lang))


def suppressed_note(inputs: ReportInputs, lang: str) -> str:
    """The note under a table whose tax figures disclosure control may withhold."""
    s = inputs.settings
    return words.text(
        "note.suppressed",
        lang,
        n=s.disclosure_min_tenants,
        p=f"{s.disclosure_max_dominance:.0%}",
    )


def iso(ts: Any) -> str | None:
    """A log position's time as text (ISO 8601), None when there is none."""
    if ts is None:
        return None
    return ts.isoformat() if isinstance(ts, datetime) else str(ts)


def month_fields(inputs: ReportInputs) -> dict[str, Any]:
    """The quarter's last month for sentences: `{month}` 2017-12, `{year}`, `{month_number}`."""
    m = inputs.month
    return {"month": str(m), "year": m.year, "month_number": m.month}


__all__ = [
    "Block",
    "CoverBlock",
    "Section",
    "SectionFn",
    "edition_name",
    "fmt_value",
    "industry_names",
    "iso",
    "met_label",
    "month_fields",
    "pct",
    "points",
    "show",
    "suppressed_note",
    "wan",
]
