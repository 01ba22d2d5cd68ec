"""Key industries (重点产业) of a tenancy from its GB/T 4754 code, by the longest matching prefix.

The plan names its key industries in words; which codes they cover is a judgement, so it is
data: the city profile's `industry_codes` file (columns `edition, code_prefix, key_industry,
name_zh`; Jiaxing's is `city/jiaxing/key_industries.csv`), checked against the profile's key
industries. Both editions of GB/T 4754 are covered because
they number some classes differently (2011 `Q83` 卫生 is 2017 `Q84`; 2011 `R9030` is 彩票活动, not
tourism), and an event says which edition its code uses (`industry_edition`, default 2017).

Decisions (head offices appear both as a tenant flag and as the codes L7211 企业总部管理 and
J6920 控股公司服务):

- `headquarters` as a *key industry* comes only from those codes, so a building full of head
  offices can lead with it; the tenant flag `headquarters` (总部企业) is kept apart and counted
  as `headquarters_tenancies`. The flag never changes a tenancy's key industry.
- A longer prefix wins over a shorter one (J6813 健康和意外保险 is health, though J68 is finance).
- A code that matches no prefix is `other`; `other` never leads a building.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

OTHER = "other"


EDITIONS = ("2011", "2017")
DEFAULT_EDITION = "2017"
MAPPING_SCHEMA = {
    "edition": pl.String,
    "code_prefix": pl.String,
    "key_industry": pl.String,
    "name_zh": pl.String,
}
_CODE = re.compile(r"^[A-T][0-9]{0,4}$")


class MappingError(ValueError):
    """A key-industry table that cannot be used: the message names the row and the reason."""


def load_mapping(
    path: str | Path, *, key_industries: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """A city's mapping table, checked row by row; with `key_industries` (the city's codes),
    every row must name one of them.

    Row numbers in errors count the header as line 1, as a spreadsheet shows them.
    """
    try:
        text, where = Path(path).read_bytes(), str(path)
    except OSError as err:
        raise MappingError(f"{path}: {err.strerror}") from None
    try:
        frame = pl.read_csv(text, schema_overrides=MAPPING_SCHEMA, infer_schema=False)
    except pl.exceptions.PolarsError as err:
        raise MappingError(f"{where}: not a readable CSV: {err}") from None
    missing = [c for c in MAPPING_SCHEMA if c not in frame.columns]
    if missing:
        raise MappingError(
            f"{where}: missing column(s) {', '.join(missing)} (need {', '.join(MAPPING_SCHEMA)})"
        )
    frame = frame.select(list(MAPPING_SCHEMA))
    problems = []
    seen: dict[tuple[str, str], int] = {}
    for i, row in enumerate(frame.iter_rows(named=True), start=2):
        if row["edition"] not in EDITIONS:
            problems.append(
                f"{where}: line {i}: edition {row['edition']!r} is not one of {', '.join(EDITIONS)}"
            )
        if row["code_prefix"] is None or not _CODE.match(row["code_prefix"]):
            problems.append(
                f"{where}: line {i}: code_prefix {row['code_prefix']!r} is not a GB/T 4754 code "
                "(section letter A–T and up to 4 digits)"
            )
        if key_industries is not None and row["key_industry"] not in key_industries:
            problems.append(
                f"{where}: line {i}: key_industry {row['key_industry']!r} is not one of {', '.join(key_industries)}"
            )
        key = (row["edition"], row["code_prefix"])
        if key in seen:
            problems.append(
                f"{where}: line {i}: {key[1]} ({key[0]}) already mapped on line {seen[key]}"
            )
        seen[key] = i
    if problems:
        raise MappingError("\n".join(problems))
    return frame.sort("edition", "code_prefix")


def classify(codes: pl.LazyFrame | pl.DataFrame, mapping: pl.DataFrame) -> pl.LazyFrame:
    """`codes` with columns `industry`, `industry_edition` → the same plus `key_industry`.

    Works on the distinct (code, edition) pairs, so it is cheap whatever the frame's size.
    A null code gives a null key industry; a null edition means 2017.
    """
    lf = codes.lazy()
    pairs = (
        lf.select(
            "industry", pl.col("industry_edition").fill_null(DEFAULT_EDITION).alias("_edition")
        )
        .unique()
        .filter(pl.col("industry").is_not_null())
    )
    prefixes = (
        pairs.with_columns(_n=pl.int_ranges(1, pl.col("industry").str.len_chars() + 1))
        .explode("_n")
        .with_columns(_prefix=pl.col("industry").str.slice(0, pl.col("_n")))
    )
    best = (
        prefixes.join(
            mapping.lazy().select(
                pl.col("edition").alias("_edition"),
                pl.col("code_prefix").alias("_prefix"),
                "key_industry",
            ),
            on=["_edition", "_prefix"],
            how="inner",
        )
        .group_by("industry", "_edition")
        .agg(pl.col("key_industry").sort_by("_n", descending=True).first())
    )
    return (
        lf.with_columns(pl.col("industry_edition").fill_null(DEFAULT_EDITION).alias("_edition"))
        .join(best, on=["industry", "_edition"], how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("industry").is_null())
            .then(None)
            .otherwise(pl.col("key_industry").fill_null(OTHER))
            .alias("key_industry")
        )
        .drop("_edition")
    )
