"""What the HTML reports say about one request: commit and PR links, times, durations,
approvals, the grant's life and its evidence commits. Shared by the audit report's table rows
and its print rows, and by `audit sample`. Pure; every value from history is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape

from jitflow.core.audit_rows import AuditRow
from jitflow.core.durations import format_duration
from jitflow.core.links import RepoLinks


def short_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def commit_link(links: RepoLinks | None, sha: str, label: str = "") -> str:
    """A short commit id (monospace), linked to the commit when the remote is known. Lean on
    purpose: a 10,000-grant report carries 60,000 of them and Chromium prints every one."""
    prefix = f"{label} " if label else ""
    if links is None:
        return f"{prefix}<tt>{escape(sha[:8])}</tt>"
    return f'{prefix}<a class="c" href="{escape(links.commit(sha))}">{escape(sha[:8])}</a>'


def full_commit_link(links: RepoLinks | None, sha: str) -> str:
    if links is None:
        return f"<code>{escape(sha)}</code>"
    return f'<a href="{escape(links.commit(sha))}"><code>{escape(sha)}</code></a>'


def pr_link(links: RepoLinks | None, number: int | None) -> str:
    if number is None:
        return ""
    if links is None:
        return f"PR #{number}"
    return f'<a href="{escape(links.pull(number))}">PR #{number}</a>'


def joined(parts: Sequence[str]) -> str:
    """Facts of one cell run together, separated by a dot: no element per fact, so 10,000 rows
    stay cheap to lay out and print (the cell wraps at its fixed width)."""
    return " &middot; ".join(parts)


def seconds_text(value: int | None) -> str:
    return format_duration(timedelta(seconds=value)) if value else "-"


def end_vs_expiry(row: AuditRow) -> str:
    if row.ended_at is None or row.expires_at is None:
        return ""
    delta = row.ended_at - row.expires_at
    if delta > timedelta(minutes=15):
        return f' <span class="late">{format_duration(delta)} after expiry</span>'
    if delta >= timedelta(0):
        return f' <span class="muted">(+{format_duration(delta)})</span>'
    return f' <span class="muted">({format_duration(-delta)} early)</span>'


def on_call(rotation: str) -> str:
    return f" (on call: {escape(rotation)})" if rotation else ""


def approvals_cell(row: AuditRow, links: RepoLinks | None) -> str:
    times, rotations = dict(row.approved_at), dict(row.oncall)
    who = [
        f"{escape(a)}{on_call(rotations.get(a, ''))} <span class=muted>"
        f"{short_time(times[a]) if a in times else 'time not recorded'}</span>"
        for a in row.approvers
    ]
    if row.oncall_waived:
        who.append(
            f"approval waived: {escape(row.requester)} on call ({escape(row.oncall_waived)})"
        )
    if not who:
        who = ['<span class="muted">no approval recorded</span>']
    if row.merged_by:
        who.append(f"merged by <b>{escape(row.merged_by)}</b> {short_time(row.merged_at)}")
    if row.pr is not None:
        who.append(pr_link(links, row.pr))
    return joined(who)


def grant_cell(row: AuditRow) -> str:
    if row.issued_at is None:
        ended = [f"ended {short_time(row.ended_at)}"] if row.ended_at else []
        return joined(['<span class="muted">not issued</span>', *ended])
    asked, got = row.requested_seconds, row.granted_seconds
    capped = " <span class=late>capped</span>" if asked and got and got < asked else ""
    lines = [
        f"requested {seconds_text(asked)} &middot; granted {seconds_text(got)}{capped}",
        f"issued {short_time(row.issued_at)}",
        f"expires {short_time(row.expires_at)}",
        f"ended {short_time(row.ended_at)}{end_vs_expiry(row)}",
    ]
    if row.extends:
        lines.append(f"extends <tt>{escape(row.extends)}</tt>")
    if row.not_revocable:
        lines.append(
            f'<span class="late">can\'t be revoked early: {escape(row.not_revocable)}</span>'
        )
    if row.end_note:
        lines.append(f'<span class="late">ended early, {escape(row.end_note)}</span>')
    if row.warned_at:
        lines.append(f"warned of expiry {short_time(row.warned_at)}")
    return joined(lines)


def evidence_cell(row: AuditRow, links: RepoLinks | None) -> str:
    ev = row.evidence
    pairs = (
        ("request", ev.request_commit),
        ("merge", ev.merge_commit),
        ("policies", ev.policy_commit),
        ("issue", ev.issue_commit),
        ("revocation", ev.revocation_commit),
        ("end", ev.end_commit),
    )
    return joined([commit_link(links, sha, label) for label, sha in pairs if sha])
