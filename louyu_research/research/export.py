"""Plain exports: Parquet, CSV and Stata `.dta`, each with its provenance beside it.

* CSV: one header line, then rows (UTF-8 with a byte-order mark, which Excel needs to read
  Chinese); headers are the column names, or the glossary's Chinese or English names
  (`lang`). Nothing but data is in the file.
* Parquet: the columns as they are; the provenance also sits in the file's key-value metadata
  (key `louyu`).
* Stata (`.dta`, format 118: Unicode): variable labels from the glossary in `lang` (default
  English), dates as Stata dates, booleans as 0/1, the provenance in the dataset label.
  Needs the optional extra `louyu-research[pandas]`.

Every export writes `<file name>.provenance.json` beside the file: settings, log position and city
of the figures (`Pinned.provenance()`), the columns with their glossary names and units, and
what was exported. A frame that names tenants is the caller's to keep out of public places.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import polars as pl

from louyu_research.core import glossary
from louyu_research.indicators.figures import Pinned

__all__ = ["FORMATS", "ExportError", "export", "provenance_path"]

Format = Literal["parquet", "csv", "dta"]
FORMATS: tuple[Format, ...] = ("parquet", "csv", "dta")
_SUFFIX = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".dta": "dta"}


class ExportError(ValueError):
    """An export that cannot be written (format, column names, a missing optional extra)."""


def provenance_path(path: str | Path) -> Path:
    """Where the provenance of an export at `path` goes: `<name>.provenance.json` beside it
    (`figures.csv` → `figures.csv.provenance.json`)."""
    p = Path(path)
    return p.with_name(f"{p.name}.provenance.json")


def _columns(frame: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for c in frame.columns:
        row: dict[str, Any] = {"name": c, "dtype": str(frame.schema[c])}
        if c in glossary.names():
            row.update(
                name_zh=glossary.label(c, "zh"),
                name_en=glossary.label(c, "en"),
                unit=glossary.unit(c),
                scope=glossary.scope(c),
            )
        out.append(row)
    return out


def export(
    data: pl.DataFrame | Pinned,
    path: str | Path,
    *,
    format: Format | None = None,
    lang: Literal["zh", "en"] | None = None,
    provenance: dict[str, Any] | None = None,
    city: str | None = None,
) -> list[Path]:
    """Write `data` (a frame, or a `Pinned` frame with its settings and log position) to
    `path` in `format` (default: from the suffix) and its provenance beside it; returns the
    files written. `lang`: CSV headers (None: column names) and Stata labels (None: English)."""
    frame = data.frame if isinstance(data, Pinned) else data
    prov = dict(provenance or (data.provenance() if isinstance(data, Pinned) else {}))
    if city is not None:
        prov["city"] = city
    p = Path(path)
    fmt = format or _SUFFIX.get(p.suffix.lower())
    if fmt not in FORMATS:
        raise ExportError(
            f"{p}: cannot tell the format from the suffix {p.suffix!r} "
            f"(give format: {', '.join(FORMATS)})"
        )
    record = {
        "file": p.name,
        "format": fmt,
        "rows": frame.height,
        **prov,
        "columns": _columns(frame),
    }
    text = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=False, default=str)
    p.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        shown = glossary.relabel(frame, lang) if lang else frame
        with open(p, "wb") as f:
            f.write("\ufeff".encode())
            shown.write_csv(f)
    elif fmt == "parquet":
        frame.write_parquet(p, metadata={"louyu": text})
    else:
        _write_stata(frame, p, lang or "en", prov)
    side = provenance_path(p)
    side.write_text(text + "\n", encoding="utf-8")
    return [p, side]


def _write_stata(frame: pl.DataFrame, path: Path, lang: str, prov: dict[str, Any]) -> None:
    try:
        import pandas  # noqa: F401  (the optional extra)
    except ImportError:
        raise ExportError(
            "Stata export needs pandas and pyarrow: pip install 'louyu-research[pandas]'"
        ) from None
    long = [c for c in frame.columns if len(c) > 32]
    if long:
        raise ExportError(f"{path}: Stata names are at most 32 characters: {', '.join(long)}")
    dates = [c for c, t in frame.schema.items() if t == pl.Date]
    prepared = frame.with_columns(
        *[pl.col(c).cast(pl.Int8) for c, t in frame.schema.items() if t == pl.Boolean],
        *[pl.col(c).fill_null("") for c, t in frame.schema.items() if t == pl.String],
        *[pl.col(c).cast(pl.Datetime("ms")) for c in dates],
    )
    labels = {
        c: glossary.label(c, lang)[:80]  # type: ignore[arg-type]
        for c in frame.columns
        if c in glossary.names()
    }
    pos = prov.get("log_position") or {}
    title = f"louyu-research; log seq {pos.get('seq')}" if pos else "louyu-research"
    prepared.to_pandas().to_stata(
        path,
        write_index=False,
        version=118,
        variable_labels=labels,
        data_label=title[:80],
        convert_dates=dict.fromkeys(dates, "td"),
    )
