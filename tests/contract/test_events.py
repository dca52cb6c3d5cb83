"""Webhook payloads built for the stand-in's state are valid by GitHub's own schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from jitflow.adapters.git import Git
from jitflow.sandbox.github_standin import GitHubStandIn
from jitflow.sandbox.github_standin.events import build_event
from tests.standin_helpers import push_branch

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WEBHOOK_SCHEMAS = json.loads((FIXTURES / "github" / "openapi-subset.json").read_text())["webhooks"]


def check(schema_name: str, payload: dict[str, Any]) -> None:
    schema = WEBHOOK_SCHEMAS[schema_name]
    OAS30Validator(schema, format_checker=oas30_format_checker).validate(payload)


@pytest.fixture
def pr(github_standin: GitHubStandIn, work_clone: Git) -> int:
    github_standin.add_user("alice")
    github_standin.add_user("bob")
    push_branch(work_clone, "req/alice", {"requests/alice.yaml": b"role: reader\n"})
    number = github_standin.create_pull("alice", "req/alice", title="Access for alice")
    push_branch(work_clone, "req/alice", {"requests/alice.yaml": b"role: writer\n"}, "Widen")
    github_standin.submit_review(number, "bob", "APPROVE")
    return number


def test_vendored_examples_are_githubs_and_versioned() -> None:
    version = (FIXTURES / "webhooks" / "VERSION").read_text()
    assert version.startswith("@octokit/webhooks-examples ")
    opened = json.loads((FIXTURES / "webhooks" / "pull_request.opened.json").read_text())
    assert opened["action"] == "opened" and opened["pull_request"]["number"] > 0


@pytest.mark.parametrize(
    ("kind", "schema"),
    [
        ("pull_request.opened", "pull-request-opened"),
        ("pull_request.synchronize", "pull-request-synchronize"),
        ("pull_request.reopened", "pull-request-reopened"),
        ("pull_request.edited", "pull-request-edited"),
        ("pull_request.ready_for_review", "pull-request-ready-for-review"),
        ("pull_request_review.submitted", "pull-request-review-submitted"),
        ("pull_request_review.approved", "pull-request-review-submitted"),
        ("pull_request_review.edited", "pull-request-review-edited"),
        ("merge_group.checks_requested", "merge-group-checks-requested"),
        ("workflow_dispatch", "workflow-dispatch"),
    ],
)
def test_open_pr_events_match_state_and_schema(
    github_standin: GitHubStandIn, pr: int, kind: str, schema: str
) -> None:
    payload = build_event(kind, github_standin, pr)
    check(schema, payload)
    assert payload["repository"]["full_name"] == "acme/access"
    head = github_standin.pull(pr)["head"]["sha"]
    if "pull_request" in payload:
        assert payload["pull_request"]["number"] == pr
        assert payload["pull_request"]["head"]["sha"] == head
        assert payload["pull_request"]["user"]["login"] == "alice"
    if kind.startswith("pull_request_review"):
        assert payload["review"]["state"] == "approved"
        assert payload["review"]["commit_id"] == head
        assert payload["sender"]["login"] == "bob"
    if kind == "pull_request.synchronize":
        assert payload["after"] == head and payload["before"] != head
    if kind == "merge_group.checks_requested":
        assert payload["merge_group"]["head_sha"] == head


def test_merged_pr_events(github_standin: GitHubStandIn, pr: int) -> None:
    merge_sha = github_standin.merge_pull(pr, "bob", method="squash")
    closed = build_event("pull_request.merged", github_standin, pr)
    check("pull-request-closed", closed)
    assert closed["action"] == "closed"
    assert closed["pull_request"]["merged"] is True
    assert closed["pull_request"]["merge_commit_sha"] == merge_sha
    assert closed["pull_request"]["merged_by"]["login"] == "bob"
    push = build_event("push", github_standin, pr)
    check("push", push)
    assert (push["ref"], push["after"]) == ("refs/heads/main", merge_sha)
    assert push["head_commit"]["modified"] == [] and push["head_commit"]["added"] == [
        "requests/alice.yaml"
    ]


def test_dismissed_review_event(github_standin: GitHubStandIn, pr: int) -> None:
    review_id = github_standin.submit_review(pr, "bob", "REQUEST_CHANGES", body="too wide")
    github_standin.dismiss_review(pr, review_id, "resolved")
    payload = build_event("pull_request_review.dismissed", github_standin, pr, review_id=review_id)
    check("pull-request-review-dismissed", payload)
    assert payload["review"]["id"] == review_id and payload["review"]["state"] == "dismissed"


def test_overrides_are_merged_last(github_standin: GitHubStandIn, pr: int) -> None:
    payload = build_event("workflow_dispatch", github_standin, pr, inputs={"mode": "sync"})
    assert payload["inputs"] == {"mode": "sync"}
    check("workflow-dispatch", payload)
