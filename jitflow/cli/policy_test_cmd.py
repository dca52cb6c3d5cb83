"""`jitflow policy test`: run the policy unit tests."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from jitflow.cli.group import EXIT_CODES_HELP
from jitflow.cli.options import format_option
from jitflow.cli.policy_cmd import REPO_OPTION, policy
from jitflow.cli.style import paint
from jitflow.errors import ExitCode


@policy.command("test", epilog=EXIT_CODES_HELP)
@format_option("text", "json", help="json: {passed, results} with each case's differences.")
@REPO_OPTION
def policy_test(output_format: str, repo: Path) -> None:
    """Run the policy unit tests under policies/tests/ (policies from the work tree)."""
    from jitflow.reporters.policy_cases import render_policy_tests, render_policy_tests_json
    from jitflow.usecases.policy_cases import PolicyTestOptions, run_policy_tests

    report = run_policy_tests(PolicyTestOptions(repo))
    if output_format == "json":
        click.echo(render_policy_tests_json(report))
    else:
        click.echo(paint(render_policy_tests(report), sys.stdout), nl=False)
    raise SystemExit(int(ExitCode.OK if report.passed else ExitCode.DENIED))
