"""Forged ledger histories (the builder's exact layout, then one thing forged), each caught by
`jitflow audit verify` through the CLI with its own finding code, naming grant and commit."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from jitflow.cli import cli
from jitflow.core.yamlio import dump_block
from tests.audit.history_builder import (
    POLICY_ORDERS,
    RUNNER_EMAIL,
    SIGNERS_PATH,
    T0,
    Handle,
    HistoryBuilder,
    SigningKit,
    make_signing_kit,
)


@pytest.fixture
def builder(tmp_path: Path) -> HistoryBuilder:
    return HistoryBuilder(tmp_path / "ledger")


def verify_cli(builder: HistoryBuilder, now: datetime, *extra: str) -> tuple[int, str]:
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    result = CliRunner().invoke(
        cli, ["audit", "verify", "--repo", str(builder.root), "--now", stamp, *extra]
    )
    return result.exit_code, result.output


def found(output: str) -> set[str]:
    return {line.split(":", 1)[0] for line in output.splitlines() if ": " in line}


def issued(builder: HistoryBuilder, requester: str = "alice", **kwargs: object) -> Handle:
    handle = builder.request(requester, at=T0, **kwargs)  # type: ignore[arg-type]
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    builder.issue(handle, T0 + timedelta(minutes=3))
    return handle


def test_clean_lifecycle_is_green_through_the_cli(builder: HistoryBuilder) -> None:
    builder.lifecycle("alice", "bob", T0)
    code, output = verify_cli(builder, T0 + timedelta(hours=2))
    assert code == 0, output
    assert "all invariants hold" in output


def test_active_file_deleted_and_never_archived(builder: HistoryBuilder) -> None:
    handle = issued(builder)
    builder.remove(f"requests/active/{handle.id}.yaml")
    builder.write("README.md", "tidy\n")
    sha = builder.commit("mallory", "tidy up", T0 + timedelta(minutes=10))
    code, output = verify_cli(builder, T0 + timedelta(minutes=20))
    assert code == 1
    assert "grant-vanished" in found(output)
    assert f"ledger-record-removed: {handle.id} at {sha[:12]}" in output
    assert handle.issue_commit[:12] in output


def test_archive_record_rewritten_after_it_was_written(builder: HistoryBuilder) -> None:
    handle = builder.lifecycle("alice", "bob", T0)
    text = builder.read(handle.path).replace("reason: expired", "reason: revoked")
    builder.write(handle.path, text)
    sha = builder.runner_commit("expire", handle, T0 + timedelta(hours=1))
    code, output = verify_cli(builder, T0 + timedelta(hours=2))
    assert code == 1
    assert f"ledger-record-rewritten: {handle.id} at {sha[:12]}" in output


def test_archive_record_removed(builder: HistoryBuilder) -> None:
    handle = builder.lifecycle("alice", "bob", T0)
    builder.remove(handle.path)
    sha = builder.runner_commit("expire", handle, T0 + timedelta(hours=1))
    code, output = verify_cli(builder, T0 + timedelta(hours=2))
    assert code == 1
    assert f"ledger-record-removed: {handle.id} at {sha[:12]}" in output
    assert "grant-vanished" in found(output)


def test_reused_id_overwriting_an_archive_record_is_caught(builder: HistoryBuilder) -> None:
    """Issue #10 hole 8: a denial of a reused id overwrote the original's archive record."""
    first = builder.lifecycle("alice", "bob", T0)
    builder.git.run("branch", "-q", "-D", f"request/{first.id}")
    again = builder.request("alice", at=T0 + timedelta(hours=1), request_id=first.id)
    builder.merge(again, "bob", T0 + timedelta(hours=1, minutes=1), approved_by=())
    builder.end(again, T0 + timedelta(hours=1, minutes=2), reason="denied")
    code, output = verify_cli(builder, T0 + timedelta(hours=2))
    assert code == 1
    assert f"ledger-record-rewritten: {first.id} at {again.end_commit[:12]}" in output


def test_active_record_moved_with_a_changed_text(builder: HistoryBuilder) -> None:
    handle = issued(builder)
    path = f"requests/active/{handle.id}.yaml"
    builder.write(path, builder.read(path).replace("approved_by:\n  - bob", "approved_by: []"))
    end = builder.end(handle, T0 + timedelta(minutes=33))
    code, output = verify_cli(builder, T0 + timedelta(hours=1))
    assert code == 1
    assert f"ledger-record-rewritten: {handle.id} at {end[:12]}" in output
    assert "does not start with the active record" in output


