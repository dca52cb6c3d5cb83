"""Which GitHub account a login named in policies/ means.

A GitHub login is not an identity: a user can rename their account, after which GitHub frees
the old login and anyone may register it, and GitHub reports the newcomer's PRs and reviews
under that login. The account id (`id` in every user object GitHub returns) never changes.
So `policies/groups.yaml` pins every login named in policies, groups and rotations to the
account id it means (`github_ids:`), and a decision counts a login only when GitHub reports
that very account behind it. A login without a pin counts for nothing (fail closed).

Members of a live GitHub team (`github-team:org/slug`) need no pin: GitHub itself answers
for the account now holding the login, and answers it at decision time.
"""

from __future__ import annotations

from collections.abc import Mapping

from jitflow.core.model import Groups, Principals

PIN_ADVICE = (
    "pin it: `jitflow policy pin` (with a GitHub token) writes github_ids in "
    "policies/groups.yaml; review the ids in that PR"
)


def named_logins(principals: Principals, groups: Groups) -> set[str]:
    """Lower-cased logins that `principals` names itself: users, groups' members, whoever
    is on call (all pinned in groups.yaml), never a team's members."""
    result = {user.lower() for user in principals.users}
    result |= {groups.on_call[r].lower() for r in principals.oncall if r in groups.on_call}
    for group in principals.groups:
        result |= {m.lower() for m in groups.of(group) if not m.startswith("github-team:")}
    return result


def team_logins(
    principals: Principals, groups: Groups, teams: Mapping[str, frozenset[str]]
) -> set[str]:
    """Lower-cased logins that `principals` includes through live GitHub teams."""
    result: set[str] = set()
    for group in principals.groups:
        for member in groups.of(group):
            if member.startswith("github-team:"):
                result |= {login.lower() for login in teams.get(member, frozenset())}
    return result


def account_problem(login: str, account_id: int | None, groups: Groups) -> str | None:
    """Why the account GitHub reports for @login is not the one policies/groups.yaml means
    (None: it is)."""
    pinned = groups.github_ids.get(login.lower())
    if pinned is None:
        return (
            f"@{login} has no GitHub account id in policies/groups.yaml (github_ids), so "
            "jitflow can't tell the account meant from one that took the login over; " + PIN_ADVICE
        )
    if account_id is None:
        return f"GitHub reported no account id for @{login}, so it can't be matched to its pin"
    if account_id != pinned:
        return (
            f"@{login} is now GitHub account {account_id}, not account {pinned} that "
            f"policies/groups.yaml pins for @{login}: the login was renamed and registered "
            "by someone else (or the pin is wrong)"
        )
    return None


def unproven(
    logins: set[str], accounts: Mapping[str, int | None] | None, groups: Groups
) -> dict[str, str]:
    """For each of `logins` (lower-cased) whose account GitHub reported (`accounts`, by
    lower-cased login) is not the pinned one: why. `accounts` None: the facts did not come
    from GitHub (offline check, policy tests), so no account is judged."""
    if accounts is None:
        return {}
    found = {login: account_problem(login, accounts.get(login), groups) for login in logins}
    return {login: problem for login, problem in found.items() if problem}
