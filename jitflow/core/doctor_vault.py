"""`jitflow doctor`'s Vault verdicts: the runner's login role, the token role, grant targets.

Pure functions over the JSON Vault returns (the `data` of each read), so a role bound too
widely is caught by a unit test as surely as by a live server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jitflow.core.doctor import Check, fail, ok, warn
from jitflow.core.doctor_secret import secret_grant_problems
from jitflow.core.model import GrantKind, Policy

ENVIRONMENT = "jitflow"
_GLOB = frozenset("*?[]{}")
_DOCS = "docs/vault-setup.md"


@dataclass(frozen=True)
class LoginExpectation:
    """What the runner's JWT role must pin: this repository's sync workflow on the branch."""

    mount: str
    role: str
    repository: str | None
    branch: str = "main"

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.branch}"

    def workflow_ref(self, repository: str) -> str:
        return f"{repository}/.github/workflows/sync.yml@{self.ref}"


def _values(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def check_jwt_role(role: Mapping[str, Any] | None, want: LoginExpectation) -> list[Check]:
    """`vault.jwt-role` (the role works as a JWT login) and `vault.jwt-claims` (bound tightly)."""
    path = f"auth/{want.mount}/role/{want.role}"
    if role is None:
        missing = fail(
            "vault.jwt-role",
            f"{path} does not exist: the sync workflow cannot log in to Vault",
            f"create it as in {_DOCS} step 7 (bao write {path} ...), or set "
            "JITFLOW_VAULT_ROLE / JITFLOW_VAULT_JWT_MOUNT to the role you use",
        )
        return [missing]
    problems = []
    if role.get("role_type") != "jwt":
        problems.append(f"role_type is {role.get('role_type')!r}, not 'jwt'")
    if not _values(role.get("bound_audiences")):
        problems.append("bound_audiences is empty (any audience is accepted)")
    if not role.get("user_claim"):
        problems.append("user_claim is not set")
    if "batch" in str(role.get("token_type") or ""):
        problems.append("token_type is batch (batch tokens cannot create grant tokens)")
    role_check = (
        fail(
            "vault.jwt-role",
            f"{path}: {'; '.join(problems)}",
            f'bao write {path} role_type=jwt user_claim=sub bound_audiences="vault" '
            "token_type=service",
        )
        if problems
        else ok("vault.jwt-role", f"{path} is a JWT login role with bound audiences")
    )
    return [role_check, _claims_check(path, role, want)]


def _claims_check(path: str, role: Mapping[str, Any], want: LoginExpectation) -> Check:
    claims = role.get("bound_claims") or {}
    claims = claims if isinstance(claims, Mapping) else {}
    repository = want.repository
    expected: dict[str, str | None] = {
        "repository": repository,
        "ref": want.ref,
        "environment": ENVIRONMENT,
    }
    if "workflow_ref" in claims:
        expected["workflow_ref"] = want.workflow_ref(repository) if repository else None
    problems = []
    for claim, value in expected.items():
        bound = _values(claims.get(claim))
        if not bound:
            problems.append(f"{claim} is not bound (any {claim} may log in)")
        elif any(_GLOB & set(b) for b in bound):
            problems.append(f"{claim} is bound to a pattern {bound} (no globs: pin it exactly)")
        elif value is not None and bound != [value]:
            problems.append(f"{claim} is bound to {bound}, not {value!r}")
        elif len(bound) > 1:
            problems.append(f"{claim} accepts several values {bound}")
    if problems:
        return fail(
            "vault.jwt-claims",
            f"{path} bound_claims too wide: {'; '.join(problems)}",
            f"bao write {path} - <<< '{json.dumps(_claims_body(want))}'   (as in {_DOCS} step 7)",
        )
    if repository is None:
        return warn(
            "vault.jwt-claims",
            f"{path} pins repository {_values(claims.get('repository'))}, ref and environment; "
            "could not compare with this repository",
            "set GITHUB_REPOSITORY=owner/name so doctor can check the repository pin",
        )
    return ok(
        "vault.jwt-claims",
        f"{path} only admits {repository} on {want.ref} in environment {ENVIRONMENT}",
    )


def _claims_body(want: LoginExpectation) -> dict[str, Any]:
    """The role update that pins the claims as docs/vault-setup.md does (other fields kept)."""
    repository = want.repository or "OWNER/REPO"
    workflow = want.workflow_ref(repository)
    claims = {
        "repository": repository,
        "ref": want.ref,
        "environment": ENVIRONMENT,
        "workflow_ref": workflow,
        "job_workflow_ref": workflow,
        "event_name": ["push", "schedule", "workflow_dispatch"],
    }
    return {"role_type": "jwt", "bound_claims_type": "glob", "bound_claims": claims}


def _seconds(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def check_token_role(role: Mapping[str, Any] | None, name: str) -> Check:
    """`vault.token-role`: grant tokens must be orphans with a hard ceiling, never batch."""
    path = f"auth/token/roles/{name}"
    if role is None:
        return fail(
            "vault.token-role",
            f"{path} does not exist: jitflow cannot create grant tokens",
            f"bao write {path} orphan=true token_type=service renewable=false "
            "token_explicit_max_ttl=24h allowed_policies=<every Vault policy your policies "
            f"grant>   (see {_DOCS} step 2; or set JITFLOW_VAULT_TOKEN_ROLE)",
        )
    problems = []
    settings = []
    if role.get("orphan") is not True:
        problems.append("orphan is false (a grant would die with the runner's token)")
        settings.append("orphan=true")
    explicit = _seconds(role.get("token_explicit_max_ttl") or role.get("explicit_max_ttl"))
    if explicit <= 0:
        problems.append("token_explicit_max_ttl is not set (no hard ceiling on grants)")
        settings.append("token_explicit_max_ttl=24h")
    if "batch" in str(role.get("token_type") or ""):
        problems.append("token_type is batch (batch tokens cannot be revoked by accessor)")
        settings.append("token_type=service")
    if problems:
        return fail(
            "vault.token-role",
            f"{path}: {'; '.join(problems)}",
            f"bao write {path} {' '.join(settings)}",
        )
    return ok("vault.token-role", f"{path}: orphan, explicit max TTL {explicit}s")


def check_run_role(
    role: Mapping[str, Any] | None, name: str, runner_policies: Mapping[str, str | None]
) -> Check:
    """`vault.run-role`: each sync run's heartbeat is a renewable periodic service token made
    through this role, and the runner's policy (its JWT role's, when readable) may create it."""
    path = f"auth/token/roles/{name}"
    fix = (
        f"bao write {path} allowed_policies=default orphan=true token_type=service "
        f"renewable=true token_period=15s token_explicit_max_ttl=2h   (see {_DOCS} step 2b; "
        "or set JITFLOW_VAULT_RUN_ROLE)"
    )
    if role is None:
        why = "a sync run can't start its heartbeat token, so it ends grants but issues none"
        return fail("vault.run-role", f"{path} does not exist: {why}", fix)
    problems = []
    if role.get("renewable") is not True:
        problems.append("renewable is false (a heartbeat is renewed while its run lives)")
    period = _seconds(role.get("token_period") or role.get("period"))
    if period <= 0:
        problems.append("token_period is not set (a heartbeat must be a periodic token)")
    if "batch" in str(role.get("token_type") or ""):
        problems.append("token_type is batch (a batch token can't be renewed)")
    if problems:
        return fail("vault.run-role", f"{path}: {'; '.join(problems)}", fix)
    create = f"auth/token/create/{name}"
    texts = [text for text in runner_policies.values() if text is not None]
    if texts and not any(create in text for text in texts):
        names = ", ".join(sorted(runner_policies))
        return fail(
            "vault.run-role",
            f"the runner's Vault policies ({names}) don't allow {create}: each sync run "
            "would fail to start its heartbeat and issue nothing",
            f'add  path "{create}" {{ capabilities = ["create", "update"] }}  to the runner\'s '
            f"policy ({_DOCS} step 3)",
        )
    return ok("vault.run-role", f"{path}: renewable, period {period}s")


@dataclass(frozen=True)
class VaultFacts:
    """What doctor read from Vault to judge grant targets (None: does not exist)."""

    mounts: Mapping[str, str]  # path without trailing slash -> engine type
    roles: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)  # by path
    acl_policies: Mapping[str, bool] = field(default_factory=dict)
    groups: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)
    allowed_policies: tuple[str, ...] | None = None  # the token role's, None: unknown
    acl_texts: Mapping[str, str | None] = field(default_factory=dict)  # secret grants' policies


def target_paths(policy: Policy, database_policy: str) -> tuple[list[str], list[str], list[str]]:
    """(role paths, ACL policy names, group names) a policy's grant depends on."""
    grant = policy.grant
    if grant.kind is GrantKind.DATABASE:
        return [f"{grant.mount}/roles/{grant.role}"], [database_policy], []
    if grant.kind is GrantKind.SSH:
        return [f"{grant.mount}/roles/{grant.role}"], [], []
    if grant.kind in (GrantKind.VAULT_TOKEN, GrantKind.SECRET):
        return [], list(grant.policies), []
    return [], [], [grant.group]


