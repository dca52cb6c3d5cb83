"""A reader's terminal: README blocks run one after another in bash, like pasted commands.

Each block runs in `bash --noprofile --norc` with `set -euo pipefail`. The working directory
and the exported variables a block leaves behind carry over to the next block of the same
scenario, as they would in the reader's shell (`cd access`, `export VAULT_ADDR=...`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

_STATE = "__README_TEST_STATE"
_SHELL_OWN = {_STATE, "PWD", "OLDPWD", "SHLVL", "_"}
BLOCK_TIMEOUT = 180


@dataclass(frozen=True)
class Ran:
    """What one block did. The session's environment (tokens) is deliberately not kept."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def base_environment(home: Path, scratch: Path, **extra: str) -> dict[str, str]:
    """A clean environment: no Vault or GitHub settings of the machine running the tests."""
    bin_dir = str(Path(sys.executable).parent)
    env = {
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "/usr/bin:/bin")]),
        "HOME": str(home),
        "TMPDIR": str(scratch),
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    if os.environ.get("PYTHONPATH"):  # a worktree's checkout, not the editable install's
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update(extra)
    return env


@dataclass
class ShellSession:
    cwd: Path
    env: dict[str, str] = field(repr=False)
    state_dir: Path

    def run(self, script: str, stdin: str = "") -> Ran:
        """Run `script` as a block; remember where it left the shell and what it exported."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        wrapped = (
            "set -euo pipefail\n"
            f'trap \'rc=$?; pwd > "${_STATE}/cwd"; env -0 > "${_STATE}/env"; exit $rc\' EXIT\n'
            + script
        )
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", wrapped],
            cwd=self.cwd,
            env={**self.env, _STATE: str(self.state_dir)},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
        )
        self._remember()
        return Ran(done.returncode, done.stdout, done.stderr)

    def _remember(self) -> None:
        cwd_file, env_file = self.state_dir / "cwd", self.state_dir / "env"
        if cwd_file.is_file():
            self.cwd = Path(cwd_file.read_text(encoding="utf-8").strip())
        if env_file.is_file():
            self.env = parse_env(env_file.read_bytes())
            env_file.unlink()  # it holds the session's tokens

    def variable(self, name: str) -> str:
        return self.env.get(name, "")


def parse_env(dump: bytes) -> dict[str, str]:
    """`env -0` output, without the variables bash sets for itself."""
    found: dict[str, str] = {}
    for item in dump.decode("utf-8", errors="surrogateescape").split("\0"):
        name, sep, value = item.partition("=")
        if sep and name not in _SHELL_OWN:
            found[name] = value
    return found


def substitute(text: str, values: Mapping[str, str]) -> str:
    for example, actual in values.items():
        text = text.replace(example, actual)
    return text
