"""`jitflow audit review`: a quarterly access review, one markdown report per policy.

Reviewers want to know, per policy, who actually used it, how often and for how long, and
what was refused, so they can trim requester lists and approval rules.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from jitflow.adapters.git import Git
from jitflow.core.access_review import PolicyReview
from jitflow.core.audit_rows import AuditRow, Outcome
from jitflow.errors import UsageError
from jitflow.reporters.audit_review import render_review
from jitflow.usecases.audit.gitlog import head_of
from jitflow.usecases.audit.report import AuditOptions, iter_rows


@dataclass(frozen=True)
class ReviewOptions:
    repo: Path = Path(".")
    ref: str = "HEAD"
    period: timedelta = timedelta(days=90)
    now: datetime | None = None
    output: Path | None = None  # a directory; stdout when None
    runner_email: str | None = None


def _hours(row: AuditRow, now: datetime, since: datetime) -> float:
    """Hours the grant existed inside the review period."""
    if row.issued_at is None:
        return 0.0
    start = max(row.issued_at, since)
    end = min(row.ended_at or now, now)
    return max((end - start).total_seconds(), 0.0) / 3600


def collect(options: ReviewOptions) -> tuple[str, dict[str, PolicyReview]]:
    now = options.now or datetime.now(UTC)
    since = now - options.period
    git = Git(options.repo)
    head = head_of(git, options.ref)
    audit = AuditOptions(
        repo=options.repo, since=since, until=now, now=now, runner_email=options.runner_email
    )
    reviews: dict[str, PolicyReview] = defaultdict(PolicyReview)
    for row in iter_rows(audit, git, head, now):
        review = reviews[row.policy or "(unknown policy)"]
        usage = review.by_requester[row.requester or "(unknown)"]
        if row.outcome is Outcome.DENIED:
            usage.denied += 1
            if len(review.denials) < 50:
                review.denials.append(row)
            continue
        if row.issued_at is None:
            continue
        usage.grants += 1
        usage.hours += _hours(row, now, since)
        usage.revoked += row.outcome is Outcome.REVOKED
        usage.break_glass += row.break_glass
        usage.last_used = max(filter(None, (usage.last_used, row.issued_at)))
        for approver in row.approvers:
            review.approvers[approver] += 1
    return head, reviews


def _safe_name(policy: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in policy).strip(".") or "_"


def run_review(options: ReviewOptions, stdout: TextIO | None = None) -> dict[str, str]:
    """Write one markdown report per policy; return them by policy name."""
    now = options.now or datetime.now(UTC)
    options = ReviewOptions(
        options.repo, options.ref, options.period, now, options.output, options.runner_email
    )
    since = now - options.period
    head, reviews = collect(options)
    reports = {
        name: render_review(name, reviews[name], since=since, now=now, head=head)
        for name in sorted(reviews)
    }
    if options.output is None:
        out = stdout or sys.stdout
        out.write("\n\n".join(reports.values()) or "No requests in the period.\n")
        return reports
    try:
        options.output.mkdir(parents=True, exist_ok=True)
        for name, text in reports.items():
            (options.output / f"{_safe_name(name)}.md").write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the review to {options.output}: {exc.strerror}") from exc
    return reports
