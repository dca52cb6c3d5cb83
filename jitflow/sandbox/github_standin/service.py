"""GitHub's behaviour for PRs, reviews, statuses and comments, shared by the HTTP
API and the Python control API so both paths obey the same rules."""

from __future__ import annotations

import secrets
import threading
from datetime import datetime

from jitflow.sandbox.github_standin import pushes
from jitflow.sandbox.github_standin.accounts import new_account_id
from jitflow.sandbox.github_standin.enforcement import ruleset_merge_blockers
from jitflow.sandbox.github_standin.gitrepo import BareRepo, FileChange
from jitflow.sandbox.github_standin.landing import Conflict, merge_queue, rebase
from jitflow.sandbox.github_standin.messages import ApiError
from jitflow.sandbox.github_standin.protection import merge_blockers
from jitflow.sandbox.github_standin.state import (
    Comment,
    Pull,
    Review,
    Status,
    Store,
    TimelineEvent,
    User,
    timestamp,
)

REVIEW_EVENTS = {
    "APPROVE": "APPROVED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}
STATUS_STATES = ("error", "failure", "pending", "success")
MERGE_METHODS = ("merge", "squash", "rebase")


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def invalid(resource: str, field: str, code: str = "invalid") -> ApiError:
    error = {"resource": resource, "field": field, "code": code}
    return ApiError(422, "Validation Failed", [error])


class Service:
    def __init__(self, git: BareRepo, owner: str, repo: str) -> None:
        self.git = git
        self.owner = owner
        self.repo = repo
        self.store = Store()
        self.lock = threading.RLock()
        # Who pushes to the repository next (GitHub knows; a bare repo doesn't): the
        # merged_by of a PR that a push marks merged. None: the repository owner.
        self.pusher: str | None = None

    # -- users -----------------------------------------------------------

    def add_user(
        self,
        login: str,
        ssh_keys: list[str],
        can_read_org: bool,
        kind: str,
        emails: list[str] | None = None,
    ) -> User:
        uid = new_account_id(self.store, login)
        self.store.used_logins.add(login.lower())
        keys = [(self.store.ids.next("key"), key.strip()) for key in ssh_keys]
        user = User(uid, login, secrets.token_hex(20), keys, can_read_org, kind=kind)
        user.emails = list(emails) if emails is not None else [f"{login}@example.test"]
        self.store.users[login] = user
        return user

    def _actor(self, login: str) -> User:
        found = self.store.users.get(login)
        return found if found is not None else User(0, login, "", [], False)

    def authenticate(self, token: str) -> User | None:
        for user in self.store.users.values():
            if user.token and secrets.compare_digest(user.token, token):
                return user
        return None

    # -- pull requests ---------------------------------------------------

    def refresh(self, pusher: str | None = None) -> None:
        """Let open PRs follow their branches, as GitHub does after a push."""
        branches = self.git.branches()
        pushes.follow(self.store, self.git, branches)
        for pull in self.store.pulls.values():
            if pull.state != "open":
                continue
            base = branches.get(pull.base_ref)
            if base and base != pull.base_sha and self.git.contains(pull.head_sha, base):
                # Its head was pushed to the base branch (a fast-forward or a merge done
                # outside GitHub): GitHub marks the PR merged, merge_commit_sha = the head.
                by = pusher or self.pusher or self.owner
                self.mark_merged(pull, by, pull.head_sha, pull.base_sha, ())
                continue
            if base:
                pull.base_sha = base
            head = branches.get(pull.head_ref)
            if head and head != pull.head_sha:
                now = timestamp()
                before, pull.head_sha, pull.updated_at = pull.head_sha, head, now
                pusher = pushes.last_push(self.store, pull)[0]  # who GitHub says pushed it
                change = {"before": before, "after": head}
                pull.timeline.append(TimelineEvent("synchronize", now, pusher, change))
                self._dismiss_stale_approvals(pull)

    def _dismiss_stale_approvals(self, pull: Pull) -> None:
        rules = self.store.protection.get(pull.base_ref, {}).get("required_pull_request_reviews")
        if not rules or not rules.get("dismiss_stale_reviews"):
            return
        for review in pull.reviews:
            if review.state == "APPROVED" and review.commit_id != pull.head_sha:
                review.state = "DISMISSED"

    def pull(self, number: int) -> Pull:
        pull = self.store.pulls.get(number)
        if pull is None:
            raise not_found()
        return pull

    def pull_commits(self, pull: Pull) -> tuple[str, ...]:
        return self.git.rev_list(pull.merged_base_sha or pull.base_sha, pull.head_sha)

    def pull_files(self, pull: Pull) -> tuple[FileChange, ...]:
        base = pull.merged_base_sha or pull.base_sha
        merge_base = self.git.merge_base(base, pull.head_sha) or base
        result: tuple[FileChange, ...] = self.git.files(merge_base, pull.head_sha)
        return result

    def create_pull(
        self, author: str, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> Pull:
        head = head.split(":", 1)[1] if ":" in head else head
        branches = self.git.branches()
        if head not in branches:
            raise invalid("PullRequest", "head")
        if base not in branches:
            raise invalid("PullRequest", "base")
        if not title:
            raise invalid("PullRequest", "title", "missing_field")
        for other in self.store.pulls.values():
            if other.state == "open" and (other.head_ref, other.base_ref) == (head, base):
                message = f"A pull request already exists for {self.owner}:{head}."
                raise ApiError(422, "Validation Failed", [_custom("PullRequest", message)])
        if not self.git.rev_list(branches[base], branches[head]):
            message = f"No commits between {base} and {head}"
            raise ApiError(422, "Validation Failed", [_custom("PullRequest", message)])
        now = timestamp()
        number = self.store.next_number
        self.store.next_number += 1
        pull = Pull(
            number=number,
            id=self.store.ids.next("pull"),
            author=author,
            head_ref=head,
            base_ref=base,
            title=title,
            body=body,
            head_sha=branches[head],
            base_sha=branches[base],
            created_at=now,
            updated_at=now,
            draft=draft,
        )
        pull.timeline.append(TimelineEvent("opened", now, author))
        self.store.pulls[number] = pull
        pushes.claim(self.store, head, author)
        return pull

    def submit_review(
        self,
        number: int,
        reviewer: str,
        event: str | None,
        body: str,
        commit_id: str | None,
        at: datetime | None = None,
    ) -> Review:
        pull = self.pull(number)
        state = REVIEW_EVENTS.get(event or "", "PENDING")
        if event and event not in REVIEW_EVENTS:
            raise invalid("PullRequestReview", "event")
        if state != "PENDING" and reviewer == pull.author and state != "COMMENTED":
            verb = "approve" if state == "APPROVED" else "request changes on"
            raise ApiError(422, "Unprocessable Entity", [f"Can not {verb} your own pull request"])
        if state in ("CHANGES_REQUESTED", "COMMENTED") and not body:
            what = "request changes" if state == "CHANGES_REQUESTED" else "comment"
            raise ApiError(422, "Unprocessable Entity", [f"Review Body is required to {what}"])
        # GitHub accepts reviews on merged PRs (post-merge reviews), not on closed unmerged ones.
        if pull.state != "open" and not pull.merged and state != "COMMENTED":
            raise ApiError(422, "Unprocessable Entity", ["Pull request is closed"])
        commit = commit_id or pull.head_sha
        if commit not in (pull.head_sha, *self.pull_commits(pull)):
            raise invalid("PullRequestReview", "commit_id")
        now = timestamp(at)
        review = Review(
            id=self.store.ids.next("review"),
            user=reviewer,
            state=state,
            body=body,
            commit_id=commit,
            submitted_at=None if state == "PENDING" else now,
        )
        pull.reviews.append(review)
        if state != "PENDING":
            pull.timeline.append(TimelineEvent("reviewed", now, reviewer, {"review_id": review.id}))
        return review

    def dismiss_review(self, number: int, review_id: int, message: str, actor: str) -> Review:
        pull = self.pull(number)
        review = self.store.review(pull, review_id)
        if review is None:
            raise not_found()
        if review.state not in ("APPROVED", "CHANGES_REQUESTED"):
            kind = "pending" if review.state == "PENDING" else "commented"
            raise ApiError(422, f"Can not dismiss a {kind} pull request review")
        review.state = "DISMISSED"
        pull.timeline.append(
            TimelineEvent(
                "dismissed", timestamp(), actor, {"review_id": review_id, "message": message}
            )
        )
        return review

    def merge(
        self,
        number: int,
        actor: str,
        method: str = "merge",
        sha: str | None = None,
        title: str | None = None,
        message: str | None = None,
    ) -> str:
        pull = self.pull(number)
        if method not in MERGE_METHODS:
            raise ApiError(405, f"Merge method {method} is not allowed on this repository")
        if pull.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        if sha and sha != pull.head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        self.check_mergeable(pull, actor)
        outcome = self.git.merge_outcome(pull.base_sha, pull.head_sha)
        if outcome.tree is None:
            raise ApiError(405, "Pull Request is not mergeable")
        landed: tuple[str, ...] = ()
        if method == "rebase":
            try:
                landed = rebase(self.git, pull.base_sha, self.pull_commits(pull))
            except Conflict as exc:
                raise ApiError(405, str(exc)) from None
            merge_sha = landed[-1]
        else:
            merge_sha = self.merge_commit_for(pull, method, outcome.tree, actor, title, message)
            landed = (merge_sha,)
        if not self.git.update_branch(pull.base_ref, merge_sha, pull.base_sha):
            raise ApiError(409, "Base branch was modified. Review and try the merge again.")
        self.mark_merged(pull, actor, merge_sha, pull.base_sha, landed)
        return merge_sha

    def check_mergeable(self, pull: Pull, actor: str) -> None:
        """Raise GitHub's refusal when protection or a ruleset on the base blocks `actor`."""
        push = pushes.last_push(self.store, pull)
        protection = self.store.protection.get(pull.base_ref)
        blockers = merge_blockers(protection, pull, self.statuses, push)
        blockers += ruleset_merge_blockers(
            self.store, pull, self._actor(actor), self.statuses, push
        )
        if blockers:
            raise ApiError(405, blockers[0])

    def merge_commit_for(
        self,
        pull: Pull,
        method: str,
        tree: str,
        actor: str,
        title: str | None,
        message: str | None,
    ) -> str:
        """The merge or squash commit GitHub writes for `pull` (not yet on the branch)."""
        if method == "squash":
            default_title = f"{pull.title} (#{pull.number})"
            commits = [self.git.commit(c).message for c in self.pull_commits(pull)]
            default_body = "\n\n".join(f"* {m}" for m in commits)
            parents: tuple[str, ...] = (pull.base_sha,)
        else:
            default_title = f"Merge pull request #{pull.number} from {self.owner}/{pull.head_ref}"
            default_body = pull.title
            parents = (pull.base_sha, pull.head_sha)
        text = f"{title or default_title}\n\n{default_body if message is None else message}\n"
        identity = (actor, f"{actor}@users.noreply.github.com")
        return self.git.commit_tree(tree, parents, text, identity)

    def mark_merged(
        self, pull: Pull, actor: str, merge_sha: str, base_sha: str, landed: tuple[str, ...]
    ) -> None:
        """Record the merge as GitHub does: merge_commit_sha, who, when, onto which base."""
        now = timestamp()
        pull.merged_base_sha = base_sha
        pull.state, pull.closed_at, pull.merged_at, pull.updated_at = "closed", now, now, now
        pull.merged_by, pull.merge_commit_sha = actor, merge_sha
        pull.landed_commits = landed
        pull.timeline.append(TimelineEvent("merged", now, actor, {"sha": merge_sha}))

    def merge_queue(self, numbers: list[int], actor: str, method: str = "merge") -> list[str]:
        """Land queued PRs as GitHub's merge queue does (see `landing.merge_queue`)."""
        return merge_queue(self, numbers, actor, method)

    def pulls_for_commit(self, sha: str) -> list[Pull]:
        """The PRs a commit belongs to: the PR it merged, or PRs whose branch contains it."""
        found = []
        for pull in sorted(self.store.pulls.values(), key=lambda p: p.number):
            if (
                pull.merge_commit_sha == sha
                or sha in pull.landed_commits
                or sha in self.pull_commits(pull)
            ):
                found.append(pull)
        return found

    # -- comments and statuses --------------------------------------------

    def add_comment(self, number: int, author: str, body: str) -> Comment:
        self.pull(number)
        if not body:
            raise invalid("IssueComment", "body", "missing_field")
        now = timestamp()
        comment = Comment(self.store.ids.next("comment"), number, author, body, now, now)
        self.store.comments[comment.id] = comment
        return comment

    def edit_comment(self, comment_id: int, actor: str, body: str) -> Comment:
        comment = self.store.comments.get(comment_id)
        if comment is None:
            raise not_found()
        # GitHub: "anyone with write access to a repository can edit ... comments on issues,
        # pull requests" (Managing disruptive comments), not only their author; every account
        # here may push, so any may edit (a job token acting as the runner's login as well).
        del actor
        if not body:
            raise invalid("IssueComment", "body", "missing_field")
        comment.body, comment.updated_at = body, timestamp()
        return comment

    def create_status(
        self,
        sha: str,
        creator: str,
        state: str,
        context: str = "default",
        description: str | None = None,
        target_url: str | None = None,
    ) -> Status:
        if state not in STATUS_STATES:
            raise invalid("Status", "state")
        full = self.git.resolve(sha)
        if full is None or not full.startswith(sha.lower()):
            raise ApiError(422, f"No commit found for SHA: {sha}")
        status = Status(
            self.store.ids.next("status"),
            full,
            state,
            context,
            description,
            target_url,
            creator,
            timestamp(),
        )
        self.store.statuses.append(status)
        return status

    def statuses(self, sha: str) -> list[Status]:
        """Statuses of a commit, newest first (GitHub's order)."""
        return [s for s in reversed(self.store.statuses) if s.sha == sha]

    def combined_state(self, sha: str) -> tuple[str, list[Status]]:
        latest: dict[str, Status] = {}
        for status in self.statuses(sha):
            latest.setdefault(status.context, status)
        states = {s.state for s in latest.values()}
        if states & {"error", "failure"}:
            state = "failure"
        elif not latest or "pending" in states:
            state = "pending"
        else:
            state = "success"
        return state, list(latest.values())


def _custom(resource: str, message: str) -> dict[str, str]:
    return {"resource": resource, "code": "custom", "message": message}
