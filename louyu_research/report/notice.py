"""The monthly street ranking notice (动态排名通报): the plan's "每月定期开展楼宇工作绩效排名"
as a publication of its own, one or two A4 pages.

`gather_notice` reads the log once at a pinned position into an immutable `NoticeInputs`
(street figures of the month, the month before and the previous December; their ranking);
`sections` are pure functions of it, shown in order by `notebooks/monthly_notice.ipynb`:
the title block, the ranking (composite and each indicator, change on the previous month
with arrows), the month's top movers, and the streets behind the year's pace. A street is
behind the year's pace when its occupancy rate is below the straight line from its own rate
at the end of the previous December to the year's occupancy target in December:
`path = december + (target − december) × month ÷ 12`.

`build_notice` executes the notebook with papermill and renders it with the quarterly
report's renderer into `reports/notices/<YYYY-MM>/` (the public Chinese edition, the
committed publication; English in `en/`, internal editions outside the repository), with a
manifest pinned to the log position like a quarterly report: a published month is rebuilt
from the position its manifest records, `as_published` builds an unpublished month from the
log as recorded by the end of the month after it, and `verify_notice` re-executes a
committed notice and compares its fingerprints (`louyu verify-reports` runs it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from datetime import time as clock
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from louyu_research import __version__
from louyu_research.city.profile import City
from louyu_research.city.settings import Settings
from louyu_research.core.periods import Month, MonthLike
from louyu_research.indicators import figures as ind

from .sections import words
from .sections.common import CoverBlock, Section, edition_name, iso, pct, points
from .sections.ranking import arrows
from .tables import Column, Table

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "monthly_notice.ipynb"
FOLDER = "notices"  # under the reports folder
MOVERS = 3  # how many streets the movers table shows each way
BEHIND = 10  # how many streets behind the year's pace the table shows (furthest first)


@dataclass(frozen=True)
class NoticeInputs:
    """What the notice shows, for one month at one log position."""

    month: Month
    position: Mapping[str, Any]
    profile: City
    settings: Settings
    streets: pl.DataFrame  # street figures of the month, the month before, last December
    ranking: pl.DataFrame  # `rank_streets` of those months
    target: float | None  # the year's occupancy target

    def __post_init__(self) -> None:
        object.__setattr__(self, "position", MappingProxyType(dict(self.position)))


def notice_cutoff(month: MonthLike, tz: str) -> datetime:
    """When a month's notice reads the log by convention: the end of the month after it,
    midnight in the city's time zone (a fixed offset, as Polars compares it with UTC)."""
    local = datetime.combine(Month.parse(month).shift(2).first_day, clock(0), ZoneInfo(tz))
    return local.replace(tzinfo=timezone(local.utcoffset() or timedelta(0)))


def gather_notice(
    month: MonthLike,
    log: str | Path = "events",
    *,
    upto_seq: int | None = None,
    city: City | str | Path | None = None,
) -> NoticeInputs:
    """Read the log once at `upto_seq` (its head when None) for the notice of `month`; `city`:
    the profile (or its folder) of the city the log is about (default: the shipped one)."""
    from louyu_research.replay.log import open_log

    lg = open_log(log, city=city)
    s = lg.city.settings
    m = Month.parse(month)
    first, _ = ind.covered_months(lg, upto_seq=upto_seq)
    wanted = {m.shift(-1), Month(m.year - 1, 12)}
    months = sorted({str(x) for x in wanted if str(x) >= first} | {str(m)})
    inp = ind.read_inputs(lg, months, upto_seq=upto_seq, settings=s)
    streets = ind.figures(
        inp.panel,
        tax=inp.tax,
        city_tax=inp.city_tax,
        level="street",
        months=months,
        settings=s,
        divisions=lg.city.divisions,
    )
    target = lg.city.targets.filter(
        (pl.col("year") == m.year) & (pl.col("indicator") == "occupancy_rate")
    ).get_column("target")
    return NoticeInputs(
        month=m,
        position=dict(inp.position),
        profile=lg.city,
        settings=s,
        streets=streets,
        ranking=ind.rank_streets(streets, s),
        target=float(target[0]) if target.len() else None,
    )


# --- the notice's parts: pure functions of the inputs ------------------------------------------


def month_ranking(inputs: NoticeInputs) -> pl.DataFrame:
    return inputs.ranking.filter(pl.col("month") == str(inputs.month)).sort(
        "composite_rank", "street"
    )


