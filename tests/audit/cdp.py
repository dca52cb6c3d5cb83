"""Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
JSON messages ended by NUL on file descriptors 3 and 4, no websocket, no extra package).

One page load serves both the screenshot and the PDF print (the command line's `--screenshot`
and `--print-to-pdf` would each load and lay out the page again), and the PDF comes back as a
stream, not one huge message.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jitflow.adapters.chromium import HEADLESS_FLAGS


class Chromium:
    def __init__(self, process: subprocess.Popen[bytes], to_browser: int, from_browser: int):
        self.process = process
        self.to_browser = os.fdopen(to_browser, "wb")
        self.from_browser = os.fdopen(from_browser, "rb")
        self.buffer = b""
        self.next_id = 0
        self.session = ""
        self.target = ""

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        self.to_browser.write(json.dumps(message).encode() + b"\0")
        self.to_browser.flush()
        while True:
            answer = self._read()
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise CdpError(method, answer["error"].get("message", ""))
                result: dict[str, Any] = answer.get("result", {})
                return result

    def wait_for(self, event: str) -> dict[str, Any]:
        while True:
            message = self._read()
            if message.get("method") == event:
                params: dict[str, Any] = message.get("params", {})
                return params

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            chunk = os.read(self.from_browser.fileno(), 1 << 20)
            if not chunk:
                raise CdpError("read", "Chromium closed the pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def open(self, url: str, width: int, height: int, *, media: str = "") -> None:
        """Load `url` in a new tab. `media="print"` lays the page out for print from the start
        (the print stylesheet only): a page opened just to print it never pays for its screen
        layout (a 10,000-request table), nor keeps that layout's garbage while printing."""
        self.target = self.call("Target.createTarget", url="about:blank")["targetId"]
        attached = self.call("Target.attachToTarget", targetId=self.target, flatten=True)
        self.session = attached["sessionId"]
        self.call("Page.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        if media:
            self.call("Emulation.setEmulatedMedia", media=media)
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def close_tab(self) -> None:
        """Close the tab `open` made (its renderer's memory goes with it)."""
        self.session = ""
        self.call("Target.closeTarget", targetId=self.target)

    def screenshot(self, target: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        target.write_bytes(base64.b64decode(data))

    def print_pdf(self, target: Path, *, tagged: bool = True) -> None:
        """Print the page as its print stylesheet says (A4 landscape, backgrounds) to `target`.
        `tagged=False` leaves out the PDF's accessibility structure tree (Chromium's default
        is a tagged PDF: at 10,000 requests it costs 2.3x the CPU and 2.6x the size, and the
        old table markup's tree never finished). The pages look the same either way."""
        stream = self.call(
            "Page.printToPDF",
            preferCSSPageSize=True,
            printBackground=True,
            generateTaggedPDF=tagged,
            transferMode="ReturnAsStream",
        )["stream"]
        with target.open("wb") as out:
            while True:
                chunk = self.call("IO.read", handle=stream, size=1 << 22)
                data = chunk.get("data", "")
                out.write(base64.b64decode(data) if chunk.get("base64Encoded") else data.encode())
                if chunk.get("eof"):
                    break
        self.call("IO.close", handle=stream)


class CdpError(Exception):
    def __init__(self, method: str, message: str) -> None:
        super().__init__(f"{method}: {message}")
        self.message = message


@contextmanager
def chromium(binary: str) -> Iterator[Chromium]:
    """A headless Chromium with its DevTools on a pipe; closed on exit."""
    commands_r, commands_w = os.pipe()  # we write, the browser reads fd 3
    answers_r, answers_w = os.pipe()  # the browser writes fd 4, we read

    def fds() -> None:  # in the child: the two pipe ends become fds 3 and 4
        reading, writing = os.dup(commands_r), os.dup(answers_w)
        os.dup2(reading, 3)
        os.dup2(writing, 4)

    with tempfile.TemporaryDirectory(prefix="jitflow-cdp-") as profile:
        process = subprocess.Popen(
            [
                binary,
                *HEADLESS_FLAGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=fds,  # runs before close_fds keeps only 3 and 4
            pass_fds=(3, 4),
        )
        os.close(commands_r)
        os.close(answers_w)
        browser = Chromium(process, commands_w, answers_r)
        try:
            yield browser
        finally:
            with contextlib.suppress(CdpError, OSError):
                browser.call("Browser.close")
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            browser.to_browser.close()
            browser.from_browser.close()
