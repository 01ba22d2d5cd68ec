"""Fuzzing the log's doors: drafts, settings files and damage to a log folder (hypothesis).

Three properties, over generated hostile input:

- a draft is either refused, leaving the log byte for byte as it was, with every problem on
  one bounded line naming its field, or accepted, and then every later command works on it
  (verify, read, replay, panel, indicators, stats, the next append);
- a settings file either loads, and then every figure, list and ranking computes with it, or
  is refused with one bounded line naming the file;
- whatever is done to a log folder (bytes cut, flipped, appended; files removed; HEAD
  garbled; a folder where a file should be), every command ends with an exit code and at most
  a few bounded lines, never a traceback; a command that fails changes nothing; readers never
  change the log; and when `repair` succeeds, the log verifies and no acknowledged event that
  the damage left intact is lost.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import snapshot
from drafts import building, moved_in, tax, uscc
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from louyu_research.city.settings import Settings, SettingsError
from louyu_research.cli import app
from louyu_research.cli.common import run
from louyu_research.log.store import AppendRejected, EventLog

pytestmark = pytest.mark.timeout(900)

T1 = "91350100M000100Y43"
T2 = uscc("91330402MA2B00000")
LINE_LIMIT = 700


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def template(root: Path) -> Path:
    """A small log with two sealed (compressed, cached) months and a growing one."""
    path = root / "events"
    log = EventLog.init(path)
    log.append(
        [
            building("B1", rec="2015-02-01T09:00:00+08:00"),
            building("B2", rec="2015-02-01T09:05:00+08:00", street="建设街道"),
            moved_in(T1, "B1", "2015-02-01", "2015-02-05T09:00:00+08:00", headcount=40),
            moved_in(T2, "B2", "2015-02-03", "2015-02-06T09:00:00+08:00"),
            tax(T1, "B1", "2015-02", 12345.67, "2015-02-20T09:00:00+08:00"),
            {
                "event_id": "city-2015-02",
                "type": "CityTaxReported",
                "occurred_on": "2015-02-28",
                "recorded_at": "2015-02-21T09:00:00+08:00",
                "data": {"period": "2015-02", "amount_yuan": 1_000_000.0},
            },
        ]
    )
    log.append([tax(T1, "B1", "2015-03", 2000.0, "2015-03-20T09:00:00+08:00")])
    log.append([tax(T2, "B2", "2015-03", 500.0, "2015-04-02T09:00:00+08:00")])
    log.read()  # the Parquet copies of the sealed months
    return path


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return template(tmp_path_factory.mktemp("fuzz"))


def fresh(pristine: Path, tmp_path_factory) -> Path:
    dst = tmp_path_factory.mktemp("ex") / "events"
    shutil.copytree(pristine, dst)
    return dst


def cli(*args: str) -> tuple[int, str, str]:
    """A `louyu` command in this process, through the same barrier as the real entry point."""
    out, err = io.StringIO(), io.StringIO()
    code: Any = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            run(lambda: app(args=list(args), prog_name="louyu"))
        except SystemExit as done:
            code = done.code
    code = 0 if code is None else code
    text = err.getvalue()
    assert isinstance(code, int) and code in (0, 1, 2), (args, code, text[-2000:])
    assert "Traceback" not in text and "Aborted" not in text, (args, text[-3000:])
    return code, out.getvalue(), text


def bounded(text: str, max_lines: int = 250) -> None:
    lines = text.splitlines()
    assert len(lines) <= max_lines, len(lines)
    assert all(len(line) <= LINE_LIMIT for line in lines), max(map(len, lines))


# --- drafts -------------------------------------------------------------------------------------

NASTY_TEXT = [
    "",
    " ",
    "\u3000",
    "\t",
    "a\x00b",
    "a\nb",
    "a\u2028b",
    "\u200b",
    "２０２０-01",
    "2020-13",
    "2016-02-30",
    "1580601600",
    "0001-01-01",
    "9999-12-31",
    "9999-12-31T23:59:59-23:59",
    "2016-01-01 10:00:00+08:00",
    "2016-01-01T10:00:00Z",
    "1969-12-31T23:59:59Z",
    "X" * 600,
    "I65",
    "office",
    T1,
    "91350100M000100Y44",
    "B1",
]
NASTY_NUMBERS = [
    0,
    -1,
    -0.0,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    10**30,
    1e308,
    5e-324,
    0.005,
    1.005,
    float("nan"),
    float("inf"),
    -float("inf"),
]
#: Values at the edge of what the log accepts: a mutation to one of these is often accepted,
#: and must then work everywhere.
EDGE_VALID = [
    "1900-01-01",
    "2099-12-31",
    "2015-04-30",
    "1970-01-01T00:00:00Z",
    "2015-04-01T10:00:00.123456+14:00",
    "2099-12",
    "1900-01",
    "名" * 500,
    "Ｂ１大厦",
    " leading and trailing ",
    "Z9999",
    "A",
    "2011",
    "mixed",
    "demolished",
    "local",
    10_000_000.0,
    1e12,
    0.01,
    1_000_000,
    0,
    0.0,
    -180.0,
    90.0,
    1.0,
    True,
    False,
]
scalar = st.one_of(
    st.sampled_from(EDGE_VALID),
    st.sampled_from(EDGE_VALID),
    st.none(),
    st.booleans(),
    st.sampled_from(NASTY_TEXT),
    st.sampled_from(NASTY_NUMBERS),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
)
value = st.recursive(
    scalar,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def base_drafts() -> list[dict[str, Any]]:
    return [
        building("B9", rec=None),
        moved_in(T1, "B2", "2015-04-01", None, headcount=3, headquarters=True, unit="1201"),
        tax(T1, "B1", "2015-04", 10.5, None, eid="t-fuzz"),
        {
            "event_id": "c",
            "type": "CityTaxReported",
            "occurred_on": "2015-04-30",
            "data": {"period": "2015-04", "amount_yuan": 9.0, "district": "南湖区"},
        },
        {
            "event_id": "u",
            "type": "BuildingUpdated",
            "occurred_on": "2015-04-01",
            "data": {"building_id": "B1", "rentable_area_m2": 9000.0, "lat": 30.7},
        },
        {
            "event_id": "tu",
            "type": "TenantUpdated",
            "occurred_on": "2015-04-01",
            "data": {"tenant_id": T1, "headcount": 41, "industry": "J66"},
        },
        {
            "event_id": "r",
            "type": "EventRetracted",
            "occurred_on": "2015-04-01",
            "data": {"event_id": "city-2015-02", "reason": "entered twice"},
        },
        {
            "event_id": "o",
            "type": "TenantMovedOut",
            "occurred_on": "2015-04-30",
            "source": "南湖区新兴街道",
            "data": {"tenant_id": T2, "building_id": "B2", "reason": "closed"},
        },
    ]


@st.composite
def hostile_line(draw: Any) -> bytes:
    draft = json.loads(json.dumps(draw(st.sampled_from(base_drafts()))))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["envelope", "data"]))
        target = draft if where == "envelope" else draft.setdefault("data", {})
        if not isinstance(target, dict):
            break
        keys = [
            *sorted(target),
            "recorded_at",
            "extra",
            "seq",
            "hash",
            "part",
            "completed_on",
            "period",
        ]
        key = draw(st.sampled_from(keys))
        action = draw(st.sampled_from(["set", "set", "set", "delete"]))
        if action == "delete":
            target.pop(key, None)
        else:
            target[key] = draw(value)
    text = json.dumps(draft, ensure_ascii=draw(st.booleans()), allow_nan=True)
    mode = draw(st.sampled_from(["as is"] * 6 + ["repeat a key", "cut", "bytes"]))
    if mode == "repeat a key":
        text = text.replace('"event_id":', '"event_id": "x", "event_id":', 1)
    elif mode == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    data = text.encode("utf-8", "surrogatepass")
    if mode == "bytes":
        data += draw(st.binary(max_size=8))
    return data


@st.composite
def edgy_line(draw: Any) -> bytes:
    """A valid draft with one or two of its own fields set to values at the edge of valid."""
    draft = json.loads(json.dumps(draw(st.sampled_from(base_drafts()))))
    for _ in range(draw(st.integers(0, 2))):
        target = draft if draw(st.booleans()) else draft["data"]
        key = draw(st.sampled_from(sorted(target)))
        if key not in ("data", "type"):
            target[key] = draw(st.sampled_from(EDGE_VALID))
    return json.dumps(draft, ensure_ascii=draw(st.booleans())).encode()


@fuzz(150)
@given(lines=st.lists(st.one_of(hostile_line(), edgy_line(), edgy_line()), min_size=1, max_size=3))
def test_fuzz_a_draft_is_refused_without_a_trace_or_works_everywhere(
    pristine, tmp_path_factory, lines
):
    path = fresh(pristine, tmp_path_factory)
    before = snapshot(path)
    log = EventLog(path)
    try:
        result = log.append(lines)
    except AppendRejected as err:
        event("refused")
        assert snapshot(path) == before
        assert err.problems
        for p in err.problems:
            text = str(p)
            assert "\n" not in text and len(text) <= 400, text
            assert p.line is not None and 1 <= p.line <= len(lines)
        return
    # accepted: every later command takes the log as it now is
    event(f"accepted ({len(result.appended)} appended)")
    assert log.verify() == []
    frame = log.read()
    assert frame.height == 8 + len(result.appended)
    from louyu_research.replay.log import open_log

    opened = open_log(path)
    opened.replay(date(2015, 4, 30))
    opened.panel("2015-01", "2015-05")
    for args in (
        ["stats", "--log", str(path)],
        [
            "indicators",
            "--log",
            str(path),
            "--month",
            "2015-03",
            "--level",
            "street",
            "--format",
            "csv",
        ],
        ["list", "vacancy", "--log", str(path), "--month", "2015-03"],
        ["log", "--log", str(path), "--format", "json"],
    ):
        code, _, err = cli(*args)
        assert code == 0, (args, err)
    code, _, err = cli(
        "append",
        "--log",
        str(path),
        str(_write(path.parent / "next.jsonl", building("B10", rec=None))),
    )
    assert code == 0, err


def _write(path: Path, *drafts: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in drafts), "utf-8")
    return path


# --- settings -----------------------------------------------------------------------------------

SETTING_KEYS = [
    *Settings.model_fields,
    "featured.min_tenants",
    "featured.threshold",
    "featured.rule",
    "featured.measures",
    "ranking_weights.occupancy_rate",
    "ranking_weights.registration_rate",
    "ranking_weights.tax_contribution",
    "unknown",
]
setting_value = st.one_of(
    value,
    st.floats(0, 1),
    st.integers(0, 10),
    st.sampled_from(["any", "all", "default", "wuhan-wuchang", ["area"], ["tax", "tax"], [], True]),
)


@st.composite
def settings_file(draw: Any) -> tuple[str, bytes]:
    tree: dict[str, Any] = {}
    for _ in range(draw(st.integers(0, 5))):
        key = draw(st.sampled_from(SETTING_KEYS))
        node = tree
        *parents, last = key.split(".")
        for p in parents:
            node = node.setdefault(p, {}) if isinstance(node.get(p, {}), dict) else {}
        node[last] = draw(setting_value)
    kind = draw(st.sampled_from(["json", "json", "toml", "raw"]))
    if kind == "json":
        top = draw(st.one_of(st.just(tree), st.just(tree), value))
        return "s.json", json.dumps(top, allow_nan=True).encode()
    if kind == "toml":
        lines = [f"{k} = {_toml(v)}" for k, v in tree.items() if not isinstance(v, dict)]
        for k, v in tree.items():
            if isinstance(v, dict):
                lines.append(f"[{k}]")
                lines += [f"{kk} = {_toml(vv)}" for kk, vv in v.items()]
        return "s.toml", "\n".join(lines).encode()
    return draw(st.sampled_from(["s.json", "s.toml"])), draw(st.binary(max_size=64))


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v != v:
        return "nan"
    if isinstance(v, float) and v in (float("inf"), -float("inf")):
        return "inf" if v > 0 else "-inf"
    if v is None or isinstance(v, dict):
        return '"null"'
    return json.dumps(v, ensure_ascii=False)


@fuzz(60)
@given(spec=settings_file())
def test_fuzz_a_settings_file_loads_and_works_or_is_one_line(pristine, tmp_path_factory, spec):
    name, data = spec
    path = tmp_path_factory.mktemp("settings") / name
    path.write_bytes(data)
    try:
        s = Settings.load(path)
    except SettingsError as err:
        event("refused")
        text = str(err)
        assert "\n" not in text and len(text) <= 400 and str(path) in text, text
        return
    event("loaded")
    from louyu_research.indicators.figures import figures_from_log, ranking_from_log
    from louyu_research.indicators.lists import lists_from_log
    from louyu_research.replay.log import open_log

    log = open_log(pristine)
    for level in ("building", "street", "reporting_area", "city"):
        figures_from_log(log, ["2015-02", "2015-03"], level, settings=s)
    ranking_from_log(log, "2015-03", settings=s)
    lists_from_log(log, "2015-03", settings=s)
    assert json.loads(json.dumps(s.as_record())) == s.as_record()


# --- damage to a log folder ----------------------------------------------------------------------

FILES = ["HEAD", "log.json", "2015-02.jsonl.gz", "2015-03.jsonl.gz", "2015-04.jsonl", ".lock"]


@st.composite
def damage(draw: Any) -> list[tuple[str, str, int, bytes]]:
    ops = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                ["cut", "flip", "remove", "append", "garble head", "folder", "cache", "cut line"]
            )
        )
        target = draw(st.sampled_from([*FILES, "cache copy"]))
        ops.append(
            (kind, target, draw(st.integers(0, 10_000)), draw(st.binary(min_size=1, max_size=12)))
        )
    return ops


def apply(path: Path, ops: list[tuple[str, str, int, bytes]]) -> set[tuple[str, str]]:
    """Damage the folder; returns (file name, kind of damage) of what was touched."""
    touched: set[tuple[str, str]] = set()
    for kind, target, n, junk in ops:
        if target == "cache copy":
            copies = (
                sorted((path / ".cache").glob("*.parquet")) if (path / ".cache").is_dir() else []
            )
            if not copies:
                continue
            f = copies[n % len(copies)]
        else:
            f = path / target
        if kind == "garble head":
            f = path / "HEAD"
        touched.add((f.name, kind))
        with contextlib.suppress(OSError):
            if kind == "folder":
                if f.is_dir():
                    continue
                f.unlink(missing_ok=True)
                f.mkdir()
            elif kind == "cache":
                shutil.rmtree(path / ".cache", ignore_errors=True)
                (path / ".cache").write_bytes(junk)
            elif not f.is_file():
                continue
            elif kind == "remove":
                f.unlink()
            elif kind == "garble head":
                f.write_bytes(
                    junk
                    if n % 2
                    else json.dumps(
                        {
                            "seq": n,
                            "hash": "0" * 64,
                            "segment": "2015-04.jsonl",
                            "offset": n,
                            "recorded_at": None,
                        }
                    ).encode()
                )
            else:
                data = bytearray(f.read_bytes())
                if kind == "cut":
                    del data[n % (len(data) + 1) :]
                elif kind == "cut line":
                    lines = bytes(data).splitlines(keepends=True)
                    data = bytearray(b"".join(lines[: n % (len(lines) + 1)]))
                elif kind == "flip" and data:
                    data[n % len(data)] ^= 1 << (n % 8)
                elif kind == "append":
                    data += junk
                f.write_bytes(bytes(data))
    return touched


@fuzz(100)
@given(ops=damage())
def test_fuzz_a_damaged_log_folder_never_gives_a_traceback_and_repair_loses_nothing(
    pristine, tmp_path_factory, ops
):
    path = fresh(pristine, tmp_path_factory)
    events = list(EventLog(path).iter_records())
    touched = apply(path, ops)
    assume(touched)
    readers = [
        ["verify", "--log", str(path)],
        ["stats", "--log", str(path)],
        ["log", "--log", str(path), "--format", "json"],
        ["state", "--log", str(path), "--as-of", "2015-04-30", "--frame", "tax", "--format", "csv"],
        [
            "indicators",
            "--log",
            str(path),
            "--month",
            "2015-03",
            "--level",
            "city",
            "--format",
            "csv",
        ],
    ]
    for args in readers:
        before = snapshot(path)
        code, out, err = cli(*args)
        bounded(err)
        assert snapshot(path) == before, args  # readers never change the log
        if args[0] == "log" and code == 0:
            # a reader that answers answers about every acknowledged event, none missing
            seqs = [row["seq"] for row in json.loads(out)]
            assert seqs == list(range(1, len(events) + 1)), (ops, seqs)
    draft = _write(path.parent / "one.jsonl", building("B10", rec=None))
    before = snapshot(path)
    code, _, err = cli("append", "--log", str(path), str(draft))
    bounded(err, 3)
    if code != 0:
        assert snapshot(path) == before  # a refused or failed append changes nothing
    before = snapshot(path)
    code, out, err = cli("repair", "--log", str(path))
    bounded(err, 1)
    if code != 0:
        event("repair refused")
        assert snapshot(path) == before  # a refused repair changes nothing
        return
    event("repaired" if snapshot(path) != before else "nothing to repair")
    code, out, err = cli("verify", "--log", str(path))
    assert code == 0, (ops, out[-2000:], err[-2000:])
    # nothing the damage left intact is lost: with no segment cut, flipped or removed (junk
    # appended after the last event is a tail), every acknowledged event is still there
    after = {r["event_id"] for r in EventLog(path).iter_records()}
    segments_damaged = any(name.startswith("2015") and kind != "append" for name, kind in touched)
    if not segments_damaged:
        assert {e["event_id"] for e in events} <= after, ops
