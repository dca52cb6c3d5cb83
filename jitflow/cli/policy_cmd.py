"""`jitflow policy`: the group of tooling for policy authors (policy_test_cmd, policy_impact_cmd)."""

from __future__ import annotations

from jitflow.cli.group import EXIT_CODES_HELP, cli
from jitflow.cli.options import repo_option

REPO_OPTION = repo_option()


@cli.group(epilog=EXIT_CODES_HELP)
def policy() -> None:
    """Test policies and preview the effect of a policy change."""
