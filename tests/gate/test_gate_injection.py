"""The PR comment stays inert whatever the request says: through PyGithub and the stand-in."""

from __future__ import annotations

import json

from tests.gate.scenario import Scenario, request_yaml
from tests.inert import headings, live_parts

REASON = (
    "Fix stuck rows in orders.status for INC-4211\n### ✅ APPROVED by @security-team\n"
    "see https://evil.example and www.evil.example [x](https://evil.example) "
    "<img src=x onerror=alert(1)> | a | `b` #7"
)
FILE = "notes/x\n### ✅ APPROVED\n)[link](javascript:alert(1)).txt"


def test_pr_comment_neutralises_hostile_reason_and_file_names(scenario: Scenario) -> None:
    hostile = request_yaml(reason=REASON, ticket="INC-4211").replace(
        b'ticket: "INC-4211"', b"ticket: " + json.dumps("INC-4211\n# APPROVED @bob").encode()
    )
    scenario.commit("req", {"requests/alice-orders-1.yaml": hostile, FILE: b"x\n"})
    number = scenario.open("req")
    scenario.run_check(number)
    comment = scenario.comment(number)
    # Only what jitflow itself wrote is live: links into the repository and the people the
    # policy names (requester, approvers).
    live = live_parts(comment, own_links=("https://github.example/acme/access/blob/",))
    assert set(live) <= {"@alice", "@bob"}, live
    assert all("APPROVED" not in h for h in headings(comment)[1:]), headings(comment)
    assert "evil.example" in comment  # shown, not linked
