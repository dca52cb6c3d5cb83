"""Configuration, retry policy, JSON mapping and comment markers (no server needed)."""

from __future__ import annotations

import secrets
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from jitflow.adapters.github import DEFAULT_API_URL, GatewaySettings, GitHubGateway
from jitflow.adapters.github.http import (
    RetryPolicy,
    is_rate_limited,
    next_page_url,
    rate_limit_wait,
)
from jitflow.adapters.github.mapping import changed_file, ensure_complete, review
from jitflow.adapters.github.markers import has_marker, marker_tag, with_marker
from jitflow.core.model import ChangeStatus, ReviewState
from jitflow.errors import GitHubError, UsageError


def test_importing_the_adapter_does_not_import_pygithub() -> None:
    code = "import sys, jitflow.adapters.github; sys.exit('github' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_from_env_requires_a_token_and_says_how_to_pass_one() -> None:
    with pytest.raises(UsageError, match=r"GITHUB_TOKEN is not set.*github\.token"):
        GitHubGateway.from_env({"GITHUB_REPOSITORY": "acme/access"})


def test_from_env_requires_the_repository() -> None:
    with pytest.raises(UsageError, match="GITHUB_REPOSITORY is not set"):
        GitHubGateway.from_env({"GITHUB_TOKEN": secrets.token_hex(20)})


def test_from_env_defaults_to_github_dot_com_and_keeps_the_token_out_of_repr() -> None:
    token = secrets.token_hex(20)
    gateway = GitHubGateway.from_env(
        {"GITHUB_TOKEN": token, "GITHUB_REPOSITORY": "acme/access", "JITFLOW_BOT_LOGIN": "bot"}
    )

    assert gateway.api_url == DEFAULT_API_URL
    assert gateway.repository == "acme/access"
    assert gateway.whoami() == "bot"  # configured: no request made
    assert token not in repr(gateway)


def test_enterprise_api_url_is_taken_from_the_environment() -> None:
    gateway = GitHubGateway.from_env(
        {
            "GITHUB_TOKEN": secrets.token_hex(20),
            "GITHUB_REPOSITORY": "acme/access",
            "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
        }
    )
    assert gateway.api_url == "https://ghe.example.com/api/v3"


@pytest.mark.parametrize(
    ("api_url", "complaint"),
    [
        ("http://ghe.example.com/api/v3", "plain http"),
        ("ftp://ghe.example.com", "must be an http"),
        ("not a url", "must be an http"),
    ],
)
def test_unsafe_or_broken_api_urls_are_refused(api_url: str, complaint: str) -> None:
    with pytest.raises(UsageError, match=complaint):
        GitHubGateway(GatewaySettings(secrets.token_hex(20), "acme/access", api_url))


def test_repository_must_be_owner_slash_name() -> None:
    with pytest.raises(UsageError, match="owner/name"):
        GitHubGateway(GatewaySettings(secrets.token_hex(20), "acme/access/extra"))


def test_rate_limits_are_recognised_by_headers_or_message() -> None:
    assert is_rate_limited(403, {"X-RateLimit-Remaining": "0"}, "")
    assert is_rate_limited(429, {"Retry-After": "1"}, "")
    assert is_rate_limited(403, {}, "You have exceeded a secondary rate limit.")
    assert not is_rate_limited(403, {"x-ratelimit-remaining": "42"}, "Resource not accessible")
    assert not is_rate_limited(500, {"retry-after": "1"}, "")


def test_rate_limit_wait_prefers_retry_after_then_the_reset_time() -> None:
    assert rate_limit_wait({"retry-after": "7"}, now=100.0) == 7.0
    assert rate_limit_wait({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "130"}, 100.0) == 30
    assert rate_limit_wait({"x-ratelimit-reset": "130"}, now=100.0) is None
    assert rate_limit_wait({}, now=100.0) is None


def test_backoff_doubles_from_the_base_delay() -> None:
    policy = RetryPolicy(max_retries=3, backoff=0.5, max_rate_limit_wait=60.0)
    assert [policy.backoff_delay(n) for n in range(3)] == [0.5, 1.0, 2.0]


def test_next_page_url_is_read_from_the_link_header() -> None:
    link = '<https://x/a?page=3>; rel="next", <https://x/a?page=9>; rel="last"'
    assert next_page_url(link) == "https://x/a?page=3"
    assert next_page_url('<https://x/a?page=1>; rel="prev"') is None


def test_github_file_statuses_map_to_change_statuses() -> None:
    renamed = changed_file({"filename": "b", "status": "renamed", "previous_filename": "a"})
    assert (renamed.status, renamed.previous_path) == (ChangeStatus.RENAMED, "a")
    assert changed_file({"filename": "a", "status": "removed"}).status is ChangeStatus.DELETED
    assert changed_file({"filename": "a", "status": "changed"}).status is ChangeStatus.TYPE_CHANGED
    with pytest.raises(GitHubError, match="unknown file status"):
        changed_file({"filename": "a", "status": "exploded"})


def test_pending_unknown_or_ghost_reviews_count_for_nothing() -> None:
    base = {"user": {"login": "bob"}, "commit_id": "abc", "submitted_at": "2024-05-01T10:00:00Z"}
    approved = review({**base, "state": "APPROVED"})
    assert approved is not None
    assert approved.state is ReviewState.APPROVED
    assert approved.submitted_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert review({**base, "state": "PENDING"}) is None
    assert review({**base, "state": "APPROVED", "user": None}) is None
    assert review({**base, "state": "APPROVED", "submitted_at": None}) is None
    assert review({**base, "state": "SOMETHING_NEW"}) is None


def test_a_pull_request_github_cannot_list_whole_is_refused() -> None:
    ensure_complete(1, {"changed_files": 3}, "changed_files", 3, "files")
    with pytest.raises(GitHubError, match="has 3001 files but GitHub lists only 3000"):
        ensure_complete(1, {"changed_files": 3001}, "changed_files", 3000, "files")


def test_markers_are_hidden_comments_that_cannot_be_broken_out_of() -> None:
    assert marker_tag("evaluation") == "<!-- jitflow:evaluation -->"
    body = with_marker("evaluation", "text")
    assert body == "<!-- jitflow:evaluation -->\ntext"
    assert with_marker("evaluation", body) == body
    assert has_marker(body, "evaluation")
    assert not has_marker(body, "eval")
    for bad in ("", "x -->", "a b", "<script>"):
        with pytest.raises(UsageError, match="invalid comment marker"):
            marker_tag(bad)
