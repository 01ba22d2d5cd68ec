"""The report's one CJK font directory, shared by vl-convert (charts) and Typst (PDF).

Chinese labels only come out right everywhere (SVG, PNG, PDF) on a fresh machine when every
renderer is handed the same font files, instead of each guessing from the system. Setup copies
Noto Sans CJK into ``<venv>/share/louyu-fonts``; this module finds that folder and registers it.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

#: The family every renderer is asked for (it covers Latin digits as well as Chinese).
FONT_FAMILY = "Noto Sans CJK SC"
#: CSS/Vega font stack: the project's font first, common CJK system fonts as fallbacks.
FONT_STACK = f'"{FONT_FAMILY}", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
#: Where Debian's fonts-noto-cjk puts the same files (the last resort).
SYSTEM_FONT_DIR = Path("/usr/share/fonts/opentype/noto")
_FONT_SUFFIXES = (".ttc", ".otf", ".ttf")


class FontsNotFound(RuntimeError):
    """No CJK font directory: charts and PDFs would show missing-glyph boxes."""


def _has_cjk_font(folder: Path) -> bool:
    return folder.is_dir() and any(
        p.suffix.lower() in _FONT_SUFFIXES and "cjk" in p.name.lower() for p in folder.iterdir()
    )


def candidate_dirs() -> list[Path]:
    """Where the font is looked for, in order: $LOUYU_FONT_DIR, the venv's copy, Debian's."""
    dirs: list[Path] = []
    env = os.environ.get("LOUYU_FONT_DIR")
    if env:
        dirs.append(Path(env))
    dirs.append(Path(sys.prefix) / "share" / "louyu-fonts")
    dirs.append(SYSTEM_FONT_DIR)
    return dirs


def font_dir() -> Path:
    """The first candidate folder that holds a CJK font file (absolute path)."""
    env = os.environ.get("LOUYU_FONT_DIR")
    if env and not _has_cjk_font(Path(env)):
        raise FontsNotFound(
            f"LOUYU_FONT_DIR={env} holds no CJK font file (*.ttc/*.otf/*.ttf with 'CJK' in its name)"
        )
    for folder in candidate_dirs():
        if _has_cjk_font(folder):
            return folder.resolve()
    looked = ", ".join(str(d) for d in candidate_dirs())
    raise FontsNotFound(
        f"no CJK font found (looked in {looked}); run `make setup` or apt-get install fonts-noto-cjk"
    )


@cache
def _register(folder: str) -> None:
    import vl_convert as vlc

    vlc.register_font_directory(folder)


def register_fonts() -> Path:
    """Give the font directory to vl-convert (once per process) and return it for Typst."""
    folder = font_dir()
    _register(str(folder))
    return folder


def typst_font_paths() -> list[str]:
    """The `font_paths` argument for the `typst` compiler."""
    return [str(font_dir())]
