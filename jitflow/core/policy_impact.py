"""What a policy change would change: the requests whose verdict or approvals differ."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImpactRow:
    id: str
    path: str
    policy: str
    requester: str
    active: bool
    before: str
    after: str
    extends: str = ""  # an extension: the grant it extends


@dataclass(frozen=True)
class ImpactReport:
    base: str
    head: str
    replayed: int
    changed: tuple[ImpactRow, ...]

    @property
    def newly_refused_active(self) -> tuple[ImpactRow, ...]:
        return tuple(r for r in self.changed if r.active and r.after.startswith("denied"))
