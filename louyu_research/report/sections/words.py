"""The report's words, one table per language: `words_zh.csv` and `words_en.csv` (key, text).

Every heading, sentence, table and chart title, sheet name and code label the report prints
comes from these two files; the section modules hold no text of their own. Keys are dotted:
`<section>.<what>` for a section's words, `code.<group>.<code>` for the labels of a code
(`code.industry.finance`, `code.category.office`, `code.status.both`, `code.reason.rate`,
`code.late.restated`) and `column.<name>` for column headings the glossary does not give. Texts may hold `{name}`
fields (Python format syntax) filled by the section. Column and indicator names come from the
glossary (`core/glossary.csv`): `label` looks here first, then there.

Both files must hold the same keys; a bad file is an error naming the file, line and key.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import polars as pl

from louyu_research.core import glossary

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
FOLDER = Path(__file__).parent


class WordsError(ValueError):
    """A words table that cannot be used, or a key it lacks (names the file, line and key)."""


def words_file(lang: str) -> Path:
    return FOLDER / f"words_{check_lang(lang)}.csv"


def check_lang(lang: str) -> Lang:
    if lang not in LANGS:
        raise ValueError(f"lang must be zh or en, got {lang!r}")
    return lang  # type: ignore[return-value]


@lru_cache(maxsize=4)
def table(lang: str) -> dict[str, str]:
    """key → text of one language, checked: header `key,text`, keys unique, texts non-empty."""
    path = words_file(lang)
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != ["key", "text"]:
            raise WordsError(f"{path.name}: line 1: header must be key,text, got {header}")
        out: dict[str, str] = {}
        for row in reader:
            line = reader.line_num
            if len(row) != 2:
                raise WordsError(f"{path.name}: line {line}: 2 fields expected, got {len(row)}")
            key, text = row
            if not key or not text:
                raise WordsError(f"{path.name}: line {line}: empty key or text ({key!r})")
            if key in out:
                raise WordsError(f"{path.name}: line {line}: key {key!r} repeated")
            out[key] = text
    return out


def text(key: str, lang: str, /, **fields: Any) -> str:
    """The words of `key` in `lang`, with `{fields}` filled in."""
    words = table(lang)
    if key not in words:
        raise WordsError(f"{words_file(lang).name}: no key {key!r}")
    return words[key].format(**fields) if fields else words[key]


def codes(group: str, lang: str) -> dict[str, str]:
    """code → label of one group (`codes("industry", "zh")["finance"]` → "金融")."""
    prefix = f"code.{group}."
    return {k[len(prefix) :]: v for k, v in table(lang).items() if k.startswith(prefix)}


def mapped(column: str, group: str, lang: str) -> pl.Expr:
    """`column`'s codes replaced by their labels of `group` (unknown codes kept)."""
    return pl.col(column).replace_strict(codes(group, lang), default=pl.col(column))


def label(column: str, lang: str) -> str:
    """A column heading: the words table's `column.<name>` first, then the glossary, else the
    name itself."""
    words = table(lang)
    if f"column.{column}" in words:
        return words[f"column.{column}"]
    try:
        return glossary.label(column, check_lang(lang))
    except KeyError:
        return column


def plan_label(indicator: str, lang: str) -> str:
    """The plan's name of one of its indicators, from the glossary (已建楼宇入驻率)."""
    return glossary.plan_label(indicator, check_lang(lang))


def plan_labels(lang: str, indicator: str = "indicator") -> pl.Expr:
    """`indicator` codes replaced by the plan's names (unknown codes kept)."""
    from louyu_research.indicators.figures import PLAN_INDICATORS

    names = {k: plan_label(k, lang) for k in PLAN_INDICATORS}
    return pl.col(indicator).replace_strict(names, default=pl.col(indicator))


__all__ = [
    "LANGS",
    "WordsError",
    "check_lang",
    "codes",
    "label",
    "mapped",
    "plan_label",
    "plan_labels",
    "table",
    "text",
]
