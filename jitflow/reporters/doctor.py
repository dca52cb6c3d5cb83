"""`jitflow doctor`'s output: one line per check, each problem followed by its fix."""

from __future__ import annotations

import json

from jitflow.core.doctor import Check, CheckStatus
from jitflow.core.doctor_report import DoctorReport, summary

SYMBOLS = {CheckStatus.OK: "✓", CheckStatus.WARN: "!", CheckStatus.FAIL: "✗", CheckStatus.SKIP: "-"}


def render_doctor(report: DoctorReport, output_format: str) -> str:
    if output_format == "json":
        return render_json(report)
    return render_text(report)


def render_json(report: DoctorReport) -> str:
    counts = summary(report)
    data = {
        "repository": str(report.repo),
        "branch": report.branch,
        "ok": not report.failed,
        "summary": {status.value: counts[status] for status in CheckStatus},
        "checks": [
            {"section": section.name, **_check_json(check)}
            for section in report.sections
            for check in section.checks
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _check_json(check: Check) -> dict[str, object]:
    return {
        "id": check.id,
        "status": check.status.value,
        "message": check.message,
        "fix": check.fix,
        "details": list(check.details),
    }


def render_text(report: DoctorReport) -> str:
    lines = [f"jitflow doctor: {report.repo} (branch {report.branch})"]
    for section in report.sections:
        lines.append("")
        lines.append(section.name)
        for check in section.checks:
            lines.append(f"  {SYMBOLS[check.status]} {check.id}: {check.message}")
            if check.status is CheckStatus.OK:
                continue
            if check.fix:
                first, *rest = check.fix.splitlines()
                lines.append(f"      fix: {first}")
                lines.extend(f"           {line}" for line in rest)
            lines.extend(f"      | {line}" for line in check.details)
    counts = summary(report)
    lines.append("")
    verdict = "problems found" if report.failed else "no problems found"
    lines.append(
        f"{verdict}: {counts[CheckStatus.FAIL]} failed, {counts[CheckStatus.WARN]} warning(s), "
        f"{counts[CheckStatus.SKIP]} skipped, {counts[CheckStatus.OK]} ok"
    )
    return "\n".join(lines) + "\n"
