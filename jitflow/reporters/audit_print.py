"""The audit report's requests as the print stylesheet shows them: one block of a few lines of
text per request instead of a table row of six narrow cells. Pure; values HTML-escaped.

Why a second form: Chromium lays a report out again to print it and keeps every line box of
that layout until the PDF is done (one long task, no garbage collection in between). Six
narrow cells wrap each row into ~40 line boxes; four full-width lines are ~5. With the table
hidden from print (and these blocks hidden from the screen), a 10,000-request report prints in
seconds with a bounded renderer instead of stalling at ~5 GB. The blocks say everything the
row says: who, what, outcome and verify findings, reason, approvals with times, merged by,
PR, requested vs granted, issue, expiry and actual end, and every evidence commit (linked).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from jitflow.core.audit_rows import AuditRow
from jitflow.core.links import RepoLinks
from jitflow.reporters.audit_html_cells import approvals_cell, evidence_cell, grant_cell, joined
from jitflow.reporters.audit_timeline import data_attrs

Finding = tuple[str, str]  # (verify code, message)

PRINT_KEY = (
    "Each request: id &middot; requester &middot; policy &middot; resource (kind) &middot; "
    "outcome / reason / approvals (UTC), merge and PR &mdash; grant: requested vs granted, "
    "issued, expires, ended (UTC) / evidence commits."
)


def _headline(row: AuditRow, findings: Sequence[Finding]) -> str:
    detail = row.outcome_detail or (f"by {row.ended_by}" if row.ended_by else "")
    glass = ' <span class="late">break-glass</span>' if row.break_glass else ""
    flag = '<span class="flag">FLAGGED</span> ' if findings else ""
    return flag + joined(
        [
            f"<b>{escape(row.id)}</b>",
            f"<b>{escape(row.requester)}</b>",
            escape(row.policy),
            f"{escape(row.resource)} ({escape(row.kind or 'not issued')}){glass}",
            f"<b>{row.outcome.value.upper()}</b> {escape(detail)}".rstrip(),
        ]
    )


def print_block(row: AuditRow, findings: Sequence[Finding], links: RepoLinks | None) -> str:
    """One request as lines of text (the block's `white-space: pre-line` breaks them)."""
    ticket = f" ({escape(row.ticket)})" if row.ticket else ""
    lines = [
        _headline(row, findings),
        *(
            f'<span class="finding">&#10008; {escape(code)}: {escape(message)}</span>'
            for code, message in findings
        ),
        f"Reason: {escape(row.reason)}{ticket}",
        f"Approved: {approvals_cell(row, links)} &mdash; Grant: {grant_cell(row)}",
        f"Evidence: {evidence_cell(row, links)}",
    ]
    css = "pr flagged" if findings else "pr"
    return f'<div class="{css}"{data_attrs(row, bool(findings))}>' + "\n".join(lines) + "</div>"


def print_blocks(
    rows: Sequence[AuditRow], findings: Mapping[str, Sequence[Finding]], links: RepoLinks | None
) -> str:
    """Every request's block, hidden on screen (the table is hidden in print)."""
    blocks = "".join(print_block(r, findings.get(r.id, ()), links) for r in rows)
    return f'<div id="print-requests"><p class="note">{PRINT_KEY}</p>{blocks}</div>'
