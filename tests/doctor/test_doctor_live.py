"""`jitflow doctor` against the GitHub stand-in and a real OpenBao: a good setup passes, and
each planted misconfiguration is named by its own check id (and only it), with exit 1."""

from __future__ import annotations

import pytest

from jitflow.sandbox.github_standin.accounts import first_id
from jitflow.sandbox.servers.openbao import free_port
from jitflow.usecases.init import workflow_templates
from tests.doctor.conftest import (
    ACTION,
    GOOD_PROTECTION,
    GROUPS,
    REPOSITORY,
    Setup,
    check,
    failed_ids,
    policy_yaml,
)

SYNC = ".github/workflows/sync.yml"
LEDGER = "github.ledger-writer"


def test_good_setup_passes_every_check(live: Setup) -> None:
    code, report = live.report()
    assert failed_ids(report) == set()
    assert code == 0
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert {s for s in statuses.values()} == {"ok"}
    expected = {
        "repository.codeowners",
        "repository.workflow.check",
        "repository.workflow.sync",
        "repository.policies",
        "repository.policy-rules",
        "github.required-statuses",
        "github.required-reviews",
        "github.code-owner-reviews",
        "github.last-push-approval",
        "github.admins-enforced",
        "github.ledger-writer",
        "github.team-reads",
        "vault.reachable",
        "vault.jwt-role",
        "vault.jwt-claims",
        "vault.token-role",
        "vault.run-role",
        "vault.ledger-signing",
        "repository.allowed-signers",
        "vault.grant.ro-token",
        "vault.grant.ssh-login",
        "vault.grant.oncall",
        "vault.grant.client-cert",
    }
    assert expected <= set(statuses)
    if live.vault.setup.database_mount:
        assert statuses["vault.grant.db-write"] == "ok"
        assert statuses["vault.sessions.db-write"] == "ok"  # revocation ends open sessions


def test_text_output_marks_each_problem_with_a_fix_and_never_prints_tokens(live: Setup) -> None:
    live.protect_classically({**GOOD_PROTECTION, "enforce_admins": False})
    result = live.doctor()
    assert result.exit_code == 1
    assert "✓ repository.codeowners" in result.stdout
    line = next(x for x in result.stdout.splitlines() if "github.admins-enforced" in x)
    assert line.lstrip().startswith("✗")
    after = result.stdout.split(line, 1)[1].splitlines()[1]
    assert after.strip().startswith("fix: gh api -X POST repos/acme/access/branches/main/")
    for secret in (live.env["GITHUB_TOKEN"], live.env["VAULT_TOKEN"]):
        assert secret and secret not in result.stdout + result.stderr


# ---- GitHub -------------------------------------------------------------------------------


def test_a_named_team_without_a_team_reading_token(live: Setup) -> None:
    live.standin.remove_actions_settings()
    code, report = live.report()
    assert (code, failed_ids(report)) == (1, {"github.team-reads"})
    found = check(report, "github.team-reads")
    assert "acme/access-admins" in found["message"]
    assert "JITFLOW_TEAMS_APP_ID" in found["fix"] and "Members: Read-only" in found["fix"]
    live.standin.set_actions_variable("JITFLOW_TEAMS_APP_ID", "654321")  # the key forgotten
    code, report = live.report()
    assert "JITFLOW_TEAMS_APP_PRIVATE_KEY" in check(report, "github.team-reads")["message"]
    live.standin.remove_actions_settings()
    live.standin.set_actions_secret("JITFLOW_TEAMS_TOKEN")  # a stored token will do
    assert live.report()[0] == 0


def test_no_named_team_needs_no_team_reading_token(live: Setup) -> None:
    live.standin.remove_actions_settings()
    owners = (live.path / ".github" / "CODEOWNERS").read_text()
    live.write(".github/CODEOWNERS", owners.replace("@acme/access-admins", "@dana").encode())
    code, report = live.report()
    assert (code, failed_ids(report)) == (1, {"repository.github-ids"})  # @dana: no pin
    assert "@dana (CODEOWNERS): no GitHub account id pinned" in str(report)
    live.standin.add_user("dana")
    live.write("policies/groups.yaml", GROUPS + f"  dana: {first_id('dana')}\n".encode())
    code, report = live.report()
    assert code == 0
    assert "no team named" in check(report, "github.team-reads")["message"]


