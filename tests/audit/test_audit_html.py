"""The HTML report, rendered by a real headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from jitflow.adapters.chromium import HEADLESS_FLAGS
from jitflow.usecases.audit.report import AuditOptions, ReportFormat, run_audit
from tests.audit.conftest import StandardHistory

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)"
)


@pytest.fixture(scope="module")
def report(standard: StandardHistory) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "audit-report.html"
    run_audit(
        AuditOptions(repo=standard.path, now=standard.now, format=ReportFormat.HTML, output=target)
    )
    return target


def chromium(tmp_path: Path, *args: str, timeout: int = 90) -> str:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        *HEADLESS_FLAGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, timeout=timeout, check=True)
    return result.stdout.decode()


def test_report_is_self_contained(report: Path) -> None:
    html = report.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html
    assert "<style>" in html and "<script>" in html


def test_report_escapes_history_values(standard: StandardHistory, tmp_path: Path) -> None:
    from datetime import timedelta

    from tests.audit.history_builder import T0, HistoryBuilder

    builder = HistoryBuilder(tmp_path / "ledger")
    builder.lifecycle("alice", "bob", T0, reason="<script>alert(1)</script>")
    target = tmp_path / "r.html"
    run_audit(
        AuditOptions(
            repo=builder.root, now=T0 + timedelta(hours=1), format=ReportFormat.HTML, output=target
        )
    )
    html = target.read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@needs_chromium
def test_rendered_timeline_has_one_bar_per_grant(
    report: Path, standard: StandardHistory, tmp_path: Path
) -> None:
    dom = chromium(tmp_path, "--dump-dom", report.as_uri())
    bars = re.findall(r'<rect class="bar"[^>]*data-outcome="(\w+)"', dom)
    issued = [k for k in standard.handles if k not in ("denied", "waiting")]
    assert len(bars) == len(issued)
    assert sorted(bars) == sorted(["expired", "revoked", "expired", "expired", "active"])
    assert "database/orders-write" in dom and "policies billing-read" in dom
    assert "7 request(s) shown" in dom  # the script ran
    assert dom.count("<title>") >= len(issued) + 1


@needs_chromium
def test_filters_hide_rows_and_bars(report: Path, tmp_path: Path) -> None:
    dom = chromium(tmp_path, "--dump-dom", report.as_uri() + "#requester=carol&outcome=expired")
    assert "1 request(s) shown" in dom
    visible_bars = re.findall(r'<rect class="bar"(?![^>]*class="[^"]*hidden)[^>]*>', dom)
    hidden = [b for b in re.findall(r"<rect [^>]*>", dom) if "hidden" in b]
    assert len(hidden) == 4 and len(visible_bars) == 1
    blocks = re.findall(r'<div class="pr[^"]*"[^>]*>', dom)  # what the print shows
    shown = [b for b in blocks if "hidden" not in b]
    assert len(blocks) == 7 and len(shown) == 1 and 'data-requester="carol"' in shown[0]


@needs_chromium
def test_screenshot_is_saved_as_an_artefact(report: Path, tmp_path: Path) -> None:
    png = ARTIFACTS / "audit-report.png"
    png.unlink(missing_ok=True)
    chromium(tmp_path, "--window-size=1400,1100", f"--screenshot={png}", report.as_uri())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
