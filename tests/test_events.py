"""The event catalogue: field rules, and the generated JSON Schemas kept in step with it."""

from __future__ import annotations

import hashlib
import json

import jsonschema
import pytest
from drafts import building, moved_in

from louyu_research.log import catalogue as ev
from louyu_research.schemas import rendered


def test_every_type_of_events_md_is_in_the_catalogue(root):
    spec = (root / "docs" / "spec" / "EVENTS.md").read_text("utf-8")  # the contract, copied in
    import re

    in_spec = set(re.findall(r"^\| `([A-Z][A-Za-z]+)` \|", spec, flags=re.M))
    assert in_spec == set(ev.CATALOGUE)


def test_schema_files_are_not_stale(root):
    files = rendered()
    stale = [
        rel
        for rel, text in files.items()
        if not (root / "schemas" / rel).exists()
        or (root / "schemas" / rel).read_text("utf-8") != text
    ]
    assert not stale, f"run `make schemas`: stale {stale}"


def test_generated_json_schema_accepts_and_rejects_like_the_models(root):
    schema = json.loads((root / "schemas" / "events" / "draft.schema.json").read_text("utf-8"))
    good = moved_in("91350100M000100Y43", "B1", "2016-01-01", "2016-01-02T00:00:00+08:00")
    jsonschema.validate(good, schema)
    bad = {**good, "data": {**good["data"], "area_m2": 0}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"occurred_on": "2016-02-30"}, "occurred_on"),
        ({"recorded_at": "2016-03-01T09:00:00"}, "recorded_at"),  # no offset
        ({"data": {"category": "castle"}}, "data.category"),
        ({"data": {"grade": "S"}}, "data.grade"),
        ({"data": {"standalone": "yes"}}, "data.standalone"),
        ({"data": {"gross_floor_area_m2": 0}}, "data.gross_floor_area_m2"),
        ({"data": {"self_held_ratio": -0.1}}, "data.self_held_ratio"),
        ({"data": {"colour": "red"}}, "data.colour"),
        ({"event_id": ""}, "event_id"),
    ],
)
def test_field_rules(patch, field):
    draft = building("B1")
    draft = {**draft, **{k: v for k, v in patch.items() if k != "data"}}
    draft["data"] = {**draft["data"], **patch.get("data", {})}
    with pytest.raises(ev.InvalidEvent) as err:
        ev.parse_draft(json.dumps(draft))
    assert any(p.startswith(field + ":") for p in err.value.problems), err.value.problems


def test_money_must_be_finite_json():
    line = json.dumps(
        {
            "event_id": "c",
            "type": "CityTaxReported",
            "occurred_on": "2016-01-31",
            "data": {"period": "2016-01", "amount_yuan": 1},
        }
    )
    assert ev.parse_draft(line).data.amount_yuan == 1.0
    with pytest.raises(ev.InvalidEvent):
        ev.parse_draft(line.replace('"amount_yuan": 1', '"amount_yuan": NaN'))
    with pytest.raises(ev.InvalidEvent):
        ev.parse_draft(line.replace('"amount_yuan": 1', '"amount_yuan": Infinity'))


def test_events_are_immutable():
    e = ev.parse_draft(json.dumps(building("B1")))
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type is an implementation detail
        e.data.name = "x"


@pytest.mark.parametrize(
    ("type_", "key"), [("BuildingUpdated", "building_id"), ("TenantUpdated", "tenant_id")]
)
def test_an_update_must_name_an_attribute(type_, key):
    draft = {
        "event_id": "u",
        "type": type_,
        "occurred_on": "2016-01-01",
        "data": {key: "91350100M000100Y43"},
    }
    with pytest.raises(ev.InvalidEvent, match="at least one attribute"):
        ev.parse_draft(json.dumps(draft))


@pytest.mark.parametrize(
    "data",
    [
        {"tenant_id": "T1", "building_id": "B1", "period": "2016-01", "amount_yuan": 1200.0},
        {"name": '引号"与\\反斜杠', "lon": 120.1, "lat": 1e-05, "gross_floor_area_m2": 1e16},
        {"reason": "tab\there, DEL \x7f, emoji 🏢, é", "event_id": "x"},
    ],
)
def test_a_stored_line_is_the_canonical_record_with_its_hash(data):
    """`sealed_bytes` (what `append` writes) against `json.dumps` with the documented options,
    the hash over the previous hash and the record without it, as `verify` recomputes it."""
    prev = "ab" * 32
    record = {
        "event_id": "e-1",
        "type": "TaxReported",
        "occurred_on": "2016-01-31",
        "recorded_at": "2016-02-11T10:00:00+08:00",
        "source": "市税务局",
        "seq": 7,
        "data": data,
    }

    def dumps(obj):
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    digest = hashlib.sha256((prev + dumps(record)).encode("utf-8")).hexdigest()
    expected = (dumps({**record, "hash": digest}) + "\n").encode("utf-8")
    assert ev.sealed_bytes(prev, record) == (digest, expected)
    assert ev.canonical_json(record) == dumps(record)
    assert ev.chain_hash(prev, record) == digest
