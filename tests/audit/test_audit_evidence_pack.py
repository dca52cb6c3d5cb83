"""The HTML report as an evidence pack: scope, verify verdict, links, approvals and durations,
and how it looks in headless Chromium and printed to PDF at 2, 1,000 and 10,000 grants.

Screenshots and PDFs land in tests/artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jitflow import __version__
from jitflow.core.links import links_from_remote
from jitflow.reporters.audit_html import ReportContext, VerifyResult, render_html
from jitflow.reporters.audit_timeline import step_for
from jitflow.usecases.audit.report import AuditOptions, ReportFormat, run_audit
from tests.audit import cdp
from tests.audit.conftest import StandardHistory
from tests.audit.history_builder import RUNNER_EMAIL, RUNNER_NAME, T0, Handle, HistoryBuilder
from tests.audit.synthetic import SyntheticFlag, synthetic_rows
from tests.audit.test_audit_html import ARTIFACTS, CHROMIUM, chromium, needs_chromium

REMOTE = "git@ghe.example.com:acme/access.git"
GHE = "https://ghe.example.com/acme/access"
FORGED = "mallory-forever"


def forge_grant(builder: HistoryBuilder, at: datetime) -> str:
    """A grant nobody approved that lasts until 2099, committed under the runner's name."""
    record = (
        "policy: orders-db-write\nrequester: mallory\nduration: 30m\n"
        'reason: "Routine maintenance of the orders table"\n'
        "grant:\n  kind: database\n  mount: database\n  role: orders-write\n"
        f"  issued_at: '{at:%Y-%m-%dT%H:%M:%SZ}'\n  expires_at: '2099-01-01T00:00:00Z'\n"
        "  approved_by: []\n  merged_by: mallory\n"
        "  vault:\n    accessor: acc-forged\n"
    )
    builder.write(f"requests/active/{FORGED}.yaml", record)
    return builder.commit(
        RUNNER_NAME,
        f"jitflow: issue {FORGED}\n\nJitflow-Event: issue\nJitflow-Request: {FORGED}",
        at,
        email=RUNNER_EMAIL,
    )


@pytest.fixture(scope="module")
def forged(tmp_path_factory: pytest.TempPathFactory) -> tuple[HistoryBuilder, Handle, Path]:
    builder = HistoryBuilder(tmp_path_factory.mktemp("forged") / "ledger")
    handle = builder.lifecycle("alice", "bob", T0)
    forge_grant(builder, T0 + timedelta(hours=2))
    builder.git.run("remote", "add", "origin", REMOTE)
    target = tmp_path_factory.mktemp("forged-report") / "evidence-2.html"  # one per worker
    run_audit(
        AuditOptions(
            repo=builder.root,
            now=T0 + timedelta(days=1),
            format=ReportFormat.HTML,
            output=target,
        )
    )
    return builder, handle, target


def row_html(html: str, request_id: str) -> str:
    found = re.search(rf'<tr id="req-{re.escape(request_id)}"[^>]*>.*?</tr>', html, re.S)
    assert found, request_id
    return found.group(0)


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_forged_grant_is_red_at_the_top_and_in_its_row(
    forged: tuple[HistoryBuilder, Handle, Path],
) -> None:
    html = forged[2].read_text()
    verdict = html[html.index('<div class="verdict') : html.index('class="cards"')]
    assert "verdict bad" in verdict and "audit verify FAILED" in verdict
    assert f'href="#req-{FORGED}"' in verdict and "grant-without-merged-request" in verdict
    assert html.index('id="verdict"') < html.index('id="timeline-section"')
    row = row_html(html, FORGED)
    assert 'class="flagged"' in row and "FLAGGED" in row and 'data-flagged="yes"' in row
    assert "grant-without-merged-request" in row
    legit = row_html(html, forged[1].id)
    assert 'class="flagged"' not in legit and 'data-flagged="no"' in legit