def check_grant_target(policy: Policy, database_policy: str, facts: VaultFacts) -> Check:
    """`vault.grant.<policy>`: what the policy grants exists in Vault, of the right kind."""
    check_id = f"vault.grant.{policy.name}"
    grant = policy.grant
    problems: list[str] = []
    fixes: list[str] = []
    roles, acls, groups = target_paths(policy, database_policy)
    if grant.kind in (GrantKind.DATABASE, GrantKind.SSH):
        engine = facts.mounts.get(grant.mount.strip("/"))
        if engine != grant.kind.value:
            found = f"is a {engine} engine" if engine else "is not mounted"
            problems.append(f"{grant.mount}/ {found}")
            fixes.append(f"bao secrets enable -path={grant.mount} {grant.kind.value}")
    for path in roles:
        if facts.roles.get(path) is None:
            problems.append(f"role {path} does not exist")
            fixes.append(
                f"bao write {path} ...   ({_DOCS} step {4 if grant.kind is GrantKind.DATABASE else 5})"
            )
    for name in acls:
        if not facts.acl_policies.get(name):
            problems.append(f"Vault policy {name} does not exist")
            fixes.append(f"bao policy write {name} {name}.hcl")
        elif facts.allowed_policies is not None and name not in facts.allowed_policies:
            problems.append(f"token role does not allow policy {name}")
            fixes.append(f"add {name} to the token role's allowed_policies ({_DOCS} step 2)")
    if grant.kind is GrantKind.SECRET:
        more, how = secret_grant_problems(grant, facts.mounts, facts.acl_texts)
        problems += more
        fixes += how
    for name in groups:
        group = facts.groups.get(name)
        if group is None:
            problems.append(f"identity group {name} does not exist")
            fixes.append(f"bao write identity/group name={name} type=internal policies=...")
        elif group.get("type") != "internal":
            problems.append(f"identity group {name} is {group.get('type')}, not internal")
            fixes.append(f"re-create {name} with type=internal (external groups are synced)")
    if problems:
        return fail(
            check_id,
            f"policy {policy.name} ({grant.describe()}): {'; '.join(problems)}",
            "; ".join(fixes),
        )
    return ok(check_id, f"policy {policy.name}: what it grants exists ({grant.describe()})")


