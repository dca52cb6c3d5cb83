"""`jitflow doctor`: read a live setup (clone, GitHub, Vault) and judge it with the core rules.

Facts are gathered section by section; a section that cannot be read becomes checks that
say why (FAIL when a verification could not be made, SKIP when the operator opted out or
gave no credentials), so one broken part never hides the verdicts on the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jitflow.core.doctor import (
    CODEOWNERS_LOCATIONS,
    Check,
    check_branch_rules,
    check_codeowners,
    check_ledger_writer,
    check_workflow,
    fail,
    ok,
    pinned_action,
    protection_enforcer,
    ruleset_enforcers,
    skip,
    warn,
)
from jitflow.core.doctor_ledger import SIGNERS_PATH, check_allowed_signers, check_ledger_signing
from jitflow.core.doctor_policies import policy_rule_problems
from jitflow.core.doctor_report import DoctorReport, Section
from jitflow.core.doctor_vault import (
    LoginExpectation,
    VaultFacts,
    check_database_sessions,
    check_extend_in_place,
    check_grant_target,
    check_jwt_role,
    check_run_role,
    check_token_role,
    grant_targets,
    runner_policy_names,
)
from jitflow.core.doctor_workflows import workflow_permissions
from jitflow.core.loading import (
    GROUPS_PATH,
    ONCALL_PATH,
    POLICY_DIR,
    parse_groups,
    parse_oncall,
    parse_policy,
)
from jitflow.core.model import GrantKind, Groups, Policy
from jitflow.errors import JitflowError, UsageError
from jitflow.usecases.doctor_pins import pins_offline, pins_online

if TYPE_CHECKING:
    from jitflow.adapters.github import GitHubGateway
    from jitflow.adapters.vault.inspect import VaultInspector

SECTIONS = ("repository", "github", "vault", "outbound")
T = TypeVar("T")


@dataclass(frozen=True)
class DoctorOptions:
    repo: Path
    branch: str = "main"
    skip: frozenset[str] = frozenset()
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    probe: bool = False  # contact each outbound endpoint (no body, no credentials)


def run_doctor(options: DoctorOptions) -> DoctorReport:
    """Every check, in section order; raises UsageError only for bad options."""
    unknown = sorted(options.skip - set(SECTIONS[1:]))
    if unknown:
        raise UsageError(f"--skip takes github, vault or outbound, not {', '.join(unknown)}")
    if not options.repo.is_dir():
        raise UsageError(f"{options.repo} is not a directory: pass --repo with the access clone")
    repository_checks, policies = _repository(options.repo)
    sections = [Section("repository", tuple(repository_checks))]
    sections.append(Section("github", tuple(_github(options, policies))))
    sections.append(Section("vault", tuple(_vault(options, policies))))
    outbound = _outbound(options)  # none without a .jitflow/outbound.yaml
    if outbound:
        sections.append(Section("outbound", tuple(outbound)))
    return DoctorReport(options.repo, options.branch, tuple(sections))


# ---- repository ---------------------------------------------------------------------------


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _repository(repo: Path) -> tuple[list[Check], list[Policy]]:
    from jitflow.usecases.init import ACTION_PLACEHOLDER, WORKFLOWS, workflow_templates

    codeowners = {
        p: (b.decode(errors="replace") if (b := _read(repo / p)) else None)
        for p in CODEOWNERS_LOCATIONS
    }
    checks = [check_codeowners(codeowners)]
    checks.append(check_allowed_signers(_text(repo / SIGNERS_PATH)))
    for path in (f".github/workflows/{name}" for name in WORKFLOWS):
        actual = _read(repo / path)
        action = (pinned_action(actual) if actual else None) or ACTION_PLACEHOLDER
        restore = (
            f"copy {path} from what `jitflow init --action OWNER/NAME@SHA NEW-DIRECTORY` "
            "writes (OWNER/NAME@SHA: the jitflow commit you reviewed)"
        )
        template = workflow_templates(action)[path]
        checks.append(check_workflow(path, actual, template, restore))
        checks.append(workflow_permissions(path, actual))
    policy_checks, policies = _policies(repo)
    checks += policy_checks + _rotations(repo, policies) + pins_offline(repo, policies)
    return checks, policies


def _rotations(repo: Path, policies: list[Policy]) -> list[Check]:
    from datetime import UTC, datetime

    from jitflow.core.doctor_rotations import check_rotations

    rotations = parse_oncall(_read(repo / ONCALL_PATH), ONCALL_PATH).value
    groups = parse_groups(_read(repo / GROUPS_PATH) or b"", GROUPS_PATH).value or Groups()
    return check_rotations(policies, rotations, groups, datetime.now(UTC))


def _policies(repo: Path) -> tuple[list[Check], list[Policy]]:
    """Loading (file:line:column of each problem), then what loads but can't work."""
    policies: list[Policy] = []
    problems = []
    groups = Groups(missing=True)
    for file in sorted((repo / POLICY_DIR).glob("*.yaml")):
        path = f"{POLICY_DIR}/{file.name}"
        if path == GROUPS_PATH:
            loaded = parse_groups(file.read_bytes(), path)
            groups = replace(loaded.value or Groups(), rotations=groups.rotations)
        elif path == ONCALL_PATH:
            loaded = parse_oncall(file.read_bytes(), path)
            groups = replace(groups, rotations=loaded.value or {})
        else:
            loaded = parse_policy(file.read_bytes(), path)
            if loaded.value is not None:
                policies.append(loaded.value)
        problems += [f"{f.path}:{f.line}:{f.column}: {f.message}" for f in loaded.findings]
    ignored = sorted(f"{POLICY_DIR}/{p.name}" for p in (repo / POLICY_DIR).glob("*.yml"))
    problems += [f"{p}: ignored: policies are read from {POLICY_DIR}/<name>.yaml" for p in ignored]
    if problems:
        return [
            fail(
                "repository.policies",
                f"{len(problems)} problem(s) in {POLICY_DIR}/: requests for these policies are "
                "refused",
                f"fix the files; `jitflow policies --repo {repo}` lists them",
                problems,
            )
        ], policies
    if not policies:
        return [
            warn(
                "repository.policies",
                f"no policies under {POLICY_DIR}/: nothing can be requested",
                "add one, e.g. `jitflow init` writes an example",
            )
        ], policies
    count = f"{len(policies)} {'policy loads' if len(policies) == 1 else 'policies load'}"
    return [ok("repository.policies", f"{count} cleanly"), _rules(policies, groups)], policies


