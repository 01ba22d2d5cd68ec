"""Shared fixtures: small event logs written to real files on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LOUYU_FONT_DIR", str(ROOT / ".venv" / "share" / "louyu-fonts"))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of a log folder except the disposable cache and append index and the lock:
    for byte-for-byte checks."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".cache" not in p.parts and ".index" not in p.parts and p.name != ".lock"
    }


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