def test_a_pinned_login_renamed_away_and_taken_over(live: Setup) -> None:
    live.standin.rename_user("bob", "bob-at-acme")
    assert failed_ids(live.report()[1]) == {"github.github-ids"}
    live.standin.add_user("bob")  # a stranger registers the freed login
    code, report = live.report()
    assert (code, failed_ids(report)) == (1, {"github.github-ids"})
    [detail] = check(report, "github.github-ids")["details"]
    assert f"pinned account {first_id('bob')} is now @bob-at-acme" in detail


def test_missing_required_status(live: Setup) -> None:
    checks = {"strict": True, "contexts": ["jitflow/policy"]}
    live.protect_classically({**GOOD_PROTECTION, "required_status_checks": checks})
    code, report = live.report()
    assert (code, failed_ids(report)) == (1, {"github.required-statuses", LEDGER})
    assert "jitflow/approval" in check(report, "github.required-statuses")["message"]


def test_admins_exempt(live: Setup) -> None:
    live.protect_classically({**GOOD_PROTECTION, "enforce_admins": False})
    code, report = live.report()
    assert (code, failed_ids(report)) == (1, {"github.admins-enforced", LEDGER})


def test_no_code_owner_review(live: Setup) -> None:
    reviews = {
        "required_approving_review_count": 1,
        "require_code_owner_reviews": False,
        "require_last_push_approval": True,
    }
    live.protect_classically({**GOOD_PROTECTION, "required_pull_request_reviews": reviews})
    code, report = live.report()
    assert (code, failed_ids(report)) == (1, {"github.code-owner-reviews", LEDGER})


def test_no_approving_review_required(live: Setup) -> None:
    protection = {k: v for k, v in GOOD_PROTECTION.items() if k != "required_pull_request_reviews"}
    live.protect_classically(protection)
    code, report = live.report()
    assert code == 1
    assert failed_ids(report) == {
        "github.required-reviews",
        "github.code-owner-reviews",
        "github.last-push-approval",
        LEDGER,
    }


def test_unprotected_branch_fails_every_github_rule(live: Setup) -> None:
    live.protect_classically(None)
    code, report = live.report()
    assert code == 1
    assert failed_ids(report) == {
        "github.required-statuses",
        "github.required-reviews",
        "github.code-owner-reviews",
        "github.last-push-approval",
        "github.admins-enforced",
    }
    assert "gh api -X PUT" in check(report, "github.admins-enforced")["fix"]


_RULESET = [
    {
        "type": "pull_request",
        "parameters": {
            "required_approving_review_count": 1,
            "require_code_owner_review": True,
            "require_last_push_approval": True,
        },
    },
    {
        "type": "required_status_checks",
        "parameters": {
            "required_status_checks": [
                {"context": "jitflow/policy"},
                {"context": "jitflow/approval"},
            ]
        },
    },
]


def test_a_ruleset_without_bypass_satisfies_every_rule_but_the_ledger_writer(live: Setup) -> None:
    live.protect_classically(None)
    live.standin.add_ruleset("jitflow gate", _RULESET)
    code, report = live.report()
    assert (code, failed_ids(report)) == (1, {LEDGER})
    assert "exactly one GitHub App" in check(report, LEDGER)["message"]


def test_classic_protection_alone_can_not_take_the_ledger(live: Setup) -> None:
    live.protect_classically(GOOD_PROTECTION)
    code, report = live.report()
    assert (code, failed_ids(report)) == (1, {LEDGER})
    assert "ruleset" in check(report, LEDGER)["fix"]


def test_the_ledger_writer_must_be_the_configured_app(live: Setup) -> None:
    live.env["JITFLOW_APP_ID"] = str(live.app_id + 1)
    code, report = live.report()
    assert (code, failed_ids(report)) == (1, {LEDGER})
    live.env["JITFLOW_APP_ID"] = str(live.app_id)
    assert live.report()[0] == 0


def test_a_ruleset_with_bypass_actors_lets_admins_through(live: Setup) -> None:
    live.protect_classically(None)
    live.standin.add_ruleset(
        "jitflow gate", _RULESET, bypass_actors=[{"actor_id": 5, "actor_type": "RepositoryRole"}]
    )
    code, report = live.report()
    assert (code, failed_ids(report)) == (1, {"github.admins-enforced", LEDGER})
    assert "RepositoryRole" in check(report, "github.admins-enforced")["message"]


