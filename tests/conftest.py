"""Shared fixtures: the GitHub stand-in and the OpenBao / PostgreSQL servers.

The order of test files: `pytest -n 2` hands out whole files (`--dist loadfile` in
pyproject.toml, so module fixtures start once) in collection order; the longest files go first
so that the last files handed out are short ones and both workers finish together, instead of
one worker starting a two-minute file while the other has nothing left.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.conftest_github", "tests.conftest_servers"]

# Worker-seconds per file, measured 2026-12-01 on 2 loaded cores (load ~12); any file not
# named runs after these, in pytest's order. Re-measure with `--durations` when it drifts.
LONGEST_FIRST = (
    "tests/adoption/test_adoption_story.py",  # 136
    "tests/sync/test_openbao_restart.py",  # 82
    "tests/sync/test_kind_faults.py",  # 78
    "tests/audit/test_audit_evidence_pack.py",  # 68
    "tests/doctor/test_doctor_live.py",  # 56
    "tests/readme/test_readme_commands.py",  # 52
    "tests/core/test_yaml_differential.py",  # 47
    "tests/demo/test_demo.py",  # 43
    "tests/sync/test_faults.py",  # 42
    "tests/sync/test_git_faults.py",  # 41
    "tests/sync/test_vault_faults.py",  # 39
    "tests/sync/test_extension.py",  # 39
    "tests/workflows/test_harness.py",  # 38
    "tests/sync/test_vault_midsync.py",  # 38
    "tests/audit/test_audit_pipeline.py",  # 35
    "tests/sync/test_ledger_signed.py",  # 35
    "tests/sync/test_extension_kinds.py",  # 35
    "tests/sync/test_merge_timing.py",  # 34
    "tests/sync/test_secret_grant.py",  # 34
    "tests/sync/test_extension_in_place.py",  # 33
    "tests/sync/test_attack_sweep.py",  # 31
    "tests/sync/test_lifecycle.py",  # 27
    "tests/sync/test_merge_paths.py",  # 27
    "tests/sync/test_kinds_through_sync.py",  # 25
    "tests/sync/test_post_review.py",  # 22
    "tests/sync/test_extension_delivery_failure.py",  # 22
    "tests/sync/test_live_sessions.py",  # 22
    "tests/gate/test_gate_e2e.py",  # 21
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of LONGEST_FIRST first, in that order; the tests inside a file and the
    other files keep pytest's order (a stable sort)."""
    rank = {path: index for index, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
