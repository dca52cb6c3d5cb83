"""The ledger anchor: the last tip the runner pushed, as Vault holds it outside git."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class LedgerAnchor:
    tip: str  # the commit the runner pushed
    written_at: datetime | None = None  # Vault's own time of the write (KV v2 `created_time`)
