"""Writing audit rows as table, CSV, JSON and markdown, row by row (no list of all rows)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import datetime
from json.encoder import encode_basestring as _str  # json.dumps' own escaping, ensure_ascii=False
from typing import Any, TextIO

from jitflow.core.audit_rows import AuditRow, format_time
from jitflow.reporters.escape import markdown_code, markdown_text, one_line

COLUMNS = (
    "id",
    "requester",
    "policy",
    "kind",
    "resource",
    "reason",
    "ticket",
    "break_glass",
    "requested_at",
    "approvers",
    "approved_by_oncall",
    "oncall_waived",
    "merged_at",
    "merged_by",
    "pr",
    "issued_at",
    "expires_at",
    "ended_at",
    "outcome",
    "ended_by",
    "outcome_detail",
    "not_revocable",
    "end_note",
    "extends",
    "extended_by",
    "warned_at",
    "request_commit",
    "merge_commit",
    "issue_commit",
    "end_commit",
    "revocation_commit",
)


def row_to_dict(row: AuditRow) -> dict[str, Any]:
    """A row as plain JSON values, with the evidence SHAs flattened in."""
    return {
        "id": row.id,
        "requester": row.requester,
        "policy": row.policy,
        "kind": row.kind,
        "resource": row.resource,
        "reason": row.reason,
        "ticket": row.ticket or None,
        "break_glass": row.break_glass,
        "requested_at": format_time(row.requested_at) or None,
        "approvers": list(row.approvers),
        **({"approved_by_oncall": dict(row.oncall)} if row.oncall else {}),
        **({"oncall_waived": row.oncall_waived} if row.oncall_waived else {}),
        **({"not_revocable": row.not_revocable} if row.not_revocable else {}),
        **({"end_note": row.end_note} if row.end_note else {}),
        "merged_at": format_time(row.merged_at) or None,
        "merged_by": row.merged_by or None,
        "pr": row.pr,
        "issued_at": format_time(row.issued_at) or None,
        "expires_at": format_time(row.expires_at) or None,
        "ended_at": format_time(row.ended_at) or None,
        "outcome": row.outcome.value,
        "ended_by": row.ended_by or None,
        "outcome_detail": row.outcome_detail or None,
        "extends": row.extends or None,
        "extended_by": row.extended_by or None,
        "warned_at": format_time(row.warned_at) or None,
        "request_commit": row.evidence.request_commit or None,
        "merge_commit": row.evidence.merge_commit or None,
        "issue_commit": row.evidence.issue_commit or None,
        "end_commit": row.evidence.end_commit or None,
        "revocation_commit": row.evidence.revocation_commit or None,
    }


def row_json(row: AuditRow) -> str:
    """One row of the JSON report, as `write_json` writes it (and the incremental cache keeps):
    `json.dumps(row_to_dict(row), ensure_ascii=False)`, written directly (an audit writes one
    per request; tests/audit/test_row_json.py proves the two texts equal)."""
    ev = row.evidence
    extras = row.oncall or row.oncall_waived or row.not_revocable or row.end_note
    return "".join(
        (
            '{"id": ',
            _str(row.id),
            ', "requester": ',
            _str(row.requester),
            ', "policy": ',
            _str(row.policy),
            ', "kind": ',
            _str(row.kind),
            ', "resource": ',
            _str(row.resource),
            ', "reason": ',
            _str(row.reason),
            ', "ticket": ',
            _opt(row.ticket),
            ', "break_glass": ',
            "true" if row.break_glass else "false",
            ', "requested_at": ',
            _time(row.requested_at),
            ', "approvers": [',
            ", ".join(map(_str, row.approvers)),
            "]",
            _extras(row) if extras else "",
            ', "merged_at": ',
            _time(row.merged_at),
            ', "merged_by": ',
            _opt(row.merged_by),
            ', "pr": ',
            _int(row.pr),
            ', "issued_at": ',
            _time(row.issued_at),
            ', "expires_at": ',
            _time(row.expires_at),
            ', "ended_at": ',
            _time(row.ended_at),
            ', "outcome": ',
            _str(row.outcome.value),
            ', "ended_by": ',
            _opt(row.ended_by),
            ', "outcome_detail": ',
            _opt(row.outcome_detail),
            ', "extends": ',
            _opt(row.extends),
            ', "extended_by": ',
            _opt(row.extended_by),
            ', "warned_at": ',
            _time(row.warned_at),
            ', "request_commit": ',
            _opt(ev.request_commit),
            ', "merge_commit": ',
            _opt(ev.merge_commit),
            ', "issue_commit": ',
            _opt(ev.issue_commit),
            ', "end_commit": ',
            _opt(ev.end_commit),
            ', "revocation_commit": ',
            _opt(ev.revocation_commit),
            "}",
        )
    )


def _extras(row: AuditRow) -> str:
    """The keys `row_to_dict` writes only when they say something."""
    parts = []
    if row.oncall:
        oncall = dict(row.oncall)  # as row_to_dict: a repeated approver's last rotation
        pairs = ", ".join(f"{_str(a)}: {_str(r)}" for a, r in oncall.items())
        parts.append(f', "approved_by_oncall": {{{pairs}}}')
    for key in ("oncall_waived", "not_revocable", "end_note"):
        value = getattr(row, key)
        if value:
            parts.append(f", {_str(key)}: {_str(value)}")
    return "".join(parts)


def _opt(text: str | None) -> str:
    """A text, or null when empty (as `text or None` dumps)."""
    return _str(text) if text else "null"


def _time(value: datetime | None) -> str:
    """A time in the ledger's form (ASCII digits and separators: nothing to escape), or null."""
    return f'"{format_time(value)}"' if value else "null"