def grant_targets(
    policies: Sequence[Policy], database_policy: Callable[[str, str], str]
) -> dict[str, list[str]]:
    """Every role path, ACL policy and group the policies need, to read each once."""
    wanted: dict[str, list[str]] = {"roles": [], "acls": [], "groups": []}
    for policy in policies:
        grant = policy.grant
        roles, acls, groups = target_paths(policy, database_policy(grant.mount, grant.role))
        wanted["roles"] += roles
        wanted["acls"] += acls
        wanted["groups"] += groups
    return {key: sorted(set(values)) for key, values in wanted.items()}


def _statements(role: Mapping[str, Any]) -> list[str]:
    raw = role.get("revocation_statements") or []
    joined = ";".join(str(s) for s in (raw if isinstance(raw, list) else [raw]))
    return [" ".join(s.lower().split()) for s in joined.split(";") if s.strip()]


def check_database_sessions(policy: Policy, role: Mapping[str, Any] | None) -> Check | None:
    """`vault.sessions.<policy>`: revoking a database grant terminates its open sessions.

    A PostgreSQL role dropped while connected keeps its sessions (running statements, open
    transactions and their locks), so the role's revocation statements must terminate the
    backends before `DROP ROLE`. Statements for another database can't be judged: a warning.
    """
    if policy.grant.kind is not GrantKind.DATABASE or role is None:
        return None
    check_id = f"vault.sessions.{policy.name}"
    path = f"{policy.grant.mount}/roles/{policy.grant.role}"
    statements = _statements(role)
    terminate = next((i for i, s in enumerate(statements) if "pg_terminate_backend" in s), None)
    drop = next((i for i, s in enumerate(statements) if s.startswith("drop role")), None)
    fix = (  # an instruction to the admin, not a query
        f"bao write {path} revocation_statements=... that start with SELECT "  # noqa: S608
        "pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = '{{name}}'; "
        f"(see {_DOCS} step 4)"
    )
    if not statements:
        return fail(
            check_id,
            f"{path} has no revocation_statements: Vault's default drops the role but leaves "
            "its open sessions running (transactions, locks, long statements)",
            fix,
        )
    if terminate is not None and (drop is None or terminate < drop):
        return ok(check_id, f"{path}: revoking a grant terminates its open sessions")
    if drop is not None:
        late = " only after DROP ROLE (the role's sessions are no longer found)"
        return fail(
            check_id,
            f"{path}: revocation drops the role but does not terminate its open sessions"
            f"{late if terminate is not None else ''}: they run on after the grant ends",
            fix,
        )
    return warn(
        check_id,
        f"{path}: jitflow can't tell whether these revocation statements end open sessions "
        "(not PostgreSQL's DROP ROLE)",
        f"make them terminate the user's sessions (MySQL: KILL its threads; see {_DOCS} step 4)",
    )


