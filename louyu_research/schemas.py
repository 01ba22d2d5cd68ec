"""Generated schema files: JSON Schema of every event type and of every validated frame.

The models in `events` (and the Pandera models of the frames) are the only definitions;
the files under `schemas/` are derived for people and other tools, and a test fails when
they are stale.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import events as ev

#: Other modules add their generated files here: name → function returning a JSON-ready dict.
FRAME_SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {}


def rendered() -> dict[str, str]:
    """Every generated file: relative path → exact text."""
    files = {f"events/{name}": ev_schema for name, ev_schema in ev.json_schemas().items()}
    with contextlib.suppress(ImportError):
        from . import frames  # noqa: F401  (registers the frame schemas when it exists)
    from . import outputs  # noqa: F401  (registers the indicator and list frames)

    files.update({f"frames/{name}.schema.json": fn() for name, fn in FRAME_SCHEMAS.items()})
    return {
        k: json.dumps(v, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        for k, v in sorted(files.items())
    }


def write_schemas(out: Path) -> list[Path]:
    written = []
    for rel, text in rendered().items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
