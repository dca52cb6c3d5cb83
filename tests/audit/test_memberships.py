"""`audit verify --vault` for identity-group grants: members against active grants."""

from __future__ import annotations

from collections.abc import Sequence

from jitflow.usecases.audit.memberships import Memberships, MembershipSource, check_memberships


class FakeGroups:
    """Stands in for the Vault adapter's `group_members` (the Protocol only)."""

    def __init__(self, **groups: list[str]) -> None:
        self.groups = groups

    def group_members(self, group: str) -> Sequence[str] | None:
        return self.groups.get(group.replace("-", "_"))


def _record(group: str, entity: str) -> dict[str, object]:
    return {"grant": {"kind": "identity-group", "vault": {"group": group, "entity_id": entity}}}


def test_members_must_equal_active_grants() -> None:
    ledger = Memberships()
    ledger.add("alice-1", _record("jitflow-oncall", "ent-alice"), active=True)
    ledger.add("carol-1", _record("jitflow-oncall", "ent-carol"), active=False)  # ended
    ledger.add("db-1", {"grant": {"kind": "database", "vault": {"accessor": "x"}}}, active=True)
    assert isinstance(FakeGroups(), MembershipSource)

    assert check_memberships(FakeGroups(jitflow_oncall=["ent-alice"]), ledger) == []

    outlived = check_memberships(FakeGroups(jitflow_oncall=["ent-alice", "ent-carol"]), ledger)
    assert [(v.code, v.request_id) for v in outlived] == [("group-member-without-grant", "")]
    assert "ent-carol" in outlived[0].message and "jitflow-oncall" in outlived[0].message

    missing = check_memberships(FakeGroups(jitflow_oncall=[]), ledger)
    assert [(v.code, v.request_id) for v in missing] == [
        ("grant-without-group-membership", "alice-1")
    ]


def test_two_active_grants_may_hold_one_membership() -> None:
    ledger = Memberships()
    ledger.add("alice-1", _record("jitflow-oncall", "ent-alice"), active=True)
    ledger.add("alice-2", _record("jitflow-oncall", "ent-alice"), active=True)
    assert check_memberships(FakeGroups(jitflow_oncall=["ent-alice"]), ledger) == []
    gone = check_memberships(FakeGroups(), ledger)  # the group itself was deleted
    assert sorted(v.request_id for v in gone) == ["alice-1", "alice-2"]
