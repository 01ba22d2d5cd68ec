"""Key industries: longest prefix, both editions, `other`, and a replaceable, checked table."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from louyu_research.city.industries import MappingError, classify, load_mapping
from louyu_research.city.profile import default_city

JIAXING = default_city()
KEY_INDUSTRIES = JIAXING.key_industry_codes


def key(
    codes: list[tuple[str | None, str | None]], mapping: pl.DataFrame | None = None
) -> list[str | None]:
    frame = pl.DataFrame(
        codes, schema={"industry": pl.String, "industry_edition": pl.String}, orient="row"
    )
    table = JIAXING.industry_codes if mapping is None else mapping
    return classify(frame, table).collect()["key_industry"].to_list()


def test_the_longest_prefix_wins() -> None:
    # J68 insurance is finance, but J6813 health and accident insurance is health;
    # I64 is information, but I6431 (internet platforms) is e-commerce; L7211 is head offices.
    got = key(
        [
            ("J68", "2017"),
            ("J6813", "2017"),
            ("J6811", "2017"),
            ("I64", "2017"),
            ("I6431", "2017"),
            ("L7211", "2017"),
        ]
    )
    assert got == ["finance", "health", "finance", "information", "ecommerce", "headquarters"]


def test_the_edition_decides_where_the_editions_differ() -> None:
    # 卫生 is Q83 in 2011 and Q84 in 2017; 2011 R9030 is lottery, 2017 R9030 leisure sightseeing;
    # 2011 L727 travel agencies became 2017 L7291.
    got = key(
        [
            ("Q83", "2011"),
            ("Q83", "2017"),
            ("Q84", "2017"),
            ("R9030", "2011"),
            ("R9030", "2017"),
            ("L7271", "2011"),
            ("L7291", "2017"),
        ]
    )
    assert got == ["health", "other", "health", "other", "tourism", "tourism", "tourism"]


def test_no_edition_means_2017_unmatched_means_other_and_order_is_kept() -> None:
    got = key([("Q83", None), ("A01", "2011"), (None, None), ("J66", None), ("A", "2017")])
    assert got == ["other", "other", None, "finance", "other"]


def test_the_shipped_table_covers_both_editions_and_every_key_industry() -> None:
    m = JIAXING.industry_codes
    assert set(m["edition"]) == {"2011", "2017"}
    for edition in ("2011", "2017"):
        assert set(m.filter(pl.col("edition") == edition)["key_industry"]) == set(KEY_INDUSTRIES)


def test_a_replacement_table_is_used(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(
        "edition,code_prefix,key_industry,name_zh\n2017,K70,finance,房地产业\n", encoding="utf-8"
    )
    assert key([("K7010", "2017"), ("J66", "2017")], load_mapping(path)) == ["finance", "other"]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("2019,K70,finance,x", "edition '2019'"),
        ("2017,K7x,finance,x", "code_prefix 'K7x'"),
        ("2017,K70,realestate,x", "key_industry 'realestate'"),
        ("2017,J66,finance,x\n2017,J66,health,y", "line 3: J66 (2017) already mapped on line 2"),
    ],
)
def test_a_bad_table_fails_with_the_line_and_reason(tmp_path: Path, row: str, reason: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("edition,code_prefix,key_industry,name_zh\n" + row + "\n", encoding="utf-8")
    with pytest.raises(MappingError, match="line") as err:
        load_mapping(path, key_industries=KEY_INDUSTRIES)
    assert reason in str(err.value)


def test_a_table_without_its_columns_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("code,industry\nK70,finance\n", encoding="utf-8")
    with pytest.raises(MappingError, match="missing column"):
        load_mapping(path)
