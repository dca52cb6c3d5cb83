"""`jitflow audit --format ocsf`: every ledger event, validated against the published OCSF
schema (schema.ocsf.io's export as shipped by the `ocsf-json-schema` package, offline)."""

from __future__ import annotations

import io
import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

from jitflow.cli import cli
from jitflow.core.links import links_from_remote
from jitflow.reporters.ocsf import CLASS_UID, OCSF_VERSION
from jitflow.usecases.audit.report import AuditOptions, ReportFormat, run_audit
from tests.audit.conftest import StandardHistory


@cache
def ocsf_validator() -> jsonschema.protocols.Validator:
    schemas = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=OCSF_VERSION))
    name = schemas.lookup_class_name_from_uid(class_uid=CLASS_UID)
    schema = schemas.get_class_schema(class_name=name, profiles=[])
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def export(repo: Path, **options: Any) -> list[dict[str, Any]]:
    out = io.StringIO()
    run_audit(AuditOptions(repo=repo, format=ReportFormat.OCSF, **options), out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def schema_errors(event: dict[str, Any]) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in ocsf_validator().iter_errors(event)]


@pytest.fixture(scope="module")
def events(standard: StandardHistory) -> list[dict[str, Any]]:
    return export(standard.path, now=standard.now)


def test_every_event_is_valid_ocsf(events: list[dict[str, Any]]) -> None:
    assert events
    for event in events:
        assert schema_errors(event) == [], event["metadata"]["uid"]


def test_the_schema_is_strict_enough_to_catch_a_wrong_event(events: list[dict[str, Any]]) -> None:
    broken = dict(events[0])
    del broken["user"]
    broken["activity_id"] = 7
    broken["privilege"] = ["typo"]
    errors = " ".join(schema_errors(broken))
    assert "'user' is a required property" in errors
    assert "7 is not one of" in errors and "privilege" in errors


def test_one_event_per_ledger_transition(
    events: list[dict[str, Any]], standard: StandardHistory
) -> None:
    kinds = Counter(e["metadata"]["event_code"] for e in events)
    # 7 merged requests; 5 issued; expired x3, revoked, denied; one break-glass review
    assert kinds == {
        "request-merged": 7,
        "issued": 5,
        "expired": 3,
        "revoked": 1,
        "denied": 1,
        "break-glass-reviewed": 1,
    }
    assert len({e["metadata"]["uid"] for e in events}) == len(events)
    by_code = {(e["metadata"]["correlation_uid"], e["metadata"]["event_code"]): e for e in events}
    revoked = standard.handles["revoked"]
    issue = by_code[(revoked.id, "issued")]
    assert (issue["activity_name"], issue["status"]) == ("Assign Privileges", "Success")
    assert issue["user"]["name"] == "carol" and issue["actor"]["user"]["type"] == "System"
    assert issue["privileges"] == ["database/orders-write"]
    assert issue["resource"] == {"name": "database/orders-write", "type": "database"}
    assert issue["metadata"]["original_event_uid"] == revoked.issue_commit
    assert issue["unmapped"]["jitflow"]["approvers"] == ["erin"]
    assert issue["unmapped"]["jitflow"]["approved_at"] == {"erin": "2026-11-02T10:00:00Z"}
    end = by_code[(revoked.id, "revoked")]
    assert end["activity_id"] == 2 and end["actor"]["user"]["name"] == "erin"
    assert end["metadata"]["original_event_uid"] == revoked.end_commit
    merged = by_code[(revoked.id, "request-merged")]
    assert merged["activity_id"] == 99 and merged["actor"]["user"]["name"] == "erin"
    assert merged["metadata"]["original_event_uid"] == revoked.merge_commit
    denied = by_code[(standard.handles["denied"].id, "denied")]
    assert (denied["activity_name"], denied["status"]) == ("Assign Privileges", "Failure")
    assert "approvals-missing" in denied["status_detail"]
    glass = standard.handles["glass"]
    review = by_code[(glass.id, "break-glass-reviewed")]
    assert review["actor"]["user"]["name"] == "bob"
    assert by_code[(glass.id, "issued")]["severity"] == "Medium"


def test_events_link_to_github_and_never_copy_remote_credentials(
    standard: StandardHistory, tmp_path: Path
) -> None:
    from tests.audit.history_builder import T0, HistoryBuilder

    builder = HistoryBuilder(tmp_path / "ledger")
    handle = builder.lifecycle("alice", "bob", T0)
    builder.git.run(
        "remote",
        "add",
        "origin",
        "https://x-access-token:ghs_SECRET@ghe.example.com/acme/access.git",
    )
    events = export(builder.root, now=T0)
    text = json.dumps(events)
    assert "ghs_SECRET" not in text and "x-access-token" not in text
    issued = next(e for e in events if e["metadata"]["event_code"] == "issued")
    evidence = issued["unmapped"]["jitflow"]
    assert (
        evidence["commit_url"]
        == f"https://ghe.example.com/acme/access/commit/{handle.issue_commit}"
    )
    assert evidence["pr_url"] == f"https://ghe.example.com/acme/access/pull/{handle.pr}"
    assert issued["metadata"]["log_name"] == "acme/access"
    assert all(schema_errors(e) == [] for e in events)


@pytest.mark.parametrize(
    ("remote", "base"),
    [
        ("git@github.com:acme/access.git", "https://github.com/acme/access"),
        ("https://github.com/acme/access", "https://github.com/acme/access"),
        ("ssh://git@ghe.corp.example:22/acme/access.git", "https://ghe.corp.example/acme/access"),
        ("https://user:token@github.com/acme/access.git/", "https://github.com/acme/access"),
        ("http://127.0.0.1:8123/acme/access.git", "http://127.0.0.1:8123/acme/access"),
        ("/srv/git/access.git", None),
        ("file:///srv/git/acme/access.git", None),
        ("https://github.com/acme", None),
    ],
)
def test_links_from_remote(remote: str, base: str | None) -> None:
    links = links_from_remote(remote)
    assert (links.base if links else None) == base


def test_cli_writes_json_lines(standard: StandardHistory, tmp_path: Path) -> None:
    target = tmp_path / "events.jsonl"
    result = CliRunner().invoke(
        cli,
        [
            *("audit", "--format", "ocsf", "--requester", "alice", "--output", str(target)),
            *("--now", "2026-11-06T00:00:00Z", "--repo", str(standard.path)),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = target.read_text().splitlines()
    assert lines and all(json.loads(line)["user"]["name"] == "alice" for line in lines)
