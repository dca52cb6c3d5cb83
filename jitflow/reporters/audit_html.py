"""The HTML audit report as an evidence pack: what it covers, the `audit verify` verdict, a
timeline and one row per request with its approvals, durations and links to the commits and
PR that prove it. Pure; every value from history is HTML-escaped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Protocol

from jitflow import __version__
from jitflow.core.audit_rows import AuditRow, Outcome, format_time
from jitflow.core.links import RepoLinks
from jitflow.reporters.audit_html_assets import CSS, JS
from jitflow.reporters.audit_html_cells import (
    approvals_cell,
    commit_link,
    evidence_cell,
    full_commit_link,
    grant_cell,
    joined,
)
from jitflow.reporters.audit_print import print_blocks
from jitflow.reporters.audit_timeline import COLOURS, FLAGGED, data_attrs, render_timeline


class Flag(Protocol):
    """One `audit verify` violation, as the report shows it."""

    @property
    def code(self) -> str: ...
    @property
    def request_id(self) -> str: ...
    @property
    def commit(self) -> str: ...
    @property
    def message(self) -> str: ...


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    violations: Sequence[Flag]


@dataclass(frozen=True)
class ReportContext:
    """What the report covers and where it was made from (its header)."""

    generated_at: datetime
    head: str
    repository: str
    links: RepoLinks | None = None
    since: datetime | None = None
    until: datetime | None = None
    filters: tuple[tuple[str, str], ...] = ()
    verify: VerifyResult | None = None
    version: str = __version__
    title: str = "Access audit"


def _header(ctx: ReportContext, rows: int) -> str:
    links = ctx.links
    repo = escape(ctx.repository)
    if links is not None:
        repo = f'<a href="{escape(links.base)}">{escape(links.base)}</a>'
    start = format_time(ctx.since) or "beginning of history"
    end = format_time(ctx.until) or f"{format_time(ctx.generated_at)} (now)"
    period = f"{start} to {end}"
    filters = ", ".join(f"{k} = {escape(v)}" for k, v in ctx.filters) or "none"
    items = (
        ("Repository", repo),
        ("Period", escape(period)),
        ("Filters", filters),
        ("Made from", full_commit_link(links, ctx.head)),
        ("Generated", escape(format_time(ctx.generated_at))),
        ("jitflow", escape(ctx.version)),
        ("Requests", str(rows)),
    )
    meta = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in items)
    return f'<header><h1>{escape(ctx.title)}</h1><dl class="meta">{meta}</dl></header>'


def _verdict(ctx: ReportContext, shown: set[str]) -> str:
    result = ctx.verify
    where = f"at <code>{escape(ctx.head[:12])}</code>"
    if result is None:
        return (
            f'<div class="verdict unknown" id="verdict"><h2>audit verify was not run {where}'
            "</h2></div>"
        )
    if not result.violations:
        return (
            f'<div class="verdict ok" id="verdict"><h2>&#10004; audit verify: all invariants hold '
            f"({result.checked} request(s) checked {where})</h2></div>"
        )
    items = []
    for flag in result.violations:
        target = (
            f'<a href="#req-{escape(flag.request_id)}">{escape(flag.request_id)}</a>'
            if flag.request_id in shown
            else escape(flag.request_id)
        )
        commit = f" {commit_link(ctx.links, flag.commit)}" if flag.commit else ""
        items.append(
            f"<li><b>{escape(flag.code)}</b> {target}{commit}: {escape(flag.message)}</li>"
        )
    return (
        f'<div class="verdict bad" id="verdict"><h2>&#10008; audit verify FAILED: '
        f"{len(result.violations)} violation(s) in {result.checked} request(s) checked {where}"
        f"</h2><ul>{''.join(items)}</ul></div>"
    )


def _cards(rows: Sequence[AuditRow], now: datetime, flagged: int) -> str:
    counts = Counter(r.outcome for r in rows)
    hours = sum(
        ((r.ended_at or now) - r.issued_at).total_seconds() / 3600 for r in rows if r.issued_at
    )
    cards = [
        f'<div class="card"><b>{len(rows)}</b><span>requests</span></div>',
        f'<div class="card"><b>{hours:.1f}</b><span>hours granted</span></div>',
    ]
    if flagged:
        cards.append(
            f'<div class="card"><b style="color:{FLAGGED}">{flagged}</b><span>'
            f'<i class="dot" style="background:{FLAGGED}"></i>flagged</span></div>'
        )
    for outcome in Outcome:
        if counts[outcome]:
            cards.append(
                f'<div class="card"><b>{counts[outcome]}</b><span><i class="dot" '
                f'style="background:{COLOURS[outcome]}"></i>{outcome.value}</span></div>'
            )
    return f'<div class="cards">{"".join(cards)}</div>'


def _options(values: Sequence[str]) -> str:
    return "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)


def _filters(rows: Sequence[AuditRow]) -> str:
    requesters = sorted({r.requester for r in rows if r.requester})
    policies = sorted({r.policy for r in rows if r.policy})
    outcomes = [o.value for o in Outcome if any(r.outcome is o for r in rows)]
    return (
        '<section id="filters"><div class="filters">'
        f'<label>Requester<select id="f-requester"><option value="">All</option>'
        f"{_options(requesters)}</select></label>"
        f'<label>Policy<select id="f-policy"><option value="">All</option>'
        f"{_options(policies)}</select></label>"
        f'<label>Outcome<select id="f-outcome"><option value="">All</option>'
        f"{_options(outcomes)}</select></label>"
        '<label>audit verify<select id="f-flagged"><option value="">All</option>'
        '<option value="yes">Flagged only</option><option value="no">Not flagged</option>'
        '</select></label><span id="shown"></span></div></section>'
    )


_COLUMNS = (
    ("Request", 17),
    ("Reason", 15),
    ("Approvals &amp; merge (UTC)", 17),
    ("Grant (UTC)", 21),
    ("Outcome", 14),
    ("Evidence", 16),
)


def _row(row: AuditRow, flags: Sequence[Flag], links: RepoLinks | None) -> str:
    detail = row.outcome_detail or (f"by {row.ended_by}" if row.ended_by else "")
    findings = "".join(
        f'<div class="finding">&#10008; {escape(f.code)}: {escape(f.message)}</div>' for f in flags
    )
    flag_pill = '<span class="pill flag">FLAGGED</span> ' if flags else ""
    glass = ' <span class="late">break-glass</span>' if row.break_glass else ""
    ticket = f" <span class=muted>({escape(row.ticket)})</span>" if row.ticket else ""
    cells = (
        joined(
            [
                f"<tt>{escape(row.id)}</tt>",
                f"<b>{escape(row.requester)}</b> &middot; {escape(row.policy)}",
                f"<span class=muted>{escape(row.resource)} "
                f"({escape(row.kind or 'not issued')})</span>{glass}",
            ]
        ),
        f"{escape(row.reason)}{ticket}",
        approvals_cell(row, links),
        grant_cell(row),
        f'{flag_pill}<span class="pill" style="background:{COLOURS[row.outcome]}">'
        f'{row.outcome.value}</span><div class="muted">{escape(detail)}</div>{findings}',
        evidence_cell(row, links),
    )
    css = ' class="flagged"' if flags else ""
    body = "".join(f"<td>{c}</td>" for c in cells)
    return f'<tr id="req-{escape(row.id)}"{css}{data_attrs(row, bool(flags))}>{body}</tr>'


def _table(
    rows: Sequence[AuditRow], flags: Mapping[str, list[Flag]], links: RepoLinks | None
) -> str:
    cols = "".join(f'<col style="width:{w}%">' for _, w in _COLUMNS)
    head = "".join(f"<th>{title}</th>" for title, _ in _COLUMNS)
    tables = []
    for start in range(0, max(len(rows), 1), TABLE_CHUNK):
        body = "".join(
            _row(r, flags.get(r.id, []), links) for r in rows[start : start + TABLE_CHUNK]
        )
        tables.append(
            f'<table class="requests"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )
    return f'<div id="requests">{"".join(tables)}</div>'


# Chromium paginates one 10,000-row table in minutes, 40 tables of 250 rows in seconds.
TABLE_CHUNK = 250


def render_html(rows: Sequence[AuditRow], context: ReportContext) -> str:
    """The whole report as one HTML string."""
    flags: dict[str, list[Flag]] = defaultdict(list)
    for flag in context.verify.violations if context.verify else ():
        flags[flag.request_id].append(flag)
    findings = {key: [(f.code, f.message) for f in found] for key, found in flags.items()}
    shown = {r.id for r in rows}
    flagged_shown = shown & set(flags)
    timeline, note = render_timeline(rows, context.generated_at, flagged_shown)
    legend = "".join(
        f'<span><i class="dot" style="background:{COLOURS[o]}"></i>{o.value}</span>'
        for o in Outcome
    )
    legend += (
        f'<span><i class="dot" style="background:{FLAGGED}"></i>flagged by audit verify</span>'
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(context.title)} - {escape(context.repository)}</title><style>{CSS}</style></head>
<body>
{_header(context, len(rows))}
<main>
{_verdict(context, shown)}
{_cards(rows, context.generated_at, len(flagged_shown))}
{_filters(rows)}
<section id="timeline-section"><h2>Grants per resource</h2>{timeline}
<div class="legend">{legend}</div><p class="note">{escape(note)}</p></section>
<section><h2>Requests</h2>{_table(rows, flags, context.links)}
{print_blocks(rows, findings, context.links)}</section>
</main>
<script>{JS}</script>
</body></html>
"""