def test_ledger_commit_that_also_edits_groups(builder: HistoryBuilder) -> None:
    handle = builder.request("alice", at=T0)
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    builder.write("policies/groups.yaml", builder.read("policies/groups.yaml") + "extra: [x]\n")
    sha = builder.issue(handle, T0 + timedelta(minutes=3))
    code, output = verify_cli(builder, T0 + timedelta(minutes=5))
    assert code == 1
    assert f"ledger-commit-outside-ledger: {handle.id} at {sha[:12]}" in output
    assert "policies/groups.yaml" in output


def test_grant_longer_than_the_policy_allowed(builder: HistoryBuilder) -> None:
    handle = builder.request("alice", at=T0, duration="4h")
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    builder.issue(handle, T0 + timedelta(minutes=3), grant={"expires_at": "2026-11-02T15:03:00Z"})
    code, output = verify_cli(builder, T0 + timedelta(minutes=5))
    assert code == 1
    assert f"grant-longer-than-policy: {handle.id} at {handle.issue_commit[:12]}" in output
    assert "6:00:00, above the maximum 4:00:00" in output


def test_longer_grant_judged_by_the_policy_at_the_policy_commit(builder: HistoryBuilder) -> None:
    handle = builder.request("alice", at=T0)
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    builder.issue(handle, T0 + timedelta(minutes=3), grant={"expires_at": "2026-11-02T17:03:00Z"})
    builder.write("policies/orders-db-write.yaml", POLICY_ORDERS.replace("max: 4h", "max: 12h"))
    builder.commit("admin", "Longer grants", T0 + timedelta(minutes=4))
    code, output = verify_cli(builder, T0 + timedelta(minutes=5))
    assert code == 1
    assert "grant-longer-than-policy" in found(output), output


def test_issued_at_far_from_its_commit(builder: HistoryBuilder) -> None:
    handle = builder.request("alice", at=T0)
    builder.merge(handle, "bob", T0 + timedelta(minutes=2))
    builder.issue(
        handle,
        T0 + timedelta(hours=3),
        grant={"issued_at": "2026-11-02T09:03:00Z", "expires_at": "2026-11-02T09:33:00Z"},
    )
    code, output = verify_cli(builder, T0 + timedelta(hours=3, minutes=1))
    assert code == 1
    assert f"issued-at-mismatch: {handle.id} at {handle.issue_commit[:12]}" in output
    assert "2026-11-02T09:03:00Z" in output and "2026-11-02T12:00:00Z" in output


def test_ended_before_issued(builder: HistoryBuilder) -> None:
    handle = issued(builder)
    sha = builder.end(handle, T0 + timedelta(minutes=1))
    code, output = verify_cli(builder, T0 + timedelta(hours=1))
    assert code == 1
    assert f"ended-before-issued: {handle.id} at {sha[:12]}" in output
    assert "2026-11-02T09:01:00Z is before issued_at 2026-11-02T09:03:00Z" in output


def test_ended_at_far_from_its_commit_hides_nothing(builder: HistoryBuilder) -> None:
    """Backdating `ended.at` would hide a late end: the end commit's time is the witness."""
    handle = issued(builder)
    builder.end(handle, T0 + timedelta(hours=5), extra=None)
    path = handle.path
    text = builder.read(path).replace("T14:00:00Z", "T09:33:00Z")
    builder.write(path, text)
    builder.git.run("add", "-A")
    builder.git.run(
        "commit", "-q", "--amend", "--no-edit", env=builder._identity("jitflow-sync", T0)
    )
    code, output = verify_cli(builder, T0 + timedelta(hours=6))
    assert code == 1
    assert "ended-at-mismatch" in found(output), output


def test_revocation_merged_but_never_recorded(builder: HistoryBuilder) -> None:
    """What a force-push that dropped the runner's revoke commit leaves behind."""
    handle = issued(builder)
    builder.revoke(handle, "alice", "bob", T0 + timedelta(minutes=10))
    builder.git.run("reset", "-q", "--hard", "HEAD~1")  # drop the runner's end commit
    merge = builder.head()
    assert verify_cli(builder, T0 + timedelta(minutes=12))[0] == 0  # sync may not have run
    code, output = verify_cli(builder, T0 + timedelta(hours=1))
    assert code == 1
    assert f"revocation-not-recorded: {handle.id} at {merge[:12]}" in output


