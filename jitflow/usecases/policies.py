"""`jitflow policies`: what can be requested, by whom, approved by whom."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.core.approvals import members
from jitflow.core.loading import GROUPS_PATH
from jitflow.core.model import Groups
from jitflow.core.policy_listing import PolicyListing
from jitflow.usecases.repository import all_policy_names, read_policies, snapshot


@dataclass(frozen=True)
class PoliciesOptions:
    """What `jitflow policies` lists: the policies at `ref`, only those `login` may request."""

    repo: Path
    ref: str = "HEAD"
    login: str | None = None


def list_policies(options: PoliciesOptions) -> PolicyListing:
    git, login = Git(options.repo), options.login
    commit = git.rev_parse(options.ref)
    loaded = read_policies(git, commit, all_policy_names(git, commit))
    groups_loaded = snapshot(git, commit).groups
    groups = groups_loaded.value or Groups()
    good = [p.value for p in loaded.values() if p.value is not None]
    if login:
        good = [p for p in good if login.lower() in members(p.requesters, groups, {})]
    broken = (*groups_loaded.findings, *(f for p in loaded.values() for f in p.findings))
    notes = []
    if groups.missing:
        notes.append(f"{GROUPS_PATH} does not exist, so every group named by a policy is empty")
    if login and not good and not broken:
        notes.append(f"{login} may request none of these policies")
    return PolicyListing(tuple(good), tuple(broken), groups, tuple(notes))
