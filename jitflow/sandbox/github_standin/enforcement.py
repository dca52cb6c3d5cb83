"""What GitHub refuses when someone pushes to a branch or merges into it: branch protection
and rulesets, with their bypass actors, in GitHub's own wording.

A push is judged from its ref updates before git takes it (`push_verdict`); the force-push
check, which needs the pushed objects, is left to the repository's pre-receive hook
(githttp.py installs it). Rulesets at merge (`ruleset_merge_blockers`) add to what
protection.py checks. Not modelled: repository admins (nobody is one, so `enforce_admins`
changes nothing), required signatures and code-owner review at merge.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jitflow.sandbox.github_standin.protection import (
    last_push_blockers,
    review_blockers,
    status_blockers,
)
from jitflow.sandbox.github_standin.state import Pull, Status, Store, User

ZERO = "0" * 40
DEFAULT_BRANCH = "main"
PR_REQUIRED = "Changes must be made through a pull request."


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str


@dataclass(frozen=True)
class PushVerdict:
    rejection: str | None  # what git prints as `remote:` lines; None: accepted so far
    no_force: tuple[str, ...]  # refs where a non-fast-forward update is refused


def _matches(pattern: str, branch: str) -> bool:
    if pattern == "~ALL":
        return True
    if pattern == "~DEFAULT_BRANCH":
        return branch == DEFAULT_BRANCH
    return fnmatch.fnmatchcase(f"refs/heads/{branch}", pattern)


def applies_to(ruleset: Mapping[str, Any], branch: str) -> bool:
    """Active, targeting branches, and its ref_name condition selects `branch`."""
    names = ruleset["conditions"]["ref_name"]
    return (
        ruleset["enforcement"] == "active"
        and any(_matches(p, branch) for p in names["include"])
        and not any(_matches(p, branch) for p in names["exclude"])
    )


def bypasses(ruleset: Mapping[str, Any], actor: User) -> bool:
    """A ruleset's bypass actors: GitHub Apps (`Integration`, by app id) are modelled."""
    return any(
        entry.get("actor_type") == "Integration"
        and actor.app_id is not None
        and entry.get("actor_id") == actor.app_id
        for entry in ruleset.get("bypass_actors", [])
    )


def active_rulesets(store: Store, branch: str, actor: User) -> list[Mapping[str, Any]]:
    """The rulesets that bind `actor` on `branch` (active, matching, not bypassed)."""
    return [
        ruleset
        for ruleset in store.rulesets.values()
        if applies_to(ruleset, branch) and not bypasses(ruleset, actor)
    ]


def push_verdict(
    store: Store, actor: User, updates: Iterable[RefUpdate], statuses: Callable[[str], list[Status]]
) -> PushVerdict:
    messages: list[str] = []
    no_force: list[str] = []
    for update in updates:
        if not update.ref.startswith("refs/heads/"):
            continue
        branch = update.ref.removeprefix("refs/heads/")
        protection = store.protection.get(branch)
        if protection:
            reasons = _protection_reasons(protection, actor, update, statuses)
            if reasons:
                head = f"error: GH006: Protected branch update failed for {update.ref}."
                messages.append("\n".join([head, *(f"error: {r}" for r in reasons)]))
            if not protection.get("allow_force_pushes"):
                no_force.append(update.ref)
        rulesets = active_rulesets(store, branch, actor)
        reasons = _ruleset_reasons(rulesets, update, statuses)
        if reasons:
            head = f"error: GH013: Repository rule violations found for {update.ref}."
            messages.append("\n".join([head, "", *(f"- {r}" for r in reasons)]))
        if any(_rule(r, "non_fast_forward") for r in rulesets):
            no_force.append(update.ref)
    return PushVerdict("\n".join(messages) or None, tuple(dict.fromkeys(no_force)))


def _protection_reasons(
    protection: Mapping[str, Any],
    actor: User,
    update: RefUpdate,
    statuses: Callable[[str], list[Status]],
) -> list[str]:
    reasons = []
    restrictions = protection.get("restrictions")
    if restrictions and not _allowed(restrictions, actor):
        reasons.append("You're not authorized to push to this branch.")
    if update.new == ZERO:
        if not protection.get("allow_deletions"):
            reasons.append("Cannot delete this protected branch")
        return reasons
    reviews = protection.get("required_pull_request_reviews")
    allowances = (reviews or {}).get("bypass_pull_request_allowances") or {}
    if reviews is not None and not _allowed(allowances, actor):
        reasons.append(PR_REQUIRED)
    checks = protection.get("required_status_checks")
    if checks is not None:
        reasons += status_blockers(checks.get("contexts", []), update.new, statuses)
    return reasons


def _ruleset_reasons(
    rulesets: Sequence[Mapping[str, Any]],
    update: RefUpdate,
    statuses: Callable[[str], list[Status]],
) -> list[str]:
    reasons: list[str] = []
    for ruleset in rulesets:
        if update.new == ZERO and _rule(ruleset, "deletion"):
            reasons.append("Cannot delete this branch")
        if update.old == ZERO and _rule(ruleset, "creation"):
            reasons.append("Cannot create ref due to creations being restricted.")
        if update.new == ZERO or update.old == ZERO:
            continue
        if _rule(ruleset, "update"):
            reasons.append("Cannot update this protected ref.")
        if _rule(ruleset, "pull_request"):
            reasons.append(PR_REQUIRED)
        checks = _rule(ruleset, "required_status_checks")
        if checks is not None:
            contexts = [c["context"] for c in checks.get("required_status_checks", [])]
            reasons += status_blockers(contexts, update.new, statuses)
    return list(dict.fromkeys(reasons))


def ruleset_merge_blockers(
    store: Store,
    pull: Pull,
    actor: User,
    statuses: Callable[[str], list[Status]],
    last_push: tuple[str, str],
) -> list[str]:
    """Why the rulesets on the PR's base refuse `actor`'s merge (GitHub's wording)."""
    blockers: list[str] = []
    for ruleset in active_rulesets(store, pull.base_ref, actor):
        rule = _rule(ruleset, "pull_request")
        if rule is not None:
            needed = int(rule.get("required_approving_review_count", 0))
            stale = bool(rule.get("dismiss_stale_reviews_on_push"))
            blockers += review_blockers(pull, needed, stale)
            if rule.get("require_last_push_approval"):
                blockers += last_push_blockers(pull, last_push)
        checks = _rule(ruleset, "required_status_checks")
        if checks is not None:
            contexts = [c["context"] for c in checks.get("required_status_checks", [])]
            blockers += status_blockers(contexts, pull.head_sha, statuses)
    return list(dict.fromkeys(blockers))


def _rule(ruleset: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for rule in ruleset.get("rules", []):
        if rule.get("type") == kind:
            parameters: Mapping[str, Any] = rule.get("parameters") or {}
            return parameters
    return None


def _allowed(allowance: Mapping[str, Any], actor: User) -> bool:
    """Whether `actor` is listed in GitHub's {users, teams, apps} allowance (PUT-body shape:
    logins and app slugs)."""
    users = {str(u).lower() for u in allowance.get("users") or []}
    apps = {str(a).lower() for a in allowance.get("apps") or []}
    login = actor.login.lower()
    return login in users or (login.endswith("[bot]") and login.removesuffix("[bot]") in apps)


__all__ = ["ZERO", "PushVerdict", "RefUpdate", "push_verdict", "ruleset_merge_blockers"]
