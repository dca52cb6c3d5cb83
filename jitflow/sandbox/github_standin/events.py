"""Webhook payloads for the stand-in's state, built from GitHub's real examples.

Each payload starts from an example vendored from @octokit/webhooks-examples and
has its repository, pull request, sender and review fields rewritten to match
the stand-in, keeping the example's shape wherever the stand-in has no value.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jitflow.sandbox.github_standin.gitrepo import ZERO_SHA

if TYPE_CHECKING:
    from jitflow.sandbox.github_standin.standin import GitHubStandIn

Json = dict[str, Any]
EXAMPLES_ENV = "JITFLOW_WEBHOOK_EXAMPLES"

# Kinds with no example of their own are derived from a sibling example.
_DERIVED = {
    "pull_request.edited": "pull_request.opened",
    "pull_request.merged": "pull_request.closed",
    "pull_request_review.edited": "pull_request_review.submitted",
    "pull_request_review.approved": "pull_request_review.submitted",
}


def examples_dir() -> Path:
    """Where the vendored examples live (the source tree's test fixtures by default)."""
    configured = os.environ.get(EXAMPLES_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "webhooks"


def load_example(kind: str) -> Json:
    name = _DERIVED.get(kind, kind)
    path = examples_dir() / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"no webhook example for {kind!r} (looked for {path})")
    data: Json = json.loads(path.read_text())
    return data


def build_event(kind: str, standin: GitHubStandIn, number: int, **overrides: Any) -> Json:
    """The payload GitHub would deliver for `kind` (e.g. "pull_request.opened") on PR `number`.

    Overrides are merged in last (nested dicts merge), e.g. `changes={...}` or `inputs={...}`.
    """
    event, _, action = kind.partition(".")
    payload = load_example(kind)
    pull = standin.pull(number)
    service, renderer = standin._service, standin._renderer
    with service.lock:
        record = service.pull(number)
        repository = renderer.repository()
        actor = _actor(kind, record, overrides)
        payload["repository"] = _overlay(payload.get("repository"), repository)
        payload["sender"] = _overlay(payload.get("sender"), renderer.user(actor))
        if "organization" in payload:
            payload["organization"]["login"] = standin.owner
        if event in ("pull_request", "pull_request_review"):
            payload["pull_request"] = _overlay(payload["pull_request"], pull)
            if action:
                payload["action"] = "closed" if action == "merged" else action
        if kind == "pull_request.edited":
            payload.setdefault("changes", {"title": {"from": pull["title"]}})
        if kind == "pull_request.synchronize":
            sync = [e for e in record.timeline if e.event == "synchronize"]
            payload["before"] = sync[-1].data["before"] if sync else record.head_sha
            payload["after"] = record.head_sha
        if event == "pull_request_review":
            payload["action"] = "submitted" if action == "approved" else action
            review = _review(record, overrides.pop("review_id", None))
            rendered = renderer.review(record, review)
            rendered["state"] = review.state.lower()
            payload["review"] = _overlay(payload["review"], rendered)
            if action == "edited":
                payload.setdefault("changes", {"body": {"from": review.body}})
        if event == "merge_group":
            payload["merge_group"] = _merge_group(payload["merge_group"], record)
        if event == "push":
            payload.update(_push(standin, payload, record))
        if event == "workflow_dispatch":
            payload["ref"] = f"refs/heads/{record.base_ref}"
    return _merge(payload, overrides)


def _actor(kind: str, record: Any, overrides: dict[str, Any]) -> str:
    explicit = overrides.pop("actor", None)
    if explicit:
        return str(explicit)
    if kind.startswith("pull_request_review"):
        reviews = [r for r in record.reviews if r.state != "PENDING"]
        return str(reviews[-1].user) if reviews else str(record.author)
    if record.merged_by and (kind.endswith(".closed") or kind.endswith(".merged")):
        return str(record.merged_by)
    if kind == "push" and record.merged_by:
        return str(record.merged_by)
    return str(record.author)


def _review(record: Any, review_id: int | None) -> Any:
    reviews = [r for r in record.reviews if r.state != "PENDING"]
    if review_id is not None:
        reviews = [r for r in reviews if r.id == review_id]
    if not reviews:
        raise ValueError(f"PR #{record.number} has no submitted review {review_id or ''}".strip())
    return reviews[-1]


def _merge_group(example: Json, record: Any) -> Json:
    head_ref = (
        f"refs/heads/gh-readonly-queue/{record.base_ref}/pr-{record.number}-{record.base_sha}"
    )
    group = dict(example)
    group.update(
        head_sha=record.head_sha,
        head_ref=head_ref,
        base_sha=record.base_sha,
        base_ref=f"refs/heads/{record.base_ref}",
    )
    if isinstance(group.get("head_commit"), dict):
        group["head_commit"] = {**group["head_commit"], "id": record.head_sha}
    return group


def _push(standin: GitHubStandIn, example: Json, record: Any) -> Json:
    """A push of the merge commit to the base branch (or of the head branch if unmerged)."""
    git, web = standin._service.git, standin._renderer.repo_web
    if record.merge_commit_sha:
        ref, before, after = record.base_ref, record.merged_base_sha, record.merge_commit_sha
    else:
        ref, before, after = record.head_ref, record.base_sha, record.head_sha
    info = git.commit(after)
    files = git.files(info.parents[0], after) if info.parents else ()
    commit = {
        **copy.deepcopy(example.get("head_commit") or {}),
        "id": after,
        "tree_id": info.tree,
        "distinct": True,
        "message": info.message,
        "timestamp": info.committer.date,
        "url": f"{web}/commit/{after}",
        "author": {"name": info.author.name, "email": info.author.email},
        "committer": {"name": info.committer.name, "email": info.committer.email},
        "added": [f.filename for f in files if f.status == "added"],
        "removed": [f.filename for f in files if f.status == "removed"],
        "modified": [f.filename for f in files if f.status in ("modified", "renamed")],
    }
    return {
        "ref": f"refs/heads/{ref}",
        "before": before or ZERO_SHA,
        "after": after,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"{web}/compare/{(before or ZERO_SHA)[:12]}...{after[:12]}",
        "commits": [commit],
        "head_commit": commit,
        "pusher": {"name": _actor("push", record, {}), "email": None},
    }


def _overlay(example: Any, source: Any) -> Any:
    """`source` values over `example`: keys only the example has are kept (the
    examples predate some fields, the stand-in fills those in), and where the
    types disagree (e.g. push payloads' integer timestamps) the example's value stays."""
    if isinstance(example, dict) and isinstance(source, dict):
        out = dict(example)
        for key, value in source.items():
            out[key] = _overlay(example[key], value) if key in example else copy.deepcopy(value)
        return out
    if example is None or source is None or type(example) is type(source):
        return copy.deepcopy(source)
    return example


def _merge(base: Json, overrides: dict[str, Any]) -> Json:
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _merge(dict(base[key]), value)
        else:
            base[key] = value
    return base