# -- root 1: the runner's commits are signed; names and emails prove nothing ------------


def forged_issue(builder: HistoryBuilder, **commit: object) -> tuple[Handle, str]:
    """An unapproved merge, then an issue commit claiming bob approved, made by `commit`."""
    handle = builder.request("alice", at=T0)
    builder.merge(handle, "carol", T0 + timedelta(minutes=2), approved_by=("bob",))
    text = builder.read(f"requests/{handle.id}.yaml")
    handle.issued_at = T0 + timedelta(minutes=3)
    handle.expires_at = handle.issued_at + handle.duration
    builder.remove(f"requests/{handle.id}.yaml")
    builder.write(
        f"requests/active/{handle.id}.yaml", text + dump_block("grant", builder.grant_block(handle))
    )
    message = f"jitflow: issue {handle.id}\n\nJitflow-Event: issue\nJitflow-Request: {handle.id}"
    sha = builder.commit("jitflow-sync", message, T0 + timedelta(minutes=3), **commit)  # type: ignore[arg-type]
    return handle, sha


def test_runner_identity_without_signature_is_not_the_runner(builder: HistoryBuilder) -> None:
    handle, sha = forged_issue(builder, email=RUNNER_EMAIL)
    code, output = verify_cli(builder, T0 + timedelta(minutes=5))
    assert code == 1
    assert f"ledger-unsigned: {handle.id} at {sha[:12]}" in output
    assert "the commit is not signed" in output


def test_signature_from_another_ca_is_not_the_runner(builder: HistoryBuilder) -> None:
    handle, sha = forged_issue(builder, email=RUNNER_EMAIL, signer=make_signing_kit())
    code, output = verify_cli(builder, T0 + timedelta(minutes=5))
    assert code == 1
    assert f"ledger-unsigned: {handle.id} at {sha[:12]}" in output
    assert "a CA the signers file does not trust" in output


def test_certificate_for_another_principal_is_not_the_runner(
    builder: HistoryBuilder, tmp_path: Path
) -> None:
    other = make_signing_kit(principal="alice")
    # the same CA as the runner's kit, certifying a key for another principal
    kit = builder.kit
    ca = kit.certificate.parent / "ca"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True
    )
    subprocess.run(
        [
            *("ssh-keygen", "-q", "-s", str(ca), "-I", "x", "-n", "alice"),
            *("-V", "20000101:21000101", str(tmp_path / "k.pub")),
        ],
        check=True,
    )
    forger = SigningKit(other.ca_public, tmp_path / "k-cert.pub")
    handle, sha = forged_issue(builder, email=RUNNER_EMAIL, signer=forger)
    _, output = verify_cli(builder, T0 + timedelta(minutes=5))
    assert f"ledger-unsigned: {handle.id} at {sha[:12]}" in output
    assert "principals ['alice'] are not trusted" in output


def test_a_signed_runner_commit_also_passes_git_verify_commit(builder: HistoryBuilder) -> None:
    handle = builder.lifecycle("alice", "bob", T0)
    result = subprocess.run(
        [
            *("git", "-c", f"gpg.ssh.allowedSignersFile={SIGNERS_PATH}"),
            *("verify-commit", handle.issue_commit),
        ],
        cwd=builder.root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert 'Good "git" signature for jitflow-ledger' in result.stderr


def test_pinned_signers_file_overrides_the_repository(
    builder: HistoryBuilder, tmp_path: Path
) -> None:
    builder.lifecycle("alice", "bob", T0)
    pinned = tmp_path / "pinned_signers"
    pinned.write_text(make_signing_kit().allowed_signers)
    code, output = verify_cli(builder, T0 + timedelta(hours=2), "--allowed-signers", str(pinned))
    assert code == 1
    assert "ledger-unsigned" in found(output)
    code, output = verify_cli(builder, T0 + timedelta(hours=2))
    assert code == 0, output
    assert "not checked: " in output and "--github" in output and "--vault" in output
