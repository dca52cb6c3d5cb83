"""What the ledger and every output say about an expiry warning and about a grant ended early
whose credentials can't be revoked (an SSH certificate, a PKI certificate): the warning is an
event like any other (OCSF, webhook JSON, Slack); the early end carries `ended.note`, shown by
audit JSON, CSV, markdown, HTML and the default table; CSV also has the on-call and
revocability columns. Pure."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from jitflow.core.audit_codec import row_from_json, row_to_json
from jitflow.core.audit_rows import build_row
from jitflow.core.history import CommitRef, RequestTrail
from jitflow.core.ledger import (
    END_REASON_OF_EVENT,
    ActiveRecord,
    EndedBlock,
    Event,
    parse_active_record,
)
from jitflow.core.ledger_events import EventKind, events_of
from jitflow.core.model import GrantKind
from jitflow.core.yamlio import load_yaml
from jitflow.reporters.audit_html import ReportContext, render_html
from jitflow.reporters.audit_text import write_csv, write_json, write_markdown, write_table
from jitflow.reporters.ocsf import OcsfContext, to_ocsf
from jitflow.reporters.outbound import event_json, slack_line
from jitflow.reporters.sync_notes import ended_note
from jitflow.usecases.sync.recording import end_commit
from tests.audit.test_audit_ocsf import schema_errors
from tests.audit.test_ocsf_event_facts import REPLACED, _row

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RID = "alice-orders-cert-20261201-aaaa"
CONTEXT = OcsfContext(repository="acme/access")
CERT_VAULT = {
    "accessor": "acc1",
    "revocable": "false",
    "revocation_note": "a certificate can't be revoked early: it stays valid until its notAfter",
    "not_after": "2026-12-01T10:00:00Z",
}


def _warned_trail() -> RequestTrail:
    runner = CommitRef("9" * 40, T0 + timedelta(minutes=50), "jitflow-sync", "j@x")
    trail = RequestTrail(RID, issue=CommitRef("5" * 40, T0, "jitflow-sync", "j@x"))
    trail.warnings.append(runner)
    return trail


def test_a_warning_is_an_event_in_ocsf_the_webhook_and_slack() -> None:
    row = _row(RID, expires_at=T0 + timedelta(hours=1))
    [issued, warned] = events_of(_warned_trail(), row)
    assert (issued.kind, warned.kind) == (EventKind.ISSUED, EventKind.WARNED)
    assert warned.uid == f"{RID}:expiry-warned:{'9' * 12}"
    ocsf = to_ocsf(warned, CONTEXT)
    assert schema_errors(ocsf) == []
    assert (ocsf["activity_id"], ocsf["activity_name"], ocsf["status"]) == (
        99,
        "Warn Before Expiry",
        "Success",
    )
    assert ocsf["status_detail"] == "expires at 2026-12-01T10:00:00Z"
    assert "alice was warned that the grant of" in ocsf["message"]
    body = event_json(warned, CONTEXT)
    assert (body["type"], body["actor"], body["detail"]) == (
        "expiry-warned",
        "jitflow-sync",
        "expires at 2026-12-01T10:00:00Z",
    )
    assert slack_line(warned, CONTEXT).startswith(f"expiry warned: {RID} · requester alice")


def _archived(kind: str, vault: dict[str, str], event: Event) -> bytes:
    grant = "".join(f"    {k}: {json.dumps(v)}\n" for k, v in vault.items())
    active = (
        f"policy: orders-cert\nrequester: alice\nduration: 1h\nreason: incident 42\n"
        f"grant:\n  kind: {kind}\n  issued_at: '2026-12-01T09:00:00Z'\n"
        f"  expires_at: '2026-12-01T10:00:00Z'\n  pr: 7\n  vault:\n{grant}"
    ).encode()
    record = parse_active_record(active, RID)
    commit = end_commit(
        record,
        active,
        EndedBlock(T0 + timedelta(minutes=20), END_REASON_OF_EVENT[event], "bob", pr=9),
    )
    [text] = [v for v in commit.files.values() if v is not None]
    return text


def test_an_early_end_of_unrevocable_credentials_is_noted_in_the_ledger() -> None:
    for kind, vault in (("secret", CERT_VAULT), ("ssh", {"accessor": "acc1"})):
        for event in (Event.REVOKE, Event.EXTEND):
            ended = load_yaml(_archived(kind, vault, event), "x.yaml").data["ended"]
            assert ended["note"].startswith("still valid until 2026-12-01T10:00:00Z: "), kind
        # at its own end nothing outlives it; a revocable secret has nothing to say
        expired = load_yaml(_archived(kind, vault, Event.EXPIRE), "x.yaml").data["ended"]
        assert "note" not in expired
    revocable = {**CERT_VAULT, "revocable": "true"}
    assert "note" not in load_yaml(_archived("secret", revocable, Event.REVOKE), "x").data["ended"]


def test_the_pr_is_told_a_revoked_certificate_stays_valid() -> None:
    record = ActiveRecord(
        RID, "orders-cert", "alice", GrantKind.SECRET, T0 + timedelta(hours=1), 7, "a", CERT_VAULT
    )
    text = ended_note(record, Event.REVOKE, "bob")
    assert "was revoked in Vault (by @bob)" in text
    assert "A certificate can't be revoked early" in text
    assert "It stays valid until 2026-12-01T10:00:00Z." in text


def test_audit_shows_the_note_oncall_and_revocability_in_every_format() -> None:
    archived = load_yaml(_archived("secret", CERT_VAULT, Event.REVOKE), "x.yaml").data
    row = build_row(_warned_trail(), archived)._replace(
        oncall=(("carol", "primary"),),
        approvers=("carol",),
        oncall_waived="",
    )
    assert row.end_note.startswith("still valid until") and row.not_revocable.startswith("a cert")
    assert row_from_json(json.loads(json.dumps(row_to_json(row)))) == row  # the cache keeps it
    out = io.StringIO()
    write_json([row], out, generated_at="now", head="h")
    [shown] = json.loads(out.getvalue())["rows"]
    assert shown["end_note"] == row.end_note and shown["not_revocable"] == row.not_revocable
    out = io.StringIO()
    write_csv([row, REPLACED], out)
    first, second = csv.DictReader(io.StringIO(out.getvalue()))
    assert first["approved_by_oncall"] == "carol:primary"
    assert (first["not_revocable"], first["end_note"]) == (row.not_revocable, row.end_note)
    assert first["warned_at"] == "2026-12-01T09:50:00Z"
    assert second["not_revocable"] == REPLACED.not_revocable and second["end_note"] == ""
    out = io.StringIO()
    write_markdown([row], out, generated_at="now", head="h" * 12)
    assert "still valid until" in out.getvalue() and "warned 2026-12-01T09:50:00Z" in out.getvalue()
    html = render_html([row], ReportContext(generated_at=T0, head="7" * 40, repository="x"))
    assert "ended early, still valid until" in html and "warned of expiry" in html


def test_the_default_table_shows_the_warning_and_the_notes_under_their_row() -> None:
    archived = load_yaml(_archived("secret", CERT_VAULT, Event.REVOKE), "x.yaml").data
    row = build_row(_warned_trail(), archived)
    out = io.StringIO()
    assert write_table([row, REPLACED], out, fit=False) == 2
    lines = out.getvalue().splitlines()
    assert lines[1].startswith(RID) and lines[-1] == "2 request(s)"
    assert lines[2:5] == [
        "  warned of expiry 2026-12-01T09:50:00Z",
        f"  can't be revoked early: {CERT_VAULT['revocation_note']}",
        f"  ended early, {row.end_note}",
    ]
    assert lines[5].startswith(REPLACED.id)  # the next row: its own notes follow it
    assert lines[6:-1] == [f"  can't be revoked early: {REPLACED.not_revocable}"]
    # on a terminal a long note is cut like a long cell, within the table's 99 columns
    terminal = io.StringIO()
    write_table([row], terminal, fit=True)
    [ended] = [line for line in terminal.getvalue().splitlines() if "ended early" in line]
    assert len(ended) == 99 and ended.endswith("~") and len(row.end_note) > 99
