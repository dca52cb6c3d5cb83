"""What every output says about an extension, an on-call approval and a secret that can't be
revoked early: OCSF (validated against the published schema), the webhook's JSON, the Slack
line, the HTML evidence pack and the incremental audit cache. Pure: rows built by hand."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from jitflow.core.audit_codec import row_from_json, row_to_json
from jitflow.core.audit_rows import AuditRow, Evidence, Outcome
from jitflow.core.ledger_events import EventKind, LedgerEvent
from jitflow.reporters.audit_html import ReportContext, render_html
from jitflow.reporters.ocsf import OcsfContext, to_ocsf
from jitflow.reporters.outbound import event_json, slack_line
from tests.audit.test_audit_ocsf import schema_errors

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
OLD, NEW = "alice-orders-20261201-aaaa", "alice-orders-20261201-bbbb"
CONTEXT = OcsfContext(repository="acme/access")


def _row(rid: str, **changes: object) -> AuditRow:
    row = AuditRow(
        id=rid,
        requester="alice",
        policy="orders-cert",
        kind="secret",
        resource="pki/issue/orders",
        reason="incident 42",
        ticket="",
        break_glass=False,
        requested_at=T0,
        approvers=("carol",),
        merged_at=T0,
        merged_by="bob",
        pr=7,
        issued_at=T0,
        expires_at=T0 + timedelta(hours=1),
        ended_at=None,
        outcome=Outcome.ACTIVE,
        ended_by="",
        outcome_detail="",
        evidence=Evidence("1" * 40, "2" * 40, "3" * 40),
        oncall=(("carol", "primary"),),
    )
    return row._replace(**changes)  # type: ignore[arg-type]


# the old grant, replaced by its extension; the extension, issued and still running
REPLACED = _row(
    OLD,
    outcome=Outcome.EXTENDED,
    ended_at=T0 + timedelta(minutes=50),
    ended_by="jitflow-sync",
    extended_by=NEW,
    outcome_detail=f"extended by {NEW}",
    not_revocable="a certificate stays valid until its notAfter",
)
EXTENSION = _row(NEW, extends=OLD, oncall=(), oncall_waived="primary", approvers=())
END = LedgerEvent(
    EventKind.EXTENDED, T0 + timedelta(minutes=50), "jitflow-sync", "4" * 40, REPLACED
)
ISSUE = LedgerEvent(
    EventKind.ISSUED, T0 + timedelta(minutes=50), "jitflow-sync", "5" * 40, EXTENSION
)
MERGE = LedgerEvent(EventKind.MERGED, T0 + timedelta(minutes=49), "bob", "6" * 40, EXTENSION)


def test_ocsf_extension_events_are_valid_and_tell_the_chain() -> None:
    end, issue = to_ocsf(END, CONTEXT), to_ocsf(ISSUE, CONTEXT)
    assert schema_errors(end) == [] and schema_errors(issue) == []
    # the replaced grant's privileges are revoked; the extension's are assigned
    assert (end["activity_id"], end["activity_name"], end["status"]) == (
        2,
        "Revoke Privileges",
        "Success",
    )
    assert end["metadata"]["event_code"] == "extended"
    assert end["unmapped"]["jitflow"]["extended_by"] == NEW
    assert f"was extended: replaced by {NEW}" in end["message"]
    assert (issue["activity_id"], issue["unmapped"]["jitflow"]["extends"]) == (1, OLD)
    assert f"extending {OLD}" in issue["message"]
    assert "not_revocable" in end["unmapped"]["jitflow"]


def test_ocsf_carries_oncall_approvals_and_waivers() -> None:
    approved = to_ocsf(END, CONTEXT)["unmapped"]["jitflow"]
    assert approved["approved_by_oncall"] == {"carol": "primary"}
    assert approved["approvers"] == ["carol"]
    waived = to_ocsf(MERGE, CONTEXT)
    assert schema_errors(waived) == []
    assert waived["unmapped"]["jitflow"]["oncall_waived"] == "primary"
    assert "approved_by_oncall" not in waived["unmapped"]["jitflow"]


def test_webhook_json_says_extended_and_on_call() -> None:
    end, issue = event_json(END, CONTEXT), event_json(ISSUE, CONTEXT)
    assert (end["type"], end["extended_by"], end["approved_by_oncall"]) == (
        "extended",
        NEW,
        {"carol": "primary"},
    )
    assert end["not_revocable"] == "a certificate stays valid until its notAfter"
    assert (issue["type"], issue["extends"], issue["oncall_waived"]) == ("issued", OLD, "primary")
    assert "extended_by" not in issue and "extends" not in end
    json.dumps([end, issue])  # plain JSON values only


def test_slack_lines_say_extended_and_on_call() -> None:
    assert slack_line(END, CONTEXT).startswith(f"extended: {OLD}")
    assert f"replaced by its extension {NEW}" in slack_line(END, CONTEXT)
    assert f"extends {OLD}" in slack_line(ISSUE, CONTEXT)
    merged = slack_line(replace(MERGE, row=REPLACED), CONTEXT)
    assert "approved by carol (on call: primary)" in merged
    assert "approved by waived: alice on call in primary" in slack_line(MERGE, CONTEXT)


def test_evidence_pack_marks_oncall_extension_and_not_revocable() -> None:
    context = ReportContext(generated_at=T0 + timedelta(hours=2), head="7" * 40, repository="x")
    html = render_html([REPLACED, EXTENSION], context)
    assert "carol (on call: primary)" in html
    assert "approval waived: alice on call (primary)" in html
    assert f"extends <tt>{OLD}</tt>" in html
    assert "can't be revoked early: a certificate stays valid until its notAfter" in html


def test_the_audit_cache_keeps_oncall_and_revocability() -> None:
    for row in (REPLACED, EXTENSION):
        assert row_from_json(json.loads(json.dumps(row_to_json(row)))) == row
