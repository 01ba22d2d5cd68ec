"""Generated schema files: JSON Schema of every event type and of every validated frame.

The models in `log.catalogue`, `replay.frames` and `indicators.frames` are the only
definitions; the files under `schemas/` are derived for people and other tools, and a test
fails when they are stale.
"""

from __future__ import annotations

import json
from pathlib import Path

from louyu_research.core.frame import FrameModel, json_schema
from louyu_research.indicators import frames as indicator_frames
from louyu_research.log import catalogue as ev
from louyu_research.replay import frames as replay_frames

#: Every frame the package produces, in the order of the data flow.
FRAME_MODELS: tuple[type[FrameModel], ...] = (
    *replay_frames.MODELS.values(),
    *indicator_frames.MODELS.values(),
)


def rendered() -> dict[str, str]:
    """Every generated file: relative path → exact text."""
    files = {f"events/{name}": schema for name, schema in ev.json_schemas().items()}
    files.update({f"frames/{m.__name__}.schema.json": json_schema(m) for m in FRAME_MODELS})
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
