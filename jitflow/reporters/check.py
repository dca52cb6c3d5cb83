"""Renderers for a check decision: text for people, JSON for tools, GitHub annotations."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from jitflow.core.approvals import ApprovalStatus, RuleStatus
from jitflow.core.check_report import CheckReport
from jitflow.core.durations import format_duration
from jitflow.core.evaluation import RequestDecision
from jitflow.core.model import Finding
from jitflow.core.times import format_time
from jitflow.reporters.escape import (
    log_line,
    markdown_code,
    markdown_text,
    one_line,
    workflow_data,
    workflow_property,
)


def verdict(report: CheckReport) -> str:
    if not report.decision.allowed:
        return "DENIED"
    if report.decision.approved:
        return "APPROVED"
    return "VALID, APPROVALS PENDING"


def _finding_line(finding: Finding) -> str:
    where = one_line(finding.path)
    if finding.line:
        where += f":{finding.line}:{finding.column}"
    prefix = f"{where}: " if where else ""
    return f"{prefix}{finding.severity.value} [{finding.code}] {one_line(finding.message)}"


def _rule_text(rule: RuleStatus) -> str:
    approved = ", ".join(rule.approved_by) or "nobody yet"
    text = f"rule {rule.index}: {rule.describe()} - approved by {approved}"
    if rule.self_approved:
        text += " (self-approval allowed by policy)"
    if rule.blocked_by:
        text += f"; changes requested by {', '.join(rule.blocked_by)}"
    if not rule.satisfied:
        text += f"; {rule.missing} more from: {', '.join(rule.eligible) or 'NOBODY ELIGIBLE'}"
    return text


def render_text(report: CheckReport) -> str:
    decision = report.decision
    lines = [
        f"jitflow check: {verdict(report)}",
        f"  base {report.base_sha[:12]}  head {report.head_sha[:12]}  author {one_line(report.author)}",
    ]
    for finding in decision.findings:
        lines.append(f"  {_finding_line(finding)}")
    for item in decision.requests:
        lines.append("")
        state = "DENIED" if not item.allowed else ("APPROVED" if item.approved else "VALID")
        lines.append(f"{one_line(item.path)} - {state}")
        lines.extend(f"  {label:<10} {one_line(value)}" for label, value in _summary(item))
        for rule in item.approvals.rules if item.approvals else ():
            lines.append(f"  approvals  {_rule_text(rule)}")
        for finding in item.findings:
            lines.append(f"  {_finding_line(finding)}")
    return "\n".join(log_line(line) for line in lines) + "\n"


def _summary(item: RequestDecision) -> list[tuple[str, str]]:
    request, policy = item.request, item.policy
    if request is None:
        return []
    rows = [("requester", request.requester)]
    if policy is not None:
        rows.append(("policy", f"{policy.name}: {policy.description}"))
        rows.append(("grants", policy.grant.describe()))
        duration = (
            format_duration(item.duration)
            if item.duration
            else f"{request.duration_text} (invalid)"
        )
        rows.append(("duration", f"{duration} (policy max {format_duration(policy.max_duration)})"))
    else:
        rows.append(("policy", request.policy))
    rows.append(("start", format_time(item.start) if item.start else "at merge"))
    rows.append(("reason", request.reason))
    if request.ticket:
        rows.append(("ticket", request.ticket))
    if item.break_glass:
        rows.append(("mode", "BREAK-GLASS: no prior approval; post-hoc review required"))
    return rows


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "message": finding.message,
        "severity": finding.severity.value,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
    }


def _approvals_json(status: ApprovalStatus | None) -> list[dict[str, Any]]:
    if status is None:
        return []
    return [
        {
            "rule": rule.index,
            "count": rule.count,
            "from": {"groups": list(rule.approvers.groups), "users": list(rule.approvers.users)},
            "approved_by": list(rule.approved_by),
            "may_approve": list(rule.eligible),
            "excluded": list(rule.excluded),
            "blocked_by": list(rule.blocked_by),
            "missing": rule.missing,
            "satisfied": rule.satisfied,
            "self_approved": rule.self_approved,
        }
        for rule in status.rules
    ]


def report_json(report: CheckReport) -> dict[str, Any]:
    decision = report.decision
    return {
        "allowed": decision.allowed,
        "approved": decision.approved,
        "base": report.base_sha,
        "head": report.head_sha,
        "author": report.author,
        "change": report.change.kind.value,
        "findings": [_finding_json(f) for f in decision.findings],
        "requests": [
            {
                "path": item.path,
                "id": item.id,
                "policy": item.request.policy if item.request else None,
                "requester": item.request.requester if item.request else None,
                "allowed": item.allowed,
                "approved": item.approved,
                "break_glass": item.break_glass,
                "duration_seconds": int(item.duration.total_seconds()) if item.duration else None,
                "start": format_time(item.start) if item.start else None,
                "grant": (
                    {
                        "kind": item.policy.grant.kind.value,
                        "mount": item.policy.grant.mount,
                        "role": item.policy.grant.role,
                    }
                    if item.policy
                    else None
                ),
                "findings": [_finding_json(f) for f in item.findings],
                "approvals_required": _approvals_json(item.approvals),
                "voided_approvals": list(item.approvals.voided) if item.approvals else [],
            }
            for item in decision.requests
        ],
    }


def render_json(report: CheckReport) -> str:
    return json.dumps(report_json(report), indent=2) + "\n"


def render_github(report: CheckReport) -> str:
    """Workflow commands GitHub turns into annotations on the PR's files.

    The human-readable part follows between `::stop-commands::` and a random token, so even a
    line that slipped through escaping could not run as a command. The step summary is
    `render_markdown`'s; the CLI appends it to `$GITHUB_STEP_SUMMARY`.
    """
    lines = []
    for finding in report.decision.all_findings():
        props = [f"title={workflow_property('jitflow ' + finding.code)}"]
        if finding.path:
            props.insert(0, f"file={workflow_property(finding.path)}")
            if finding.line:
                props.insert(1, f"line={finding.line}")
                props.insert(2, f"col={finding.column}")
        level = "error" if finding.is_error else "warning"
        lines.append(f"::{level} {','.join(props)}::{workflow_data(finding.message)}")
    token = secrets.token_hex(16)
    lines.append(f"::stop-commands::{token}")
    lines.append(render_text(report).rstrip("\n"))
    lines.append(f"::{token}::")
    return "\n".join(lines) + "\n"


def escape_markdown(text: str) -> str:
    """Neutralise markdown/HTML, mentions and autolinks in values written by the requester."""
    return markdown_text(text)


def render_markdown(report: CheckReport) -> str:
    out = [f"## jitflow check: {verdict(report)}", ""]
    for finding in report.decision.findings:
        out.append(
            f"- **{finding.code}** {markdown_code(finding.path)}: {escape_markdown(finding.message)}"
        )
    for item in report.decision.requests:
        out += ["", f"### {markdown_code(item.path)}", "", "| | |", "|---|---|"]
        out += [f"| {label} | {escape_markdown(value)} |" for label, value in _summary(item)]
        if item.approvals and item.approvals.rules:
            out += ["", "| rule | needs | approved by | may still approve |", "|---|---|---|---|"]
            for rule in item.approvals.rules:
                mark = "✅" if rule.satisfied else "⏳"
                out.append(
                    f"| {mark} {rule.index} | {escape_markdown(rule.describe())} | "
                    f"{_logins(rule.approved_by)} | {_logins(rule.eligible)} |"
                )
        for finding in item.findings:
            out.append(
                f"- ❌ **{finding.code}** line {finding.line}: {escape_markdown(finding.message)}"
            )
    return "\n".join(out) + "\n"


def _logins(logins: tuple[str, ...]) -> str:
    return ", ".join(escape_markdown(login) for login in logins) or "-"


RENDERERS: dict[str, Callable[[CheckReport], str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "markdown": render_markdown,
}


def render_reports(reports: Iterable[CheckReport], output_format: str) -> str:
    """Each report in `output_format` (text when unknown), one after another."""
    renderer = RENDERERS.get(output_format, RENDERERS["text"])
    return "".join(renderer(report) for report in reports)
