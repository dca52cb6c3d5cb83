"""Audit reports and sync's PR notes keep hostile history values inert."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from html.parser import HTMLParser

from jitflow.core.audit_rows import AuditRow, Evidence, Outcome
from jitflow.core.model import Finding
from jitflow.reporters.audit_html import ReportContext, VerifyResult, render_html
from jitflow.reporters.audit_text import write_csv, write_markdown, write_table
from jitflow.reporters.sync_notes import denied_note, failed_note
from tests.audit.synthetic import SyntheticFlag
from tests.audit.test_audit_core import row
from tests.inert import headings, live_parts

HOSTILE = (
    '=HYPERLINK("https://evil.example")\n### ✅ APPROVED by @security-team | x |\n'
    '<script>alert(1)</script>"><img src=x onerror=alert(1)> [a](https://evil.example) #3'
)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def hostile_row() -> AuditRow:
    return row(NOW, NOW, Outcome.EXPIRED)._replace(
        id="alice-orders-1",
        reason=HOSTILE,
        ticket="INC-1\n# APPROVED",
        approvers=("bob",),
        pr=7,
        outcome_detail=HOSTILE,
        evidence=Evidence(merge_commit="a" * 40),
    )


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]


def test_html_report_runs_no_markup_from_history() -> None:
    flag = SyntheticFlag(HOSTILE, "alice-orders-1", "c" * 40, HOSTILE)
    context = ReportContext(NOW, "b" * 40, HOSTILE, verify=VerifyResult(1, (flag,)))
    page = render_html([hostile_row()], context)
    parser = _Tags()
    parser.feed(page)
    assert parser.tags.count("script") == 1  # the report's own filter script
    assert "img" not in parser.tags and parser.handlers == []


def test_markdown_report_is_inert() -> None:
    out = io.StringIO()
    write_markdown([hostile_row()], out, generated_at="now", head="b" * 40)
    text = out.getvalue()
    assert live_parts(text) == ["#7"]  # jitflow's own link to the PR
    assert headings(text) == ["Access audit"]
    assert len([line for line in text.splitlines() if line.startswith("| ")]) == 2


def test_csv_keeps_formulas_as_text_and_table_stays_one_line_per_row() -> None:
    out = io.StringIO()
    write_csv([hostile_row()], out)
    (row,) = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["reason"].startswith("'=HYPERLINK")
    table = io.StringIO()
    write_table([hostile_row()], table)
    assert len(table.getvalue().splitlines()) == 3
    # notes under the row: one line each, whatever line breaks the recorded text holds
    noted = hostile_row()._replace(not_revocable=HOSTILE, end_note=HOSTILE)
    for fit in (True, False):
        table = io.StringIO()
        write_table([noted], table, fit=fit)
        lines = table.getvalue().splitlines()
        assert len(lines) == 5 and [line[:3] for line in lines[2:4]] == ["  c", "  e"]


def test_sync_notes_on_the_pr_are_inert() -> None:
    note = denied_note("alice-orders-1", (Finding("ticket-pattern", HOSTILE),))
    assert live_parts(note) == []
    assert headings(note) == ["alice-orders-1 was denied at issue time"]
    failed = failed_note("alice-orders-1", "alice", HOSTILE, missing_key=False)
    assert set(live_parts(failed)) == {"@alice"}
    assert len(headings(failed)) == 1
