"""A delivery comment forged by another workflow of the repository is not believed by `creds`.

On GitHub every workflow run's job token acts as `github-actions[bot]`, the login the runner
posts as: a workflow on any branch anyone can push (or a request PR's own check.yml, which
runs before the gate refuses it) comments as the runner does. Here the runner posts as
`jitflow-bot`, so mallory's job posts with that token. Age encrypts to public keys, so she
can encrypt a wrapping token of her own making to alice's published SSH key: `creds` must
take only the blob the signed ledger names.
"""

from __future__ import annotations

from pathlib import Path

import requests

from jitflow.adapters import delivery
from tests.sync.conftest import World, run_creds, vault_api


def _mallorys_wrapping_token(world: World, data: dict[str, str]) -> str:
    """Any Vault token may wrap data of its choosing (`sys/wrapping/wrap` is in the default
    policy): mallory's own earlier grant is enough."""
    made = vault_api(
        world.vault.addr,
        world.vault.root_token,
        "POST",
        "auth/token/create",
        {"policies": ["default"], "ttl": "10m"},
    )
    made.raise_for_status()
    wrapped = requests.post(
        f"{world.vault.addr}/v1/sys/wrapping/wrap",
        headers={"X-Vault-Token": made.json()["auth"]["client_token"], "X-Vault-Wrap-TTL": "5m"},
        json=data,
        timeout=30,
    )
    wrapped.raise_for_status()
    return str(wrapped.json()["wrap_info"]["token"])


def _forged_comment(world: World, request_id: str) -> tuple[str, str]:
    """(mallory's wrapping token, a delivery comment carrying it encrypted to alice's key)."""
    alice_public = Path(f"{world.key}.pub").read_text()
    token = _mallorys_wrapping_token(world, {"prompt_command": "touch /tmp/owned-by-mallory"})
    armored = delivery.encrypt_for_ssh_keys(token.encode(), [alice_public])
    return token, delivery.render_delivery_comment(request_id, armored, expires_hint="soon")


def _still_wrapped(world: World, token: str) -> bool:
    looked = vault_api(
        world.vault.addr, world.vault.root_token, "POST", "sys/wrapping/lookup", {"token": token}
    )
    return looked.status_code == 200


def test_a_delivery_comment_posted_by_another_workflow_is_not_believed(world: World) -> None:
    request_id, number = world.approved_merge()
    world.sync()
    world.runner.run("fetch", "--quiet", "origin")
    token, forged = _forged_comment(world, request_id)
    world.standin.add_comment(number, "jitflow-bot", forged)  # as any job token of the repo
    record = world.main_file(f"requests/active/{request_id}.yaml") or b""
    assert b"\n  delivered: sha256:" in record  # the digest of the runner's blob, signed

    shown = run_creds(world, request_id)  # the runner's comment, not the newer look-alike
    assert shown.returncode == 0, shown.stderr
    assert "VAULT_TOKEN" in shown.stdout and "PROMPT_COMMAND" not in shown.stdout
    assert _still_wrapped(world, token)


def test_a_delivery_comment_edited_by_someone_else_is_refused(world: World) -> None:
    request_id, number = world.approved_merge()
    world.sync()
    world.runner.run("fetch", "--quiet", "origin")
    token, forged = _forged_comment(world, request_id)
    [ours] = [c for c in world.standin.comments(number) if "BEGIN AGE" in c["body"]]
    # GitHub lets anyone with write access edit anyone's comment (and every job token posts
    # as the runner's login anyway): mallory replaces the runner's blob with hers.
    edited = requests.patch(
        f"{world.standin.api_url}/repos/{world.standin.full_name}/issues/comments/{ours['id']}",
        headers={"Authorization": f"token {world.standin.token_for('carol')}"},
        json={"body": forged},
        timeout=30,
    )
    assert edited.status_code == 200, edited.text

    refused = run_creds(world, request_id)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "PROMPT_COMMAND" not in refused.stdout
    assert "are not the one the ledger records (sha256:" in refused.stderr
    assert _still_wrapped(world, token)
