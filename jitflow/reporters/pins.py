"""`jitflow policy pin`'s report: pins added, dropped, and what still needs a person."""

from __future__ import annotations

from jitflow.core.loading import GROUPS_PATH
from jitflow.core.model import Account
from jitflow.core.pins import PinOutcome


def render_pins(outcome: PinOutcome, check: bool) -> str:
    lines = []
    verb = "would pin" if check else "pinned"
    for login, pinned in sorted(outcome.added.items()):
        lines.append(f"{verb} @{login} -> account {pinned.account.id} ({_about(pinned.account)})")
        if pinned.suspicious and pinned.first_named is not None:
            lines.append(
                f"  warning: this account was created after @{login} was first named in "
                f"policies/ ({pinned.first_named:%Y-%m-%d}): the login may have changed hands "
                "since; make sure it is the person meant before merging"
            )
    for login in outcome.dropped:
        lines.append(f"{'would drop' if check else 'dropped'} the pin of @{login} (named nowhere)")
    for finding in outcome.findings:
        lines.append(f"{GROUPS_PATH}: @{finding.login} ({finding.where}): {finding.problem}")
    if outcome.findings:
        lines.append(
            "fix each line above in policies/ (or, once you know the account holding the login "
            "now is the person meant, `jitflow policy pin --repin LOGIN`)"
        )
    if outcome.written:
        lines.append(f"wrote {GROUPS_PATH}: review the ids in the diff and commit it")
    elif not lines:
        lines.append("every login named in policies/ is pinned to the account holding it")
    return "\n".join(lines) + "\n"


def _about(account: Account) -> str:
    created = f"created {account.created_at:%Y-%m-%d}" if account.created_at else "creation unknown"
    return f"@{account.login}, {created}"
