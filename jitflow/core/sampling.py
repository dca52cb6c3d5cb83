"""Sampling ledger events the way a SOC 2 Type II auditor does: a reproducible random pick of
provisioning (issue) and termination (end) events. Pure: rows in, events out; the seed makes
the pick repeatable by anyone holding the same history.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from jitflow.core.audit_rows import AuditRow, Outcome


class SampleKind(StrEnum):
    ISSUE = "issue"  # provisioning: a grant was issued
    END = "end"  # termination: a grant expired, was revoked, or failed and was revoked


_ENDS = (Outcome.EXPIRED, Outcome.REVOKED, Outcome.FAILED)


@dataclass(frozen=True)
class SampleEvent:
    kind: SampleKind
    at: datetime
    row: AuditRow


def population(
    rows: Iterable[AuditRow],
    kinds: Iterable[SampleKind],
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[SampleEvent]:
    """Every event of the wanted kinds inside [since, until], in a fixed order (time, id)."""
    wanted = set(kinds)
    events = []
    for row in rows:
        if SampleKind.ISSUE in wanted and row.issued_at is not None:
            events.append(SampleEvent(SampleKind.ISSUE, row.issued_at, row))
        if SampleKind.END in wanted and row.outcome in _ENDS and row.ended_at is not None:
            events.append(SampleEvent(SampleKind.END, row.ended_at, row))
    inside = [
        e for e in events if (since is None or e.at >= since) and (until is None or e.at <= until)
    ]
    return sorted(inside, key=lambda e: (e.at, e.row.id, e.kind.value))


def draw(events: list[SampleEvent], count: int, seed: int) -> list[SampleEvent]:
    """`count` events picked at random with `seed` (all of them when there are fewer),
    listed in time order. The same events and seed always give the same pick."""
    picker = random.Random(seed)  # noqa: S311 -- reproducibility, not secrecy, is the point
    chosen = picker.sample(range(len(events)), min(count, len(events)))
    return [events[i] for i in sorted(chosen)]