def behind_pace(inputs: NoticeInputs) -> pl.DataFrame:
    """Streets whose occupancy rate is below the straight line from their December rate to
    the year's target (see the module docstring); furthest behind first."""
    if inputs.target is None:
        return pl.DataFrame(
            schema={
                "street": pl.String,
                "reporting_area": pl.String,
                "occupancy_rate": pl.Float64,
                "december_rate": pl.Float64,
                "pace_rate": pl.Float64,
                "gap": pl.Float64,
            }
        )
    december = str(Month(inputs.month.year - 1, 12))
    share = inputs.month.month / 12
    dec = inputs.streets.filter(pl.col("month") == december).select(
        "street", pl.col("occupancy_rate").alias("december_rate")
    )
    return (
        inputs.streets.filter((pl.col("month") == str(inputs.month)) & (pl.col("buildings") > 0))
        .select("street", "reporting_area", "occupancy_rate")
        .join(dec, on="street", how="inner")
        .drop_nulls(["occupancy_rate", "december_rate"])
        .with_columns(
            (pl.col("december_rate") + (inputs.target - pl.col("december_rate")) * share).alias(
                "pace_rate"
            )
        )
        .with_columns((pl.col("occupancy_rate") - pl.col("pace_rate")).alias("gap"))
        .filter(pl.col("gap") < 0)
        .sort(["gap", "street"])
    )


def movers(inputs: NoticeInputs) -> pl.DataFrame:
    """The streets that rose and fell most on the previous month (`MOVERS` each way)."""
    rk = month_ranking(inputs).drop_nulls("rank_change")
    up = rk.filter(pl.col("rank_change") > 0).sort(
        ["rank_change", "street"], descending=[True, False]
    )
    down = rk.filter(pl.col("rank_change") < 0).sort(["rank_change", "street"])
    return pl.concat([up.head(MOVERS), down.head(MOVERS)])


def meta(inputs: NoticeInputs, lang: str, edition: str) -> dict[str, Any]:
    pos = inputs.position
    lang = words.check_lang(lang)
    return {
        "title": words.text("notice.title", lang, city=inputs.profile.name[lang]),
        "subtitle": words.text(
            "notice.subtitle",
            lang,
            year=inputs.month.year,
            month_number=inputs.month.month,
            month=str(inputs.month),
            edition=edition_name(edition, lang),
        ),
        "lang": lang,
        "edition": edition,
        "banner": words.text("edition.banner", lang) if edition == "internal" else "",
        "footer": words.text(
            "report.footer",
            lang,
            version=__version__,
            seq=pos.get("seq"),
            hash=str(pos.get("hash", ""))[:12],
        ),
        "timestamp": iso(pos.get("recorded_at")),
    }


def ranking_table(inputs: NoticeInputs, lang: str) -> Table:
    label = words.label
    rk = month_ranking(inputs).with_columns(
        arrows().replace({"new": words.text("ranking.new", lang)}).alias("change_arrow")
    )
    return Table(
        "notice_ranking",
        words.text("notice.ranking", lang, month=str(inputs.month)),
        rk,
        (
            Column("composite_rank", label("composite_rank", lang), "int"),
            Column("change_arrow", label("rank_change", lang)),
            Column("street", label("street", lang)),
            Column("reporting_area", label("reporting_area", lang)),
            Column("composite_score", label("composite_score", lang), "num", decimals=1),
            Column("occupancy_rate", label("occupancy_rate", lang), "pct"),
            Column("occupancy_rank", label("occupancy_rank", lang), "int"),
            Column("registration_rate", label("registration_rate", lang), "pct"),
            Column("registration_rank", label("registration_rank", lang), "int"),
            Column("tax_contribution_rank", label("tax_contribution_rank", lang), "int"),
        ),
        notes=(words.text("ranking.ends.note.notice", lang),),
        sheet=words.text("ranking.sheet", lang),
    )