_RENEW_PATHS = ("auth/token/renew-accessor", "sys/leases/renew")


def runner_policy_names(jwt_role: Mapping[str, Any] | None) -> list[str]:
    """The Vault policies the runner's login gives it."""
    role = jwt_role or {}
    return _values(role.get("token_policies") or role.get("policies"))


def check_extend_in_place(
    policies: Sequence[Policy],
    token_role: Mapping[str, Any] | None,
    runner_acls: Mapping[str, str | None],
) -> Check | None:
    """`vault.extend-in-place`: where policies allow extensions, the token role issues
    renewable tokens and the runner may renew them by accessor and renew their leases; else
    every extension is by replacement (it still works: a warning, not a failure)."""
    extending = sorted(p.name for p in policies if p.extension is not None)
    if not extending:
        return None
    from jitflow.core.doctor_secret import capabilities_on

    problems = []
    if token_role is not None and token_role.get("renewable") is False:
        problems.append("the token role issues no renewable tokens (renewable=false)")
    texts = [t for t in runner_acls.values() if t]
    missing = [p for p in _RENEW_PATHS if "update" not in capabilities_on(p, texts)]
    if missing:
        names = ", ".join(sorted(runner_acls)) or "none"
        problems.append(f"the runner's policies ({names}) give no update on {', '.join(missing)}")
    if problems:
        return warn(
            "vault.extend-in-place",
            f"{'; '.join(problems)}: extensions of {', '.join(extending)} are by replacement "
            "(new credentials) instead of in place",
            f"see {_DOCS} steps 2 and 3 (renewable=true on the token role; the runner policy's "
            "renew lines)",
        )
    return ok(
        "vault.extend-in-place",
        f"extensions of {', '.join(extending)} can renew the same credentials in place",
    )
