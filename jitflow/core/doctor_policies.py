"""Doctor's semantic checks of policies: files that load cleanly but can't work as meant.

The schema accepts a policy naming a group nobody defined, a rule asking for more approvals
than its approvers can give, or break-glass longer than the reviewed maximum; each is a
policy that silently refuses everything (or grants more than its author meant).
"""

from __future__ import annotations

from collections.abc import Sequence

from jitflow.core.durations import format_duration
from jitflow.core.model import Groups, Policy, Principals

TEAM_PREFIX = "github-team:"


def policy_rule_problems(policies: Sequence[Policy], groups: Groups) -> list[str]:
    """One line per problem, each naming the policy file and the key to change."""
    problems: list[str] = []
    for policy in policies:
        problems += _undefined_groups(policy, groups)
        problems += _unreachable_counts(policy, groups)
        problems += _break_glass_over_max(policy)
    return problems


def _named_principals(policy: Policy) -> list[tuple[str, Principals]]:
    named = [("requesters", policy.requesters)]
    named += [
        (f"approvals.rules[{index}].from", rule.approvers)
        for index, rule in enumerate(policy.approval_rules)
    ]
    return named


def _undefined_groups(policy: Policy, groups: Groups) -> list[str]:
    where = "policies/groups.yaml does not exist" if groups.missing else "it is not defined"
    return [
        f"{policy.path}: {key} names group {name!r}, but {where}: nobody is in it"
        for key, principals in _named_principals(policy)
        for name in principals.groups
        if name not in groups.members
    ]


def _unreachable_counts(policy: Policy, groups: Groups) -> list[str]:
    problems = []
    for index, rule in enumerate(policy.approval_rules):
        people = _known_members(rule.approvers, groups)
        if people is None or rule.count <= len(people):
            continue
        problems.append(
            f"{policy.path}: approvals.rules[{index}] asks for {rule.count} approval(s) from "
            f"{rule.approvers.describe()}, which has {len(people)} member(s)"
            f"{' (' + ', '.join(sorted(people)) + ')' if people else ''}: no request under "
            f"{policy.name} can ever be approved"
        )
    return problems


def _known_members(principals: Principals, groups: Groups) -> set[str] | None:
    """The logins a rule can count, or None when a live team makes the number unknown
    (or a group is undefined, which is reported on its own). A rotation counts as one: one
    person holds it at a time (an undefined one is repository.rotations's to report)."""
    people = {user.lower() for user in principals.users}
    people |= {f"whoever is on call in {rotation}" for rotation in principals.oncall}
    for name in principals.groups:
        if name not in groups.members:
            return None
        for member in groups.of(name):
            if member.startswith(TEAM_PREFIX):
                return None
            people.add(member.lower())
    return people


def _break_glass_over_max(policy: Policy) -> list[str]:
    limit = policy.break_glass.max_duration
    if not policy.break_glass.allowed or limit is None or limit <= policy.max_duration:
        return []
    return [
        f"{policy.path}: break_glass.max_duration {format_duration(limit)} is longer than "
        f"duration.max {format_duration(policy.max_duration)}: an unreviewed break-glass grant "
        "would last longer than any approved one"
    ]
