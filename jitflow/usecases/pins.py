"""`jitflow policy pin`: pin every login policies/ names to the GitHub account holding it now
(groups.yaml `github_ids:`), and report pins that no longer hold (renamed, taken over, deleted).

Reads the working tree (an admin edits, pins, reviews the diff and commits). A login is pinned
only when nothing is pinned for it yet, or when `repin` names it; a pin that stopped matching
is reported, never silently replaced: the person meant may have renamed their account and a
stranger registered the old login.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from jitflow.adapters.git import Git
from jitflow.adapters.git.log import first_mention
from jitflow.core.doctor import CODEOWNERS_LOCATIONS
from jitflow.core.loading import (
    GROUPS_PATH,
    NOT_POLICIES,
    ONCALL_PATH,
    POLICY_DIR,
    parse_groups,
    parse_oncall,
    parse_policy,
    with_rotations,
)
from jitflow.core.model import Account, Groups, Policy
from jitflow.core.pins import (
    PinFinding,
    Pinned,
    PinOutcome,
    codeowner_logins,
    named_logins,
    pin_findings,
    pins_block,
    with_pins,
)
from jitflow.errors import ConfigError, GitError


class Accounts(Protocol):
    """What pinning asks GitHub (the GitHub adapter's gateway)."""

    def account(self, login: str) -> Account | None: ...

    def account_by_id(self, account_id: int) -> Account | None: ...


@dataclass(frozen=True)
class PinOptions:
    repo: Path
    check: bool = False  # report only; write nothing
    repin: tuple[str, ...] = ()  # logins pinned again to whoever holds them now


def run_pin(options: PinOptions, accounts: Accounts) -> PinOutcome:
    groups_file = options.repo / GROUPS_PATH
    text = groups_file.read_text(encoding="utf-8") if groups_file.exists() else ""
    groups, policies = _load(options.repo, text)
    named = named_logins(policies, groups, _codeowners(options.repo))
    holding = {login: accounts.account(login) for login in named}
    pinned_ids = {groups.github_ids[login] for login in named if login in groups.github_ids}
    pinned_now = {account_id: accounts.account_by_id(account_id) for account_id in pinned_ids}
    repin = {login.lower() for login in options.repin}
    ids = {login: groups.github_ids[login] for login in named if login in groups.github_ids}
    added: dict[str, Pinned] = {}
    left: list[PinFinding] = []
    for finding in pin_findings(named, groups, holding, pinned_now):
        holder = holding.get(finding.login)
        if holder is None or holder.kind != "User":
            left.append(replace(finding, problem=f"{finding.problem}; no user holds it on GitHub"))
        elif finding.kind == "unpinned" or finding.login in repin:
            ids[finding.login] = holder.id
            added[finding.login] = Pinned(holder, _first_named(options.repo, finding.login))
        else:
            left.append(finding)
    dropped = tuple(sorted(set(groups.github_ids) - set(named)))
    written = False
    if not options.check and (added or dropped):
        groups_file.parent.mkdir(parents=True, exist_ok=True)
        groups_file.write_text(with_pins(text, pins_block(ids)), encoding="utf-8")
        written = True
    return PinOutcome(added, dropped, tuple(left), written)


def _codeowners(repo: Path) -> list[str]:
    """Individual code owners of CODEOWNERS (the change gate believes them by pin too)."""
    files = [repo / location for location in CODEOWNERS_LOCATIONS]
    return codeowner_logins(f.read_text(errors="replace") for f in files if f.is_file())


def _load(repo: Path, groups_text: str) -> tuple[Groups, list[Policy]]:
    """groups.yaml (with rotations.yaml) and every policy; any finding stops the pinning."""
    oncall = repo / ONCALL_PATH
    loaded = with_rotations(
        parse_groups(groups_text.encode() if groups_text else None),
        parse_oncall(oncall.read_bytes() if oncall.exists() else None),
    )
    problems = list(loaded.findings)
    policies = []
    for file in sorted((repo / POLICY_DIR).glob("*.yaml")):
        path = f"{POLICY_DIR}/{file.name}"
        if path not in NOT_POLICIES:
            policy = parse_policy(file.read_bytes(), path)
            problems += policy.findings
            if policy.value is not None:
                policies.append(policy.value)
    if problems or loaded.value is None:
        listing = "\n".join(f"  {f.path}:{f.line}:{f.column}: {f.message}" for f in problems)
        raise ConfigError(f"policies/ does not load, so nothing was pinned:\n{listing}")
    return loaded.value, policies


def _first_named(repo: Path, login: str) -> datetime | None:
    """When a commit first added @login's name to policies/ (None: unknown, e.g. no git)."""
    try:
        return first_mention(Git(repo), login, POLICY_DIR)
    except GitError:
        return None
