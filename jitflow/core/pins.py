"""Pinning logins to GitHub accounts: which logins policies/ names, which lack a pin or hold
a stale one, and groups.yaml's `github_ids:` block rewritten. Pure: accounts are passed in.

`jitflow policy pin` and doctor use it; decisions use `core.identities`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from jitflow.core.doctor import Check, codeowners_rules, fail, ok
from jitflow.core.model import Account, Groups, Policy

PINS_HEADER = (
    "# The GitHub account id of every login named in policies, groups and rotations: a login\n"
    "# can be renamed and registered by someone else, the id never changes. `jitflow policy\n"
    "# pin` writes this block; check each id it adds in review.\n"
)
_TOP_KEY = re.compile(r"^github_ids\s*:")


def codeowner_logins(codeowners: Iterable[str | None]) -> list[str]:
    """The individual owners (@login, not @org/team) CODEOWNERS files name."""
    return [
        owner.removeprefix("@")
        for text in codeowners
        if text
        for _, owners in codeowners_rules(text)
        for owner in owners
        if owner.startswith("@") and "/" not in owner
    ]


def named_logins(
    policies: Iterable[Policy], groups: Groups, codeowners: Iterable[str] = ()
) -> dict[str, str]:
    """Every login policies/ (and CODEOWNERS: `codeowner_logins`) names, lower-cased, with
    where it is first named."""
    found: dict[str, str] = {}
    for name, members in sorted(groups.members.items()):
        for member in members:
            if not member.startswith("github-team:"):
                found.setdefault(member.lower(), f"group {name}")
    for policy in sorted(policies, key=lambda p: p.name):
        people = [policy.requesters, *(rule.approvers for rule in policy.approval_rules)]
        for principals in people:
            for user in principals.users:
                found.setdefault(user.lower(), f"policy {policy.name}")
    for name, rotation in sorted(groups.rotations.items()):
        for login in (*rotation.members, *(o.login for o in rotation.overrides)):
            found.setdefault(login.lower(), f"rotation {name}")
    for login in codeowners:
        found.setdefault(login.lower(), "CODEOWNERS")
    return found


@dataclass(frozen=True)
class PinFinding:
    """One login whose pin is missing or no longer names the account holding the login."""

    login: str
    where: str
    kind: str  # unpinned / renamed (the pinned account has another login) / taken / deleted
    problem: str


def pin_findings(
    named: Mapping[str, str],
    groups: Groups,
    now_holding: Mapping[str, Account | None],
    pinned_now: Mapping[int, Account | None],
) -> list[PinFinding]:
    """What is wrong with each named login's pin. `now_holding`: the account holding each
    login now (None: nobody); `pinned_now`: each pinned account under its current login
    (None: deleted). Logins missing from both maps were not looked up (offline)."""
    findings = []
    for login, where in sorted(named.items()):
        pinned = groups.github_ids.get(login)
        if pinned is None:
            findings.append(PinFinding(login, where, "unpinned", "no GitHub account id pinned"))
            continue
        account = pinned_now.get(pinned)
        holder = now_holding.get(login)
        if pinned in pinned_now and account is None:
            kind, problem = "deleted", f"pinned account {pinned} no longer exists on GitHub"
        elif account is not None and account.login.lower() != login:
            kind, problem = (
                "renamed",
                (
                    f"pinned account {pinned} is now @{account.login}: @{login} was renamed, and "
                    f"whoever holds @{login} now is someone else; name @{account.login} instead"
                ),
            )
        elif holder is not None and holder.id != pinned:
            kind, problem = "taken", f"@{login} is now account {holder.id}, not the pinned {pinned}"
        else:
            continue
        findings.append(PinFinding(login, where, kind, problem))
    return findings


@dataclass(frozen=True)
class Pinned:
    """One pin added: the account, and when the login was first named in policies/ (an
    account created after that date is not the one first meant)."""

    account: Account
    first_named: datetime | None = None

    @property
    def suspicious(self) -> bool:
        created, named = self.account.created_at, self.first_named
        return created is not None and named is not None and created >= named


@dataclass(frozen=True)
class PinOutcome:
    added: dict[str, Pinned] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()  # pins of logins policies/ no longer names
    findings: tuple[PinFinding, ...] = ()  # what still needs a person
    written: bool = False

    @property
    def clean(self) -> bool:
        return not self.findings and (self.written or not (self.added or self.dropped))


def pins_block(ids: Mapping[str, int]) -> str:
    """groups.yaml's `github_ids:` block, one login a line, sorted."""
    lines = "".join(f"  {login}: {account}\n" for login, account in sorted(ids.items()))
    return f"github_ids:\n{lines}" if ids else "github_ids: {}\n"


def with_pins(text: str, block: str) -> str:
    """groups.yaml `text` with its top-level `github_ids:` entry replaced by `block` (or the
    block and its header appended); everything else kept byte for byte."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _TOP_KEY.match(line)), None)
    if start is None:
        tail = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{tail}{PINS_HEADER}{block}"
    end = start + 1
    while end < len(lines) and (lines[end][:1] in (" ", "\t") or not lines[end].strip()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # blank lines before the next key stay
    return "".join(lines[:start]) + block + "".join(lines[end:])


def check_pins(findings: Iterable[PinFinding], online: bool) -> Check:
    """Doctor's verdict on the pins: offline only missing ones can be seen; online (with a
    token) also pins whose login was renamed away, taken over or deleted."""
    check_id = "github.github-ids" if online else "repository.github-ids"
    problems = [f"@{f.login} ({f.where}): {f.problem}" for f in findings]
    if not problems:
        scope = "holds the account pinned for it" if online else "is pinned"
        return ok(check_id, f"every login named in policies/ {scope} (github_ids)")
    return fail(
        check_id,
        f"{len(problems)} login(s) named in policies/ count for nobody until fixed: a login is "
        "believed only as the GitHub account pinned for it",
        "`jitflow policy pin` pins the unpinned; a renamed or taken login: name the account's "
        "new login in policies/ (or `jitflow policy pin --repin LOGIN` once you know the "
        "holder is the person meant)",
        problems,
    )
