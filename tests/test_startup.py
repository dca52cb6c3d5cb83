"""CLI start-up stays light: no Vault, GitHub or YAML library is imported unless used."""

from __future__ import annotations

import subprocess
import sys


def test_help_imports_no_heavy_library() -> None:
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from jitflow.cli import cli\n"
        "result = CliRunner().invoke(cli, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(','.join(m for m in ('github', 'hvac', 'yaml', 'jsonschema', 'pyrage', 'requests') if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_every_command_has_help() -> None:
    from click.testing import CliRunner

    from jitflow.cli import cli

    for name, command in cli.commands.items():
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert command.help, f"{name} has no help text"
