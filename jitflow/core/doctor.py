"""`jitflow doctor`'s verdicts: pure rules over facts read from a live setup.

Every rule takes plain data (file bytes, GitHub JSON, Vault JSON) and returns `Check`s, so
each misconfiguration doctor can name is unit-tested without a server. A check that fails
always carries a `fix`: the command or setting that repairs it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

REQUIRED_CONTEXTS = ("jitflow/policy", "jitflow/approval")
CODEOWNERS_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
# Directories whose changes change the gate; a sample of files that must all be owned.
OWNED_DIRECTORIES: Mapping[str, tuple[str, ...]] = {
    "policies/": ("policies/example.yaml", "policies/tests/example.yaml"),
    ".github/": (".github/workflows/sync.yml", ".github/CODEOWNERS"),
    "requests/active/": ("requests/active/example.yaml",),
    "requests/archive/": ("requests/archive/example.yaml", "requests/archive/2026/example.yaml"),
    ".jitflow/": (".jitflow/allowed_signers",),  # the ledger's trust root
}
_PIN = re.compile(
    rb"uses: ([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+@[0-9a-f]{40}) # jitflow action"
)
_DIFF_LINES = 20
PLACEHOLDER_OWNER = "@your-org/"  # what `jitflow init` and the examples write


class CheckStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One verdict: a stable id (e.g. `github.required-statuses`), what was found, the fix."""

    id: str
    status: CheckStatus
    message: str
    fix: str = ""
    details: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status is CheckStatus.FAIL


def ok(check_id: str, message: str) -> Check:
    return Check(check_id, CheckStatus.OK, message)


def fail(check_id: str, message: str, fix: str, details: Sequence[str] = ()) -> Check:
    return Check(check_id, CheckStatus.FAIL, message, fix, tuple(details))


def warn(check_id: str, message: str, fix: str = "", details: Sequence[str] = ()) -> Check:
    return Check(check_id, CheckStatus.WARN, message, fix, tuple(details))


def skip(check_id: str, message: str, fix: str = "") -> Check:
    return Check(check_id, CheckStatus.SKIP, message, fix)


# ---- repository: CODEOWNERS -------------------------------------------------------------


def codeowners_regex(pattern: str) -> re.Pattern[str]:
    """A CODEOWNERS pattern (gitignore-like, as GitHub reads it) as a regex over file paths."""
    anchored = "/" in pattern.rstrip("/")
    directory_only = pattern.endswith("/")
    body = pattern.strip("/")
    out = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    suffix = "/.*" if directory_only else "(?:/.*)?"
    return re.compile(f"^{prefix}{''.join(out)}{suffix}$")


def codeowners_rules(text: str) -> list[tuple[re.Pattern[str], tuple[str, ...]]]:
    """(pattern, owners) per rule line, in file order (the last matching rule wins)."""
    rules = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        pattern, *owners = line.split()
        rules.append((codeowners_regex(pattern), tuple(owners)))
    return rules


def owners_of(
    rules: Sequence[tuple[re.Pattern[str], tuple[str, ...]]], path: str
) -> tuple[str, ...]:
    for regex, owners in reversed(rules):
        if regex.match(path):
            return owners
    return ()


def check_codeowners(files: Mapping[str, str | None]) -> Check:
    """CODEOWNERS (the file GitHub uses) must give owners to everything that changes the gate."""
    check_id = "repository.codeowners"
    found = next(((p, files[p]) for p in CODEOWNERS_LOCATIONS if files.get(p) is not None), None)
    example = "\n".join(f"  /{d} @your-org/access-admins" for d in OWNED_DIRECTORIES)
    if found is None:
        return fail(
            check_id,
            "no CODEOWNERS file (looked in " + ", ".join(CODEOWNERS_LOCATIONS) + ")",
            f"create .github/CODEOWNERS with:\n{example}",
        )
    path, text = found
    rules = codeowners_rules(text or "")
    uncovered = [
        directory
        for directory, samples in OWNED_DIRECTORIES.items()
        if not all(owners_of(rules, sample) for sample in samples)
    ]
    if uncovered:
        lines = "\n".join(f"  /{d} @your-org/access-admins" for d in uncovered)
        return fail(
            check_id,
            f"{path} gives no owner to {', '.join(uncovered)}: changes there need no "
            "code owner's review",
            f"add to {path} (after any broader rule):\n{lines}",
        )
    placeholders = sorted(
        {
            owner
            for samples in OWNED_DIRECTORIES.values()
            for sample in samples
            for owner in owners_of(rules, sample)
            if owner.lower().startswith(PLACEHOLDER_OWNER)
        }
    )
    if placeholders:
        return fail(
            check_id,
            f"{path} still names the placeholder owner {', '.join(placeholders)}: GitHub "
            "requests no review from a team that doesn't exist",
            f"in {path}, replace {placeholders[0]} with your admins' team or logins, e.g. "
            "@acme/platform-admins",
        )
    return ok(check_id, f"{path} covers {', '.join(OWNED_DIRECTORIES)}")


