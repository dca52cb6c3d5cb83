"""Doctor's rule for teams: the workflows must be able to read every team the repository
names (code owner teams in CODEOWNERS, `github-team:` groups), or those checks fail.

The generated workflows mint a token of the *teams App* (variable JITFLOW_TEAMS_APP_ID,
secret JITFLOW_TEAMS_APP_PRIVATE_KEY) or use the secret JITFLOW_TEAMS_TOKEN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from jitflow.core.doctor import Check, codeowners_rules, fail, ok
from jitflow.core.model import Groups

CHECK_ID = "github.team-reads"
TEAM_PREFIX = "github-team:"
APP_VARIABLE = "JITFLOW_TEAMS_APP_ID"
APP_KEY_SECRET = "JITFLOW_TEAMS_APP_PRIVATE_KEY"  # noqa: S105 (a secret's name)
TOKEN_SECRET = "JITFLOW_TEAMS_TOKEN"  # noqa: S105 (a secret's name)
SETUP = (
    "create a GitHub App with Organization permissions > Members: Read-only and nothing else, "
    "install it on the organisation, then `gh variable set JITFLOW_TEAMS_APP_ID --body <app "
    "id>` and `gh secret set JITFLOW_TEAMS_APP_PRIVATE_KEY < <key>.pem` in the repository "
    "(README: Teams)"
)


def named_teams(codeowners: Iterable[str | None], groups: Groups) -> list[str]:
    """`org/slug` of every team that CODEOWNERS files and groups name, sorted."""
    teams = {
        owner.removeprefix("@")
        for text in codeowners
        if text
        for _, owners in codeowners_rules(text)
        for owner in owners
        if "/" in owner
    }
    teams |= {
        member.removeprefix(TEAM_PREFIX)
        for members in groups.members.values()
        for member in members
        if member.startswith(TEAM_PREFIX)
    }
    return sorted(teams)


def check_team_reads(teams: list[str], settings: Mapping[str, bool]) -> Check:
    """`settings`: whether each Actions variable or secret above is set in the repository."""
    if not teams:
        return ok(CHECK_ID, "no team named in CODEOWNERS or groups: no team-reading token needed")
    named = ", ".join(teams)
    if settings.get(APP_VARIABLE) and settings.get(APP_KEY_SECRET):
        return ok(CHECK_ID, f"the workflows read {named} with the teams App ({APP_VARIABLE})")
    if settings.get(APP_VARIABLE):
        return fail(
            CHECK_ID,
            f"{APP_VARIABLE} is set but the secret {APP_KEY_SECRET} is not: the workflows can't "
            f"mint the teams App's token, so {named} can't be read",
            f"`gh secret set {APP_KEY_SECRET} < <key>.pem` with the teams App's private key",
        )
    if settings.get(TOKEN_SECRET):
        return ok(CHECK_ID, f"the workflows read {named} with the secret {TOKEN_SECRET}")
    return fail(
        CHECK_ID,
        f"CODEOWNERS or groups name {named}, but the workflows have no token that may read "
        "team membership (GITHUB_TOKEN never may): every check that counts a team fails",
        SETUP,
    )


__all__ = ["CHECK_ID", "check_team_reads", "named_teams"]
