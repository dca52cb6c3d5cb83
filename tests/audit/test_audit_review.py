"""`jitflow audit review`: a markdown access review per policy."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from jitflow.usecases.audit.review import ReviewOptions, run_review
from tests.audit.conftest import StandardHistory


def test_review_writes_one_report_per_policy(standard: StandardHistory, tmp_path: Path) -> None:
    reports = run_review(
        ReviewOptions(
            repo=standard.path,
            now=standard.now,
            period=timedelta(days=90),
            output=tmp_path / "review",
        )
    )
    assert sorted(p.name for p in (tmp_path / "review").iterdir()) == [
        "billing-read.md",
        "orders-db-write.md",
    ]
    orders = (tmp_path / "review" / "orders-db-write.md").read_text()
    assert orders == reports["orders-db-write"]
    assert "# Access review: orders-db-write" in orders
    # alice: 30m expired + the active 2h grant counted up to now (38 min) -> 2 grants
    alice = next(line for line in orders.splitlines() if line.startswith("| alice |"))
    cells = [c.strip() for c in alice.strip("|").split("|")]
    assert cells[1] == "2"
    assert cells[2] == f"{(30 + 20 / 60 + 38) / 60:.1f}"
    assert "Requests denied: **1**" in orders
    assert standard.handles["denied"].id in orders
    assert "| bob |" in orders  # approvals given


def test_review_period_excludes_older_grants(standard: StandardHistory) -> None:
    out = io.StringIO()
    reports = run_review(
        ReviewOptions(repo=standard.path, now=standard.now, period=timedelta(hours=1)), out
    )
    assert list(reports) == ["orders-db-write"]  # only the active grant is in the last hour
    assert "Grants: **1**" in reports["orders-db-write"]
    assert out.getvalue().startswith("# Access review: orders-db-write")
