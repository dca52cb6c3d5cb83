"""A grant that can't be delivered is revoked at once and archived as `failed`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jitflow.adapters.git import Git
from jitflow.adapters.vault import VaultGateway
from jitflow.usecases.audit.report import AuditOptions, iter_rows
from jitflow.usecases.audit.verify import VerifyOptions, run_verify
from tests.sync.conftest import World
from tests.sync.helpers_feat import archived, comment_bodies, main_trailers


def test_requester_without_ssh_key_gets_a_revoked_failed_grant(world: World) -> None:
    # carol may request (group sre) but has published no SSH key: age can't encrypt to her.
    request_id, number = world.approved_merge(author="carol")
    result = world.sync()

    # The run did its job -- the failure is recorded -- so it exits 0 and says what happened.
    assert result.returncode == 0
    assert f"fail: {request_id}" in result.stdout and "SSH public key" in result.stdout
    assert world.main_file(f"requests/{request_id}.yaml") is None
    assert world.main_file(f"requests/active/{request_id}.yaml") is None

    record = archived(world, request_id)
    ended, grant = record["ended"], record["grant"]
    assert ended["reason"] == "failed" and ended["by"] == "jitflow-sync" and ended["pr"] == number
    [finding] = ended["findings"]
    assert finding["code"] == "delivery-failed" and "no SSH public key" in finding["message"]
    accessor = grant["vault"]["accessor"]

    # Revoked in Vault, and confirmed: the token is gone, no jitflow token is left for it.
    vault = VaultGateway.from_env(world.env)
    assert vault.lookup_accessor(accessor) is None
    assert [t for t in vault.list_jitflow_tokens() if t.request_id == request_id] == []

    failed, issued = main_trailers(world, 2)
    assert issued["jitflow-event"] == "issue" and issued["jitflow-request"] == request_id
    assert failed["jitflow-event"] == "fail" and failed["jitflow-request"] == request_id
    assert failed["jitflow-policy"] == "ops-read" and failed["jitflow-requester"] == "carol"
    assert failed["jitflow-approved-by"] == "bob" and failed["jitflow-expires"]

    bodies = comment_bodies(world, number)
    [note] = [b for b in bodies if "could not be delivered" in b]
    assert "revoked" in note and "https://github.com/settings/keys" in note
    assert "open a new request" in note
    assert not any("BEGIN AGE ENCRYPTED FILE" in b for b in bodies)
    assert not any(f"`{request_id}` is active" in b for b in bodies)

    # Idempotent: a second run has nothing left to do for it.
    tip = Git(world.bare).rev_parse("main")
    assert "nothing to do" in world.sync().stdout
    assert Git(world.bare).rev_parse("main") == tip


def test_audit_shows_the_failed_grant_and_verify_accepts_it(world: World) -> None:
    request_id, number = world.approved_merge(author="carol")
    world.sync()
    now = datetime.now(UTC) + timedelta(minutes=1)
    git = Git(world.bare)
    rows = {
        row.id: row
        for row in iter_rows(AuditOptions(repo=world.bare), git, git.rev_parse("main"), now)
    }
    row = rows[request_id]
    assert row.outcome.value == "failed"
    assert row.pr == number and row.approvers == ("bob",)
    assert "delivery-failed" in row.outcome_detail and row.ended_at is not None
    assert row.evidence.issue_commit and row.evidence.end_commit
    report = run_verify(VerifyOptions(repo=world.bare, ref="main", now=now))
    assert [v for v in report.violations if v.request_id == request_id] == []
