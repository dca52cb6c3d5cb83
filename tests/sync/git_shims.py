"""A fake `git` placed first on PATH: it runs the real git, except for the one command it
is told to break, which fails the way git or GitHub say it (message on stderr, exit code).

The real failures can't be staged on demand (a push that loses a race by microseconds, a
disk that fills during `git fast-import`), so the shim plays them from the outside of the
process, like the real thing: jitflow only sees git's exit code and what git printed.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

_SCRIPT = """#!/bin/sh
# jitflow test shim: fails `{command}` {times} time(s), then behaves like git.
count_file={count}
if [ "$1" = {command} ]; then
  seen=$(cat "$count_file" 2>/dev/null || echo 0)
  if [ "$seen" -lt {times} ]; then
    echo $((seen + 1)) > "$count_file"
    cat > /dev/null
{before}
    printf '%s' {message} >&2
    exit {code}
  fi
fi
exec {real} "$@"
"""


def install_git_shim(
    directory: Path,
    command: str,
    message: str,
    *,
    code: int = 1,
    times: int = 1,
    move_main_of: Path | None = None,
) -> str:
    """Write the shim into `directory`; return a PATH value that puts it first.

    With `move_main_of` (a bare repository), the shim first pushes an unrelated commit onto
    that repository's main, so the failure is a real lost race, not only a message.
    """
    real = shutil.which("git")
    assert real is not None, "git is not installed"
    directory.mkdir(parents=True, exist_ok=True)
    before = ""
    if move_main_of is not None:
        bare = shlex.quote(str(move_main_of))
        before = (
            f"    tree=$({real} --git-dir={bare} rev-parse 'main^{{tree}}')\n"
            f"    next=$(GIT_AUTHOR_NAME=carol GIT_AUTHOR_EMAIL=carol@example.com "
            f"GIT_COMMITTER_NAME=carol GIT_COMMITTER_EMAIL=carol@example.com "
            f"{real} --git-dir={bare} commit-tree \"$tree\" -p main -m 'someone else pushed')\n"
            f'    {real} --git-dir={bare} update-ref refs/heads/main "$next"\n'
        )
    script = directory / "git"
    script.write_text(
        _SCRIPT.format(
            command=shlex.quote(command),
            times=times,
            count=shlex.quote(str(directory / f"{command}.count")),
            before=before,
            message=shlex.quote(message),
            code=code,
            real=shlex.quote(real),
        )
    )
    script.chmod(0o755)
    return f"{directory}{os.pathsep}{os.environ.get('PATH', '')}"


def shim_calls(directory: Path, command: str) -> int:
    """How many times the shim failed `command`."""
    counted = directory / f"{command}.count"
    return int(counted.read_text()) if counted.exists() else 0


_KILLER = """#!/bin/sh
# jitflow test shim: SIGKILLs the sync running `{command}` ({when} git does it), once.
if [ "$1" = {command} ] && [ ! -e {fired} ]; then
  : > {fired}
  sync_pid=$PPID
{work}
fi
exec {real} "$@"
"""


def install_git_killer(directory: Path, command: str, *, after: bool) -> str:
    """A shim that SIGKILLs its parent (the sync) the first time it runs `git <command>`:
    before git does anything, or right after git did it (a push that landed, objects that
    fast-import wrote). Returns a PATH value that puts it first."""
    real = shutil.which("git")
    assert real is not None, "git is not installed"
    directory.mkdir(parents=True, exist_ok=True)
    if after:
        work = f'  {shlex.quote(real)} "$@"; done=$?\n  kill -9 "$sync_pid"\n  exit "$done"'
    else:
        work = '  kill -9 "$sync_pid"\n  cat > /dev/null\n  exit 1'
    script = directory / "git"
    script.write_text(
        _KILLER.format(
            command=shlex.quote(command),
            when="after" if after else "before",
            fired=shlex.quote(str(directory / f"{command}.fired")),
            work=work,
            real=shlex.quote(real),
        )
    )
    script.chmod(0o755)
    return f"{directory}{os.pathsep}{os.environ.get('PATH', '')}"


def killer_fired(directory: Path, command: str) -> bool:
    return (directory / f"{command}.fired").exists()
