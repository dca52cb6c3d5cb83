"""The self-contained HTML audit report: summary, per-resource SVG timeline, filters, table.

One file, no network: CSS and JS are inline so the report can be attached to a ticket or
opened from an air-gapped laptop. Every value from history is HTML-escaped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape

from jitflow.core.audit_rows import AuditRow, Outcome, format_time

COLOURS = {
    Outcome.ACTIVE: "#16a34a",
    Outcome.WAITING: "#94a3b8",
    Outcome.EXPIRED: "#2563eb",
    Outcome.REVOKED: "#d97706",
    Outcome.DENIED: "#dc2626",
    Outcome.FAILED: "#7c3aed",
}
_STEPS = [timedelta(hours=h) for h in (1, 2, 3, 6, 12, 24, 48, 96, 168, 336, 720, 2160)]
CHART_WIDTH, LABEL_WIDTH, TRACK_HEIGHT, LANE_GAP, AXIS_HEIGHT = 1160, 230, 18, 12, 28

_CSS = """
:root{--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--card:#fff}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--ink);background:var(--bg)}
header{background:linear-gradient(120deg,#0f172a,#1e3a8a);color:#fff;padding:22px 32px}
header h1{margin:0;font-size:22px;font-weight:650;letter-spacing:.2px}
header p{margin:4px 0 0;color:#cbd5e1;font-size:13px}
header code{color:#e2e8f0}
main{padding:20px 32px 40px;max-width:1500px;margin:0 auto}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:18px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 16px;
min-width:120px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
.card b{display:block;font-size:22px}
.card span{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.6px}
.dot{display:inline-block;width:10px;height:10px;border-radius:3px;margin-right:6px;
vertical-align:0}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 18px;
margin-bottom:18px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
section h2{margin:0 0 10px;font-size:15px}
.filters{display:flex;gap:14px;align-items:end;flex-wrap:wrap}
.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted);gap:4px}
select{font:inherit;padding:5px 8px;border:1px solid #cbd5e1;border-radius:6px;background:#fff;
min-width:160px}
#shown{margin-left:auto;color:var(--muted);font-size:13px}
svg{width:100%;height:auto;display:block}
svg text{font:12px system-ui,sans-serif;fill:var(--ink)}
svg .tick{fill:var(--muted);font-size:11px}
svg .grid{stroke:var(--line)}
svg .lane{fill:#f1f5f9}
svg .bar{stroke:rgba(15,23,42,.25);stroke-width:.5}
svg .bar:hover{stroke:#0f172a;stroke-width:1.5}
.legend{display:flex;gap:16px;margin-top:8px;color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;font-weight:600;color:var(--muted);border-bottom:2px solid var(--line);
padding:6px 8px;white-space:nowrap}
td{border-bottom:1px solid var(--line);padding:6px 8px;vertical-align:top}
tr:hover td{background:#f8fafc}
td code{font-size:12px;color:#334155}
.pill{display:inline-block;padding:1px 8px;border-radius:999px;color:#fff;font-size:12px;
font-weight:600}
.muted{color:var(--muted)}
.when{white-space:nowrap}
td code{white-space:nowrap}
.hidden{display:none}
"""

_JS = """
(function(){
  var sel = {requester: document.getElementById('f-requester'),
             policy: document.getElementById('f-policy'),
             outcome: document.getElementById('f-outcome')};
  function keep(el){
    for (var k in sel){ var v = sel[k].value; if (v && el.getAttribute('data-' + k) !== v)
      return false; }
    return true;
  }
  function apply(){
    var shown = 0;
    document.querySelectorAll('[data-row]').forEach(function(el){
      var ok = keep(el); el.classList.toggle('hidden', !ok);
      if (ok && el.tagName === 'TR') shown++;
    });
    document.getElementById('shown').textContent = shown + ' request(s) shown';
  }
  var preset = new URLSearchParams(location.hash.slice(1));
  for (var k in sel) {
    if (preset.get(k)) sel[k].value = preset.get(k);
    sel[k].addEventListener('change', apply);
  }
  apply();
})();
"""


def _step_for(span: timedelta) -> timedelta:
    for step in _STEPS:
        if span / step <= 10:
            return step
    return _STEPS[-1]


def _tracks(rows: Sequence[AuditRow], now: datetime) -> list[list[AuditRow]]:
    """Pack a lane's grants into tracks so overlapping bars don't hide each other."""
    tracks: list[list[AuditRow]] = []
    ends: list[datetime] = []
    for row in sorted(rows, key=lambda r: r.span(now) or (now, now)):
        start, end = row.span(now) or (now, now)
        for index, last_end in enumerate(ends):
            if last_end <= start:
                tracks[index].append(row)
                ends[index] = end
                break
        else:
            tracks.append([row])
            ends.append(end)
    return tracks


def _tooltip(row: AuditRow) -> str:
    lines = [
        f"{row.id}",
        f"{row.requester} via {row.policy} ({row.outcome.value})",
        f"issued {format_time(row.issued_at)} - ended {format_time(row.ended_at) or 'not yet'}",
        f"approved by {', '.join(row.approvers) or 'nobody'}",
        f"reason: {row.reason}",
    ]
    return "\n".join(lines)


def _data_attrs(row: AuditRow) -> str:
    return (
        f' data-row="1" data-requester="{escape(row.requester)}" '
        f'data-policy="{escape(row.policy)}" data-outcome="{row.outcome.value}"'
    )


def render_timeline(rows: Sequence[AuditRow], now: datetime) -> str:
    """Inline SVG: one lane per resource, one bar per issued grant from issue to end."""
    granted = [r for r in rows if r.issued_at is not None]
    if not granted:
        return '<p class="muted">No grants were issued in this period.</p>'
    lanes: dict[str, list[AuditRow]] = defaultdict(list)
    for row in granted:
        lanes[row.resource or row.policy].append(row)
    spans = [r.span(now) for r in granted]
    first = min(s[0] for s in spans if s)
    last = max(s[1] for s in spans if s)
    span = max(last - first, timedelta(hours=1))
    plot = CHART_WIDTH - LABEL_WIDTH - 16

    def x(moment: datetime) -> float:
        return LABEL_WIDTH + plot * ((moment - first) / span)

    parts: list[str] = []
    y = AXIS_HEIGHT
    for name in sorted(lanes):
        tracks = _tracks(lanes[name], now)
        height = len(tracks) * (TRACK_HEIGHT + 4) + 8
        parts.append(
            f'<rect class="lane" x="{LABEL_WIDTH}" y="{y}" width="{plot}" height="{height}" '
            f'rx="6"/><text class="lane-label" x="{LABEL_WIDTH - 12}" '
            f'y="{y + height / 2 - 1:.1f}" text-anchor="end">{escape(name)}</text>'
            f'<text class="tick" x="{LABEL_WIDTH - 12}" y="{y + height / 2 + 12:.1f}" '
            f'text-anchor="end">{escape(lanes[name][0].kind)}</text>'
        )
        for index, track in enumerate(tracks):
            top = y + 6 + index * (TRACK_HEIGHT + 4)
            for row in track:
                start, end = row.span(now) or (now, now)
                left = x(start)
                width = max(x(end) - left, 4.0)
                parts.append(
                    f'<rect class="bar"{_data_attrs(row)} x="{left:.1f}" y="{top}" '
                    f'width="{width:.1f}" height="{TRACK_HEIGHT}" rx="3" '
                    f'fill="{COLOURS[row.outcome]}"><title>{escape(_tooltip(row))}</title></rect>'
                )
        y += height + LANE_GAP
    step = _step_for(span)
    ticks: list[str] = []
    tick = first.replace(minute=0, second=0, microsecond=0)
    if step >= timedelta(days=1):
        tick = tick.replace(hour=0)
    while tick <= last:
        if tick >= first and x(tick) < CHART_WIDTH - 40:
            label = tick.strftime("%b %d" if step >= timedelta(days=1) else "%b %d %H:%M")
            ticks.append(
                f'<line class="grid" x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{AXIS_HEIGHT - 6}"'
                f' y2="{y - LANE_GAP}"/><text class="tick" x="{x(tick):.1f}" '
                f'y="{AXIS_HEIGHT - 12}" text-anchor="middle">{label}</text>'
            )
        tick += step
    return (
        f'<svg id="timeline" viewBox="0 0 {CHART_WIDTH} {y}" role="img" '
        f'aria-label="Grants per resource over time">{"".join(ticks)}{"".join(parts)}</svg>'
    )


def _options(values: Sequence[str]) -> str:
    return "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)


def _short(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _table(rows: Sequence[AuditRow]) -> str:
    head = (
        "<tr><th>Request</th><th>Requester</th><th>Policy</th><th>Granted</th>"
        "<th>Approvers</th><th>Issued (UTC)</th><th>Ended (UTC)</th><th>Outcome</th><th>Reason</th>"
        "<th>Evidence</th></tr>"
    )
    body = []
    for row in rows:
        outcome = row.outcome.value
        detail = row.outcome_detail or (f"by {row.ended_by}" if row.ended_by else "")
        evidence = " ".join(
            f'<code title="{label} {sha}">{label}:{sha[:7]}</code>'
            for label, sha in (
                ("merge", row.evidence.merge_commit),
                ("issue", row.evidence.issue_commit),
                ("end", row.evidence.end_commit),
            )
            if sha
        )
        body.append(
            f"<tr{_data_attrs(row)}><td><code>{escape(row.id)}</code></td>"
            f'<td>{escape(row.requester)}</td><td class="when">{escape(row.policy)}</td>'
            f"<td>{escape(row.resource)}<div class=muted>{escape(row.kind)}</div></td>"
            f"<td>{escape(', '.join(row.approvers)) or '<span class=muted>none</span>'}</td>"
            f'<td class="when">{_short(row.issued_at)}</td><td class="when">{_short(row.ended_at)}</td>'
            f'<td><span class="pill" style="background:{COLOURS[row.outcome]}">{outcome}</span>'
            f'<div class="muted">{escape(detail)}</div></td>'
            f"<td>{escape(row.reason)}"
            f"{f' <span class=muted>({escape(row.ticket)})</span>' if row.ticket else ''}</td>"
            f"<td>{evidence}{f' <span class=muted>PR #{row.pr}</span>' if row.pr else ''}</td>"
            "</tr>"
        )
    return f'<table id="requests"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def render_html(rows: Sequence[AuditRow], *, generated_at: datetime, head: str) -> str:
    """The whole report as one HTML string."""
    counts = Counter(r.outcome for r in rows)
    hours = sum(
        ((r.ended_at or generated_at) - r.issued_at).total_seconds() / 3600
        for r in rows
        if r.issued_at
    )
    cards = [
        f'<div class="card"><b>{len(rows)}</b><span>requests</span></div>',
        f'<div class="card"><b>{hours:.1f}</b><span>hours granted</span></div>',
    ]
    for outcome in Outcome:
        if counts[outcome]:
            cards.append(
                f'<div class="card"><b>{counts[outcome]}</b><span><i class="dot" '
                f'style="background:{COLOURS[outcome]}"></i>{outcome.value}</span></div>'
            )
    legend = "".join(
        f'<span><i class="dot" style="background:{COLOURS[o]}"></i>{o.value}</span>'
        for o in Outcome
    )
    requesters = sorted({r.requester for r in rows if r.requester})
    policies = sorted({r.policy for r in rows if r.policy})
    outcomes = [o.value for o in Outcome if counts[o]]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>jitflow access audit</title><style>{_CSS}</style></head>
<body>
<header><h1>Access audit</h1>
<p>Generated {format_time(generated_at)} from git history at <code>{escape(head[:12])}</code>
 &middot; every row links to the commits that prove it</p></header>
<main>
<div class="cards">{"".join(cards)}</div>
<section><div class="filters">
<label>Requester<select id="f-requester"><option value="">All</option>
{_options(requesters)}</select></label>
<label>Policy<select id="f-policy"><option value="">All</option>{_options(policies)}</select>
</label>
<label>Outcome<select id="f-outcome"><option value="">All</option>{_options(outcomes)}</select>
</label><span id="shown"></span></div></section>
<section><h2>Grants per resource</h2>{render_timeline(rows, generated_at)}
<div class="legend">{legend}</div></section>
<section><h2>Requests</h2>{_table(rows)}</section>
</main>
<script>{_JS}</script>
</body></html>
"""
