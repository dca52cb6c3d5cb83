"""`jitflow policy impact`'s output: the changed verdicts as text or the PR comment's Markdown."""

from __future__ import annotations

import dataclasses

from jitflow.core.policy_impact import ImpactReport
from jitflow.reporters.json_text import json_text


def render_impact(report: ImpactReport, output_format: str = "text") -> str:
    if output_format == "markdown":
        lines = [
            "### jitflow: policy change impact",
            "",
            f"Replayed {report.replayed} request(s) against policies at `{report.base[:12]}` and `{report.head[:12]}`.",
        ]
        if not report.changed:
            return (
                "\n".join([*lines, "", "No past or active request would be decided differently."])
                + "\n"
            )
        lines += ["", "| request | requester | policy | before | after |", "|---|---|---|---|---|"]
        lines += [
            f"| `{r.id}`{' (active)' if r.active else ''}{f' extends `{r.extends}`' if r.extends else ''} | @{r.requester} | `{r.policy}` | {r.before} | {r.after} |"
            for r in report.changed
        ]
        if report.newly_refused_active:
            lines += [
                "",
                f"⚠️ {len(report.newly_refused_active)} active grant(s) would not be allowed under the new policies.",
            ]
        return "\n".join(lines) + "\n"
    lines = [
        f"replayed {report.replayed} request(s); {len(report.changed)} would be decided differently"
    ]
    for r in report.changed:
        extends = f", extends {r.extends}" if r.extends else ""
        lines.append(
            f"  {r.id}{' [ACTIVE]' if r.active else ''} ({r.requester}, {r.policy}{extends})"
        )
        lines.append(f"      before: {r.before}")
        lines.append(f"      after:  {r.after}")
    for r in report.newly_refused_active:
        lines.append(f"warning: active grant {r.id} would not be allowed under the new policies")
    return "\n".join(lines) + "\n"


def render_impact_json(report: ImpactReport) -> str:
    """The report's fields; active grants newly refused by their ids."""
    refused = [r.id for r in report.newly_refused_active]
    return json_text({**dataclasses.asdict(report), "newly_refused_active": refused})
