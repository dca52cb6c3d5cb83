"""Which PR heads have a push record in this repository's activity (forks don't)."""

from __future__ import annotations

import pytest

from jitflow.adapters.github.mapping import head_in_repository


@pytest.mark.parametrize(
    ("head_repo", "inside"),
    [
        ({"full_name": "acme/access"}, True),
        ({"full_name": "ACME/Access"}, True),
        ({"full_name": "bob/access"}, False),  # a fork: its pushes are not in our activity
        (None, False),  # the fork was deleted
    ],
)
def test_only_same_repository_heads_have_a_push_record(
    head_repo: dict[str, str] | None, inside: bool
) -> None:
    assert head_in_repository({"head": {"ref": "req", "repo": head_repo}}, "acme/access") is inside
