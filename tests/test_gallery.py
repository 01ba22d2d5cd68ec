"""The research gallery: every notebook executed by a real kernel through papermill on the
sample log; each ends with a conclusion whose numbers are those of its own tables, checked
here against figures computed independently of the notebook."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import polars as pl
import pytest

from louyu_research import open_log
from louyu_research.indicators.figures import figures_from_log

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "notebooks" / "gallery"
NOTEBOOKS = ("streets_that_moved", "revisions", "location_quotients", "tenant_survival")

pytestmark = [pytest.mark.xdist_group("gallery"), pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def sample() -> Path:
    shipped = ROOT / "events"
    if not any(shipped.glob("*.jsonl*")):
        pytest.fail("the shipped sample log (events/) is missing")
    return shipped


def run(name: str, log: Path, tmp: Path, **parameters: object) -> nbformat.NotebookNode:
    import papermill as pm

    out = tmp / f"{name}.ipynb"
    pm.execute_notebook(
        str(GALLERY / f"{name}.ipynb"),
        str(out),
        parameters={"log_path": str(log), **parameters},
        kernel_name="louyu",
        cwd=str(GALLERY),
        progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]  # fmt: skip
    assert not errors, errors
    return nb


def conclusion(nb: nbformat.NotebookNode) -> str:
    cell = next(c for c in nb.cells if c.get("id") == "conclusion")
    return "".join(o["data"]["text/markdown"] for o in cell.outputs if "data" in o)


def test_gallery_notebooks_are_kept_without_outputs_and_name_no_tenant() -> None:
    found = sorted(p.stem for p in GALLERY.glob("*.ipynb"))
    assert found == sorted(NOTEBOOKS)
    for name in NOTEBOOKS:
        nb = nbformat.read(GALLERY / f"{name}.ipynb", as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), name
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
        tags = [c.metadata.get("tags", []) for c in nb.cells if c.cell_type == "code"]
        assert ["parameters"] in tags, name
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "tenant_name" not in code, name


def test_streets_that_moved(sample: Path, tmp_path: Path) -> None:
    nb = run("streets_that_moved", sample, tmp_path, year=2017, top=3)
    text = conclusion(nb)
    # the top riser, computed here from the street figures of the two Decembers
    log = open_log(sample)
    f = figures_from_log(log, ["2016-12", "2017-12"], "street").frame
    change = (
        f.pivot(on="month", index="street", values="occupancy_rate")
        .drop_nulls()
        .with_columns((pl.col("2017-12") - pl.col("2016-12")).alias("d"))
        .sort("d", descending=True)
    )
    first = change.row(0, named=True)
    assert f"**{first['street']}**" in text.split("Rose most:")[1].split("\n")[1]
    assert f"{first['2016-12']:.1%} → {first['2017-12']:.1%}" in text
    assert f"{change.height} streets" in text
    assert f"{change.filter(pl.col('d') > 0).height} raised" in text


def test_revisions(sample: Path, tmp_path: Path) -> None:
    nb = run("revisions", sample, tmp_path, first="2016-10", last="2016-12")
    text = conclusion(nb)
    # October 2016's tax as recorded by 30 November 2016 against now, computed here
    log = open_log(sample)
    then = figures_from_log(log, "2016-10", recorded_by="2016-11-30").frame["tax_yuan"][0]
    now = figures_from_log(log, "2016-10").frame["tax_yuan"][0]
    table = next(c for c in nb.cells if c.get("id") == "summary").outputs[0]["data"]["text/plain"]
    assert "tax_yuan" in table
    m = re.search(r"revised afterwards in (\d+) months, by ([\d.]+)% on average", text)
    assert m and 1 <= int(m.group(1)) <= 3
    if abs(now - then) > 1e-9:
        assert float(m.group(2)) > 0
    assert "Over 3 months (2016-10 to 2016-12)" in text


def test_location_quotients(sample: Path, tmp_path: Path) -> None:
    nb = run("location_quotients", sample, tmp_path, years=[2016, 2017])
    text = conclusion(nb)
    # the strongest cluster of 2017, with the quotient computed here from the replay
    log = open_log(sample)
    from datetime import date

    state = log.replay(date(2017, 12, 31))
    scope = (
        log.panel("2017-12", "2017-12").filter(pl.col("in_scope")).select("building_id", "street")
    )
    area = (
        state.tenancies.join(scope, on="building_id")
        .group_by("street", "key_industry")
        .agg(pl.col("area_m2").sum())
    )
    total = area["area_m2"].sum()
    street = area.group_by("street").agg(pl.col("area_m2").sum().alias("s"))
    industry = area.group_by("key_industry").agg(pl.col("area_m2").sum().alias("i"))
    lq = (
        area.join(street, on="street")
        .join(industry, on="key_industry")
        .with_columns(((pl.col("area_m2") / pl.col("s")) / (pl.col("i") / total)).alias("lq"))
        .filter(
            (pl.col("key_industry") != "other")
            & (pl.col("area_m2") >= 5000)
            & (pl.col("lq") >= 1.5)
        )
        .sort("lq", descending=True)
    )
    best = lq.row(0, named=True)
    assert f"in {best['street']} (LQ {best['lq']:.2f}, {best['area_m2']:,.0f} m²)" in text
    assert f"{lq.height} street–industry pairs are clusters" in text


def test_tenant_survival(sample: Path, tmp_path: Path) -> None:
    nb = run("tenant_survival", sample, tmp_path, horizons=[12, 24, 36])
    text = conclusion(nb)
    # the overall 12-month survival, computed here without censoring subtleties: every spell
    # that began by 2017-12-31 has 12 months of record, so the share still running after 12
    # months is an ordinary proportion among them
    log = open_log(sample)
    from datetime import date, timedelta

    spells = log.prepared().spells.filter(
        pl.col("since").is_between(date(2014, 1, 1), date(2017, 12, 31))
    )
    days = (pl.col("until") - pl.col("since")).dt.total_days() / 30.4375
    left = spells.filter(pl.col("until").is_not_null() & (days.floor() <= 12)).height
    assert spells.filter(pl.col("since") > date(2018, 12, 31) - timedelta(days=1)).height == 0
    m = re.search(r"\((\d+)% after 12\)", text)
    assert m, text
    # Kaplan–Meier over all spells vs the proportion over spells with a full year: close
    assert abs(int(m.group(1)) / 100 - (1 - left / spells.height)) < 0.02
    assert "By grade after 24 months: A" in text
