"""The doctor's rules over plain data: no servers, one behaviour per test."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from jitflow.core.doctor import (
    CheckStatus,
    Enforcer,
    check_branch_rules,
    check_codeowners,
    check_workflow,
    codeowners_regex,
    protection_enforcer,
    ruleset_enforcers,
)
from jitflow.core.doctor_vault import (
    LoginExpectation,
    VaultFacts,
    check_database_sessions,
    check_grant_target,
    check_jwt_role,
    check_token_role,
)
from jitflow.core.model import ApprovalRule, GrantKind, GrantSpec, Policy, Principals

GOOD_OWNERS = (
    "/policies/ @a\n/.github/ @a\n/requests/active/ @a\n/requests/archive/ @a\n/.jitflow/ @a\n"
)


# ---- CODEOWNERS -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/policies/", "policies/a.yaml", True),
        ("/policies/", "policies/tests/a.yaml", True),
        ("/policies/", "x/policies/a.yaml", False),
        ("policies/", "x/policies/a.yaml", True),
        ("*", ".github/workflows/sync.yml", True),
        ("/policies/*.yaml", "policies/a.yaml", True),
        ("/policies/*.yaml", "policies/tests/a.yaml", False),
        ("**/archive/", "requests/archive/a.yaml", True),
        ("/requests/", "requests/active/a.yaml", True),
        ("/requests", "requests-old/a.yaml", False),
        ("*.md", "docs/readme.md", True),
    ],
)
def test_codeowners_patterns_follow_githubs_rules(pattern: str, path: str, matches: bool) -> None:
    assert bool(codeowners_regex(pattern).match(path)) is matches


def test_codeowners_covering_everything_passes() -> None:
    assert check_codeowners({".github/CODEOWNERS": GOOD_OWNERS}).status is CheckStatus.OK
    assert check_codeowners({"CODEOWNERS": "* @acme/admins\n"}).status is CheckStatus.OK


def test_codeowners_missing_a_directory_names_it() -> None:
    text = GOOD_OWNERS.replace("/policies/ @a\n", "")
    result = check_codeowners({".github/CODEOWNERS": text})
    assert result.status is CheckStatus.FAIL
    assert "policies/" in result.message and ".github/" not in result.message.split("to ")[1]
    assert "/policies/ @your-org/access-admins" in result.fix


def test_codeowners_only_direct_files_do_not_cover_a_directory() -> None:
    text = GOOD_OWNERS.replace("/policies/ @a", "/policies/*.yaml @a")
    assert check_codeowners({".github/CODEOWNERS": text}).status is CheckStatus.FAIL


def test_codeowners_a_later_ownerless_rule_removes_ownership() -> None:
    text = GOOD_OWNERS + "/requests/archive/\n"
    result = check_codeowners({".github/CODEOWNERS": text})
    assert result.status is CheckStatus.FAIL
    assert "requests/archive/" in result.message


def test_codeowners_github_reads_only_the_first_file_found() -> None:
    files = {".github/CODEOWNERS": "/docs/ @a\n", "CODEOWNERS": GOOD_OWNERS}
    assert check_codeowners(files).status is CheckStatus.FAIL
    assert check_codeowners({"docs/CODEOWNERS": GOOD_OWNERS}).status is CheckStatus.OK


def test_no_codeowners_file_fails_with_the_file_to_create() -> None:
    result = check_codeowners({})
    assert result.status is CheckStatus.FAIL
    assert "create .github/CODEOWNERS" in result.fix


def test_codeowners_comments_are_ignored() -> None:
    text = "# /policies/ @a\n" + GOOD_OWNERS.replace("/policies/ @a", "/policies/ @a # owners")
    assert check_codeowners({".github/CODEOWNERS": text}).status is CheckStatus.OK


# ---- workflows ----------------------------------------------------------------------------

ACTION = b"acme/jitflow@" + b"c3" * 20
TEMPLATE = b"name: sync\nsteps:\n  - uses: " + ACTION + b" # jitflow action\n"


def test_identical_workflow_passes() -> None:
    assert check_workflow("w/sync.yml", TEMPLATE, TEMPLATE, "fix").status is CheckStatus.OK


def test_missing_workflow_fails_with_the_restore_command() -> None:
    result = check_workflow(".github/workflows/sync.yml", None, TEMPLATE, "restore-cmd")
    assert (result.id, result.status, result.fix) == (
        "repository.workflow.sync",
        CheckStatus.FAIL,
        "restore-cmd",
    )


def test_the_pinned_action_is_named() -> None:
    result = check_workflow("w/sync.yml", TEMPLATE, TEMPLATE, "fix")
    assert result.message.endswith(f"running {ACTION.decode()}")


def test_any_other_change_fails_with_a_diff() -> None:
    changed = TEMPLATE.replace(b"name: sync", b"name: sync, changed")
    result = check_workflow("w/sync.yml", changed, TEMPLATE, "fix")
    assert result.status is CheckStatus.FAIL
    assert "+name: sync, changed" in result.details
    assert "-name: sync" in result.details


def test_a_long_diff_is_cut() -> None:
    changed = TEMPLATE + b"".join(b"  - run: echo %d\n" % i for i in range(50))
    result = check_workflow("w/sync.yml", changed, TEMPLATE, "fix")
    assert len(result.details) == 21 and result.details[-1].startswith("...")


# ---- branch protection and rulesets -------------------------------------------------------

PROTECTION: dict[str, Any] = {
    "required_status_checks": {"contexts": ["jitflow/policy", "jitflow/approval"], "checks": []},
    "required_pull_request_reviews": {
        "required_approving_review_count": 1,
        "require_code_owner_reviews": True,
        "require_last_push_approval": True,
    },
    "enforce_admins": {"enabled": True},
}


def _verdicts(enforcers: list[Enforcer]) -> dict[str, CheckStatus]:
    return {c.id: c.status for c in check_branch_rules(enforcers, "acme/access", "main")}


def _failed(enforcers: list[Enforcer]) -> set[str]:
    return {k for k, v in _verdicts(enforcers).items() if v is CheckStatus.FAIL}


def _protection(**changes: Any) -> list[Enforcer]:
    enforcer = protection_enforcer({**PROTECTION, **changes})
    assert enforcer is not None
    return [enforcer]


def test_good_protection_passes() -> None:
    assert _failed(_protection()) == set()


def test_protection_checks_list_counts_as_required_contexts() -> None:
    checks = {
        "contexts": [],
        "checks": [{"context": "jitflow/policy"}, {"context": "jitflow/approval"}],
    }
    assert _failed(_protection(required_status_checks=checks)) == set()


def test_each_missing_piece_of_protection_is_named() -> None:
    assert _failed(_protection(required_status_checks={"contexts": ["jitflow/policy"]})) == {
        "github.required-statuses"
    }
    assert _failed(_protection(enforce_admins={"enabled": False})) == {"github.admins-enforced"}
    no_owner = {
        "required_approving_review_count": 2,
        "require_code_owner_reviews": False,
        "require_last_push_approval": True,
    }
    assert _failed(_protection(required_pull_request_reviews=no_owner)) == {
        "github.code-owner-reviews"
    }
    zero = {
        "required_approving_review_count": 0,
        "require_code_owner_reviews": True,
        "require_last_push_approval": True,
    }
    assert _failed(_protection(required_pull_request_reviews=zero)) == {"github.required-reviews"}


def test_last_push_approval_is_required() -> None:
    reviews = {**PROTECTION["required_pull_request_reviews"], "require_last_push_approval": False}
    assert _failed(_protection(required_pull_request_reviews=reviews)) == {
        "github.last-push-approval"
    }


def test_unprotected_branch_fails_everything() -> None:
    assert protection_enforcer(None) is None
    assert _failed([]) == set(_verdicts([]))


RULES = [
    {
        "type": "required_status_checks",
        "ruleset_id": 7,
        "parameters": {
            "required_status_checks": [
                {"context": "jitflow/policy"},
                {"context": "jitflow/approval"},
            ]
        },
    },
    {
        "type": "pull_request",
        "ruleset_id": 7,
        "parameters": {
            "required_approving_review_count": 1,
            "require_code_owner_review": True,
            "require_last_push_approval": True,
        },
    },
]


def test_a_ruleset_alone_can_satisfy_everything() -> None:
    assert _failed(ruleset_enforcers(RULES, {7: {"name": "gate", "bypass_actors": []}})) == set()


def test_ruleset_bypass_actors_are_named() -> None:
    details = {7: {"name": "gate", "bypass_actors": [{"actor_type": "OrganizationAdmin"}]}}
    checks = check_branch_rules(ruleset_enforcers(RULES, details), "acme/access", "main")
    admins = next(c for c in checks if c.id == "github.admins-enforced")
    assert admins.status is CheckStatus.FAIL
    assert "ruleset gate lets OrganizationAdmin bypass it" in admins.message


def test_an_unreadable_ruleset_does_not_count_as_binding_admins() -> None:
    checks = check_branch_rules(ruleset_enforcers(RULES, {7: None}), "acme/access", "main")
    admins = next(c for c in checks if c.id == "github.admins-enforced")
    assert admins.status is CheckStatus.FAIL and "unreadable" in admins.message


def test_sources_combine_per_requirement() -> None:
    # Protection (admins exempt) requires reviews; a ruleset without bypass requires the
    # statuses: everything is required, but admins can skip the reviews.
    protection = {**PROTECTION, "enforce_admins": {"enabled": False}}
    protection["required_status_checks"] = {"contexts": []}
    classic = protection_enforcer(protection)
    assert classic is not None
    rules = ruleset_enforcers(RULES[:1], {7: {"name": "statuses", "bypass_actors": []}})
    checks = check_branch_rules([classic, *rules], "acme/access", "main")
    failed = {c.id: c.message for c in checks if c.status is CheckStatus.FAIL}
    assert set(failed) == {"github.admins-enforced"}
    assert "reviews" in failed["github.admins-enforced"]
    assert "status checks" not in failed["github.admins-enforced"]


# ---- JWT login role -----------------------------------------------------------------------

WANT = LoginExpectation("jwt", "jitflow-sync", "acme/access")
WORKFLOW = "acme/access/.github/workflows/sync.yml@refs/heads/main"
ROLE: dict[str, Any] = {
    "role_type": "jwt",
    "user_claim": "sub",
    "bound_audiences": ["vault"],
    "bound_claims_type": "glob",
    "bound_claims": {
        "repository": "acme/access",
        "ref": "refs/heads/main",
        "environment": "jitflow",
        "workflow_ref": WORKFLOW,
        "event_name": ["push", "schedule"],
    },
    "token_type": "default",
}


def _jwt(role: dict[str, Any] | None, want: LoginExpectation = WANT) -> dict[str, Any]:
    return {c.id: c for c in check_jwt_role(role, want)}


def _claims(**changes: Any) -> dict[str, Any]:
    claims = {k: v for k, v in {**ROLE["bound_claims"], **changes}.items() if v is not None}
    return {**ROLE, "bound_claims": claims}


def test_good_jwt_role_passes() -> None:
    assert {c.status for c in _jwt(ROLE).values()} == {CheckStatus.OK}


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"repository": "acme/*"}, "repository is bound to a pattern"),
        ({"repository": ["acme/access", "acme/other"]}, "repository is bound to"),
        ({"repository": "evil/access"}, "not 'acme/access'"),
        ({"ref": "refs/heads/*"}, "ref is bound to a pattern"),
        ({"ref": "refs/heads/dev"}, "not 'refs/heads/main'"),
        ({"environment": None}, "environment is not bound"),
        ({"workflow_ref": "acme/access/.github/workflows/x.yml@refs/heads/main"}, "workflow_ref"),
    ],
)
def test_wide_bound_claims_fail(changes: dict[str, Any], said: str) -> None:
    verdicts = _jwt(_claims(**changes))
    assert verdicts["vault.jwt-role"].status is CheckStatus.OK
    claims = verdicts["vault.jwt-claims"]
    assert claims.status is CheckStatus.FAIL and said in claims.message
    assert '"repository": "acme/access"' in claims.fix


def test_workflow_ref_is_optional() -> None:
    assert _jwt(_claims(workflow_ref=None))["vault.jwt-claims"].status is CheckStatus.OK


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"role_type": "oidc"}, "role_type"),
        ({"bound_audiences": []}, "bound_audiences"),
        ({"user_claim": ""}, "user_claim"),
        ({"token_type": "batch"}, "batch"),
    ],
)
def test_jwt_role_basics(changes: dict[str, Any], said: str) -> None:
    check = _jwt({**ROLE, **changes})["vault.jwt-role"]
    assert check.status is CheckStatus.FAIL and said in check.message


def test_missing_jwt_role() -> None:
    assert _jwt(None)["vault.jwt-role"].status is CheckStatus.FAIL


def test_unknown_repository_is_a_warning() -> None:
    want = LoginExpectation("jwt", "jitflow-sync", None)
    assert _jwt(_claims(workflow_ref=None), want)["vault.jwt-claims"].status is CheckStatus.WARN
    assert _jwt(_claims(repository="a/*"), want)["vault.jwt-claims"].status is CheckStatus.FAIL


# ---- token role ---------------------------------------------------------------------------

TOKEN_ROLE = {"orphan": True, "token_explicit_max_ttl": 86400, "token_type": "default-service"}


def test_good_token_role_passes() -> None:
    assert check_token_role(TOKEN_ROLE, "g").status is CheckStatus.OK


@pytest.mark.parametrize(
    ("changes", "said", "setting"),
    [
        ({"orphan": False}, "orphan", "orphan=true"),
        ({"token_explicit_max_ttl": 0}, "token_explicit_max_ttl", "token_explicit_max_ttl=24h"),
        ({"token_type": "batch"}, "batch", "token_type=service"),
    ],
)
def test_token_role_problems(changes: dict[str, Any], said: str, setting: str) -> None:
    check = check_token_role({**TOKEN_ROLE, **changes}, "g")
    assert check.status is CheckStatus.FAIL and said in check.message
    assert check.fix == f"bao write auth/token/roles/g {setting}"


def test_missing_token_role() -> None:
    assert check_token_role(None, "g").status is CheckStatus.FAIL


# ---- grant targets ------------------------------------------------------------------------


def _policy(grant: GrantSpec) -> Policy:
    return Policy(
        name="p",
        description="",
        grant=grant,
        default_duration=timedelta(hours=1),
        max_duration=timedelta(hours=1),
        requesters=Principals(),
        approval_rules=(ApprovalRule(1, Principals(users=("bob",))),),
    )


FACTS = VaultFacts(
    mounts={"database": "database", "ssh": "ssh", "secret": "kv"},
    roles={"database/roles/rw": {"db_name": "x"}, "ssh/roles/u": {"key_type": "ca"}},
    acl_policies={"jitflow-database-rw": True, "ro": True, "other": True},
    groups={"oncall": {"type": "internal"}, "synced": {"type": "external"}},
    allowed_policies=("jitflow-database-rw", "ro"),
)


@pytest.mark.parametrize(
    ("grant", "database_policy", "problem"),
    [
        (GrantSpec(GrantKind.DATABASE, "database", "rw"), "jitflow-database-rw", None),
        (GrantSpec(GrantKind.DATABASE, "database", "gone"), "jitflow-database-gone", "roles/gone"),
        (GrantSpec(GrantKind.DATABASE, "secret", "rw"), "jitflow-secret-rw", "kv engine"),
        (GrantSpec(GrantKind.DATABASE, "pg", "rw"), "jitflow-pg-rw", "pg/ is not mounted"),
        (GrantSpec(GrantKind.SSH, "ssh", "u"), "", None),
        (GrantSpec(GrantKind.SSH, "ssh", "gone"), "", "ssh/roles/gone"),
        (GrantSpec(GrantKind.VAULT_TOKEN, policies=("ro",)), "", None),
        (GrantSpec(GrantKind.VAULT_TOKEN, policies=("missing",)), "", "policy missing does"),
        (GrantSpec(GrantKind.VAULT_TOKEN, policies=("other",)), "", "does not allow policy other"),
        (GrantSpec(GrantKind.IDENTITY_GROUP, group="oncall"), "", None),
        (GrantSpec(GrantKind.IDENTITY_GROUP, group="nobody"), "", "group nobody does not exist"),
        (GrantSpec(GrantKind.IDENTITY_GROUP, group="synced"), "", "external, not internal"),
    ],
)
def test_grant_targets(grant: GrantSpec, database_policy: str, problem: str | None) -> None:
    check = check_grant_target(_policy(grant), database_policy, FACTS)
    assert check.id == "vault.grant.p"
    if problem is None:
        assert check.status is CheckStatus.OK
    else:
        assert check.status is CheckStatus.FAIL and problem in check.message and check.fix


def test_unknown_allowed_policies_are_not_judged() -> None:
    facts = VaultFacts(mounts={}, acl_policies={"other": True}, allowed_policies=None)
    grant = GrantSpec(GrantKind.VAULT_TOKEN, policies=("other",))
    assert check_grant_target(_policy(grant), "", facts).status is CheckStatus.OK


# ---- database sessions end with the grant ------------------------------------------------

_TERMINATE = "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = 'x'"


@pytest.mark.parametrize(
    ("statements", "status", "words"),
    [
        ([f"{_TERMINATE};", 'DROP ROLE "{{name}}";'], CheckStatus.OK, "terminates"),
        ([f"{_TERMINATE}; DROP OWNED BY x; drop  role x"], CheckStatus.OK, "terminates"),
        ([], CheckStatus.FAIL, "no revocation_statements"),
        (['DROP OWNED BY "{{name}}"; DROP ROLE "{{name}}";'], CheckStatus.FAIL, "does not"),
        (['DROP ROLE "{{name}}";', _TERMINATE], CheckStatus.FAIL, "only after DROP ROLE"),
        (["DROP USER '{{name}}'@'%';"], CheckStatus.WARN, "can't tell"),
    ],
)
def test_database_revocation_must_terminate_sessions(
    statements: list[str], status: CheckStatus, words: str
) -> None:
    policy = _policy(GrantSpec(GrantKind.DATABASE, "database", "rw"))
    check = check_database_sessions(policy, {"revocation_statements": statements})
    assert check is not None and check.id == "vault.sessions.p"
    assert check.status is status and words in check.message
    if status is not CheckStatus.OK:
        assert "pg_terminate_backend" in (check.fix or "") or "KILL" in (check.fix or "")


def test_sessions_are_judged_for_database_grants_only() -> None:
    ssh = _policy(GrantSpec(GrantKind.SSH, "ssh", "u"))
    assert check_database_sessions(ssh, {"revocation_statements": []}) is None
    database = _policy(GrantSpec(GrantKind.DATABASE, "database", "gone"))
    assert check_database_sessions(database, None) is None  # vault.grant reports the missing role


# ---- teams --------------------------------------------------------------------------------


def test_named_teams_come_from_codeowners_and_groups() -> None:
    from jitflow.core.doctor_teams import named_teams
    from jitflow.core.model import Groups

    owners = "/policies/ @acme/admins @dana\n# /x/ @acme/commented-out\n/docs/ dana@example.com\n"
    groups = Groups({"leads": ("bob", "github-team:acme/leads"), "sre": ("alice",)})
    assert named_teams([owners, None], groups) == ["acme/admins", "acme/leads"]
    assert named_teams([None], Groups()) == []


@pytest.mark.parametrize(
    ("settings", "status"),
    [
        ({}, CheckStatus.FAIL),
        ({"JITFLOW_TEAMS_APP_ID": True}, CheckStatus.FAIL),
        ({"JITFLOW_TEAMS_APP_ID": True, "JITFLOW_TEAMS_APP_PRIVATE_KEY": True}, CheckStatus.OK),
        ({"JITFLOW_TEAMS_TOKEN": True}, CheckStatus.OK),
    ],
)
def test_named_teams_need_a_team_reading_token(settings: dict[str, bool], status: Any) -> None:
    from jitflow.core.doctor_teams import check_team_reads

    assert check_team_reads(["acme/admins"], settings).status is status
    assert check_team_reads([], {}).status is CheckStatus.OK
