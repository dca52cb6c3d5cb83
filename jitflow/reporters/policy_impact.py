"""`jitflow policy impact`'s output: the changed verdicts as text or the PR comment's Markdown."""

from __future__ import annotations

import dataclasses

from jitflow.core.policy_impact import ImpactReport, ImpactRow
from jitflow.reporters.escape import markdown_code, markdown_mention, markdown_text, one_line
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
        lines += [_markdown_row(r) for r in report.changed]
        if report.newly_refused_active:
            lines += [
                "",
                f"⚠️ {len(report.newly_refused_active)} active grant(s) would not be allowed under the new policies.",
            ]
        return "\n".join(lines) + "\n"
    lines = [
        f"replayed {report.replayed} request(s); {len(report.changed)} would be decided differently"
    ]
    for r in report.changed:  # one line per value, whatever line breaks a file held
        extends = f", extends {one_line(r.extends)}" if r.extends else ""
        lines.append(
            f"  {one_line(r.id)}{' [ACTIVE]' if r.active else ''} "
            f"({one_line(r.requester)}, {one_line(r.policy)}{extends})"
        )
        lines.append(f"      before: {one_line(r.before)}")
        lines.append(f"      after:  {one_line(r.after)}")
    for r in report.newly_refused_active:
        lines.append(
            f"warning: active grant {one_line(r.id)} would not be allowed under the new policies"
        )
    return "\n".join(lines) + "\n"


def _markdown_row(row: ImpactRow) -> str:
    """One table row; every value came from a request file or the PR's policies: inert, and
    no `|` of theirs can split the row (GitHub splits cells on it even inside code)."""
    request = _cell_code(row.id) + (" (active)" if row.active else "")
    if row.extends:
        request += f" extends {_cell_code(row.extends)}"
    requester = markdown_mention(row.requester).replace("|", "\\|")
    cells = (request, requester, _cell_code(row.policy), markdown_text(row.before))
    return "| " + " | ".join((*cells, markdown_text(row.after))) + " |"


def _cell_code(text: str) -> str:
    return markdown_code(text).replace("|", "\\|")


def render_impact_json(report: ImpactReport) -> str:
    """The report's fields; active grants newly refused by their ids."""
    refused = [r.id for r in report.newly_refused_active]
    return json_text({**dataclasses.asdict(report), "newly_refused_active": refused})
