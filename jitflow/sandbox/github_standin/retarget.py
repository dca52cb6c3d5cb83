"""Editing a PR's base branch, and the issue events that record it.

`PATCH /pulls/{n}` with `base` moves an open PR onto another branch of the repository: the
commits and files it lists are now against that branch, GitHub records a `base_ref_changed`
issue event (`GET /issues/{n}/events`: who and when, not from which branch) and sends
`pull_request.edited` with `changes.base`. Reviews stay; where the new base's protection
dismisses stale approvals, a changed merge base dismisses them (GitHub's rule since 2023).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jitflow.sandbox.github_standin.messages import ApiError, Request, Response
from jitflow.sandbox.github_standin.render import Json, Renderer, node_id
from jitflow.sandbox.github_standin.service import Service, invalid
from jitflow.sandbox.github_standin.state import IssueEvent, TimelineEvent, timestamp


def change_base(service: Service, number: int, base: str, actor: str) -> None:
    """Retarget open PR `number` onto branch `base` as @actor did on the PR page."""
    pull = service.pull(number)
    if pull.state != "open":
        raise invalid("PullRequest", "base")
    branches = service.git.branches()
    if base not in branches:
        raise invalid("PullRequest", "base")
    if base == pull.base_ref:
        return
    if not service.git.rev_list(branches[base], pull.head_sha):
        raise ApiError(422, f"There are no new commits between base branch '{base}' and head")
    before = (pull.base_ref, pull.base_sha)
    merge_base = service.git.merge_base(pull.base_sha, pull.head_sha)
    pull.base_ref, pull.base_sha = base, branches[base]
    now = timestamp()
    pull.updated_at = now
    changes = {"base": {"ref": {"from": before[0]}, "sha": {"from": before[1]}}}
    pull.timeline.append(TimelineEvent("edited", now, actor, {"changes": changes}))
    event_id = service.store.ids.next("issue_event")
    pull.issue_events.append(IssueEvent(event_id, "base_ref_changed", actor, now))
    rules = service.store.protection.get(base, {}).get("required_pull_request_reviews") or {}
    if rules.get("dismiss_stale_reviews") and merge_base != service.git.merge_base(
        pull.base_sha, pull.head_sha
    ):
        for review in pull.reviews:
            if review.state == "APPROVED":
                review.state = "DISMISSED"


def issue_event(renderer: Renderer, number: int, event: IssueEvent) -> Json:
    """An issue event as GitHub renders one without extra properties."""
    return {
        "id": event.id,
        "node_id": node_id("E", event.id),
        "url": f"{renderer.repo_api}/issues/events/{event.id}",
        "actor": renderer.user(event.actor),
        "event": event.event,
        "commit_id": None,
        "commit_url": None,
        "created_at": event.created_at,
        "performed_via_github_app": None,
    }


class PullEditApi:
    """PATCH .../pulls/{pull_number} and GET .../issues/{issue_number}/events (mixed into
    `Api`)."""

    svc: Service
    r: Renderer
    _number: Callable[..., int]  # Api's: the PR number, 404 unless our repository
    _paginate: Callable[[Request, list[Any]], Response]
    _pull_json: Callable[[int], Json]

    def update_pull(self, req: Request) -> Response:
        number = self._number(req)
        pull = self.svc.pull(number)
        body = req.body
        if "base" in body:
            change_base(self.svc, number, str(body["base"]), req.user.login)
        if "title" in body:
            pull.title = str(body["title"])
        if "body" in body:
            pull.body = str(body["body"] or "")
        return Response(200, self._pull_json(number))

    def list_issue_events(self, req: Request) -> Response:
        number = self._number(req, "issue_number")
        pull = self.svc.pull(number)
        return self._paginate(req, [issue_event(self.r, number, e) for e in pull.issue_events])
