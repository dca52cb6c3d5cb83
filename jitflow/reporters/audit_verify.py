"""`jitflow audit verify`'s output: each violation with its evidence, then the verdict."""

from __future__ import annotations

import dataclasses
import json

from jitflow.core.verify_report import VerifyReport, Violation


def violation_line(violation: Violation) -> str:
    where = f" at {violation.commit[:12]}" if violation.commit else ""
    return f"{violation.code}: {violation.request_id}{where}: {violation.message}"


def render_verify_text(report: VerifyReport) -> str:
    """One line per violation and per check not made, then how many requests were checked."""
    lines = [violation_line(v) for v in report.violations]
    lines += [f"not checked: {note}" for note in report.unchecked]
    lines.append(
        f"{report.requests_checked} request(s) checked at {report.head[:12]}: "
        + ("all invariants hold" if report.ok else f"{len(report.violations)} violation(s)")
    )
    return "\n".join(lines)


def render_verify_json(report: VerifyReport) -> str:
    """`{ok, head, requests_checked, violations, unchecked}`."""
    return json.dumps({"ok": report.ok, **dataclasses.asdict(report)}, indent=2)
