"""The PR comment on a pull request that asks for no access (the policy-change gate)."""

from __future__ import annotations

from jitflow.core.change_gate import ChangeDetails, ChangeGateReport
from jitflow.reporters.escape import markdown_code, markdown_text
from jitflow.reporters.policy_cases import render_policy_tests
from jitflow.reporters.policy_impact import render_impact


def render_change_comment(report: ChangeGateReport) -> str:
    lines = [
        f"## jitflow: PR #{report.number} asks for no access",
        "",
        f"- `jitflow/policy`: {report.policy.state}: {report.policy.description}",
        f"- `jitflow/approval`: {report.approval.state}: {report.approval.description}",
    ]
    return "\n".join([*lines, *("\n" + d for d in _paragraphs(report.details))]) + "\n"


def _paragraphs(details: ChangeDetails) -> list[str]:
    """Markdown paragraphs, in this order: unreadable teams, outbound findings, broken
    policies, why the tests can't run, the tests' outcome, the impact."""
    paragraphs = []
    if details.teams_error is not None:
        named = ", ".join(markdown_code(t) for t in details.unreadable_teams)
        paragraphs.append(
            f"**A code owner team can't be read, so no approval counts** ({named}). "
            f"{markdown_text(details.teams_error)}"
        )
    if details.outbound_findings:
        paragraphs.append(
            "\n".join(
                f"- {markdown_code(f'{f.path}:{f.line}:{f.column}')}: {markdown_text(f.message)}"
                for f in details.outbound_findings
            )
        )
    if details.broken_policies:
        paragraphs.append("\n".join(f"- {finding}" for finding in details.broken_policies))
    if details.tests_error is not None:
        paragraphs.append(details.tests_error)
    if details.tests is not None:
        paragraphs.append(f"```\n{render_policy_tests(details.tests).rstrip()}\n```")
    if details.impact is not None:
        paragraphs.append(render_impact(details.impact, "markdown"))
    return paragraphs
