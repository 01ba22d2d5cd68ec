"""The event log: the single source of truth (contract: EVENTS.md).

`catalogue` defines every event type (drafts and stored events, validated strictly);
`store` appends batches atomically to hash-chained JSON Lines segments, verifies and
repairs the chain, and reads events back as Polars frames. Nothing here knows about
replay, indicators or reports.
"""

from __future__ import annotations

from .store import DEFAULT_LOG, EventLog, LogError

__all__ = ["DEFAULT_LOG", "EventLog", "LogError"]
