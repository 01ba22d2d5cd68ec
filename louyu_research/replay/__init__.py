"""Replay: the log as frames, bitemporally (as of a business date, as recorded by a point).

`log` opens a log for replay (`open_log`, `Log.replay`, `Log.panel`); the state as of a
date and the monthly BuildingMonth panel are pure functions of the events; `frames` holds
the Pandera models of every frame replay produces.
"""

from __future__ import annotations

from .log import Log, State, open_log

__all__ = ["Log", "State", "open_log"]
