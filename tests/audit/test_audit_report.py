"""`jitflow audit` rows and formats, from a real git history."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from jitflow.core.audit_rows import Outcome
from jitflow.errors import UsageError
from jitflow.usecases.audit.report import AuditOptions, ReportFormat, run_audit
from tests.audit.conftest import StandardHistory
from tests.audit.history_builder import T0, HistoryBuilder


def audit(standard: StandardHistory, **kwargs: object) -> str:
    out = io.StringIO()
    options = AuditOptions(repo=standard.path, now=standard.now, **kwargs)  # type: ignore[arg-type]
    run_audit(options, out)
    return out.getvalue()


def json_rows(standard: StandardHistory, **kwargs: object) -> dict[str, dict[str, object]]:
    document = json.loads(audit(standard, format=ReportFormat.JSON, **kwargs))
    return {row["id"]: row for row in document["rows"]}


def test_one_row_per_request_with_its_outcome(standard: StandardHistory) -> None:
    rows = json_rows(standard)
    expected = {
        "expired": Outcome.EXPIRED,
        "revoked": Outcome.REVOKED,
        "denied": Outcome.DENIED,
        "self": Outcome.EXPIRED,
        "glass": Outcome.EXPIRED,
        "active": Outcome.ACTIVE,
        "waiting": Outcome.WAITING,
    }
    assert {standard.handles[k].id: v.value for k, v in expected.items()} == {
        rid: row["outcome"] for rid, row in rows.items()
    }


def test_row_carries_who_what_when_and_commit_evidence(standard: StandardHistory) -> None:
    handle = standard.handles["expired"]
    row = json_rows(standard)[handle.id]
    git = standard.builder.git
    assert row["requester"] == "alice"
    assert row["policy"] == "orders-db-write"
    assert (row["kind"], row["resource"]) == ("database", "database/orders-write")
    assert row["reason"] == "Fix stuck rows in orders.status for INC-4211"
    assert row["ticket"] == "INC-4211"
    assert row["approvers"] == ["bob"]
    assert (row["merged_by"], row["pr"]) == ("bob", handle.pr)
    assert row["requested_at"] == "2026-11-02T09:00:00Z"  # the PR branch commit
    assert row["issued_at"] == "2026-11-02T09:05:10Z"
    assert row["expires_at"] == "2026-11-02T09:35:10Z"
    assert row["ended_at"] == "2026-11-02T09:35:30Z"
    assert row["ended_by"] == "jitflow-sync"
    assert row["request_commit"] == handle.requested_commit
    assert row["merge_commit"] == handle.merge_commit
    assert row["issue_commit"] == handle.issue_commit
    assert row["end_commit"] == handle.end_commit
    assert "Jitflow-Event: expire" in git.run("log", "-1", "--format=%B", handle.end_commit)


def test_revoked_and_denied_say_by_whom_and_why(standard: StandardHistory) -> None:
    rows = json_rows(standard)
    revoked = rows[standard.handles["revoked"].id]
    assert (revoked["outcome"], revoked["ended_by"]) == ("revoked", "erin")
    assert revoked["revocation_commit"]
    denied = rows[standard.handles["denied"].id]
    assert denied["issued_at"] is None
    assert "approvals-missing" in str(denied["outcome_detail"])


def test_json_document_has_rows_generated_at_and_head(standard: StandardHistory) -> None:
    document = json.loads(audit(standard, format=ReportFormat.JSON))
    assert document["generated_at"] == "2026-11-05T09:40:00Z"
    assert document["repository"]["head"] == standard.builder.head()
    assert len(document["rows"]) == 7


def test_csv_has_a_header_and_one_line_per_row(standard: StandardHistory) -> None:
    lines = list(csv.DictReader(io.StringIO(audit(standard, format=ReportFormat.CSV))))
    assert len(lines) == 7
    active = next(r for r in lines if r["id"] == standard.handles["active"].id)
    assert active["outcome"] == "active"
    assert active["approvers"] == "bob"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_table_fits_100_columns_and_names_every_request(standard: StandardHistory) -> None:
    out = _Terminal()
    run_audit(AuditOptions(repo=standard.path, now=standard.now), out)
    assert max(len(line) for line in out.getvalue().splitlines()) <= 100
    text = audit(standard)
    for handle in standard.handles.values():
        assert handle.id in text


def test_a_piped_table_keeps_long_ids_whole_and_a_terminal_cuts_them(tmp_path: Path) -> None:
    builder = HistoryBuilder(tmp_path / "ledger")
    long_id = "alice-orders-db-write-incident-4211-stuck-refunds-20261120"
    builder.lifecycle("alice", "bob", T0, request_id=long_id)
    piped = io.StringIO()
    run_audit(AuditOptions(repo=builder.root, now=T0 + timedelta(days=1)), piped)
    assert long_id in piped.getvalue()
    terminal = _Terminal()
    run_audit(AuditOptions(repo=builder.root, now=T0 + timedelta(days=1)), terminal)
    assert long_id not in terminal.getvalue()
    assert max(len(line) for line in terminal.getvalue().splitlines()) <= 100


def test_markdown_lists_each_request_with_evidence(standard: StandardHistory) -> None:
    text = audit(standard, format=ReportFormat.MARKDOWN)
    handle = standard.handles["expired"]
    line = next(line for line in text.splitlines() if handle.id in line)
    assert handle.merge_commit[:8] in line and handle.end_commit[:8] in line


def test_filters_by_requester_policy_and_resource(standard: StandardHistory) -> None:
    assert {r["requester"] for r in json_rows(standard, requester="carol").values()} == {"carol"}
    billing = json_rows(standard, policy="billing-read")
    assert list(billing) == [standard.handles["self"].id]
    assert list(json_rows(standard, resource="BILLING")) == [standard.handles["self"].id]


def test_period_selects_grants_that_overlap_it(standard: StandardHistory) -> None:
    # 09:20-09:21 on day one lies inside alice's first grant (09:05-09:35) only.
    start = T0 + timedelta(minutes=20)
    rows = json_rows(standard, since=start, until=start + timedelta(minutes=1))
    assert list(rows) == [standard.handles["expired"].id]
    # The active grant overlaps any later period.
    later = json_rows(standard, since=standard.now + timedelta(minutes=5))
    assert standard.handles["active"].id in later
    assert standard.handles["expired"].id not in later


def test_output_file_is_written(standard: StandardHistory, tmp_path: Path) -> None:
    target = tmp_path / "audit.csv"
    count = run_audit(
        AuditOptions(repo=standard.path, now=standard.now, format=ReportFormat.CSV, output=target)
    )
    assert count == 7
    assert target.read_text().startswith("id,requester,policy")


def test_history_is_read_with_a_fixed_number_of_git_processes(
    standard: StandardHistory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One log stream and one cat-file batch, however many commits there are."""
    log = tmp_path / "calls"
    shim = tmp_path / "bin" / "git"
    shim.parent.mkdir()
    real = next(
        Path(d) / "git" for d in os.environ["PATH"].split(os.pathsep) if (Path(d) / "git").exists()
    )
    shim.write_text(f'#!/bin/sh\necho "$1" >> {log}\nexec {real} "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")
    audit(standard, format=ReportFormat.JSON)
    calls = log.read_text().split()
    assert calls == ["rev-parse", "log", "cat-file"]


def test_not_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="clone"):
        run_audit(AuditOptions(repo=tmp_path), io.StringIO())


def test_since_and_until_take_a_plain_date(standard: StandardHistory) -> None:
    from click.testing import CliRunner

    from jitflow.cli import cli

    args = ["audit", "--repo", str(standard.path), "--format", "json"]
    result = CliRunner().invoke(cli, [*args, "--since", "2020-01-01", "--until", "2099-12-31"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["rows"]) == len(json_rows(standard))
    wrong = CliRunner().invoke(cli, [*args, "--since", "2025-13-01"])
    assert wrong.exit_code == 2 and "nor a date (e.g. 2026-11-23" in wrong.output
