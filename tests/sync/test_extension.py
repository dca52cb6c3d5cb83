"""Extending an active grant through the whole path: an `extends:` request PR, merge, sync
issuing credentials that run to the new end (Vault enforces it), delivery, then the old grant
ended as `extended`; and the ways an extension is refused at sync."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from jitflow.core.times import format_time, parse_time
from jitflow.usecases.audit.report import AuditOptions, ReportFormat, run_audit
from tests.audit.test_audit_ocsf import schema_errors
from tests.sync.conftest import World, vault_api
from tests.sync.observe import active_grant, archived, events, ledger_trailers, live_accessors
from tests.sync.outbound_receiver import https_receiver
from tests.sync.test_kinds_through_sync import GROUP_POLICY, _members, _publish
from tests.sync.test_outbound import admin_commit

EXT_POLICY = b"""\
name: ops-ext
description: A read-only Vault token that may be extended
grant: {kind: vault-token, policies: [jitflow-readonly]}
duration: {default: 30m, max: 1h}
requesters: {groups: [sre]}
approvals:
  rules:
    - {count: 1, from: {groups: [leads]}}
limits: {active_per_requester: 1}
extension: {total_max: 2h, self_approve_up_to: 30m}
"""


def _extension(world: World, policy: str, grant_id: str, duration: str, author: str = "alice"):  # type: ignore[no-untyped-def]
    body = (
        f"policy: {policy}\nrequester: {author}\nduration: {duration}\n"
        "reason: the fix runs over, a little more time please\n"
        f"extends: {grant_id}\n"
    )
    return world.request(policy, author=author, body=body)


def _token_end(world: World, accessor: str) -> tuple[int, str] | None:
    """(explicit_max_ttl, expire_time) of a live token, as Vault itself says; None: gone."""
    answer = vault_api(
        world.vault.addr,
        world.vault.root_token,
        "POST",
        "auth/token/lookup-accessor",
        {"accessor": accessor},
    )
    if answer.status_code != 200:
        return None
    data = answer.json()["data"]
    return int(data["explicit_max_ttl"]), str(data["expire_time"])


def test_self_approved_extension_replaces_the_token_up_to_the_new_end(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    # issued while the policy allowed no extensions: its token is not renewable, so the
    # extension (allowed since) is by replacement (in place: test_extension_in_place)
    fixed = EXT_POLICY.replace(b"extension: {total_max: 2h, self_approve_up_to: 30m}\n", b"")
    _publish(world, {"policies/ops-ext.yaml": fixed})
    grant_id, _ = world.approved_merge("ops-ext")
    other_id, _ = world.approved_merge("ops-read")  # another grant of alice's: left alone
    world.sync()
    old = active_grant(world, grant_id)
    other = active_grant(world, other_id)
    assert old is not None and other is not None
    assert "renewable_until" not in old["vault"]
    _publish(world, {"policies/ops-ext.yaml": EXT_POLICY})

    ext_id, number = _extension(world, "ops-ext", grant_id, "20m")
    world.standin.merge_pull(number, "alice")  # 20m <= self_approve_up_to: no review needed
    world.sync()

    new = active_grant(world, ext_id)
    assert new is not None, world.main_paths()
    assert new["extends"] == grant_id and new["extension"] == "replacement"
    assert new["started_at"] == old["issued_at"]
    end = parse_time(old["expires_at"]) + timedelta(minutes=20)
    # Vault counts the TTL from when it creates the token, a few seconds after the sync read
    # its clock: the end drifts later by that much (extension.SLACK allows a minute)
    assert -timedelta(seconds=2) <= parse_time(new["expires_at"]) - end <= timedelta(seconds=60)
    assert new["approved_by"] == []
    # Vault itself ends it: the new token's TTL runs to the new end; being renewable (the
    # policy allows extensions now), its ceiling is what is left of total_max
    max_ttl, expire_time = _token_end(world, new["vault"]["accessor"]) or (0, "")
    assert max_ttl > new["granted_seconds"] and "renewable_until" in new["vault"]
    assert expire_time[:19] == new["expires_at"][:19] or abs(
        parse_time(expire_time[:19] + "Z") - parse_time(new["expires_at"])
    ) <= timedelta(seconds=2)
    # the old grant: archived as extended, after delivery; its token is gone
    assert active_grant(world, grant_id) is None
    [record] = archived(world, grant_id)
    assert record["ended"]["reason"] == "extended"
    assert record["ended"]["extended_by"] == ext_id
    assert record["ended"]["extension"] == "replacement"
    assert _token_end(world, old["vault"]["accessor"]) is None
    assert events(world, grant_id) == ["issue", "extend"]
    [issued] = ledger_trailers(world, ext_id)
    assert issued["jitflow-event"] == "issue" and issued["jitflow-extends"] == grant_id
    # the new credentials are delivered on the extension's PR, with what changed
    bodies = [c["body"] for c in world.standin.comments(number)]
    assert any("BEGIN AGE ENCRYPTED FILE" in b for b in bodies)
    assert any(f"This extends `{grant_id}`" in b for b in bodies)
    # overlapping grants of the same person never end each other
    assert active_grant(world, other_id) == other
    assert other["vault"]["accessor"] in live_accessors(world.vault)
    # the OCSF export (what outbound streams) tells the chain, valid against the schema
    world.runner.run("fetch", "--quiet", "origin")
    out = io.StringIO()
    options = AuditOptions(repo=world.runner.path, ref="origin/main", format=ReportFormat.OCSF)
    run_audit(options, out)
    ocsf = [json.loads(line) for line in out.getvalue().splitlines()]
    by = {(e["metadata"]["correlation_uid"], e["metadata"]["event_code"]): e for e in ocsf}
    ended, issued_ext = by[grant_id, "extended"], by[ext_id, "issued"]
    assert schema_errors(ended) == [] and schema_errors(issued_ext) == []
    assert ended["activity_name"] == "Revoke Privileges"
    assert ended["unmapped"]["jitflow"]["extended_by"] == ext_id
    assert issued_ext["unmapped"]["jitflow"]["extends"] == grant_id

    # a second extension of the replaced grant is refused: extend the newest one
    late_id, late_number = _extension(world, "ops-ext", grant_id, "10m")
    world.standin.merge_pull(late_number, "alice")
    world.sync()
    [denied] = archived(world, late_id)
    assert denied["ended"]["reason"] == "denied"
    assert "extends-unknown-grant" in [f["code"] for f in denied["ended"]["findings"]]

    world.sync("--now", new["expires_at"])
    assert [r["ended"]["reason"] for r in archived(world, ext_id)] == ["expired"]


def test_extension_beyond_self_approval_or_total_max_is_denied_at_sync(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/ops-ext.yaml": EXT_POLICY})
    grant_id, _ = world.approved_merge("ops-ext", duration="1h")
    world.sync()
    old = active_grant(world, grant_id)
    assert old is not None

    unapproved, number = _extension(world, "ops-ext", grant_id, "45m")  # > 30m: needs a lead
    world.standin.merge_pull(number, "alice")
    world.sync()
    [record] = archived(world, unapproved)
    assert record["ended"]["reason"] == "denied"
    assert "approvals-missing" in [f["code"] for f in record["ended"]["findings"]]

    approved, number = _extension(world, "ops-ext", grant_id, "45m")
    world.standin.submit_review(number, "bob", "APPROVE")
    world.standin.merge_pull(number, "bob")
    world.sync()
    new = active_grant(world, approved)
    assert new is not None and new["approved_by"] == ["bob"]
    assert new["started_at"] == format_time(parse_time(old["issued_at"]))
    assert active_grant(world, grant_id) is None

    # an extension of the extension: 1h + 45m + 30m is over the policy's total_max of 2h
    over, number = _extension(world, "ops-ext", approved, "30m")
    world.standin.merge_pull(number, "alice")
    world.sync()
    [record] = archived(world, over)
    assert record["ended"]["reason"] == "denied"
    [finding] = record["ended"]["findings"]
    assert finding["code"] == "extension-over-total-max"
    assert (
        "at most 15m can still be added" in finding["message"]
        or "at most 14m" in finding["message"]
    ), finding
    assert active_grant(world, approved) == new  # refused: the grant goes on unchanged


def test_identity_group_extension_keeps_the_membership(world: World) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    policy = GROUP_POLICY + b"extension: {total_max: 3h, self_approve_up_to: 30m}\n"
    _publish(world, {"policies/oncall.yaml": policy})
    entity = world.vault.setup.entity_ids["alice"]
    grant_id, _ = world.approved_merge("oncall")
    world.sync()
    old = active_grant(world, grant_id)
    assert old is not None and entity in _members(world)

    ext_id, number = _extension(world, "oncall", grant_id, "30m")
    world.standin.merge_pull(number, "alice")
    world.sync()
    new = active_grant(world, ext_id)
    assert new is not None and new["extends"] == grant_id
    assert entity in _members(world)  # never dropped in between
    # in place: the same anchor token, renewed to the new end
    assert new["extension"] == "in-place"
    assert new["vault"]["accessor"] == old["vault"]["accessor"]
    _, expire_time = _token_end(world, old["vault"]["accessor"]) or (0, "")
    assert expire_time[:19] == new["expires_at"][:19] or abs(
        parse_time(expire_time[:19] + "Z") - parse_time(new["expires_at"])
    ) <= timedelta(seconds=2)
    assert [r["ended"]["reason"] for r in archived(world, grant_id)] == ["extended"]

    world.sync("--now", new["expires_at"])
    assert entity not in _members(world)
    assert _token_end(world, old["vault"]["accessor"]) is None


WARN_POLICY = EXT_POLICY.replace(b"name: ops-ext", b"name: ops-warn") + b"warn_before: 20m\n"


def test_expiry_warning_once_then_told_of_the_end(world: World, tmp_path: Path) -> None:
    world.env["JITFLOW_GITHUB_WRITE_INTERVAL"] = "0"
    _publish(world, {"policies/ops-warn.yaml": WARN_POLICY})
    grant_id, number = world.approved_merge("ops-warn")
    world.sync()
    grant = active_grant(world, grant_id)
    assert grant is not None
    expires = parse_time(grant["expires_at"])
    bodies = [c["body"] for c in world.standin.comments(number)]
    assert any("@alice, your grant is issued until" in b for b in bodies)

    with https_receiver(tmp_path, {"/hooks": HOOK_KEY}, "") as (receiver, ca_pem):
        env = {
            "JITFLOW_TEST_HOOK_URL": f"{receiver.url}/hooks",
            "JITFLOW_TEST_HOOK_KEY": HOOK_KEY.decode(),
            "JITFLOW_TEST_SLACK_URL": f"{receiver.url}/slack",
        }
        admin_commit(
            world,
            {".jitflow/outbound.yaml": HOOKS, ".jitflow/receiver-ca.pem": ca_pem.decode()},
            "Tell the hooks and chat of every ledger event",
        )
        world.sync("--now", format_time(expires - timedelta(minutes=25)), env_extra=env)
        assert events(world, grant_id) == ["issue"]  # before warn_before
        for minutes in (15, 14):  # inside the window twice: one warning only
            world.sync("--now", format_time(expires - timedelta(minutes=minutes)), env_extra=env)
        assert events(world, grant_id) == ["issue", "warn"]
        # the warning is a ledger event like the others: signed JSON and a Slack line
        hooks = [e for r in receiver.on("/hooks") for e in r.events()]
        assert all(r.signature_ok for r in receiver.on("/hooks"))
        [warned] = [e for e in hooks if e["type"] == "expiry-warned"]
        assert (warned["request"], warned["requester"]) == (grant_id, "alice")
        assert warned["detail"] == f"expires at {grant['expires_at']}"
        slack = "\n".join(json.loads(r.body)["text"] for r in receiver.on("/slack"))
        assert f"expiry warned: {grant_id} · requester alice" in slack
    warnings = [
        c for c in world.standin.comments(number) if f"`{grant_id}` expires at" in c["body"]
    ]
    assert len(warnings) == 1
    body = warnings[0]["body"]
    assert "@alice" in body and "(in 15m)" in body
    assert f"jitflow request ops-warn --extends {grant_id} --for 30m" in body
    assert f"extends: {grant_id}" in body

    world.sync("--now", grant["expires_at"])
    ended = [c["body"] for c in world.standin.comments(number) if "has ended" in c["body"]]
    assert len(ended) == 1 and "@alice, your grant expired" in ended[0]
    # `jitflow audit` shows when the requester was warned; the OCSF export has the event
    world.runner.run("fetch", "--quiet", "origin")
    out = io.StringIO()
    options = AuditOptions(repo=world.runner.path, ref="origin/main", format=ReportFormat.JSON)
    run_audit(options, out)
    [row] = [r for r in json.loads(out.getvalue())["rows"] if r["id"] == grant_id]
    assert row["warned_at"] == format_time(expires - timedelta(minutes=15))
    out = io.StringIO()
    run_audit(replace(options, format=ReportFormat.OCSF), out)
    ocsf = [json.loads(line) for line in out.getvalue().splitlines()]
    [event] = [e for e in ocsf if e["metadata"]["event_code"] == "expiry-warned"]
    assert schema_errors(event) == [] and event["metadata"]["uid"] == warned["id"]
    assert (event["activity_id"], event["activity_name"]) == (99, "Warn Before Expiry")


HOOK_KEY = b"hook-key-for-the-warning"
HOOKS = """\
endpoints:
  - name: hooks
    url: {env: JITFLOW_TEST_HOOK_URL}
    format: json
    secret: {env: JITFLOW_TEST_HOOK_KEY}
    ca_file: .jitflow/receiver-ca.pem
  - name: chat
    url: {env: JITFLOW_TEST_SLACK_URL}
    format: slack
    ca_file: .jitflow/receiver-ca.pem
"""