def test_the_header_names_repository_period_filters_commit_and_version(
    forged: tuple[HistoryBuilder, Handle, Path], tmp_path: Path
) -> None:
    builder = forged[0]
    target = tmp_path / "r.html"
    run_audit(
        AuditOptions(
            repo=builder.root,
            since=T0,
            until=T0 + timedelta(days=1),
            requester="alice",
            now=T0 + timedelta(days=2),
            format=ReportFormat.HTML,
            output=target,
        )
    )
    header = target.read_text().split("</header>")[0]
    head = builder.head()
    assert f'<a href="{GHE}">{GHE}</a>' in header
    assert "2026-11-02T09:00:00Z to 2026-11-03T09:00:00Z" in header
    assert "requester = alice" in header
    assert f'href="{GHE}/commit/{head}"' in header and head in header
    assert f"<dd>{__version__}</dd>" in header


def test_every_row_links_to_its_pr_and_commits_on_github_enterprise(
    forged: tuple[HistoryBuilder, Handle, Path],
) -> None:
    _, handle, target = forged
    row = row_html(target.read_text(), handle.id)
    assert f'href="{GHE}/pull/{handle.pr}"' in row
    for sha in (handle.requested_commit, handle.merge_commit, handle.issue_commit):
        assert f'href="{GHE}/commit/{sha}"' in row
    assert f'href="{GHE}/commit/{handle.end_commit}"' in row
    assert f'href="{GHE}/commit/{handle.policy_commit}"' in row


def test_rows_show_approval_times_merger_durations_and_end_against_expiry(
    standard: StandardHistory, tmp_path: Path
) -> None:
    target = tmp_path / "r.html"
    run_audit(
        AuditOptions(repo=standard.path, now=standard.now, format=ReportFormat.HTML, output=target)
    )
    html = target.read_text()
    expired = text_of(row_html(html, standard.handles["expired"].id))
    assert "bob 2026-11-02 09:03" in expired  # approval time (recorded in grant.approved_at)
    assert "merged by bob 2026-11-02 09:05" in expired
    assert "requested 30m &middot; granted 30m" in expired
    assert "ended 2026-11-02 09:35 (+20s)" in expired
    revoked = text_of(row_html(html, standard.handles["revoked"].id))
    assert "(22m early)" in revoked and "by erin" in revoked
    assert "not issued" in row_html(html, standard.handles["denied"].id)


def test_a_record_claiming_2099_does_not_stretch_the_timeline(
    forged: tuple[HistoryBuilder, Handle, Path],
) -> None:
    html = forged[2].read_text()
    ticks = re.findall(
        r'<text class="tick" x="[^"]+" y="[^"]+" text-anchor="middle">([^<]+)<', html
    )
    assert 2 <= len(ticks) <= 10 and all("2026" in t for t in ticks), ticks
    assert "expires 2099-01-01 00:00" in row_html(html, FORGED)


def test_axis_steps_keep_labels_few_and_with_years_over_any_span() -> None:
    for span in (timedelta(minutes=5), timedelta(days=40), timedelta(days=800)):
        assert span / step_for(span, 8).approx <= 8
    decades = step_for(timedelta(days=365 * 73), 8)
    assert decades.name == "10 years" and decades.label == "%Y"


def test_a_grant_ended_late_is_called_out() -> None:
    row = synthetic_rows(1)[0]
    assert row.expires_at is not None
    late = row._replace(ended_at=row.expires_at + timedelta(hours=3))
    html = render_html([late], ReportContext(datetime(2027, 1, 1, tzinfo=UTC), "f" * 40, "r"))
    assert '<span class="late">3h after expiry</span>' in html


# -- Chromium: the page and its print at three sizes ------------------------------------------


