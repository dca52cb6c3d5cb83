"""Shared fixtures: the GitHub stand-in and the OpenBao / PostgreSQL servers.

The order of test files: `pytest -n 2` hands out whole files (`--dist loadfile` in
pyproject.toml, so module fixtures start once) in collection order; the longest files go first
so that the last files handed out are short ones and both workers finish together, instead of
one worker starting a two-minute file while the other has nothing left.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.conftest_github", "tests.conftest_servers"]

# Worker-seconds per file (setup + call + teardown), measured 2026-12-01 18:31-18:52 on 2
# loaded cores (load average 14-24); any file not named runs after these, in pytest's order.
# Re-measure when it drifts (e.g. `--durations=0`, summed per file).
LONGEST_FIRST = (
    "tests/sync/test_kind_faults.py",  # 257
    "tests/audit/test_audit_evidence_pack.py",  # 170
    "tests/readme/test_readme_commands.py",  # 152
    "tests/adoption/test_adoption_story.py",  # 128
    "tests/sync/test_openbao_restart.py",  # 116
    "tests/sync/test_extension.py",  # 98
    "tests/sync/test_faults.py",  # 95
    "tests/workflows/test_harness.py",  # 77
    "tests/sync/test_git_faults.py",  # 74
    "tests/core/test_yaml_differential.py",  # 67
    "tests/sync/test_attack_sweep.py",  # 57
    "tests/doctor/test_doctor_live.py",  # 57
    "tests/sync/test_vault_faults.py",  # 56
    "tests/sync/test_merge_timing.py",  # 55
    "tests/sync/test_vault_midsync.py",  # 51
    "tests/sync/test_extension_in_place.py",  # 46
    "tests/sync/test_ledger_signed.py",  # 42
    "tests/sync/test_post_review.py",  # 41
    "tests/sync/test_merge_paths.py",  # 40
    "tests/sync/test_extension_kinds.py",  # 38
    "tests/sync/test_lifecycle.py",  # 37
    "tests/sync/test_extension_delivery_failure.py",  # 34
    "tests/audit/test_audit_pipeline.py",  # 33
    "tests/sync/test_kinds_through_sync.py",  # 29
    "tests/workflows/test_workflow_policy.py",  # 25
    "tests/sync/test_live_sessions.py",  # 24
    "tests/sync/test_outbound.py",  # 24
    "tests/test_layers.py",  # 20
    "tests/sync/test_secret_grant.py",  # 18
    "tests/gate/test_gate_e2e.py",  # 18
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of LONGEST_FIRST first, in that order; the tests inside a file and the
    other files keep pytest's order (a stable sort)."""
    rank = {path: index for index, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
