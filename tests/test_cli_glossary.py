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
