"""louyu-research: the building economy (楼宇经济) of a city, from an append-only event log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "open_log"]

if TYPE_CHECKING:
    from louyu_research.replay.log import open_log


def __getattr__(name: str) -> Any:
    # Imported on first use: the CLI's --help should not pay for Pandera and the replay.
    if name == "open_log":
        from louyu_research.replay.log import open_log

        return open_log
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
