"""Branch protection: stored in the shape of GitHub's PUT body, served in the
shape of its GET response, and enforced when a PR is merged."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from jitflow.sandbox.github_standin.state import Pull, Review, Status

Json = dict[str, Any]


def render_protection(protection: Json, url: str) -> Json:
    """GET .../branches/{b}/protection from the PUT-shaped settings."""
    checks = protection.get("required_status_checks")
    reviews = protection.get("required_pull_request_reviews")
    data: Json = {
        "url": url,
        "enforce_admins": {
            "url": f"{url}/enforce_admins",
            "enabled": bool(protection.get("enforce_admins")),
        },
        "required_signatures": {"url": f"{url}/required_signatures", "enabled": False},
    }
    for flag in (
        "required_linear_history",
        "allow_force_pushes",
        "allow_deletions",
        "block_creations",
        "required_conversation_resolution",
        "lock_branch",
        "allow_fork_syncing",
    ):
        data[flag] = {"enabled": bool(protection.get(flag, False))}
    if checks is not None:
        contexts = list(checks.get("contexts", []))
        data["required_status_checks"] = {
            "url": f"{url}/required_status_checks",
            "strict": bool(checks.get("strict", False)),
            "contexts": contexts,
            "contexts_url": f"{url}/required_status_checks/contexts",
            "checks": [{"context": context, "app_id": None} for context in contexts],
        }
    if reviews is not None:
        data["required_pull_request_reviews"] = {
            "url": f"{url}/required_pull_request_reviews",
            "dismiss_stale_reviews": bool(reviews.get("dismiss_stale_reviews", False)),
            "require_code_owner_reviews": bool(reviews.get("require_code_owner_reviews", False)),
            "required_approving_review_count": int(
                reviews.get("required_approving_review_count", 1)
            ),
            "require_last_push_approval": bool(reviews.get("require_last_push_approval", False)),
        }
    return data


LAST_PUSH_REFUSAL = "New changes require approval from someone other than the last pusher."


def _decisive(pull: Pull) -> dict[str, Review]:
    """Each reviewer's latest approval, change request or dismissed review."""
    latest: dict[str, Review] = {}
    for review in pull.reviews:
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[review.user] = review
    return latest


def approvals(pull: Pull, current_head_only: bool) -> set[str]:
    """Reviewers whose latest decisive review approves the PR."""
    return {
        user
        for user, review in _decisive(pull).items()
        if review.state == "APPROVED"
        and not (current_head_only and review.commit_id != pull.head_sha)
    }


def last_push_blockers(pull: Pull, last_push: tuple[str, str]) -> list[str]:
    """ "Require approval of the most recent reviewable push": someone other than whoever
    pushed the head must have approved it, after that push (GitHub's wording if not)."""
    pusher, pushed_at = last_push
    for user, review in _decisive(pull).items():
        if (
            review.state == "APPROVED"
            and user != pusher
            and review.commit_id == pull.head_sha
            and (review.submitted_at or "") >= pushed_at
        ):
            return []
    return [LAST_PUSH_REFUSAL]


def merge_blockers(
    protection: Json | None,
    pull: Pull,
    statuses: Callable[[str], list[Status]],
    last_push: tuple[str, str],
) -> list[str]:
    """GitHub's reasons (its own wording) why a protected branch refuses this merge."""
    if not protection:
        return []
    blockers = []
    reviews = protection.get("required_pull_request_reviews")
    if reviews is not None:
        needed = int(reviews.get("required_approving_review_count", 1))
        blockers += review_blockers(pull, needed, bool(reviews.get("dismiss_stale_reviews")))
        if reviews.get("require_last_push_approval"):
            blockers += last_push_blockers(pull, last_push)
    checks = protection.get("required_status_checks")
    if checks is not None:
        blockers += status_blockers(checks.get("contexts", []), pull.head_sha, statuses)
    return blockers


def review_blockers(pull: Pull, needed: int, dismiss_stale: bool) -> list[str]:
    """GitHub's refusal when fewer than `needed` approvals stand (protection or ruleset)."""
    if len(approvals(pull, dismiss_stale)) >= needed:
        return []
    plural = "review is" if needed == 1 else "reviews are"
    return [f"At least {needed} approving {plural} required by reviewers with write access."]


def status_blockers(
    contexts: Iterable[str], sha: str, statuses: Callable[[str], list[Status]]
) -> list[str]:
    """GitHub's refusal for each required status that is missing, pending or failing."""
    latest: dict[str, str] = {}
    for status in statuses(sha):
        latest.setdefault(status.context, status.state)
    missing = []
    for context in contexts:
        state = latest.get(context)
        if state is None or state == "pending":
            missing.append(f'Required status check "{context}" is expected.')
        elif state != "success":
            missing.append(f'Required status check "{context}" is failing.')
    return missing
