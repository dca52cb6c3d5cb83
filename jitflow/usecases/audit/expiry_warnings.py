"""`audit verify` for expiry warnings: the empty runner commits `Jitflow-Event: warn`.

A warning tells the requester their grant ends soon, and a later sync takes it as done (it
never warns twice). So a forged or misplaced one hides a warning, or claims one that never
was. Codes (README, for auditors):

- `warning-forged`: a commit on main says `Jitflow-Event: warn` but its author or committer
  is not the runner (a runner's own is also signature-checked, as every ledger commit).
- `warning-misplaced`: the warning names no grant issued before it was written (never issued,
  not yet issued), comes at or after the grant's expiry, or its `Jitflow-Expires` is not the
  end the grant's record says. (Compared with the expiry, not with an earlier actual end: a
  warning's time is its run's clock, which a demo or a late run may set apart from the end's.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from jitflow.core.audit_rows import AuditRow
from jitflow.core.history import Commit, parse_time, parse_trailers, split_list
from jitflow.core.times import format_time
from jitflow.core.verify_report import Violation

_MARK = "jitflow-event: warn"


@dataclass(frozen=True)
class _Warning:
    sha: str
    at: datetime
    request_id: str
    expires: datetime | None


@dataclass(frozen=True)
class _Life:
    issued_at: datetime | None
    expires_at: datetime | None


@dataclass
class WarningCommits:
    """Fed every commit (newest first) and every grant's row; checks the warnings at the end."""

    runner_email: str
    warnings: list[_Warning] = field(default_factory=list)
    lives: dict[str, _Life] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)

    def feed(self, commit: Commit) -> None:
        if not commit.on_main or _MARK not in commit.message.lower():
            return
        trailers = parse_trailers(commit.message)
        if trailers.get("jitflow-event") != "warn":
            return
        ids = split_list(trailers.get("jitflow-request", ""))
        runner = self.runner_email.lower()
        if runner != commit.author_email.lower() or runner != commit.committer_email.lower():
            self.violations.append(
                Violation(
                    "warning-forged",
                    ids[0] if ids else "",
                    commit.sha,
                    f"a warning commit by {commit.author_email} (committer "
                    f"{commit.committer_email}), not the runner {self.runner_email}",
                )
            )
            return
        expires = parse_time(trailers.get("jitflow-expires"))
        for request_id in ids or [""]:
            self.warnings.append(_Warning(commit.sha, commit.committed_at, request_id, expires))

    def grant(self, row: AuditRow) -> None:
        if row.issued_at is None:
            return
        self.lives[row.id] = _Life(row.issued_at, row.expires_at)

    def check(self) -> list[Violation]:
        return self.violations + [
            Violation("warning-misplaced", warning.request_id, warning.sha, problem)
            for warning in self.warnings
            if (problem := self._problem(warning))
        ]

    def _problem(self, warning: _Warning) -> str:
        life = self.lives.get(warning.request_id)
        if life is None:
            return f"warns of {warning.request_id or 'no request'}, which was never issued"
        if life.issued_at is not None and warning.at < life.issued_at:
            return f"written at {format_time(warning.at)}, before the grant was issued"
        if life.expires_at is not None and warning.at >= life.expires_at:
            return f"written at {format_time(warning.at)}, once the grant had expired"
        if warning.expires != life.expires_at:
            said = format_time(warning.expires) if warning.expires else "nothing"
            real = format_time(life.expires_at) if life.expires_at else "none"
            return f"says the grant expires at {said}, its record at {real}"
        return ""
