"""`jitflow audit sample` as one HTML document: per sampled event, the request as merged, the PR
and its approvals with times, the policy (and groups) in force at the merge, the ledger commits
and the `audit verify` verdict for that grant. Pure; one grant per printed page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from jitflow import __version__
from jitflow.core.audit_rows import format_time
from jitflow.core.links import RepoLinks
from jitflow.core.sampling import SampleEvent, SampleKind
from jitflow.reporters.audit_html import Flag
from jitflow.reporters.audit_html_assets import CSS
from jitflow.reporters.audit_html_cells import commit_link, full_commit_link, pr_link

SAMPLE_CSS = """
.grant h2{font-size:16px}
.grant.flagged{border:2px solid var(--bad)}
.facts{table-layout:auto;margin-bottom:10px}
.facts th{width:190px;white-space:nowrap;border-bottom:1px solid var(--line);font-weight:600}
pre{background:#f8fafc;border:1px solid var(--line);border-radius:8px;padding:8px 10px;
font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0 10px}
h3{font-size:13px;margin:12px 0 4px}
.ok{color:var(--good);font-weight:600}
.toc td,.toc th{padding:3px 8px}
@media print{.grant{break-before:page;border:none}pre{font-size:8.5px}}
"""


@dataclass(frozen=True)
class CommitInfo:
    label: str  # request, merge, policies, issue, revocation, end
    sha: str
    subject: str
    author: str
    at: datetime | None


@dataclass(frozen=True)
class SampledGrant:
    event: SampleEvent
    request_text: str  # requests/<id>.yaml as merged ("" when history lacks it)
    policy_path: str
    policy_text: str  # the policy file at the policy commit ("" when missing there)
    groups_text: str
    commits: tuple[CommitInfo, ...]
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class SampleContext:
    generated_at: datetime
    head: str
    repository: str
    seed: int
    count: int
    kinds: tuple[SampleKind, ...]
    population: int
    links: RepoLinks | None = None
    since: datetime | None = None
    until: datetime | None = None
    version: str = __version__


def _when(moment: datetime | None) -> str:
    return format_time(moment) or "-"


def _facts(grant: SampledGrant, links: RepoLinks | None) -> str:
    row = grant.event.row
    times = dict(row.approved_at)
    approvals = ", ".join(
        f"{escape(a)} at {_when(times.get(a)) if a in times else 'time not recorded'}"
        for a in row.approvers
    )
    facts = (
        ("Event", f"{grant.event.kind.value} at {_when(grant.event.at)}"),
        ("Requester", escape(row.requester)),
        ("Policy", escape(row.policy)),
        ("Resource", f"{escape(row.resource)} ({escape(row.kind or 'not issued')})"),
        ("Reason", escape(row.reason) + (f" ({escape(row.ticket)})" if row.ticket else "")),
        ("Pull request", pr_link(links, row.pr) or "not recorded"),
        ("Approvals", approvals or "none recorded"),
        ("Merged", f"by {escape(row.merged_by) or '-'} at {_when(row.merged_at)}"),
        ("Duration", f"requested {row.requested_seconds or '-'} s, granted "
                     f"{row.granted_seconds or '-'} s"),
        ("Issued / expires", f"{_when(row.issued_at)} / {_when(row.expires_at)}"),
        ("Ended", f"{_when(row.ended_at)}: {row.outcome.value}"
                  + (f" by {escape(row.ended_by)}" if row.ended_by else "")
                  + (f" ({escape(row.outcome_detail)})" if row.outcome_detail else "")),
        ("Break-glass", "yes" if row.break_glass else "no"),
    )  # fmt: skip
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    return f'<table class="facts">{body}</table>'


def _verdict(grant: SampledGrant) -> str:
    if not grant.flags:
        return '<p class="ok">&#10004; audit verify: no violation for this grant</p>'
    items = "".join(f"<li><b>{escape(f.code)}</b>: {escape(f.message)}</li>" for f in grant.flags)
    return (
        '<div class="verdict bad"><h2>&#10008; audit verify: '
        f"{len(grant.flags)} violation(s)</h2><ul>{items}</ul></div>"
    )


def _commits(grant: SampledGrant, links: RepoLinks | None) -> str:
    if not grant.commits:
        return '<p class="muted">no commit recorded</p>'
    body = "".join(
        f"<tr><td>{escape(c.label)}</td><td>{commit_link(links, c.sha)}</td>"
        f"<td>{escape(c.subject)}</td><td>{escape(c.author)}</td><td>{_when(c.at)}</td></tr>"
        for c in grant.commits
    )
    return (
        "<table><thead><tr><th>step</th><th>commit</th><th>subject</th><th>author</th>"
        f"<th>time (UTC)</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _text_block(title: str, text: str, missing: str) -> str:
    inner = f"<pre>{escape(text)}</pre>" if text else f'<p class="muted">{missing}</p>'
    return f"<h3>{title}</h3>{inner}"


def _grant(index: int, grant: SampledGrant, links: RepoLinks | None) -> str:
    row = grant.event.row
    policy_commit = row.evidence.policy_commit
    at = f" at {commit_link(links, policy_commit)}" if policy_commit else ""
    css = "grant flagged" if grant.flags else "grant"
    return (
        f'<section class="{css}" id="sample-{index}"><h2>{index}. {grant.event.kind.value} '
        f"&middot; {_when(grant.event.at)} &middot; <code>{escape(row.id)}</code></h2>"
        f"{_verdict(grant)}{_facts(grant, links)}"
        f"{_text_block('Request as merged', grant.request_text, 'not in history')}"
        + _text_block(
            f"Policy in force at the merge: {escape(grant.policy_path)}{at}",
            grant.policy_text,
            "the policy file did not exist at the policy commit",
        )
        + _text_block(f"Groups at the merge: policies/groups.yaml{at}", grant.groups_text, "none")
        + f"<h3>Ledger commits</h3>{_commits(grant, links)}</section>"
    )


def _contents(grants: Sequence[SampledGrant]) -> str:
    rows = "".join(
        f'<tr><td><a href="#sample-{i}">{i}</a></td><td>{g.event.kind.value}</td>'
        f"<td>{_when(g.event.at)}</td><td><code>{escape(g.event.row.id)}</code></td>"
        f"<td>{escape(g.event.row.requester)}</td>"
        f"<td>{'&#10008; ' + str(len(g.flags)) if g.flags else '&#10004;'}</td></tr>"
        for i, g in enumerate(grants, start=1)
    )
    return (
        '<table class="toc"><thead><tr><th>#</th><th>event</th><th>time (UTC)</th>'
        "<th>request</th><th>requester</th><th>verify</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def render_sample(grants: Sequence[SampledGrant], ctx: SampleContext) -> str:
    repo = escape(ctx.repository)
    if ctx.links is not None:
        repo = f'<a href="{escape(ctx.links.base)}">{escape(ctx.links.base)}</a>'
    period = f"{_when(ctx.since) if ctx.since else 'beginning of history'} to " + (
        _when(ctx.until) if ctx.until else f"{_when(ctx.generated_at)} (now)"
    )
    kinds = " and ".join(k.value for k in ctx.kinds)
    meta = (
        ("Repository", repo),
        ("Period", period),
        ("Population", f"{ctx.population} {kinds} event(s)"),
        ("Sample", f"{len(grants)} of {ctx.count} asked, seed {ctx.seed}"),
        ("Made from", full_commit_link(ctx.links, ctx.head)),
        ("Generated", _when(ctx.generated_at)),
        ("jitflow", escape(ctx.version)),
    )
    dl = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in meta)
    redo = (
        f"Reproduce: <code>jitflow audit sample --count {ctx.count} --seed {ctx.seed}"
        + ("" if len(ctx.kinds) > 1 else f" --kind {ctx.kinds[0].value}")
        + f" --ref {escape(ctx.head[:12])}</code> (plus the same --since/--until)"
    )
    body = "".join(_grant(i, g, ctx.links) for i, g in enumerate(grants, start=1))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Access audit sample - {escape(ctx.repository)}</title>
<style>{CSS}{SAMPLE_CSS}</style></head>
<body><header><h1>Access audit: sampled evidence</h1><dl class="meta">{dl}</dl></header>
<main><section><h2>Sampled events</h2><p class="note">{redo}</p>{_contents(grants)}</section>
{body}</main></body></html>
"""