def synthetic_report(count: int) -> tuple[Path, str]:
    """A report of `count` grants over two years with one flagged grant."""
    rows = synthetic_rows(count)
    flagged = rows[len(rows) // 3]
    context = ReportContext(
        generated_at=datetime(2026, 12, 1, tzinfo=UTC),
        head="c0ffee" * 6 + "c0ff",
        repository="acme/access",
        links=links_from_remote(REMOTE),
        verify=VerifyResult(
            count,
            (
                SyntheticFlag(
                    "approvals-insufficient",
                    flagged.id,
                    flagged.evidence.issue_commit,
                    "rule 1 needs 1 approval from group sre-leads; the record has 0",
                ),
            ),
        ),
    )
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / f"evidence-{count}.html"
    target.write_text(render_html(rows, context), encoding="utf-8")
    return target, flagged.id


def print_and_look(html: Path, flagged: str = "") -> list[str]:
    """Load the page once in headless Chromium as a person would, screenshot it, print it to
    PDF (A4 landscape from the print stylesheet); see look_at_pdf."""
    assert CHROMIUM is not None
    stem = html.with_suffix("")
    with cdp.chromium(CHROMIUM) as browser:
        browser.open(html.as_uri(), 1400, 1600)
        browser.screenshot(Path(f"{stem}.png"))
        browser.print_pdf(Path(f"{stem}.pdf"))
    return look_at_pdf(stem, flagged)


def look_at_pdf(stem: Path, flagged: str) -> list[str]:
    """Render the PDF's first two pages and the page holding the flagged row to PNG for a
    human; return the text of each page."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(Path(f"{stem}.pdf"))
    try:
        width, height = pdf[0].get_size()
        assert width > height, "the print stylesheet asks for landscape pages"
        texts = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
        pages = {"page1": 0, "page2": min(1, len(pdf) - 1)}
        if flagged:  # the flagged row's page (its id may wrap inside its cell)
            holding = [i for i, t in enumerate(texts) if flagged in "".join(t.split())]
            pages["flagged"] = holding[-1]  # its row (the verdict names it on page 1 too)
        for name, index in pages.items():
            pdf[index].render(scale=1.4).to_pil().save(f"{stem}-pdf-{name}.png")
        return texts
    finally:
        pdf.close()


def red_pixels(png: Path) -> int:
    from PIL import Image

    with Image.open(png) as image:
        rgb = image.convert("RGB")
        pixels = rgb.tobytes()
    reds = 0
    for i in range(0, len(pixels), 3):  # the flag red #dc2626
        if pixels[i] > 180 and pixels[i + 1] < 80 and pixels[i + 2] < 80:
            reds += 1
    return reds


@needs_chromium
def test_two_grants_in_chromium_and_pdf(
    forged: tuple[HistoryBuilder, Handle, Path], tmp_path: Path
) -> None:
    builder, handle, made = forged
    ARTIFACTS.mkdir(exist_ok=True)
    html = ARTIFACTS / "evidence-2.html"  # this test alone writes evidence-2.*
    shutil.copyfile(made, html)
    dom = chromium(tmp_path, "--dump-dom", html.as_uri())
    assert "2 request(s) shown" in dom
    assert re.search(rf'<tr id="req-{FORGED}" class="flagged"', dom)
    texts = print_and_look(html, FORGED)
    flat = " ".join(" ".join(texts).split())
    dense = "".join(flat.split())
    assert "audit verify FAILED" in flat and FORGED in dense and handle.id in dense
    for fact in (GHE, "beginning of history to", "Filters none", builder.head()[:12]):
        assert fact in flat, fact  # the header: repository, period, filters, commit
    assert f"jitflow {__version__}" in flat
    assert "merged by bob" in flat and "requested 30m · granted 30m" in flat
    assert re.search(r"Approved: bob 2026-11-02 09:0\d", flat)  # approval time
    assert re.search(r"expires 2026-11-02 \d\d:\d\d · ended 2026-11-02", flat)
    assert "expires 2099-01-01 00:00" in flat and "FLAGGED" in flat
    for sha in (handle.issue_commit, handle.end_commit):  # the last facts are not cut off
        assert sha[:8] in flat
    assert "Routine maintenance of the orders table" in flat
    links = pdf_links(Path(f"{html.with_suffix('')}.pdf"))
    assert f"{GHE}/pull/{handle.pr}" in links  # the PDF keeps the links, clickable
    for sha in (handle.requested_commit, handle.merge_commit, handle.issue_commit):
        assert f"{GHE}/commit/{sha}" in links
    assert red_pixels(Path(f"{html.with_suffix('')}-pdf-page1.png")) > 500
    assert red_pixels(Path(f"{html.with_suffix('')}-pdf-flagged.png")) > 500


def pdf_links(pdf: Path) -> set[str]:
    """The URIs of the PDF's link annotations (Skia writes them uncompressed)."""
    return {m.decode() for m in re.findall(rb"/URI \((.*?)\)", pdf.read_bytes())}


def check_many(html: Path, count: int) -> str:
    page = html.read_text()
    assert 'data-mode="buckets"' in page
    assert re.search(r'class="tick"[^>]*>[A-Z][a-z]{2} 2025<', page)  # labels carry years
    assert 'class="flag-mark"' in page
    assert len(re.findall(r'<tr id="req-', page)) == count  # the screen's table rows
    assert len(re.findall(r'<div class="pr[ "]', page)) == count  # the print blocks
    return page


def check_printed(html: Path, count: int, flagged: str, texts: list[str]) -> None:
    """Every row is in the PDF, the flagged grant is red at the top of the page, of the PDF
    and on its row's page, and the first page carries the timeline (not half empty)."""
    text = "\n".join(texts)
    assert "audit verify FAILED" in " ".join(texts[0].split())
    dense = "".join(text.split())  # ids may wrap
    printed = {int(n) for n in re.findall(r"\d{12}-(\d{5})", dense)}
    assert printed == set(range(count)), f"{count - len(printed)} row(s) missing from the PDF"
    assert len(texts) < count / 10  # print blocks, about 15 requests per page
    links = pdf_links(Path(f"{html.with_suffix('')}.pdf"))
    assert {f"{GHE}/pull/{n + 1}" for n in range(count)} <= links  # every row's PR link
    assert "Grants per resource" in texts[0] and "Oct 2026" in texts[0]  # timeline on page 1
    stem = html.with_suffix("")
    assert red_pixels(Path(f"{stem}.png")) > 500  # the verdict, at the top of the page
    assert red_pixels(Path(f"{stem}-pdf-page1.png")) > 500  # ... and of the PDF
    assert red_pixels(Path(f"{stem}-pdf-flagged.png")) > 200  # the flagged row's page
    assert flagged in html.read_text().split('<div class="cards">')[0]  # named in the verdict


@needs_chromium
def test_a_thousand_grants_in_chromium_and_pdf() -> None:
    """The page and its print at 1,000 grants, loaded, looked at and printed in one tab as a
    person would (a tagged PDF, Chromium's default)."""
    html, flagged = synthetic_report(1000)
    check_many(html, 1000)
    check_printed(html, 1000, flagged, print_and_look(html, flagged))


@needs_chromium
def test_ten_thousand_grants_in_chromium_and_pdf() -> None:
    """The page at 10,000 grants, loaded and screenshotted, then printed from a tab that lays
    it out for print only (no screen layout of 10,000 table rows), without the PDF's
    accessibility tags: ~20 s of Chromium CPU and a ~1.3 GB renderer (tagged: ~28 s, 1.6 GB;
    the old table markup stalled at ~5 GB). Every row printed, the flagged one red."""
    assert CHROMIUM is not None
    html, flagged = synthetic_report(10000)
    check_many(html, 10000)
    stem = html.with_suffix("")
    with cdp.chromium(CHROMIUM) as browser:
        browser.open(html.as_uri(), 1400, 1600)
        browser.screenshot(Path(f"{stem}.png"))
        browser.close_tab()
        browser.open(html.as_uri(), 1400, 1600, media="print")
        browser.print_pdf(Path(f"{stem}.pdf"), tagged=False)
    check_printed(html, 10000, flagged, look_at_pdf(stem, flagged))