# ---- repository: workflows --------------------------------------------------------------


def pinned_action(content: bytes) -> str | None:
    """The `OWNER/NAME@SHA` of the jitflow action a workflow runs (None when not pinned)."""
    match = _PIN.search(content)
    return match.group(1).decode() if match else None


def check_workflow(path: str, actual: bytes | None, expected: bytes, restore: str) -> Check:
    """A workflow must be the template byte for byte, for the action commit it pins."""
    check_id = f"repository.workflow.{path.rsplit('/', 1)[-1].removesuffix('.yml')}"
    if actual is None:
        return fail(check_id, f"{path} is missing: nothing runs this part of jitflow", restore)
    if actual == expected:
        return ok(check_id, f"{path} is the template, running {pinned_action(expected)}")
    diff = list(
        difflib.unified_diff(
            expected.decode(errors="replace").splitlines(),
            actual.decode(errors="replace").splitlines(),
            f"template/{path}",
            path,
            n=1,
            lineterm="",
        )
    )
    changed = sum(1 for line in diff[2:] if line[:1] in "+-")
    shown = diff[:_DIFF_LINES] + (
        [f"... ({len(diff) - _DIFF_LINES} more lines)"] * (len(diff) > _DIFF_LINES)
    )
    return fail(
        check_id,
        f"{path} differs from the pinned template ({changed} changed lines): a modified "
        "workflow can bypass the gate",
        f"restore it: {restore}",
        shown,
    )


# ---- GitHub: branch protection and rulesets ---------------------------------------------


@dataclass(frozen=True)
class Enforcer:
    """One source of branch rules: classic protection, or one ruleset."""

    name: str
    contexts: frozenset[str]
    approvals: int
    code_owners: bool
    binds_admins: bool
    bypass_note: str = ""
    blocks_pushes: bool = False  # requires a PR or statuses: a direct push to the branch fails
    bypass_apps: tuple[int, ...] = ()  # GitHub Apps (Integration actors) that may bypass it
    last_push_approval: bool = False  # the last push must be approved by someone else


def protection_enforcer(protection: Mapping[str, Any] | None) -> Enforcer | None:
    """Classic branch protection (GET .../protection JSON) as an `Enforcer`."""
    if not protection:
        return None
    checks = protection.get("required_status_checks") or {}
    contexts = set(checks.get("contexts") or [])
    contexts.update(c.get("context", "") for c in checks.get("checks") or [] if isinstance(c, dict))
    reviews = protection.get("required_pull_request_reviews")
    admins = protection.get("enforce_admins")
    enforced = bool(admins.get("enabled") if isinstance(admins, Mapping) else admins)
    return Enforcer(
        "branch protection",
        frozenset(c for c in contexts if c),
        int(reviews.get("required_approving_review_count", 0)) if reviews else 0,
        bool(reviews.get("require_code_owner_reviews")) if reviews else False,
        enforced,
        "" if enforced else "branch protection does not include administrators",
        blocks_pushes=bool(reviews) or bool(contexts),
        last_push_approval=bool(reviews.get("require_last_push_approval")) if reviews else False,
    )


