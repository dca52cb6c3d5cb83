"""Printing HTML to PDF with a headless Chromium, when one is installed (the only way jitflow
makes a PDF: the browser's layout engine honours the report's print stylesheet)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from jitflow.errors import JitflowError, UsageError

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# How Chromium is run: headless and quiet (no network of its own, no updates, no sync, no
# first-run pages); the caller adds its profile directory and what to do.
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def find_chromium() -> str | None:
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_to_pdf(html: Path, pdf: Path, *, timeout: float = 900) -> None:
    """Print `html` to `pdf` (A4 landscape per the document's stylesheet, no header/footer)."""
    binary = find_chromium()
    if binary is None:
        raise UsageError(
            "writing a PDF needs Chromium (apt-get install chromium); "
            "or write HTML (--output FILE.html) and print it from a browser"
        )
    with tempfile.TemporaryDirectory(prefix="jitflow-chromium-") as profile:
        command = [
            binary,
            *HEADLESS_FLAGS,
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            html.resolve().as_uri(),
        ]
        try:
            result = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise JitflowError(f"Chromium did not finish printing {pdf} in {timeout:.0f}s") from exc
    if result.returncode != 0 or not pdf.exists():
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise JitflowError(f"Chromium could not print {pdf}: {detail[0]}")
