"""Manifest building blocks: canonical forms and tamper evidence (the report-level tests live in test_reproducible.py)."""

from __future__ import annotations

import hashlib
import json

import altair as alt
import polars as pl
import pytest

from louyu_research.report import manifest as mf


def test_canonical_table_sorts_rows_and_rounds_floats():
    a = pl.DataFrame({"street": ["乙", "甲"], "rate": [0.1 + 0.2, 0.25]})
    b = pl.DataFrame({"street": ["甲", "乙"], "rate": [0.25, 0.3]})
    # rows in code-point order: 乙 (U+4E59) before 甲 (U+7532)
    assert (
        mf.canonical_table(a) == mf.canonical_table(b) == "street,rate\n乙,0.3\n甲,0.25\n".encode()
    )


def test_canonical_spec_ignores_dataset_names_and_last_bits():
    def spec(y: float) -> dict:
        return (
            alt.Chart(pl.DataFrame({"x": ["甲"], "y": [y]}))
            .mark_bar()
            .encode(x="x", y="y")
            .to_dict()
        )

    one, other = spec(0.1 + 0.2), spec(0.3)
    assert one["datasets"].keys() != other["datasets"].keys()  # Altair names data by a hash of it
    assert mf.canonical_spec(one) == mf.canonical_spec(other)
    assert mf.canonical_spec(spec(0.3000001)) != mf.canonical_spec(other)


def test_manifest_round_trip_and_hand_edit_detected(tmp_path, root):
    m = mf.build_manifest(
        quarter="2017Q4",
        parameters={"quarter": "2017Q4"},
        position={"seq": 10, "recorded_at": "2018-01-08T09:00:00+08:00", "hash": "ab" * 32},
        outputs={"tables/headline.csv": hashlib.sha256(b"x").hexdigest()},
        lock=root / "uv.lock",
        settings={},
    )
    assert m["dependencies"]["polars"] == "2.1.0"
    mf.write_manifest(tmp_path, m)
    assert mf.read_manifest(tmp_path) == m
    edited = json.loads((tmp_path / "manifest.json").read_text("utf-8"))
    edited["log_position"]["seq"] = 11
    (tmp_path / "manifest.json").write_text(json.dumps(edited), "utf-8")
    with pytest.raises(mf.ManifestError, match="edited by hand"):
        mf.read_manifest(tmp_path)


def test_canonical_rows_keep_order_and_absorb_last_bit_noise():
    a = mf.canonical_rows(["区", "率"], [["乙", 0.1 + 0.2], ["甲", None]])
    assert a == mf.canonical_rows(["区", "率"], [["乙", 0.3], ["甲", None]])
    assert a == '区,率\n"""乙""",0.3\n"""甲""",\n'.encode()
    assert a != mf.canonical_rows(["区", "率"], [["甲", None], ["乙", 0.3]])