def sections(inputs: NoticeInputs, lang: str = "zh", edition: str = "public") -> list[Section]:
    """The notice, in order: title and lead, the ranking, the movers, the streets behind."""
    label = words.label
    rk = month_ranking(inputs)
    m = meta(inputs, lang, edition)
    names = words.text("list.names", lang)
    lead = words.text(
        "notice.lead",
        lang,
        year=inputs.month.year,
        month_number=inputs.month.month,
        month=str(inputs.month),
        streets=rk.height,
        top=names.join(rk.head(3).get_column("street").to_list()),
        up=rk.filter(pl.col("rank_change") > 0).height,
        down=rk.filter(pl.col("rank_change") < 0).height,
    )
    cover = Section(
        "notice_cover", lang, edition, "", (CoverBlock(m["title"], m["subtitle"], lead, m),)
    )
    ranking = Section(
        "notice_ranking",
        lang,
        edition,
        words.text("notice.ranking.heading", lang),
        (ranking_table(inputs, lang),),
    )
    mv = movers(inputs).with_columns(
        arrows().replace({"new": words.text("ranking.new", lang)}).alias("change_arrow")
    )
    moved = Table(
        "notice_movers",
        words.text("notice.movers", lang),
        mv,
        (
            Column("street", label("street", lang)),
            Column("reporting_area", label("reporting_area", lang)),
            Column("previous_rank", label("previous_rank", lang), "int"),
            Column("composite_rank", label("composite_rank", lang), "int"),
            Column("change_arrow", label("rank_change", lang)),
        ),
        sheet=words.text("notice.movers.sheet", lang),
    )
    behind = behind_pace(inputs)
    behind_text = (
        words.text("notice.behind.no_target", lang, year=inputs.month.year)
        if inputs.target is None
        else words.text(
            "notice.behind.text",
            lang,
            n=behind.height,
            of=rk.height,
            target=pct(inputs.target),
            worst=names.join(
                words.text(
                    "problems.street", lang, street=r["street"], value=points(r["gap"], lang)
                )
                for r in behind.head(3).to_dicts()
            )
            or words.text("summary.none", lang),
        )
    )
    behind_table = Table(
        "notice_behind_pace",
        words.text("notice.behind", lang, n=min(BEHIND, behind.height)),
        behind.head(BEHIND),
        (
            Column("street", label("street", lang)),
            Column("reporting_area", label("reporting_area", lang)),
            Column("occupancy_rate", label("occupancy_rate", lang), "pct"),
            Column("pace_rate", words.text("notice.pace_rate", lang), "pct"),
            Column("gap", words.text("notice.gap", lang), "pct_pt"),
        ),
        notes=(words.text("notice.behind.note", lang),),
        sheet=words.text("notice.behind.sheet", lang),
    )
    return [
        cover,
        ranking,
        Section(
            "notice_movers", lang, edition, words.text("notice.movers.heading", lang), (moved,)
        ),
        Section(
            "notice_behind",
            lang,
            edition,
            words.text("notice.behind.heading", lang),
            (behind_text, behind_table),
        ),
    ]


# --- building, pinning, verifying ----------------------------------------------------------------


def execute_notice(
    month: str,
    log: Path,
    seq: int,
    edition: str,
    lang: str,
    out_dir: Path,
    city: Path | None = None,
) -> Path:
    """Run the notice notebook with papermill on the project's kernel into out_dir (`city`: a
    city profile folder; None: the city the log records)."""
    import nbformat
    import papermill as pm

    from .pipeline import KERNEL, ReportError, _check_kernel, local_kernel_manager
    from .render import normalise_notebook

    _check_kernel()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "report.ipynb"
    params = {
        "month": month,
        "log": str(log.resolve()),
        "upto_seq": seq,
        "edition": edition,
        "lang": lang,
        "city": str(city.resolve()) if city is not None else None,
    }
    import tempfile

    with tempfile.TemporaryDirectory(prefix="louyu-kernel-") as sockets:
        try:
            pm.execute_notebook(
                str(NOTEBOOK),
                str(target),
                parameters=params,
                kernel_name=KERNEL,
                cwd=str(ROOT),
                progress_bar=False,
                log_output=False,
                report_mode=False,
                kernel_manager_class=local_kernel_manager(Path(sockets)),
            )
        except pm.PapermillExecutionError as err:
            first = (str(err.evalue).strip().splitlines() or [""])[0]
            raise ReportError(
                f"notebook cell {err.exec_count} failed: {err.ename}: {first}"
            ) from None
    nb = nbformat.read(target, as_version=4)
    nbformat.write(normalise_notebook(nb), target)
    return target


@dataclass
class BuiltNotice:
    month: str
    folder: Path
    renderer: str
    position: dict[str, Any]
    seconds: float