def _rules(policies: list[Policy], groups: Groups) -> Check:
    problems = policy_rule_problems(policies, groups)
    if problems:
        return fail(
            "repository.policy-rules",
            f"{len(problems)} policy rule(s) can't work as written",
            f"edit the policies or {GROUPS_PATH} as each line says",
            problems,
        )
    return ok("repository.policy-rules", "every group is defined and every rule can be met")


# ---- GitHub -------------------------------------------------------------------------------


def _github(options: DoctorOptions, policies: list[Policy]) -> list[Check]:
    if "github" in options.skip:
        return [skip("github", "skipped (--skip github)")]
    env = options.environ
    if not env.get("GITHUB_TOKEN", "").strip() or not env.get("GITHUB_REPOSITORY", "").strip():
        return [
            skip(
                "github",
                "GITHUB_TOKEN or GITHUB_REPOSITORY is not set: branch rules not checked",
                "export GITHUB_REPOSITORY=owner/name GITHUB_TOKEN=<a token with administration:"
                " read> (and GITHUB_API_URL for GitHub Enterprise)",
            )
        ]
    from jitflow.adapters.github import GitHubGateway, settings_from_env

    branch = options.branch
    checks: list[Check] = []
    try:
        gateway = GitHubGateway(replace(settings_from_env(env), max_retries=1))
    except JitflowError as exc:
        return [fail("github", exc.message, "fix the GitHub settings above")]
    with gateway:
        protection = _guard(
            checks,
            "github.protection-readable",
            "give the token administration: read on the repository (fine-grained token: "
            '"Administration: Read-only"; GitHub App: administration read)',
            lambda: gateway.branch_protection(branch),
        )
        rules = _guard(
            checks,
            "github.rulesets-readable",
            'give the token metadata: read ("Metadata: Read-only")',
            lambda: gateway.branch_rules(branch),
        )
        details: dict[int, dict[str, Any] | None] = {}
        for ruleset_id in sorted({int(r.get("ruleset_id") or 0) for r in rules or []}):
            try:
                details[ruleset_id] = gateway.ruleset(ruleset_id)
            except JitflowError:
                details[ruleset_id] = None
        team_check = _team_reads(options.repo, gateway)
        pins = _guard(
            checks,
            "github.github-ids",
            "give the token read access to public profiles (any token can)",
            lambda: pins_online(options.repo, policies, gateway),
        )
    enforcers = ruleset_enforcers(rules or [], details)
    classic = protection_enforcer(protection)
    if classic is not None:
        enforcers.insert(0, classic)
    checks += check_branch_rules(enforcers, gateway.repository, branch)
    checks.append(check_ledger_writer(enforcers, branch, env.get("JITFLOW_APP_ID")))
    return [*checks, team_check, *(pins or [])]


