"""`jitflow policy impact --comment PR`: the Markdown report posted on the policy PR through
PyGithub, against the GitHub stand-in; what the history and the PR's policies say stays inert."""

from __future__ import annotations

from pathlib import Path

import cmarkgfm
from click.testing import CliRunner

from jitflow.cli import cli
from jitflow.sandbox.github_standin import GitHubStandIn
from tests.inert import headings, live_parts
from tests.standin_helpers import clone, make_bare_repo, push_branch

ROOT = Path(__file__).resolve().parents[2]
POLICY = "policies/orders-db-write.yaml"
# A file name and a requester anyone with a past request could have written: a code span
# closed early, a table cell split, a link, a mention, HTML and a heading.
HOSTILE_ID = "x`|[a](evil.example)|@security-team #1"
HOSTILE_REQUESTER = "bob @security-team <img src=x onerror=alert(1)>\n### APPROVED"
GRANT = "grant:\n  kind: database\n  merged_at: '2026-11-20T10:00:00Z'\n"


def _request(requester: str, duration: str) -> bytes:
    return (
        f"policy: orders-db-write\nrequester: {requester!r}\nduration: {duration}\n"
        f"reason: Fix stuck rows in orders for INC-1\nticket: INC-1\n{GRANT}"
    ).encode()


def _seed() -> dict[str, bytes]:
    files = {f"policies/{p.name}": p.read_bytes() for p in (ROOT / "policies").glob("*.yaml")}
    files["requests/active/alice-a.yaml"] = _request("alice", "30m")
    files[f"requests/archive/2026/11/{HOSTILE_ID}.yaml"] = _request(HOSTILE_REQUESTER, "90m")
    return files


def test_impact_comment_is_posted_on_the_pr_once_and_inert(tmp_path: Path) -> None:
    """~2 s: one stand-in, two CLI runs in process (the second edits the comment in place)."""
    bare = make_bare_repo(tmp_path, _seed())
    with GitHubStandIn(bare) as standin:
        token = standin.add_user("dave")
        work = clone(bare, tmp_path / "work")
        # The PR's policy: a shorter maximum, and approvals from a login instead of a group.
        policy = (ROOT / POLICY).read_text(encoding="utf-8")
        tightened = policy.replace("max: 2h", "max: 1h").replace(
            "from: {groups: [sre-leads]}", "from: {users: [security-team]}"
        )
        assert tightened.count("1h") and "security-team" in tightened
        push_branch(work, "tighten", {POLICY: tightened.encode()}, "Tighten orders-db-write")
        number = standin.create_pull("dave", "tighten")
        env = {
            "GITHUB_TOKEN": token,
            "GITHUB_REPOSITORY": standin.full_name,
            "GITHUB_API_URL": standin.api_url,
            "JITFLOW_GITHUB_WRITE_INTERVAL": "0",
        }
        args = ["policy", "impact", "--repo", str(work.path), "--base", "origin/main"]
        args += ["--head", "HEAD", "--comment", str(number)]
        for _ in range(2):
            result = CliRunner().invoke(cli, args, env=env)
            assert result.exit_code == 0, result.output
            assert "replayed 2 request(s); 2 would be decided differently" in result.output
            assert "\n### APPROVED" not in result.output  # the terminal's copy: one line each
        [comment] = standin.comments(number)  # kept up to date, not posted twice
    assert comment["user"]["login"] == "dave"
    body = comment["body"]
    assert body.startswith("<!-- jitflow:policy-impact -->\n### jitflow: policy change impact\n")
    assert "Replayed 2 request(s) against policies at `" in body
    # what changed, for each request: the valid one names its requester
    alice = next(line for line in body.splitlines() if "alice-a" in line)
    assert "(active)" in alice and "@alice" in alice
    assert "allowed, needs 1 approval from group sre-leads" in alice
    assert "security-team" in alice  # the new approver, named but not notified
    assert "1 active grant(s) would not be allowed" not in body  # alice's 30m still fits
    # ... and nothing from the history or the PR's policy is live on GitHub
    assert live_parts(body) == ["@alice"]
    assert headings(body) == ["jitflow: policy change impact"]
    html = cmarkgfm.github_flavored_markdown_to_html(body)
    assert html.count("<tr>") == 3 and html.count("<td>") == 10  # two rows of five cells
    assert "duration-over-max" in html.split("<tr>")[-1]  # the hostile request's row, whole
