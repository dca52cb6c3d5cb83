"""One line per demo step, with its timing, and a spinner while the demo waits.

The demo is read by a person watching it run, so each step says what happened in one line;
a TTY gets a spinner during long waits, anything else (CI logs, tests) gets plain lines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class StepFailed(Exception):
    """Raised by a step's body to end it with a readable failure line."""


class Step:
    """What a running step will print: its result text, set by the step's body."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.text = label
        self.notes: list[str] = []

    def done(self, text: str) -> None:
        self.text = text

    def note(self, text: str) -> None:
        self.notes.append(text)


class Narrator:
    """Prints the story: `  ✓ bob approves: jitflow/approval = success (0.4s)`."""

    def __init__(self, out: TextIO, *, spinner: bool | None = None) -> None:
        self._out = out
        self._spinner = out.isatty() if spinner is None else spinner
        self._ok, self._fail, self._wait = _marks(out)
        self._spinner = self._spinner and self._wait != "..."
        self.failed_step: str | None = None

    def say(self, text: str = "") -> None:
        self._out.write(text + "\n")
        self._out.flush()

    @contextmanager
    def step(self, label: str, *, wait: bool = False) -> Iterator[Step]:
        """Time the body; print one line when it ends (a spinner meanwhile if `wait`)."""
        step = Step(label)
        started = time.monotonic()
        stop = threading.Event()
        spinner = self._spin(label, stop) if wait else None
        if wait and spinner is None:
            self.say(f"  {self._wait} {label}")
        try:
            yield step
        except BaseException as exc:
            self._finish(spinner, stop)
            self.failed_step = label
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            self.say(f"  {self._fail} {label}: {reason} ({time.monotonic() - started:.1f}s)")
            raise
        self._finish(spinner, stop)
        self.say(f"  {self._ok} {step.text} ({time.monotonic() - started:.1f}s)")
        for note in step.notes:
            self.say(f"    note: {note}")

    def _spin(self, label: str, stop: threading.Event) -> threading.Thread | None:
        if not self._spinner:
            return None

        def spin() -> None:
            frame = 0
            while not stop.wait(0.1):
                self._out.write(f"\r  {_SPINNER[frame % len(_SPINNER)]} {label}…")
                self._out.flush()
                frame += 1

        thread = threading.Thread(target=spin, name="demo-spinner", daemon=True)
        thread.start()
        return thread

    def _finish(self, spinner: threading.Thread | None, stop: threading.Event) -> None:
        if spinner is None:
            return
        stop.set()
        spinner.join(timeout=1)
        self._out.write("\r\033[K")
        self._out.flush()


def _marks(out: TextIO) -> tuple[str, str, str]:
    """✓/✗/… where the terminal can show them, plain words where it cannot."""
    encoding = getattr(out, "encoding", None) or "ascii"
    try:
        "✓✗…⠋".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "ok", "FAILED", "..."
    return "✓", "✗", "…"
