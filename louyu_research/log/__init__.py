"""The event log: the single source of truth (contract: EVENTS.md).

`catalogue` defines every event type (drafts and stored events, validated strictly at the
door); `store` appends batches atomically to hash-chained JSON Lines segments and reads
events back as Polars frames; `chain` reads HEAD and segments and checks HEAD against the
chain; `verify` checks a snapshot and plans repairs; `cache` keeps checked Parquet copies of
sealed segments; `index` keeps what append checks a batch against (ids, references); `faults`
turns what goes wrong into one-line errors. Nothing here knows about replay, indicators or
reports.
"""

from __future__ import annotations

from .faults import LogDamaged, StorageFault
from .store import DEFAULT_LOG, EventLog, LogError

__all__ = ["DEFAULT_LOG", "EventLog", "LogDamaged", "LogError", "StorageFault"]
