"""`louyu glossary`: the terms city staff read, in both languages."""

from __future__ import annotations

import csv

from typer.testing import CliRunner

from louyu_research.cli import app


def test_glossary_shows_a_term_in_the_chosen_language(root):
    with open(root / "louyu_research" / "core" / "glossary.csv", encoding="utf-8") as f:
        rows = {r["name"]: r for r in csv.DictReader(f)}
    term = rows["occupancy_rate"]
    zh = CliRunner().invoke(app, ["glossary", "--column", "occupancy_rate"])
    assert (
        zh.exit_code == 0
        and term["name_zh"] in zh.stdout
        and term["definition_zh"][:10] in zh.stdout
    )
    en = CliRunner().invoke(app, ["glossary", "--column", "occupancy_rate", "--lang", "en"])
    assert term["name_en"] in en.stdout and term["name_zh"] not in en.stdout
    bad = CliRunner().invoke(app, ["glossary", "--column", "nope"])
    assert bad.exit_code == 2


def test_glossary_is_plain_csv_with_the_scope_of_every_column(root):
    import io

    import polars as pl

    out = CliRunner().invoke(app, ["glossary", "--format", "csv"])
    assert out.exit_code == 0 and not out.stdout.startswith("#")
    frame = pl.read_csv(io.StringIO(out.stdout))
    assert {"name", "name_zh", "name_en", "unit", "scope"} <= set(frame.columns)
    scopes = dict(zip(frame["name"], frame["scope"], strict=True))
    assert scopes["tax_yuan"] == "in_scope" and scopes["building_id"] == "row"
    assert scopes["city_tax_yuan_ytd"] == "city" and scopes["seq"] == "log"
    # one name for the district, as the frames say it
    assert "district" in scopes and "admin_district" not in scopes
    shown = CliRunner().invoke(app, ["glossary", "--column", "tenancy_area_m2", "--lang", "en"])
    assert shown.exit_code == 0
    assert "Leased area (uncapped)" in shown.stdout