def test_a_ruleset_for_another_branch_does_not_count(live: Setup) -> None:
    live.protect_classically(None)
    live.standin.add_ruleset("release gate", _RULESET, include=["refs/heads/release/*"])
    code, report = live.report()
    assert code == 1
    assert "github.required-statuses" in failed_ids(report)


def test_unreadable_protection_says_which_permission(live: Setup) -> None:
    live.standin.fail_next("GET", r"/branches/main/protection$", 404, times=5)
    code, report = live.report()
    assert code == 1
    readable = check(report, "github.protection-readable")
    assert readable["status"] == "fail"
    assert "administration: read" in readable["fix"]


def test_missing_github_settings_skip_the_section(live: Setup) -> None:
    live.env["GITHUB_TOKEN"] = None
    code, report = live.report()
    assert code == 0
    assert check(report, "github")["status"] == "skip"


# ---- repository ---------------------------------------------------------------------------


def test_codeowners_missing_policies(live: Setup) -> None:
    live.write(
        ".github/CODEOWNERS",
        b"/.github/ @acme/admins\n/requests/active/ @acme/admins\n/requests/archive/ @acme/admins\n"
        b"/.jitflow/ @acme/admins\n",
    )
    code, report = live.report("--skip", "github", "--skip", "vault")
    assert (code, failed_ids(report)) == (1, {"repository.codeowners"})
    assert "policies/" in check(report, "repository.codeowners")["message"]


def test_modified_sync_workflow(live: Setup) -> None:
    original = workflow_templates(ACTION)[SYNC]
    live.write(SYNC, original.replace(b"environment: jitflow", b"environment: staging"))
    assert (live.path / SYNC).read_bytes() != original
    code, report = live.report("--skip", "github", "--skip", "vault")
    assert (code, failed_ids(report)) == (1, {"repository.workflow.sync"})
    sync = check(report, "repository.workflow.sync")
    assert any(line.startswith("+") and "staging" in line for line in sync["details"])


def test_another_pinned_commit_of_the_action_is_the_template_for_that_commit(
    live: Setup,
) -> None:
    other = "acme/jitflow@" + "b2" * 20
    live.write(SYNC, workflow_templates(other)[SYNC])
    code, report = live.report("--skip", "github", "--skip", "vault")
    assert code == 0
    assert check(report, "repository.workflow.sync")["message"].endswith(f"running {other}")


def test_an_action_pinned_to_a_tag_fails(live: Setup) -> None:
    original = workflow_templates(ACTION)[SYNC]
    live.write(SYNC, original.replace(ACTION.encode(), b"acme/jitflow@v1"))
    code, report = live.report("--skip", "github", "--skip", "vault")
    assert (code, failed_ids(report)) == (1, {"repository.workflow.sync"})


def test_a_broken_policy_file(live: Setup) -> None:
    live.write("policies/broken.yaml", b"name: broken\ngrant: {kind: nonsense}\n")
    code, report = live.report("--skip", "github", "--skip", "vault")
    assert (code, failed_ids(report)) == (1, {"repository.policies"})
    assert any("broken.yaml" in line for line in check(report, "repository.policies")["details"])


# ---- Vault --------------------------------------------------------------------------------


def test_a_secret_path_its_grant_token_cannot_read(live: Setup) -> None:
    # jitflow-readonly reads secret/data/*: a POST to the PKI issue path needs `update`
    grant = (
        "{kind: secret, path: pki/issue/jitflow-client, method: POST, policies: [jitflow-readonly]}"
    )
    live.write("policies/bad-cert.yaml", policy_yaml("bad-cert", grant))
    code, report = live.report("--skip", "github")
    assert (code, failed_ids(report)) == (1, {"vault.grant.bad-cert"})
    found = check(report, "vault.grant.bad-cert")
    assert "don't allow 'update' on pki/issue/jitflow-client" in found["message"]


def _jwt_role_with(live: Setup, name: str, **claims: object) -> None:
    good = live.vault.read("auth/jwt/role/jitflow-sync")
    bound = {**good["bound_claims"], **claims}
    bound = {k: v for k, v in bound.items() if v is not None}
    live.vault.write(
        f"auth/jwt/role/{name}",
        {
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": good["bound_audiences"],
            "bound_claims_type": "glob",
            "bound_claims": bound,
            "token_policies": ["jitflow-runner"],
        },
    )
    live.env["JITFLOW_VAULT_ROLE"] = name


