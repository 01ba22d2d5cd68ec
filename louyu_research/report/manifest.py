"""Manifests: what a published report was built from, and fingerprints of what it says.

A report's manifest pins the log position it was built from (seq, its recorded_at, the chain
hash at that seq), the parameters, the package and locked dependency versions, and a SHA-256
of every data output in a canonical form. It does not name the renderer: Quarto and the
offline renderer give the same publication, and a rebuild with either must leave the
committed manifest unchanged. Rebuilding a published quarter uses
the pinned position, so corrections appended later cannot change it; `verify-reports`
rebuilds and compares the fingerprints.

Canonical forms (why: the same figures must hash the same on any machine, any day):
- a table: rows sorted by every column, floats rounded to `SIGNIFICANT_DIGITS` significant
  digits (parallel sums may differ in the last bits between runs; 12 digits still resolve a
  fen in ¥10 bn), written as CSV (UTF-8, `\\n`, header first);
- a chart: its Vega-Lite spec with inline datasets renamed by position (Altair names them
  after a hash of their values), floats rounded the same way, JSON with sorted keys.
The manifest carries a hash of its own canonical content, so an edit by hand is detected.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tomllib
from pathlib import Path
from typing import Any

import polars as pl

from louyu_research import __version__

SIGNIFICANT_DIGITS = 12
MANIFEST_NAME = "manifest.json"
FORMAT = "louyu-report-manifest/1"


def canonical_table(frame: pl.DataFrame) -> bytes:
    """A table as canonical CSV bytes (see module docstring)."""
    rounded = frame.with_columns(pl.col(pl.Float32, pl.Float64).round_sig_figs(SIGNIFICANT_DIGITS))
    ordered = rounded.sort(rounded.columns, nulls_last=True) if rounded.width else rounded
    return ordered.write_csv(line_terminator="\n").encode("utf-8")


def canonical_rows(columns: list[str], rows: list[list[Any]]) -> bytes:
    """A report table (labels and typed rows, in the order shown) as canonical CSV bytes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            ["" if v is None else json.dumps(_round_floats(v), ensure_ascii=False) for v in row]
        )
    return out.getvalue().encode("utf-8")


def _round_floats(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {k: _round_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round_floats(v) for v in value]
    return value


def canonical_spec(spec: dict[str, Any]) -> bytes:
    """A Vega-Lite spec as canonical JSON bytes (datasets renamed by position, floats rounded)."""
    text = json.dumps(spec, sort_keys=True, ensure_ascii=False)
    for i, name in enumerate(sorted(spec.get("datasets", {}))):
        text = text.replace(json.dumps(name), json.dumps(f"dataset-{i}"))
    normal = _round_floats(json.loads(text))
    normal.pop("$schema", None)  # the schema URL names the Vega-Lite version, recorded elsewhere
    return json.dumps(normal, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def locked_versions(lock: Path) -> dict[str, str]:
    """name → version of every package in `uv.lock` (what the report's environment was)."""
    if not lock.exists():
        return {}
    data = tomllib.loads(lock.read_text("utf-8"))
    return {p["name"]: p.get("version", "") for p in data.get("package", [])}


def _self_hash(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    )


def build_manifest(
    *,
    quarter: str,
    parameters: dict[str, Any],
    position: dict[str, Any],
    outputs: dict[str, str],
    lock: Path,
    settings: dict[str, Any],
    city: dict[str, Any] | None = None,
    revised_from: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble a manifest (outputs: relative path → SHA-256 of its canonical form)."""
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "quarter": quarter,
        "parameters": parameters,
        "log_position": position,
        "settings": settings,
        **({"city": city} if city is not None else {}),
        "package": {"name": "louyu-research", "version": __version__},
        "dependencies": locked_versions(lock),
        "outputs": dict(sorted(outputs.items())),
    }
    if revised_from is not None:
        manifest["revised_from"] = revised_from
    manifest["manifest_sha256"] = _self_hash(manifest)
    return manifest


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    path = folder / MANIFEST_NAME
    path.write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n", "utf-8"
    )
    return path


class ManifestError(ValueError):
    """A manifest that is unreadable, of another format, or edited by hand."""


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise ManifestError(f"{path}: unreadable: {err}") from None
    if manifest.get("format") != FORMAT:
        raise ManifestError(f"{path}: unknown format {manifest.get('format')!r}")
    if manifest.get("manifest_sha256") != _self_hash(manifest):
        raise ManifestError(
            f"{path}: edited by hand (its manifest_sha256 does not match its content)"
        )
    return manifest


def compare_outputs(published: dict[str, str], rebuilt: dict[str, str]) -> list[str]:
    """One line per output whose fingerprint differs, appeared or disappeared."""
    return [
        f"{name}: published {published.get(name, '(none)')[:12]}, rebuilt {rebuilt.get(name, '(none)')[:12]}"
        for name in sorted(set(published) | set(rebuilt))
        if published.get(name) != rebuilt.get(name)
    ]
