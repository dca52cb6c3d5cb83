"""`jitflow policy test`'s output: PASS or FAIL per case, each difference, then the tally."""

from __future__ import annotations

from jitflow.core.policy_cases import PolicyTestReport
from jitflow.reporters.json_text import json_text


def render_policy_tests(report: PolicyTestReport) -> str:
    lines = []
    for result in report.results:
        mark = "PASS" if result.passed else "FAIL"
        lines.append(f"{mark} {result.file}:{result.line} {result.name}")
        if not result.passed:
            for key in result.expected:
                if result.expected[key] != result.actual.get(key):
                    lines.append(f"    {key}: expected {result.expected[key]!r}")
                    lines.append(f"    {' ' * len(key)}       got {result.actual.get(key)!r}")
            lines.extend(f"    finding {message}" for message in result.messages)
    failed = sum(not r.passed for r in report.results)
    total = len(report.results)
    lines.append(
        f"{failed} of {total} policy cases FAILED" if failed else f"all {total} policy cases pass"
    )
    return "\n".join(lines) + "\n"


def render_policy_tests_json(report: PolicyTestReport) -> str:
    """`{passed, results}` with each case's differences."""
    return json_text({"passed": report.passed, "results": report.results})