def test_jwt_role_with_repository_glob(live: Setup) -> None:
    _jwt_role_with(live, "sync-any-repo", repository="acme/*")
    code, report = live.report("--skip", "github")
    assert (code, failed_ids(report)) == (1, {"vault.jwt-claims"})
    assert "repository" in check(report, "vault.jwt-claims")["message"]
    live.vault.run_fix(check(report, "vault.jwt-claims")["fix"])
    code, report = live.report("--skip", "github")
    assert (code, failed_ids(report)) == (0, set())


def test_jwt_role_without_environment(live: Setup) -> None:
    _jwt_role_with(live, "sync-any-env", environment=None)
    code, report = live.report("--skip", "github")
    assert (code, failed_ids(report)) == (1, {"vault.jwt-claims"})
    assert "environment is not bound" in check(report, "vault.jwt-claims")["message"]


def test_jwt_role_for_another_repository(live: Setup) -> None:
    _jwt_role_with(live, "sync-other", repository="other-org/access")
    code, report = live.report("--skip", "github")
    assert (code, failed_ids(report)) == (1, {"vault.jwt-claims"})
    assert REPOSITORY in check(report, "vault.jwt-claims")["message"]


def test_missing_jwt_role(live: Setup) -> None:
    live.env["JITFLOW_VAULT_ROLE"] = "no-such-role"
    code, report = live.report("--skip", "github")
    assert (code, failed_ids(report)) == (1, {"vault.jwt-role"})


def _token_role(live: Setup, name: str, **changes: object) -> None:
    body = {
        "allowed_policies": list(live.vault.setup.grantable_policies),
        "orphan": True,
        "token_type": "service",
        "renewable": False,
        "token_explicit_max_ttl": "24h",
        **changes,
    }
    live.vault.write(f"auth/token/roles/{name}", body)
    live.env["JITFLOW_VAULT_TOKEN_ROLE"] = name


def test_token_role_not_orphan(live: Setup) -> None:
    _token_role(live, "grant-not-orphan", orphan=False)
    code, report = live.report("--skip", "github")
    assert (code, failed_ids(report)) == (1, {"vault.token-role"})
    assert "orphan" in check(report, "vault.token-role")["message"]
    live.vault.run_fix(check(report, "vault.token-role")["fix"])
    code, report = live.report("--skip", "github")
    assert (code, failed_ids(report)) == (0, set())


def test_token_role_without_explicit_max_ttl(live: Setup) -> None:
    _token_role(live, "grant-no-ceiling", token_explicit_max_ttl=0)
    code, report = live.report("--skip", "github")
    assert (code, failed_ids(report)) == (1, {"vault.token-role"})
    assert "token_explicit_max_ttl" in check(report, "vault.token-role")["message"]
    live.vault.run_fix(check(report, "vault.token-role")["fix"])
    assert live.report("--skip", "github")[0] == 0


def test_run_role_that_makes_no_heartbeat(live: Setup) -> None:
    body = {"allowed_policies": ["default"], "orphan": True, "renewable": False}
    live.vault.write("auth/token/roles/run-not-periodic", body)
    live.env["JITFLOW_VAULT_RUN_ROLE"] = "run-not-periodic"
    code, report = live.report("--skip", "github")
    assert (code, failed_ids(report)) == (1, {"vault.run-role"})
    message = check(report, "vault.run-role")["message"]
    assert "renewable is false" in message and "token_period is not set" in message
    live.vault.run_fix(check(report, "vault.run-role")["fix"])
    # the role is right now, but the runner's policy may not create tokens through it
    code, report = live.report("--skip", "github")
    assert (code, failed_ids(report)) == (1, {"vault.run-role"})
    assert "auth/token/create/run-not-periodic" in check(report, "vault.run-role")["fix"]


@pytest.mark.parametrize(
    ("name", "grant", "problem"),
    [
        (
            "ssh-missing",
            "{kind: ssh, mount: ssh, role: nobody, principals: [ubuntu]}",
            "ssh/roles/nobody",
        ),
        ("token-missing", "{kind: vault-token, policies: [no-such-policy]}", "no-such-policy"),
        ("token-unallowed", "{kind: vault-token, policies: [jitflow-runner]}", "does not allow"),
        ("group-missing", "{kind: identity-group, group: jitflow-nobody}", "jitflow-nobody"),
        (
            "ssh-wrong-engine",
            "{kind: ssh, mount: database, role: readwrite, principals: [x]}",
            "database/",
        ),
    ],
)
def test_policy_naming_a_missing_grant_target(
    live: Setup, name: str, grant: str, problem: str
) -> None:
    live.write(f"policies/{name}.yaml", policy_yaml(name, grant))
    code, report = live.report("--skip", "github")
    assert (code, failed_ids(report)) == (1, {f"vault.grant.{name}"})
    assert problem in check(report, f"vault.grant.{name}")["message"]


