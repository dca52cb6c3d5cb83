"""`jitflow audit` over a history made by the real pipeline matches what happened, field by field.

Requests go through the stand-in GitHub (PRs, reviews, merges), `jitflow sync` issues real
OpenBao tokens, a revocation PR, an incident `--revoke` and a time jump end them, and a merge
that bypassed approval is denied. Every fact is recorded as it happens -- from the stand-in's
PRs, the requester's commits, the runner's commits and OpenBao's token lookups -- and then
compared with every field of every row of `jitflow audit --format json`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jitflow.adapters.git import Git
from jitflow.core.history import parse_trailers
from jitflow.core.times import format_time, parse_time
from tests.sync.conftest import World, vault_api

REASON = "investigating the orders backlog for the incident"
# A vault-token grant has no mount or role, so the report names it by kind and policy.
RESOURCE = "vault-token (ops-read)"


@dataclass(frozen=True)
class Within:
    """A time that happened during a step: equal to any ISO time inside [start, end]."""

    start: datetime
    end: datetime

    def __eq__(self, other: object) -> bool:
        moment = parse_time(other) if isinstance(other, str) else None
        return moment is not None and self.start <= moment <= self.end

    def __hash__(self) -> int:
        return hash((self.start, self.end))

    def __repr__(self) -> str:
        return f"<between {format_time(self.start)} and {format_time(self.end)}>"


@dataclass
class Happened:
    """What the test saw happen to one request."""

    id: str
    pr: int
    requester: str
    request_commit: str
    requested_at: str
    merge_commit: str = ""
    merged_at: str = ""
    merged_by: str = ""
    approvers: tuple[str, ...] = ()


class Clock:
    """Wall-clock windows around steps, to the second (the ledger's precision)."""

    def __init__(self) -> None:
        self.start = datetime.now(UTC).replace(microsecond=0)

    def window(self) -> Within:
        end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        found = Within(self.start, end)
        self.start = end - timedelta(seconds=1)
        return found


def _request(world: World, author: str, duration: str, approve: bool) -> Happened:
    request_id, number = world.request(author=author, duration=duration)
    head = world.requester.run("log", "-1", "--format=%H %ct", "HEAD").split()
    happened = Happened(
        request_id,
        number,
        author,
        head[0],
        format_time(datetime.fromtimestamp(int(head[1]), UTC)),
    )
    if approve:
        world.standin.submit_review(number, "bob", "APPROVE")
        happened.approvers = ("bob",)
    happened.merge_commit = world.standin.merge_pull(number, "bob")
    pull = world.standin.pull(number)
    assert pull["merge_commit_sha"] == happened.merge_commit
    happened.merged_by = pull["merged_by"]["login"]
    happened.merged_at = format_time(parse_time(pull["merged_at"]))
    return happened


def _runner_commits(world: World) -> dict[tuple[str, str], str]:
    """(event, request id) -> the runner's commit on main that recorded it."""
    log = subprocess.run(
        ["git", "log", "--format=%H%x00%ae%x00%B%x1e", "main"],
        cwd=world.bare,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {}
    for record in log.split("\x1e"):
        if not record.strip():
            continue
        sha, email, body = record.strip("\n").split("\x00", 2)
        trailers = parse_trailers(body)
        if email == "jitflow-sync@users.noreply.github.com" and "jitflow-event" in trailers:
            found[(trailers["jitflow-event"], trailers["jitflow-request"])] = sha
    return found


def _token(world: World, accessor: str) -> dict[str, Any] | None:
    answer = vault_api(
        world.vault.addr,
        world.vault.root_token,
        "POST",
        "auth/token/lookup-accessor",
        {"accessor": accessor},
    )
    return answer.json()["data"] if answer.status_code == 200 else None


def _jitflow(world: World, *args: str, login: str = "jitflow-bot") -> str:
    result = subprocess.run(
        [sys.executable, "-m", "jitflow", *args],
        env={**world.env, "GITHUB_TOKEN": world.standin.token_for(login)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _accessor(world: World, request_id: str, commit: str = "main") -> str:
    from jitflow.core.ledger import active_path, parse_active_record

    content = Git(world.bare).show_bytes(commit, active_path(request_id))
    record = parse_active_record(content or b"", request_id)
    assert record.accessor
    return record.accessor


@pytest.fixture
def clock() -> Iterator[Clock]:
    yield Clock()


def test_audit_rows_match_what_the_pipeline_did(world: World, clock: Clock) -> None:
    expired = _request(world, "alice", "30m", approve=True)
    revoked_by_pr = _request(world, "alice", "30m", approve=True)
    revoked_in_incident = _request(world, "alice", "30m", approve=True)
    still_active = _request(world, "alice", "2h", approve=True)
    undeliverable = _request(world, "carol", "30m", approve=True)  # carol has no SSH key
    bypassed = _request(world, "alice", "30m", approve=False)

    clock.window()
    world.sync()
    issued = clock.window()
    granted = [expired, revoked_by_pr, revoked_in_incident, still_active]
    accessors = {h.id: _accessor(world, h.id) for h in granted}
    tokens = {rid: _token(world, accessor) for rid, accessor in accessors.items()}
    assert all(tokens.values()), "every issued grant has a live token in OpenBao"
    created = {rid: datetime.fromtimestamp(t["creation_time"], UTC) for rid, t in tokens.items()}
    expires = {rid: parse_time(t["expire_time"]) for rid, t in tokens.items() if t}

    world.requester.run("fetch", "--quiet", "origin")
    opened = _jitflow(
        world,
        "revoke",
        revoked_by_pr.id,
        "--reason",
        "done early",
        "--as",
        "alice",
        "--open",
        "--repo",
        str(world.requester.path),
        login="alice",
    )
    revocation_pr = int(opened.strip().rsplit("#", 1)[1])
    revocation_merge = world.standin.merge_pull(revocation_pr, "alice")
    clock.window()
    world.sync("--revoke", revoked_in_incident.id)
    revocations = clock.window()
    expiry = _grant_expiry(world, expired.id)
    world.sync("--now", format_time(expiry))

    for rid in (expired.id, revoked_by_pr.id, revoked_in_incident.id):
        assert _token(world, accessors[rid]) is None, f"{rid}'s token is gone from OpenBao"
    assert _token(world, accessors[still_active.id]) is not None

    now = format_time(expiry + timedelta(minutes=1))
    document = json.loads(
        _jitflow(world, "audit", "--repo", str(world.bare), "--format", "json", "--now", now)
    )
    rows = {row["id"]: row for row in document["rows"]}
    commits = _runner_commits(world)

    def expected(happened: Happened, **changes: Any) -> dict[str, Any]:
        rid = happened.id
        row: dict[str, Any] = {
            "id": rid,
            "requester": happened.requester,
            "policy": "ops-read",
            "kind": "vault-token",
            "resource": RESOURCE,
            "reason": REASON,
            "ticket": None,
            "break_glass": False,
            "requested_at": happened.requested_at,
            "approvers": list(happened.approvers),
            "merged_at": happened.merged_at,
            "merged_by": happened.merged_by,
            "pr": happened.pr,
            "issued_at": None,
            "expires_at": None,
            "ended_at": None,
            "outcome": "",
            "ended_by": "jitflow-sync",
            "outcome_detail": None,
            "extends": None,
            "extended_by": None,
            "warned_at": None,
            "request_commit": happened.request_commit,
            "merge_commit": happened.merge_commit,
            "issue_commit": commits.get(("issue", rid)),
            "end_commit": None,
            "revocation_commit": None,
        }
        if rid in tokens:
            # issued during that sync; OpenBao made the token then, and it dies at the
            # recorded expiry or a moment after (the ledger's clock was read first)
            row["issued_at"] = issued
            row["expires_at"] = Within(expires[rid] - (issued.end - issued.start), expires[rid])
            assert issued == format_time(created[rid])
        row.update(changes)
        return row

    assert rows[expired.id] == expected(
        expired,
        outcome="expired",
        ended_at=format_time(expiry),
        end_commit=commits[("expire", expired.id)],
    )
    assert rows[revoked_by_pr.id] == expected(
        revoked_by_pr,
        outcome="revoked",
        ended_at=revocations,
        ended_by="alice",
        end_commit=commits[("revoke", revoked_by_pr.id)],
        revocation_commit=revocation_merge,
    )
    assert rows[revoked_in_incident.id] == expected(
        revoked_in_incident,
        outcome="revoked",
        ended_at=revocations,
        end_commit=commits[("revoke", revoked_in_incident.id)],
    )
    assert rows[still_active.id] == expected(still_active, outcome="active", ended_by=None)
    denied = rows[bypassed.id]
    assert denied == expected(
        bypassed,
        resource="",
        kind="",
        outcome="denied",
        # A denial record has no grant block, so no GitHub merged_at: the report shows the
        # merge commit's time, which can be a second off the PR's merged_at.
        merged_at=_commit_time(world, bypassed.merge_commit),
        ended_at=issued,
        end_commit=commits[("deny", bypassed.id)],
        outcome_detail=denied["outcome_detail"],
    )
    assert "approval" in str(denied["outcome_detail"])
    failed = rows[undeliverable.id]
    window = timedelta(seconds=int(timedelta(minutes=30).total_seconds()))
    assert failed == expected(
        undeliverable,
        outcome="failed",
        issued_at=issued,
        expires_at=Within(issued.start + window, issued.end + window),
        ended_at=issued,
        end_commit=commits[("fail", undeliverable.id)],
        outcome_detail=failed["outcome_detail"],
    )
    assert str(failed["outcome_detail"]).startswith("delivery-failed: ")
    undelivered_token = _accessor(world, undeliverable.id, commits[("issue", undeliverable.id)])
    assert _token(world, undelivered_token) is None, "an undeliverable token is revoked at once"
    assert set(rows) == {h.id for h in (*granted, bypassed, undeliverable)}

    assert "all invariants hold" in _jitflow(
        world, "audit", "verify", "--vault", "--repo", str(world.bare), "--now", now
    )


def _commit_time(world: World, sha: str) -> str:
    seconds = Git(world.bare).run("show", "-s", "--format=%ct", sha)
    return format_time(datetime.fromtimestamp(int(seconds), UTC))


def _grant_expiry(world: World, request_id: str) -> datetime:
    from jitflow.core.ledger import active_path, parse_active_record

    record = parse_active_record(world.main_file(active_path(request_id)) or b"", request_id)
    assert record.expires_at is not None
    return record.expires_at