def ruleset_enforcers(
    rules: Iterable[Mapping[str, Any]], rulesets: Mapping[int, Mapping[str, Any] | None]
) -> list[Enforcer]:
    """Rules that apply to the branch, grouped by ruleset; `rulesets` holds each one's details
    (None when unreadable: then its bypass list is unknown and it does not bind admins)."""
    grouped: dict[int, list[Mapping[str, Any]]] = {}
    for rule in rules:
        grouped.setdefault(int(rule.get("ruleset_id") or 0), []).append(rule)
    enforcers = []
    for ruleset_id, members in sorted(grouped.items()):
        contexts: set[str] = set()
        approvals, code_owners, last_push = 0, False, False
        blocks = any(r.get("type") in ("pull_request", "update") for r in members)
        for rule in members:
            params = rule.get("parameters") or {}
            if rule.get("type") == "required_status_checks":
                contexts.update(
                    c.get("context", "") for c in params.get("required_status_checks") or []
                )
            elif rule.get("type") == "pull_request":
                approvals = max(approvals, int(params.get("required_approving_review_count") or 0))
                code_owners = code_owners or bool(params.get("require_code_owner_review"))
                last_push = last_push or bool(params.get("require_last_push_approval"))
        details = rulesets.get(ruleset_id)
        name = f"ruleset {(details or {}).get('name') or ruleset_id}"
        if details is None:
            binds, note = (
                False,
                f"{name}: its bypass list is unreadable (needs administration: read)",
            )
        else:
            actors = details.get("bypass_actors") or []
            # GitHub Apps (the jitflow App pushing the ledger) are no administrators
            binds = all(a.get("actor_type") == "Integration" for a in actors)
            kinds = ", ".join(sorted({str(a.get("actor_type")) for a in actors}))
            note = "" if binds else f"{name} lets {kinds} bypass it"
        apps = tuple(
            int(a.get("actor_id") or 0)
            for a in (details or {}).get("bypass_actors") or []
            if a.get("actor_type") == "Integration"
        )
        enforcers.append(
            Enforcer(
                name,
                frozenset(c for c in contexts if c),
                approvals,
                code_owners,
                binds,
                note,
                blocks_pushes=blocks or bool(contexts),
                bypass_apps=apps,
                last_push_approval=last_push,
            )
        )
    return enforcers


def check_branch_rules(enforcers: Sequence[Enforcer], repository: str, branch: str) -> list[Check]:
    """Required statuses, reviews, code owner reviews and no admin bypass, from any source."""
    api = f"repos/{repository}/branches/{branch}/protection"
    settings = f"Settings > Branches > {branch} (or a ruleset targeting {branch})"
    if not enforcers:
        unprotected = f"{branch} has neither branch protection nor a ruleset"
        return [
            fail(check_id, unprotected, protect_command(api))
            for check_id in (
                "github.required-statuses",
                "github.required-reviews",
                "github.code-owner-reviews",
                "github.last-push-approval",
                "github.admins-enforced",
            )
        ]
    checks = []
    have = frozenset().union(*(e.contexts for e in enforcers))
    missing = [c for c in REQUIRED_CONTEXTS if c not in have]
    if missing:
        adds = " ".join(f"-f 'contexts[]={c}'" for c in missing)
        checks.append(
            fail(
                "github.required-statuses",
                f"{branch} does not require status {' and '.join(missing)}: a request can merge "
                "without jitflow's verdict",
                f"gh api -X POST {api}/required_status_checks/contexts {adds}   "
                f"(or {settings}: Require status checks)",
            )
        )
    else:
        checks.append(
            ok("github.required-statuses", f"{branch} requires {', '.join(REQUIRED_CONTEXTS)}")
        )
    approvals = max((e.approvals for e in enforcers), default=0)
    reviews_fix = f"gh api -X PATCH {api}/required_pull_request_reviews"
    if approvals < 1:
        checks.append(
            fail(
                "github.required-reviews",
                f"{branch} requires no approving review: anyone with write access merges alone",
                f"{reviews_fix} -F required_approving_review_count=1   "
                f"(or {settings}: Require a pull request before merging, 1 approval)",
            )
        )
    else:
        checks.append(
            ok("github.required-reviews", f"{branch} requires {approvals} approving review(s)")
        )
    if not any(e.code_owners for e in enforcers):
        checks.append(
            fail(
                "github.code-owner-reviews",
                f"{branch} does not require code owner review: policy and workflow changes "
                "need no owner's approval",
                f"{reviews_fix} -F require_code_owner_reviews=true   "
                f"(or {settings}: Require review from Code Owners)",
            )
        )
    else:
        checks.append(ok("github.code-owner-reviews", f"{branch} requires code owner review"))
    checks.append(_last_push_check(enforcers, reviews_fix, settings, branch))
    checks.append(_admins_check(enforcers, api, branch))
    return checks