def _team_reads(repo: Path, gateway: GitHubGateway) -> Check:
    """Teams named in CODEOWNERS or groups need a team-reading token in the workflows."""
    from jitflow.core import doctor_teams as rule

    owners = [_text(repo / p) for p in CODEOWNERS_LOCATIONS]
    groups = parse_groups(_read(repo / GROUPS_PATH) or b"", GROUPS_PATH).value or Groups()
    teams = rule.named_teams(owners, groups)
    if not teams:
        return rule.check_team_reads(teams, {})
    wanted = {
        rule.APP_VARIABLE: "variables",
        rule.APP_KEY_SECRET: "secrets",
        rule.TOKEN_SECRET: "secrets",
    }
    try:
        settings = {n: gateway.actions_setting_exists(k, n) for n, k in wanted.items()}
    except JitflowError as exc:
        return fail(
            rule.CHECK_ID,
            f"{', '.join(teams)} are named, and whether the workflows may read them can't be "
            f"verified: {exc.message}",
            'give the token "Variables: Read-only" and "Secrets: Read-only" (names only)',
        )
    return rule.check_team_reads(teams, settings)


def _guard(checks: list[Check], check_id: str, fix: str, read: Callable[[], T]) -> T | None:
    """Run a read; on failure record a FAIL naming what could not be verified."""
    try:
        return read()
    except JitflowError as exc:
        checks.append(fail(check_id, exc.message, fix))
        return None


def _outbound(options: DoctorOptions) -> list[Check]:
    from jitflow.usecases.doctor_outbound import outbound_checks

    if "outbound" in options.skip:
        return [skip("outbound", "skipped (--skip outbound)")]
    vault = "vault" not in options.skip
    return outbound_checks(options.repo, options.branch, options.environ, vault, options.probe)


# ---- Vault --------------------------------------------------------------------------------


