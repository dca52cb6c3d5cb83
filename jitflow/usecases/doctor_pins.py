"""Doctor's pin checks: every login named in policies/ pinned to a GitHub account id
(offline), and each pinned account still holding its login (with a GitHub token)."""

from __future__ import annotations

from pathlib import Path

from jitflow.core.doctor import CODEOWNERS_LOCATIONS, Check
from jitflow.core.loading import (
    GROUPS_PATH,
    ONCALL_PATH,
    parse_groups,
    parse_oncall,
    with_rotations,
)
from jitflow.core.model import Groups, Policy
from jitflow.core.pins import check_pins, codeowner_logins, named_logins, pin_findings
from jitflow.usecases.pins import Accounts


def _codeowners(repo: Path) -> list[str]:
    files = [repo / location for location in CODEOWNERS_LOCATIONS]
    return codeowner_logins(f.read_text(errors="replace") for f in files if f.is_file())


def _groups(repo: Path) -> Groups | None:
    def read(path: str) -> bytes | None:
        file = repo / path
        return file.read_bytes() if file.is_file() else None

    loaded = with_rotations(parse_groups(read(GROUPS_PATH)), parse_oncall(read(ONCALL_PATH)))
    groups: Groups | None = loaded.value
    return groups


def pins_offline(repo: Path, policies: list[Policy]) -> list[Check]:
    """Missing pins (none when groups.yaml doesn't load: repository.policies says why)."""
    groups = _groups(repo)
    if groups is None:
        return []
    named = named_logins(policies, groups, _codeowners(repo))
    return [check_pins(pin_findings(named, groups, {}, {}), online=False)]


def pins_online(repo: Path, policies: list[Policy], accounts: Accounts) -> list[Check]:
    """Pinned accounts renamed away, logins taken over, accounts deleted (GitHub's answers)."""
    groups = _groups(repo)
    if groups is None:
        return []
    named = named_logins(policies, groups, _codeowners(repo))
    pinned = {login: groups.github_ids[login] for login in named if login in groups.github_ids}
    holding = {login: accounts.account(login) for login in pinned}
    now = {account_id: accounts.account_by_id(account_id) for account_id in pinned.values()}
    found = [f for f in pin_findings(named, groups, holding, now) if f.kind != "unpinned"]
    return [check_pins(found, online=True)]