def check_ledger_writer(enforcers: Sequence[Enforcer], branch: str, app_id: str | None) -> Check:
    """The sync pushes ledger commits straight to the branch: every rule that refuses direct
    pushes must let the jitflow GitHub App (and nobody else) through. Classic protection
    can't: its required status checks bind App tokens too."""
    check_id = "github.ledger-writer"
    fix = (
        "protect the branch with the README's ruleset (ruleset.json) whose only bypass actor is "
        "the jitflow GitHub App, and drop classic branch protection"
    )
    blocking = [e for e in enforcers if e.blocks_pushes]
    if not blocking:
        return ok(check_id, f"direct pushes to {branch} are not refused: the sync can push")
    classic = [e for e in blocking if e.name == "branch protection"]
    if classic:
        return fail(
            check_id,
            f"branch protection on {branch} refuses the sync's ledger pushes (no token can "
            "bypass its required status checks)",
            fix,
        )
    apps = {e.name: e.bypass_apps for e in blocking}
    wrong = [name for name, ids in apps.items() if len(ids) != 1]
    found = {ids[0] for ids in apps.values() if len(ids) == 1}
    if wrong or len(found) != 1:
        return fail(
            check_id,
            f"{', '.join(wrong) or 'the rulesets'} on {branch} must have exactly one GitHub App "
            "(the jitflow App) as bypass actor, or the sync can't push the ledger",
            fix,
        )
    (found_id,) = found
    if app_id and str(found_id) != app_id:
        return fail(
            check_id,
            f"the App that may push to {branch} is {found_id}, not JITFLOW_APP_ID={app_id}",
            fix,
        )
    return ok(check_id, f"only the GitHub App {found_id} may push the ledger to {branch}")


def _last_push_check(
    enforcers: Sequence[Enforcer], reviews_fix: str, settings: str, branch: str
) -> Check:
    """GitHub's own guard against a reviewer approving what they pushed themselves."""
    if any(e.last_push_approval for e in enforcers):
        return ok("github.last-push-approval", f"{branch} requires approval of the last push")
    return fail(
        "github.last-push-approval",
        f"{branch} does not require approval of the most recent reviewable push: someone who "
        "pushes to a PR can approve their own push",
        f"{reviews_fix} -F require_last_push_approval=true   (or {settings}: Require approval "
        "of the most recent reviewable push)",
    )


def protect_command(api: str) -> str:
    """The one command that protects a branch the way jitflow needs."""
    body = (
        '{"required_status_checks":{"strict":true,"contexts":["jitflow/policy","jitflow/approval"]},'
        '"enforce_admins":true,"required_pull_request_reviews":{"required_approving_review_count":1,'
        '"require_code_owner_reviews":true,"require_last_push_approval":true},"restrictions":null}'
    )
    return f"gh api -X PUT {api} --input - <<< '{body}'"


def _admins_check(enforcers: Sequence[Enforcer], api: str, branch: str) -> Check:
    """Each requirement that is set must be set by a source that binds administrators."""
    wanted: dict[str, Callable[[Enforcer], bool]] = {
        "status checks": lambda e: any(c in e.contexts for c in REQUIRED_CONTEXTS),
        "reviews": lambda e: e.approvals >= 1,
        "code owner review": lambda e: e.code_owners,
    }
    bypassable = [
        what
        for what, sets in wanted.items()
        if any(sets(e) for e in enforcers)
        and not any(sets(e) and e.binds_admins for e in enforcers)
    ]
    if bypassable:
        notes = sorted({e.bypass_note for e in enforcers if e.bypass_note})
        return fail(
            "github.admins-enforced",
            f"administrators can bypass {', '.join(bypassable)} on {branch} ({'; '.join(notes)})",
            f"gh api -X POST {api}/enforce_admins   (Do not allow bypassing the above settings;"
            " for rulesets: remove every bypass actor)",
        )
    return ok("github.admins-enforced", f"{branch}'s rules bind administrators too")