def build_notice(
    month: str,
    *,
    log: Path = Path("events"),
    edition: str = "public",
    lang: str = "zh",
    upto_seq: int | None = None,
    out_root: Path = Path("reports"),
    internal_root: Path | None = None,
    renderer: str = "auto",
    as_published: bool = False,
    city: Path | None = None,
    say: Callable[[str], None] = print,
) -> BuiltNotice:
    """Build one month's notice into `out_root/notices/<month>/` (or its edition's folder);
    a published month (its manifest committed) is rebuilt from its pinned position. `city`: a
    city profile folder (default: the city the log records), recorded in the manifest."""
    import nbformat

    from .manifest import build_manifest, read_manifest, write_manifest
    from .pipeline import (
        EDITIONS,
        LANGS,
        ReportError,
        _open,
        building,
        check_private,
        fingerprints,
        is_publication,
        marked,
        move_into_place,
        output_folder,
    )
    from .render import render

    if edition not in EDITIONS:
        raise ReportError(f"edition must be one of {', '.join(EDITIONS)}, got {edition!r}")
    if lang not in LANGS:
        raise ReportError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    t0 = time.perf_counter()
    m = str(Month.parse(month))
    lg = _open(log, city)
    first, last = ind.covered_months(lg)
    if not first <= m <= last:
        raise ReportError(f"month {m} is outside the log ({first} to {last})")
    published = out_root / FOLDER / m / "manifest.json"
    if published.exists():
        pos = read_manifest(published.parent)["log_position"]
        if lg.position(pos["seq"])["hash"] != pos["hash"]:
            raise ReportError(f"{published} was built from another log (chain hash differs)")
        if upto_seq is not None and upto_seq != pos["seq"]:
            raise ReportError(f"notice {m} is published from log seq {pos['seq']}")
        seq = pos["seq"]
        say(f"notice {m} is published: building it from its pinned log position, seq {seq}")
    else:
        seq = upto_seq if upto_seq is not None else lg.head.seq
        if as_published:
            cutoff = notice_cutoff(m, lg.city.time_zone)
            found = (
                lg.scan(upto_seq=seq)
                .filter(pl.col("recorded_at") < cutoff)
                .select(pl.col("seq").max())
                .collect()
                .item()
            )
            seq = int(found or 0)
    folder = output_folder(
        f"{FOLDER}/{m}", edition, lang, out_root=out_root, internal_root=internal_root
    )
    if not is_publication(edition, lang):
        check_private(folder)
    with building(folder) as staging:
        nb_path = execute_notice(m, log, seq, edition, lang, staging, city)
        done = render(nb_path, staging, renderer=renderer, say=say)
        nb = nbformat.read(nb_path, as_version=4)
        position = lg.position(seq)
        outputs = fingerprints(nb)
        if edition == "internal":
            outputs = {marked(k): v for k, v in outputs.items()}
        manifest = build_manifest(
            quarter=m,
            parameters={
                "kind": "notice",
                "month": m,
                "edition": edition,
                "lang": lang,
                "upto_seq": seq,
            },
            position=position,
            outputs=outputs,
            lock=ROOT / "uv.lock",
            settings=lg.city.settings.as_record(),
            city=lg.city.as_record(),
        )
        write_manifest(staging, manifest)
        if edition == "internal":
            from .pipeline import _mark_files

            _mark_files(staging)
        move_into_place(staging, folder)
    return BuiltNotice(m, folder, done.renderer, position, time.perf_counter() - t0)


def committed_notices(out_root: Path = Path("reports")) -> list[Path]:
    """Folders of committed notices (holding a manifest)."""
    return sorted(p.parent for p in (out_root / FOLDER).glob("*/manifest.json"))


def verify_notice(folder: Path, log: Path, scratch: Path, city: Path | None = None) -> list[str]:
    """Re-execute a committed notice at its pinned position; what differs from its manifest.
    `city`: the city profile folder of the log (default: the city the log records)."""
    import nbformat

    from .manifest import ManifestError, compare_outputs, read_manifest
    from .pipeline import _open, fingerprints

    try:
        m = read_manifest(folder)
    except ManifestError as err:
        return [str(err)]
    params, pos = m["parameters"], m["log_position"]
    lg = _open(log, city)
    if lg.position(pos["seq"])["hash"] != pos["hash"]:
        return [f"log position: the log's chain hash at seq {pos['seq']} is not the published one"]
    nb_path = execute_notice(
        params["month"], log, pos["seq"], params["edition"], params["lang"], scratch, city
    )
    return compare_outputs(m["outputs"], fingerprints(nbformat.read(nb_path, as_version=4)))


__all__ = [
    "BuiltNotice",
    "NoticeInputs",
    "behind_pace",
    "build_notice",
    "committed_notices",
    "gather_notice",
    "month_ranking",
    "movers",
    "notice_cutoff",
    "sections",
    "verify_notice",
]
