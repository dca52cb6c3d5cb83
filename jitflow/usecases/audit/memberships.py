"""`audit verify --vault` for identity-group grants: Vault's group members against the ledger.

A membership has no TTL in Vault, so a token check can't see one that outlived its grant.
For every group that an identity-group grant of the ledger ever named (a group jitflow
manages), each member must be held by an active grant, and each active grant's member
must be there:

- `group-member-without-grant`: Vault has the entity in the group, git has no active grant
  of it (the membership outlived its grant, or was added by hand);
- `grant-without-group-membership`: git says the grant is active, the entity is not there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from jitflow.core.audit_rows import as_mapping
from jitflow.core.verify_report import Violation


@runtime_checkable
class MembershipSource(Protocol):
    """What the check needs from Vault: the member entity ids of a group (None: no group)."""

    def group_members(self, group: str) -> Sequence[str] | None: ...


@dataclass
class Memberships:
    """Collected from the ledger while verify walks it."""

    held: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (group, entity) -> ids
    managed: set[str] = field(default_factory=set)  # every group a grant ever named

    def add(self, request_id: str, record: Mapping[str, Any] | None, active: bool) -> None:
        vault = as_mapping(as_mapping(as_mapping(record).get("grant")).get("vault"))
        group, entity = vault.get("group"), vault.get("entity_id")
        if not isinstance(group, str) or not group:
            return
        self.managed.add(group)
        if active and isinstance(entity, str) and entity:
            self.held.setdefault((group, entity), []).append(request_id)


def check_memberships(source: MembershipSource, ledger: Memberships) -> list[Violation]:
    found: list[Violation] = []
    for group in sorted(ledger.managed):
        members = source.group_members(group)
        present = set(members or ())
        for entity in sorted(present):
            if (group, entity) not in ledger.held:
                found.append(
                    Violation(
                        "group-member-without-grant",
                        "",
                        "",
                        f"Vault has entity {entity} in group {group!r} that jitflow manages, "
                        "but git has no active grant of it: remove it "
                        f"(`bao write identity/group/name/{group} member_entity_ids=...`) "
                        "or find out who added it",
                    )
                )
        for (held_group, entity), ids in sorted(ledger.held.items()):
            if held_group == group and entity not in present:
                found += [
                    Violation(
                        "grant-without-group-membership",
                        request_id,
                        "",
                        f"git says the grant is active but entity {entity} is not in "
                        f"group {group!r} in Vault",
                    )
                    for request_id in ids
                ]
    return found
