"""An access review's aggregates for one policy: who used it, how much, who approved, denials.

Bounded by people, not by history: `jitflow audit review` fills them row by row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from jitflow.core.audit_rows import AuditRow


@dataclass
class Usage:
    """One requester's use of a policy in the period."""

    grants: int = 0
    hours: float = 0.0
    denied: int = 0
    revoked: int = 0
    break_glass: int = 0
    last_used: datetime | None = None


@dataclass
class PolicyReview:
    """Aggregates for one policy (bounded by people, not by history)."""

    by_requester: dict[str, Usage] = field(default_factory=lambda: defaultdict(Usage))
    approvers: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    denials: list[AuditRow] = field(default_factory=list)