def _vault(options: DoctorOptions, policies: list[Policy]) -> list[Check]:
    if "vault" in options.skip:
        return [skip("vault", "skipped (--skip vault)")]
    from jitflow.adapters.vault import database_policy_name
    from jitflow.adapters.vault.inspect import VaultInspector

    inspector = VaultInspector.from_env(options.environ)
    if inspector is None:
        return [
            skip(
                "vault",
                "VAULT_ADDR or VAULT_TOKEN is not set: Vault not checked",
                "export VAULT_ADDR=https://vault.example.com:8200 VAULT_TOKEN=<a token that may "
                "read sys/mounts, auth/*/role*, sys/policies/acl/* and identity/group/name/*>",
            )
        ]
    checks: list[Check] = []

    def reachable() -> bool:
        inspector.health()
        return True

    if _guard(checks, "vault.reachable", _VAULT_UP, reachable) is None:
        return checks
    checks.append(ok("vault.reachable", f"Vault at {inspector.addr} answers and is unsealed"))
    readable = f"use a VAULT_TOKEN allowed to read it ({_DOCS})"
    repository = options.environ.get("GITHUB_REPOSITORY", "").strip() or None
    want = LoginExpectation(inspector.jwt_mount, inspector.jwt_role, repository, options.branch)
    jwt_role = _guard(checks, "vault.jwt-role", readable, inspector.jwt_login_role)
    if not any(c.id == "vault.jwt-role" for c in checks):
        checks += check_jwt_role(jwt_role, want)
    token_role = _guard(checks, "vault.token-role", readable, inspector.grant_token_role)
    if not any(c.id == "vault.token-role" for c in checks):
        checks.append(check_token_role(token_role, inspector.token_role))
    runner = [str(p) for p in (jwt_role or {}).get("token_policies") or [] if p != "default"]
    run_role = _guard(
        checks,
        "vault.run-role",
        readable,
        lambda: (inspector.run_token_role(), inspector.policy_texts(runner)),
    )
    if run_role is not None:
        checks.append(check_run_role(run_role[0], inspector.run_role, run_role[1]))
    checks.append(_ledger_signing(options, inspector))
    if not policies:
        return checks
    acls = _guard(
        checks,
        "vault.extend-in-place",
        readable,
        lambda: {n: inspector.acl_policy_text(n) for n in runner_policy_names(jwt_role)},
    )
    in_place = check_extend_in_place(policies, token_role, acls) if acls is not None else None
    checks += [in_place] if in_place is not None else []
    targets = grant_targets(policies, database_policy_name)
    facts = _guard(
        checks,
        "vault.grant-targets",
        readable,
        lambda: VaultFacts(
            mounts=inspector.mounts(),
            roles={path: inspector.read(path) for path in targets["roles"]},
            acl_policies={name: inspector.acl_policy_exists(name) for name in targets["acls"]},
            groups={name: inspector.group(name) for name in targets["groups"]},
            allowed_policies=_allowed(token_role),
            acl_texts={name: inspector.acl_policy_text(name) for name in _secret_acls(policies)},
        ),
    )
    if facts is not None:
        for policy in policies:
            database_policy = database_policy_name(policy.grant.mount, policy.grant.role)
            checks.append(check_grant_target(policy, database_policy, facts))
            role_path = f"{policy.grant.mount}/roles/{policy.grant.role}"
            sessions = check_database_sessions(policy, facts.roles.get(role_path))
            if sessions is not None:
                checks.append(sessions)
    return checks


_DOCS = "docs/vault-setup.md"


def _secret_acls(policies: list[Policy]) -> list[str]:
    """The Vault policies of `secret` grants, whose rules doctor matches against the path."""
    return sorted(
        {n for p in policies if p.grant.kind is GrantKind.SECRET for n in p.grant.policies}
    )


def _text(path: Path) -> str | None:
    content = _read(path)
    return None if content is None else content.decode("utf-8", "replace")


def _ledger_signing(options: DoctorOptions, inspector: VaultInspector) -> Check:
    from jitflow.adapters.vault.ledger import LedgerSettings

    settings = LedgerSettings.from_env(options.environ)
    path = f"{settings.mount}/roles/{settings.role}"
    found: list[Check] = []
    read = _guard(
        found,
        "vault.ledger-signing",
        f"use a VAULT_TOKEN allowed to read {path} and {settings.mount}/config/ca",
        lambda: (inspector.read(path), inspector.read(f"{settings.mount}/config/ca")),
    )
    if read is None:
        return found[0]
    role, ca = read
    key = (ca or {}).get("public_key")
    return check_ledger_signing(
        role, key if isinstance(key, str) else None, _text(options.repo / SIGNERS_PATH), path
    )


_VAULT_UP = "check VAULT_ADDR, that the server runs and is unsealed (`bao status`)"


def _allowed(token_role: Mapping[str, object] | None) -> tuple[str, ...] | None:
    """The token role's allowed_policies; None when unknown or unrestricted."""
    allowed = (token_role or {}).get("allowed_policies")
    if not isinstance(allowed, list) or not allowed:
        return None
    return tuple(str(p) for p in allowed)