def _int(value: int | None) -> str:
    """As `json.dumps` writes an int (a bool is an int: true/false), or null."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    return int.__repr__(value)


def write_json(rows: Iterable[AuditRow], out: TextIO, *, generated_at: str, head: str) -> int:
    """`{"generated_at", "repository": {"head"}, "rows": [...]}`, streamed row by row."""
    return write_json_rows(map(row_json, rows), out, generated_at=generated_at, head=head)


def write_json_rows(rows: Iterable[str], out: TextIO, *, generated_at: str, head: str) -> int:
    """The JSON report around rows already written by `row_json`."""
    out.write("{\n")
    out.write(f'  "generated_at": {json.dumps(generated_at)},\n')
    out.write(f'  "repository": {{"head": {json.dumps(head)}}},\n')
    out.write('  "rows": [')
    count = 0
    for text in rows:
        out.write(",\n    " if count else "\n    ")
        out.write(text)
        count += 1
    out.write("\n  ]\n}\n" if count else "]\n}\n")
    return count


def write_csv(rows: Iterable[AuditRow], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        values = row_to_dict(row)
        values["approved_by_oncall"] = ";".join(f"{a}:{r}" for a, r in row.oncall)
        values.setdefault("oncall_waived", "")
        values.setdefault("not_revocable", "")
        values.setdefault("end_note", "")
        writer.writerow(
            [";".join(values[c]) if c == "approvers" else _cell(values[c]) for c in COLUMNS]
        )
        count += 1
    return count


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # A spreadsheet runs a cell that starts like a formula: keep it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# id, requester, policy, issued, outcome, approvers: 99 columns with separators
_TABLE = (
    (34, "ID"),
    (10, "REQUESTER"),
    (16, "POLICY"),
    (16, "ISSUED (UTC)"),
    (8, "OUTCOME"),
    (10, "APPROVERS"),
)


def _fit(text: str, width: int) -> str:
    text = one_line(text)
    return text if len(text) <= width else text[: width - 1] + "~"


_NOTE_WIDTH = 99  # as the rows: 99 columns


def table_notes(row: AuditRow) -> list[str]:
    """What a row's six columns can't hold and every other format shows: the expiry warning,
    why its credentials can't be revoked early, and an early end's note."""
    notes = []
    if row.warned_at:
        notes.append(f"warned of expiry {format_time(row.warned_at)}")
    if row.not_revocable:
        notes.append(f"can't be revoked early: {row.not_revocable}")
    if row.end_note:
        notes.append(f"ended early, {row.end_note}")
    return notes


def write_table(rows: Iterable[AuditRow], out: TextIO, *, fit: bool = True) -> int:
    """A fixed-width table, one line per request, followed by its notes (`table_notes`)
    indented on lines of their own; on a terminal (`fit`) long cells and notes are cut to
    stay within 100 columns, elsewhere (a pipe, a file) everything is written whole, so ids
    stay usable."""
    out.write(" ".join(title.ljust(width) for width, title in _TABLE).rstrip() + "\n")
    count = 0
    for row in rows:
        start = row.issued_at or row.merged_at
        cells = (
            row.id,
            row.requester,
            row.policy,
            start.strftime("%Y-%m-%d %H:%M") if start else "-",
            row.outcome.value,
            ",".join(row.approvers_shown()) or "-",
        )
        line = " ".join(
            (_fit(cell, width) if fit else one_line(cell)).ljust(width)
            for cell, (width, _) in zip(cells, _TABLE, strict=True)
        )
        out.write(line.rstrip() + "\n")
        for note in table_notes(row):
            out.write("  " + (_fit(note, _NOTE_WIDTH - 2) if fit else one_line(note)) + "\n")
        count += 1
    out.write(f"{count} request(s)\n")
    return count


def _md(text: str) -> str:
    return markdown_text(text)


def write_markdown(rows: Iterable[AuditRow], out: TextIO, *, generated_at: str, head: str) -> int:
    out.write("# Access audit\n\n")
    out.write(f"Generated {generated_at} from git history at `{head[:12]}`.\n\n")
    out.write(
        "| Request | Requester | Policy | Granted | Approvers | Issued | Ended | Outcome "
        "| Reason | Evidence |\n"
    )
    out.write("|---|---|---|---|---|---|---|---|---|---|\n")
    count = 0
    for row in rows:
        outcome = row.outcome.value
        if row.ended_by and row.outcome.value in ("revoked",):
            outcome += f" by {row.ended_by}"
        if row.outcome_detail:
            outcome += f" ({row.outcome_detail})"
        if row.end_note:
            outcome += f"; {row.end_note}"
        if row.warned_at:
            outcome += f"; warned {format_time(row.warned_at)}"
        evidence = ", ".join(
            f"{label} `{sha[:8]}`"
            for label, sha in (
                ("merge", row.evidence.merge_commit),
                ("issue", row.evidence.issue_commit),
                ("end", row.evidence.end_commit),
            )
            if sha
        )
        cells = (
            markdown_code(row.id),
            _md(row.requester),
            _md(row.policy),
            _md(f"{row.kind} {row.resource}".strip()),
            _md(", ".join(row.approvers_shown())),
            format_time(row.issued_at),
            format_time(row.ended_at),
            _md(outcome),
            _md(row.reason + (f" ({row.ticket})" if row.ticket else "")),
            evidence + (f" (PR #{row.pr})" if row.pr else ""),
        )
        out.write("| " + " | ".join(cells) + " |\n")
        count += 1
    out.write(f"\n{count} request(s).\n")
    return count
