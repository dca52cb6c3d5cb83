"""The reviewer's summary posted on a request PR, and the two commit status lines.

Everything a requester wrote is escaped: a reason can't inject markdown, links or HTML.
`PULL_REQUEST_FEEDBACK` is what the CLI gives the live gate (jitflow.usecases.gate) to say
its verdict on the PR: the gate posts, this module renders.
"""

from __future__ import annotations

from jitflow.core.approvals import ApprovalStatus, RuleStatus
from jitflow.core.change_gate import ChangeGateReport
from jitflow.core.changes import ChangeKind
from jitflow.core.check_report import CheckReport
from jitflow.core.durations import format_duration
from jitflow.core.evaluation import RequestDecision
from jitflow.core.model import Finding
from jitflow.core.times import format_time
from jitflow.reporters.change_gate import render_change_comment
from jitflow.reporters.check import escape_markdown, verdict
from jitflow.reporters.escape import markdown_code, markdown_mention, url_path


def status_descriptions(report: CheckReport) -> tuple[str, str, str, str]:
    """(policy state, policy text, approval state, approval text) for the commit statuses."""
    decision = report.decision
    errors = [f for f in decision.all_findings() if f.is_error]
    if not decision.allowed:
        first = errors[0].message if errors else "no request to check"
        text = f"{len(errors)} problem(s): {first}"
        return "failure", text, "failure", "the request is invalid; fix it first"
    policy_text = f"{len(decision.requests)} request(s) valid under policy"
    if decision.approved:
        marks = [
            _mode(r.approvals) for r in decision.requests if r.approvals and _mode(r.approvals)
        ]
        return "success", policy_text, "success", "; ".join(["approved", *marks])
    missing = [
        f"{rule.missing} more from {rule.approvers.describe()}"
        + (f" (changes requested by {', '.join(rule.blocked_by)})" if rule.blocked_by else "")
        for r in decision.requests
        for rule in (r.approvals.rules if r.approvals else ())
        if not rule.satisfied
    ]
    return "success", policy_text, "pending", "waiting: " + "; ".join(missing)


def _mode(status: ApprovalStatus) -> str:
    if status.break_glass:
        return "BREAK-GLASS, post-hoc review required"
    if status.waived:
        return status.waived
    if any(rule.self_approved for rule in status.rules):
        return "self-approval counted (policy allows it)"
    return ""


def render_pr_comment(report: CheckReport, blob_url: str) -> str:
    """Markdown for the one PR comment jitflow keeps up to date."""
    lines = [f"### jitflow: {verdict(report)}", ""]
    if report.change.kind is ChangeKind.REVOCATION:
        lines += [
            "This PR **revokes** active grants early. Sync revokes them in Vault after merge.",
            "",
        ]
    for finding in report.decision.findings:
        lines.append(f"- ❌ {_finding(finding, blob_url)}")
    for item in report.decision.requests:
        lines += _request_section(item, blob_url)
    lines += [
        "",
        f"<sub>Checked head `{report.head_sha[:12]}` against policies at base `{report.base_sha[:12]}`. "
        "Policies are always read from the base branch; approvals count only while every "
        "request file stays byte-identical.</sub>",
    ]
    return "\n".join(lines) + "\n"


def _request_section(item: RequestDecision, blob_url: str) -> list[str]:
    request, policy = item.request, item.policy
    lines = ["", f"#### {markdown_code(item.path)}", ""]
    if request is not None:
        rows = [("Requester", markdown_mention(request.requester))]
        if policy is not None:
            grant = policy.grant
            rows.append(
                ("Policy", f"{markdown_code(policy.name)}: {escape_markdown(policy.description)}")
            )
            rows.append(
                (
                    "Vault grants",
                    escape_markdown(grant.describe()) + f" (kind `{grant.kind.value}`)",
                )
            )
            if item.duration:
                rows.append(
                    (
                        "Duration",
                        f"{format_duration(item.duration)} (max {format_duration(policy.max_duration)})",
                    )
                )
        if request.extends:
            total = policy.extension.total_max if policy and policy.extension else None
            limit = f" (at most {format_duration(total)} in all)" if total else ""
            rows.append(
                (
                    "Extends",
                    f"{markdown_code(request.extends)}: runs on from its current end{limit}",
                )
            )
        rows.append(("Start", format_time(item.start) if item.start else "at merge"))
        if request.reason and report_reason(request.reason):
            rows.append(("Reason", escape_markdown(request.reason)))
        if request.ticket:
            rows.append(("Ticket", escape_markdown(request.ticket)))
        lines += ["| | |", "|---|---|", *(f"| **{k}** | {v} |" for k, v in rows)]
    status = item.approvals
    if status is not None:
        lines += _approval_lines(status)
    for finding in item.findings:
        lines.append(f"- ❌ {_finding(finding, blob_url)}")
    return lines


def report_reason(reason: str) -> bool:
    return bool(reason.strip())


def _approval_lines(status: ApprovalStatus) -> list[str]:
    lines = [""]
    mode = _mode(status)
    if status.break_glass:
        lines.append(
            "> [!WARNING]\n> **Break-glass request**: issued without prior approval; the policy's approvers must review it afterwards."
        )
    elif mode:
        lines.append(f"> {mode}")
    if status.rules:
        lines += ["", "| Rule | Needs | Approved by | May still approve |", "|---|---|---|---|"]
        lines += [_rule_row(rule) for rule in status.rules]
    if status.voided:
        voided = ", ".join(markdown_mention(login) for login in status.voided)
        lines.append(
            f"\n⚠️ Approvals by {voided} were **voided** because a request file changed after they reviewed; they need to approve again."
        )
    ignored = [
        r
        for r in status.reviews
        if not r.counted and r.state.value == "APPROVED" and r.reviewer not in status.voided
    ]
    for review in ignored:
        lines.append(
            f"- approval by {markdown_mention(review.reviewer)} does not count: "
            + escape_markdown(review.note)
        )
    return lines


def _rule_row(rule: RuleStatus) -> str:
    mark = "✅" if rule.satisfied else ("⛔" if rule.blocked_by else "⏳")
    approved = ", ".join(markdown_mention(x) for x in rule.approved_by) or "-"
    if rule.self_approved:
        approved += " (self)"
    may = ", ".join(markdown_mention(x) for x in rule.eligible) if not rule.satisfied else "-"
    if rule.blocked_by:
        may += f"; changes requested by {', '.join(markdown_mention(x) for x in rule.blocked_by)}"
    return f"| {mark} {rule.index} | {escape_markdown(rule.describe())} | {approved} | {may or 'nobody eligible'} |"


def _finding(finding: Finding, blob_url: str) -> str:
    text = f"**{finding.code}**: {escape_markdown(finding.message)}"
    if finding.path and finding.line:
        link = f"{blob_url}/{url_path(finding.path)}#L{finding.line}"
        text += f" ([{escape_markdown(finding.path)} line {finding.line}]({link}))"
    elif finding.path:
        text += f" ({markdown_code(finding.path)})"
    return text


class PullRequestFeedback:
    """The gate's verdict as GitHub shows it: the two commit statuses and the PR comment."""

    def statuses(self, report: CheckReport) -> tuple[str, str, str, str]:
        return status_descriptions(report)

    def comment(self, report: CheckReport, blob_url: str) -> str:
        return render_pr_comment(report, blob_url)

    def change_comment(self, report: ChangeGateReport) -> str:
        return render_change_comment(report)


PULL_REQUEST_FEEDBACK = PullRequestFeedback()
