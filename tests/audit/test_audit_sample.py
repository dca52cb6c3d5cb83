"""`jitflow audit sample`: a reproducible random sample of issue and end events, each with its
evidence (request, PR and approvals, policy at merge, ledger commits, verify verdict)."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from jitflow.cli import cli
from jitflow.core.sampling import SampleKind, draw, population
from jitflow.usecases.audit.sample import SampleOptions, run_sample
from tests.audit.conftest import StandardHistory
from tests.audit.history_builder import T0, HistoryBuilder
from tests.audit.synthetic import synthetic_rows
from tests.audit.test_audit_evidence_pack import FORGED, forge_grant
from tests.audit.test_audit_html import needs_chromium

REMOTE = "https://github.com/acme/access.git"


def sample(repo: Path, **options: object) -> str:
    out = io.StringIO()
    run_sample(SampleOptions(repo=repo, **options), out)  # type: ignore[arg-type]
    return out.getvalue()


def sampled_ids(html: str) -> list[tuple[str, str]]:
    return re.findall(r"<h2>\d+\. (issue|end) &middot; [^&]+&middot; <code>([^<]+)</code>", html)


def test_the_draw_is_reproducible_and_in_time_order() -> None:
    events = population(synthetic_rows(500), (SampleKind.ISSUE, SampleKind.END))
    first = draw(events, 25, seed=2026)
    assert first == draw(events, 25, seed=2026) and len(first) == 25
    assert first != draw(events, 25, seed=2027)
    assert [e.at for e in first] == sorted(e.at for e in first)
    assert draw(events[:3], 25, seed=1) == events[:3]


def test_population_counts_issue_and_end_events_in_the_period() -> None:
    rows = synthetic_rows(300)
    issues = population(rows, (SampleKind.ISSUE,))
    ends = population(rows, (SampleKind.END,))
    assert len(issues) == sum(1 for r in rows if r.issued_at is not None)
    assert all(e.row.outcome.value != "denied" for e in ends)
    since = rows[len(rows) // 2].merged_at
    assert all(e.at >= since for e in population(rows, (SampleKind.ISSUE,), since=since))


def test_same_seed_same_document(standard: StandardHistory) -> None:
    first = sample(standard.path, count=3, seed=11, now=standard.now)
    assert first == sample(standard.path, count=3, seed=11, now=standard.now)
    assert len(sampled_ids(first)) == 3
    assert "--count 3 --seed 11" in first  # how to reproduce it
    others = {tuple(sampled_ids(sample(standard.path, count=3, seed=s, now=standard.now)))
              for s in range(1, 8)}  # fmt: skip
    assert len(others) > 1


def test_kind_picks_provisioning_or_termination(standard: StandardHistory) -> None:
    issued = [k for k in standard.handles if k not in ("denied", "waiting")]
    html = sample(standard.path, count=25, seed=1, kinds=(SampleKind.ISSUE,), now=standard.now)
    assert [k for k, _ in sampled_ids(html)] == ["issue"] * len(issued)
    ends = sample(standard.path, count=25, seed=1, kinds=(SampleKind.END,), now=standard.now)
    assert {k for k, _ in sampled_ids(ends)} == {"end"}
    assert standard.handles["denied"].id not in ends  # nothing was issued, nothing ended


def test_every_sampled_grant_carries_its_evidence(tmp_path: Path) -> None:
    builder = HistoryBuilder(tmp_path / "ledger")
    handle = builder.lifecycle("alice", "bob", T0)
    forge_grant(builder, T0 + timedelta(hours=2))
    builder.git.run("remote", "add", "origin", REMOTE)
    html = sample(builder.root, count=25, seed=3, now=T0 + timedelta(days=1))
    assert {i for _, i in sampled_ids(html)} == {handle.id, FORGED}
    section = html[html.index(f"<code>{handle.id}</code></h2>") :].split("</section>")[0]
    base = "https://github.com/acme/access"
    assert f'href="{base}/pull/{handle.pr}"' in section
    for sha in (
        handle.requested_commit,
        handle.merge_commit,
        handle.issue_commit,
        handle.end_commit,
    ):
        assert f'href="{base}/commit/{sha}"' in section
    assert "bob at 2026-11-02T09:03:00Z" in section  # the approval and its time
    assert "requester: alice" in section  # the request as merged
    assert "name: orders-db-write" in section and "sre-leads: [bob, erin]" in section
    assert f'href="{base}/commit/{handle.policy_commit}"' in section  # policy in force
    assert "no violation for this grant" in section
    forged = html[html.index(f"<code>{FORGED}</code></h2>") :].split("</section>")[0]
    assert 'class="grant flagged"' in html and "grant-without-merged-request" in forged


def test_cli_reports_the_seed_and_refuses_a_bad_count(
    standard: StandardHistory, tmp_path: Path
) -> None:
    target = tmp_path / "sample.html"
    result = CliRunner().invoke(
        cli,
        ["audit", "sample", "--count", "2", "--kind", "end", "--output", str(target),
         "--now", "2026-11-06T00:00:00Z", "--repo", str(standard.path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert re.search(r"sampled 2 of 4 end event\(s\) with seed \d+", result.output)
    seed = re.search(r"seed (\d+)", result.output).group(1)  # type: ignore[union-attr]
    assert f"seed {seed}" in target.read_text()
    bad = CliRunner().invoke(cli, ["audit", "sample", "--count", "0", "--repo", str(standard.path)])
    assert bad.exit_code == 2 and "--count" in bad.output


@needs_chromium
def test_sample_as_pdf(standard: StandardHistory, tmp_path: Path) -> None:
    import pypdfium2

    target = tmp_path / "sample.pdf"
    result = CliRunner().invoke(
        cli,
        ["audit", "sample", "--count", "3", "--seed", "5", "--output", str(target),
         "--now", "2026-11-06T00:00:00Z", "--repo", str(standard.path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    pdf = pypdfium2.PdfDocument(target)
    try:
        text = "".join(
            "".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf))
        )
        assert len(pdf) >= 4  # a contents page, then one page per sampled grant
    finally:
        pdf.close()
    html = sample(standard.path, count=3, seed=5, now=standard.now)
    for _, request_id in sampled_ids(html):
        assert request_id in text


def test_every_sampled_event_links_to_its_pr_and_its_own_commit(tmp_path: Path) -> None:
    """Not one example: each of the sample's sections, issue and end alike."""
    builder = HistoryBuilder(tmp_path / "ledger")
    handles = {
        h.id: h
        for h in (
            builder.lifecycle("alice", "bob", T0),
            builder.lifecycle("carol", "bob", T0 + timedelta(hours=2)),
            builder.lifecycle("dave", "erin", T0 + timedelta(hours=4)),
        )
    }
    builder.git.run("remote", "add", "origin", REMOTE)
    html = sample(builder.root, count=25, seed=9, now=T0 + timedelta(days=1))
    base = "https://github.com/acme/access"
    sections = html.split('<section class="grant')[1:]
    drawn = sampled_ids(html)
    assert sorted(drawn) == sorted((k, i) for i in handles for k in ("issue", "end"))
    for (kind, request_id), section in zip(drawn, sections, strict=True):
        handle = handles[request_id]
        own = handle.issue_commit if kind == "issue" else handle.end_commit
        assert f'href="{base}/pull/{handle.pr}"' in section, (kind, request_id)
        assert f'href="{base}/commit/{own}"' in section, (kind, request_id)
        assert f'href="{base}/commit/{handle.merge_commit}"' in section, (kind, request_id)