def test_policy_naming_a_missing_database_role(live: Setup) -> None:
    if not live.vault.setup.database_mount:
        pytest.skip("no PostgreSQL: the database engine is not configured")
    live.write(
        "policies/db-missing.yaml",
        policy_yaml("db-missing", "{kind: database, mount: database, role: nobody}"),
    )
    code, report = live.report("--skip", "github")
    assert (code, failed_ids(report)) == (1, {"vault.grant.db-missing"})
    message = check(report, "vault.grant.db-missing")["message"]
    assert "database/roles/nobody" in message
    assert "jitflow-database-nobody" in message


def test_unreachable_vault(live: Setup) -> None:
    live.env["VAULT_ADDR"] = f"http://127.0.0.1:{free_port()}"
    code, report = live.report("--skip", "github")
    assert (code, failed_ids(report)) == (1, {"vault.reachable"})
    assert [c["id"] for c in report["checks"] if c["section"] == "vault"] == ["vault.reachable"]


def test_missing_vault_settings_skip_the_section(live: Setup) -> None:
    live.env["VAULT_TOKEN"] = None
    code, report = live.report("--skip", "github")
    assert code == 0
    assert check(report, "vault")["status"] == "skip"


def test_unknown_option_is_a_usage_error(live: Setup) -> None:
    result = live.doctor("--skip", "everything")
    assert result.exit_code == 2


# ---- the ledger's signing setup -----------------------------------------------------------


def test_signers_file_trusting_another_ca(live: Setup) -> None:
    from tests.audit.history_builder import make_signing_kit

    live.write(".jitflow/allowed_signers", make_signing_kit().allowed_signers.encode())
    code, report = live.report()
    assert (code, failed_ids(report)) == (1, {"vault.ledger-signing"})
    assert "does not trust the CA" in check(report, "vault.ledger-signing")["message"]


def test_missing_signers_file(live: Setup) -> None:
    live.write(".jitflow/allowed_signers", None)
    code, report = live.report()
    assert (code, failed_ids(report)) == (1, {"vault.ledger-signing"})
    assert check(report, "repository.allowed-signers")["status"] == "warn"
    live.write(".jitflow/allowed_signers", b"jitflow-ledger ssh-ed25519 AAAA\n")
    code, report = live.report()
    assert "repository.allowed-signers" in failed_ids(report)


def test_ledger_role_certifying_any_principal(live: Setup) -> None:
    role = {"key_type": "ca", "allow_user_certificates": True, "ttl": "1h"}
    live.vault.write("jitflow-ledger/roles/sync", {**role, "allowed_users": "*"})
    try:
        code, report = live.report()
        assert (code, failed_ids(report)) == (1, {"vault.ledger-signing"})
        assert "'*'" in check(report, "vault.ledger-signing")["message"]
    finally:
        restored = {**role, "allowed_users": "jitflow-ledger", "default_user": "jitflow-ledger"}
        live.vault.write("jitflow-ledger/roles/sync", restored)


def test_database_role_whose_revocation_leaves_sessions_open(live: Setup) -> None:
    if not live.vault.setup.database_mount:
        pytest.skip("no PostgreSQL: the database engine is not configured")
    path = f"{live.vault.setup.database_mount}/roles/{live.vault.setup.database_role}"
    role = live.vault.read(path)
    leaky = ['DROP OWNED BY "{{name}}";', 'DROP ROLE IF EXISTS "{{name}}";']
    live.vault.write(path, {**role, "revocation_statements": leaky})
    try:
        code, report = live.report("--skip", "github")
        assert (code, failed_ids(report)) == (1, {"vault.sessions.db-write"})
        found = check(report, "vault.sessions.db-write")
        assert "does not terminate its open sessions" in found["message"]
        assert "pg_terminate_backend" in found["fix"]
    finally:
        live.vault.write(path, role)
