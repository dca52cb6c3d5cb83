"""What a check decided and what it was decided on: the one input of the check reporters."""

from __future__ import annotations

from dataclasses import dataclass

from jitflow.core.changes import ChangeSet
from jitflow.core.evaluation import Decision


@dataclass(frozen=True)
class CheckReport:
    """The decision plus what it was decided on, for the reporters."""

    decision: Decision
    change: ChangeSet
    base_sha: str
    head_sha: str
    author: str
