"""Retries, rate limits and error messages, with faults injected by the stand-in."""

from __future__ import annotations

import logging
import re
import secrets
import socket
import time
import traceback
from collections.abc import Callable

import pytest

from jitflow.adapters.github import GatewaySettings, GitHubGateway
from jitflow.errors import GitHubError
from tests.github.conftest import OWNER, REPO, World, add_request

pytestmark = pytest.mark.slow

PushBranch = Callable[..., tuple[str, str]]


def _statuses_for(world: World, path_pattern: str) -> list[int]:
    return [
        status for _, path, status in world.server.requests_log if re.search(path_pattern, path)
    ]


def test_bad_gateway_is_retried_until_the_pull_request_reads_whole(
    github_world: World, push_branch: PushBranch
) -> None:
    server = github_world.server
    branch, head = push_branch(add_request)
    number = server.create_pull("alice", branch, title="flaky")
    server.fail_next("GET", rf"/pulls/{number}$", 502, times=2)
    server.fail_next("GET", rf"/pulls/{number}/commits$", 503)

    facts = github_world.gateway().pull_request(number)

    assert facts.head_sha == head
    assert [c.sha for c in facts.commits] == [head]
    assert _statuses_for(github_world, rf"/pulls/{number}$") == [502, 502, 200]  # read once
    assert _statuses_for(github_world, rf"/pulls/{number}/commits$") == [503, 200]


def test_rate_limited_403_is_retried_after_the_reset(github_world: World) -> None:
    server = github_world.server
    reset = str(int(time.time()))  # already reached: the wait is the short backoff
    server.fail_next(
        "GET", r"^/user$", 403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    )
    before = len(server.requests_log)

    assert github_world.gateway("bob").whoami() == "bob"
    assert [s for _, p, s in server.requests_log[before:] if p == "/user"] == [403, 200]


def test_secondary_rate_limit_429_honours_retry_after(github_world: World) -> None:
    server = github_world.server
    server.fail_next("GET", r"^/users/alice/keys$", 429, headers={"retry-after": "0.2"})
    before = len(server.requests_log)
    started = time.monotonic()

    assert github_world.gateway().ssh_public_keys("alice")
    assert time.monotonic() - started >= 0.2
    assert [s for _, p, s in server.requests_log[before:] if p.endswith("/keys")] == [429, 200]


def test_rate_limit_longer_than_the_allowed_wait_fails_at_once(github_world: World) -> None:
    server = github_world.server
    server.fail_next("GET", r"^/user$", 429, headers={"retry-after": "3600"})
    before = len(server.requests_log)

    with pytest.raises(GitHubError, match=r"rate limit.*resets in about 3600 s.*try again later"):
        github_world.gateway("carol", max_rate_limit_wait=5).whoami()
    assert [s for _, p, s in server.requests_log[before:]] == [429]


def test_persistent_server_error_gives_up_after_bounded_attempts(github_world: World) -> None:
    server = github_world.server
    server.fail_next("POST", r"/statuses/", 500, times=3)
    before = len(server.requests_log)

    with pytest.raises(GitHubError) as caught:
        github_world.gateway(max_retries=2).set_status("0" * 40, "jitflow", "success", "ok")

    assert "setting status 'jitflow'" in str(caught.value)
    assert "HTTP 500, 3 attempts" in str(caught.value)
    assert [s for _, _, s in server.requests_log[before:]] == [500, 500, 500]


def test_bad_credentials_give_a_clear_error_without_retrying(github_world: World) -> None:
    token = secrets.token_hex(20)
    gateway = GitHubGateway(
        GatewaySettings(token, f"{OWNER}/{REPO}", github_world.api_url, backoff=0.01)
    )
    before = len(github_world.server.requests_log)

    with pytest.raises(GitHubError, match=r"HTTP 401, bad credentials.*GITHUB_TOKEN") as caught:
        gateway.pull_request(1)

    assert token not in str(caught.value)
    assert [s for _, _, s in github_world.server.requests_log[before:]] == [401]


def test_an_error_names_githubs_request_id_of_the_answer(github_world: World) -> None:
    """GitHub support asks for X-GitHub-Request-Id; it also tells whose answer an error was."""
    gateway = github_world.gateway("no-org", max_retries=1)
    before = len(github_world.server.requests_served)

    with pytest.raises(GitHubError, match=r"HTTP 404") as caught:
        gateway.pull_request(999_999)

    (answered,) = (r.request_id for r in github_world.server.requests_served[before:])
    assert re.fullmatch(r"[0-9A-F]{16}", answered)
    assert str(caught.value).endswith(f"[GitHub request id {answered}]")


def test_unreachable_server_is_reported_after_bounded_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nobody listens
    gateway = GitHubGateway(
        GatewaySettings(
            secrets.token_hex(20),
            f"{OWNER}/{REPO}",
            f"http://127.0.0.1:{port}",
            max_retries=1,
            backoff=0.01,
        )
    )

    with pytest.raises(
        GitHubError, match=r"could not reach GitHub at http://127\.0\.0\.1:\d+.*2 attempts"
    ):
        gateway.whoami()


def test_tokens_never_appear_in_errors_reprs_or_logs(
    github_world: World, caplog: pytest.LogCaptureFixture
) -> None:
    server = github_world.server
    good = github_world.tokens["no-org"]
    bad = secrets.token_hex(20)
    teams = secrets.token_hex(20)
    gateways = [
        GitHubGateway(GatewaySettings(bad, f"{OWNER}/{REPO}", github_world.api_url, backoff=0.01)),
        github_world.gateway("no-org", max_retries=1, teams_token=teams),
        github_world.gateway("no-org", max_retries=1),
    ]
    failing_calls = [
        lambda: gateways[0].whoami(),  # 401
        lambda: gateways[1].is_team_member(OWNER, "admins", "bob"),  # 401 on the teams token
        lambda: gateways[2].is_team_member(OWNER, "admins", "bob"),  # 403
        lambda: gateways[2].pull_request(999_999),  # 404
        lambda: gateways[2].ssh_public_keys("alice"),  # 500 twice, injected below
    ]

    texts = [repr(g) for g in gateways]
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="github"):
        for call in failing_calls:
            if call is failing_calls[-1]:
                server.fail_next("GET", r"/keys$", 500, times=2)
            with pytest.raises(GitHubError) as caught:
                call()
            texts += [str(caught.value), repr(caught.value)]
            texts.append("".join(traceback.format_exception(caught.value)))

    texts.append(caplog.text)
    assert any("HTTP 403" in t for t in texts) and any("HTTP 500" in t for t in texts)
    assert "Authorization" in caplog.text  # PyGithub did log the request headers (masked)
    for secret in (good, bad, teams):
        assert not [t for t in texts if secret in t]


def test_a_comment_creation_github_failed_is_looked_for_before_it_is_tried_again(
    github_world: World, push_branch: PushBranch
) -> None:
    server = github_world.server
    branch, _ = push_branch(add_request)
    number = server.create_pull("alice", branch, title="flaky comment")
    server.fail_next("POST", rf"/issues/{number}/comments$", 502)
    before = len(server.requests_log)

    comment_id = github_world.gateway().upsert_comment(number, "evaluation", "ok")

    calls = [(m, s) for m, p, s in server.requests_log[before:] if p.endswith("/comments")]
    assert calls == [("GET", 200), ("POST", 502), ("GET", 200), ("POST", 201)]
    assert [c["id"] for c in server.comments(number)] == [comment_id]
