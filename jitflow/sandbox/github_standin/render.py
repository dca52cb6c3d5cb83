"""GitHub's JSON shapes, built from the stand-in's records and git objects.

Field sets follow GitHub's OpenAPI description; the contract test validates
every body served against it, so a missing or mistyped field fails loudly.
"""

from __future__ import annotations

import hashlib
from typing import Any

from jitflow.sandbox.github_standin.gitrepo import BareRepo, CommitInfo, FileChange, Person
from jitflow.sandbox.github_standin.state import (
    Activity,
    Comment,
    Pull,
    Review,
    Status,
    Store,
    User,
)

Json = dict[str, Any]
REPO_ID = 424242
REPO_CREATED = "2024-01-02T03:04:05Z"


def node_id(prefix: str, number: int) -> str:
    return f"{prefix}_kwDO{number:08d}"


class Renderer:
    def __init__(self, api_url: str, owner: str, repo: str, store: Store, git: BareRepo) -> None:
        self.api = api_url  # set once the server knows its port
        self.owner = owner
        self.repo = repo
        self.store = store
        self.git = git

    @property
    def web(self) -> str:
        """Where html_url links point (the stand-in has no web UI; links stay well-formed)."""
        return f"{self.api}/_web"

    @property
    def repo_api(self) -> str:
        return f"{self.api}/repos/{self.owner}/{self.repo}"

    @property
    def repo_web(self) -> str:
        return f"{self.web}/{self.owner}/{self.repo}"

    # -- people ----------------------------------------------------------

    def user(self, login: str) -> Json:
        known = self.store.users.get(login)
        uid = known.id if known else int(hashlib.sha256(login.encode()).hexdigest()[:6], 16)
        kind = known.kind if known else "User"
        url = f"{self.api}/users/{login}"
        return {
            "login": login,
            "id": uid,
            "node_id": node_id("U", uid),
            "avatar_url": f"{self.web}/avatars/{login}",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self.web}/{login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": kind,
            "user_view_type": "public",
            "site_admin": False,
        }

    def full_user(self, user: User) -> Json:
        return {
            **self.user(user.login),
            "name": user.login,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 1,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": user.created_at,
            "updated_at": user.created_at,
        }

    def commit_user(self, person: Person) -> Json | None:
        """The account GitHub attributes a git identity to: by email only, as GitHub does
        (the account's noreply address or one of its verified emails); the name is free text,
        and an email no account has verified is linked to nobody (`null`)."""
        login = account_for_email(self.store, person.email)
        return self.user(login) if login else None

    def activity(self, activity: Activity) -> Json:
        return {
            "id": activity.id,
            "node_id": node_id("A", activity.id),
            "before": activity.before,
            "after": activity.after,
            "ref": activity.ref,
            "timestamp": activity.timestamp,
            "activity_type": activity.activity_type,
            "actor": self.user(activity.actor) if activity.actor else None,
        }

    # -- repository ------------------------------------------------------

    def repository(self) -> Json:
        base, html = self.repo_api, self.repo_web
        open_count = sum(1 for p in self.store.pulls.values() if p.state == "open")
        return {
            "id": REPO_ID,
            "node_id": node_id("R", REPO_ID),
            "name": self.repo,
            "full_name": f"{self.owner}/{self.repo}",
            "private": True,
            "owner": self.user(self.owner),
            "html_url": html,
            "description": "Access requests",
            "fork": False,
            "url": base,
            **{f"{name}_url": f"{base}/{path}" for name, path in _REPO_LINKS.items()},
            "created_at": REPO_CREATED,
            "updated_at": REPO_CREATED,
            "pushed_at": REPO_CREATED,
            "git_url": f"git://127.0.0.1/{self.owner}/{self.repo}.git",
            "ssh_url": f"git@127.0.0.1:{self.owner}/{self.repo}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": 1,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": False,
            "has_downloads": True,
            "has_wiki": False,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_count,
            "license": None,
            "allow_forking": False,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private",
            "forks": 0,
            "open_issues": open_count,
            "watchers": 0,
            "default_branch": "main",
            "permissions": {
                "admin": False,
                "maintain": False,
                "push": True,
                "triage": True,
                "pull": True,
            },
            "allow_squash_merge": True,
            "allow_merge_commit": True,
            "allow_rebase_merge": True,
            "delete_branch_on_merge": False,
            "network_count": 0,
            "subscribers_count": 0,
        }

    def minimal_repository(self) -> Json:
        full = self.repository()
        for key in ("network_count", "subscribers_count", "permissions"):
            full.pop(key)
        return full

    # -- commits ---------------------------------------------------------

    def commit(self, info: CommitInfo, files: tuple[FileChange, ...] | None = None) -> Json:
        data: Json = {
            "sha": info.sha,
            "node_id": node_id("C", int(info.sha[:7], 16)),
            "url": f"{self.repo_api}/commits/{info.sha}",
            "html_url": f"{self.repo_web}/commit/{info.sha}",
            "comments_url": f"{self.repo_api}/commits/{info.sha}/comments",
            "commit": {
                "url": f"{self.repo_api}/git/commits/{info.sha}",
                "author": _person(info.author),
                "committer": _person(info.committer),
                "message": info.message,
                "comment_count": 0,
                "tree": {"sha": info.tree, "url": f"{self.repo_api}/git/trees/{info.tree}"},
                "verification": self.git.verification(info),
            },
            "author": self.commit_user(info.author),
            "committer": self.commit_user(info.committer),
            "parents": [
                {
                    "sha": parent,
                    "url": f"{self.repo_api}/commits/{parent}",
                    "html_url": f"{self.repo_web}/commit/{parent}",
                }
                for parent in info.parents
            ],
        }
        if files is not None:
            additions = sum(f.additions for f in files)
            deletions = sum(f.deletions for f in files)
            data["stats"] = {
                "additions": additions,
                "deletions": deletions,
                "total": additions + deletions,
            }
            data["files"] = [self.file(f, info.sha) for f in files]
        return data

    def file(self, change: FileChange, ref: str) -> Json:
        data: Json = {
            "sha": change.sha,
            "filename": change.filename,
            "status": change.status,
            "additions": change.additions,
            "deletions": change.deletions,
            "changes": change.changes,
            "blob_url": f"{self.repo_web}/blob/{ref}/{change.filename}",
            "raw_url": f"{self.repo_web}/raw/{ref}/{change.filename}",
            "contents_url": f"{self.repo_api}/contents/{change.filename}?ref={ref}",
        }
        if change.patch is not None:
            data["patch"] = change.patch
        if change.previous_filename is not None:
            data["previous_filename"] = change.previous_filename
        return data

    # -- pull requests ---------------------------------------------------

    def pull_simple(self, pull: Pull) -> Json:
        url = f"{self.repo_api}/pulls/{pull.number}"
        issue = f"{self.repo_api}/issues/{pull.number}"
        html = f"{self.repo_web}/pull/{pull.number}"
        return {
            "url": url,
            "id": pull.id,
            "node_id": node_id("PR", pull.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{self.repo_api}/pulls/comments{{/number}}",
            "comments_url": f"{issue}/comments",
            "statuses_url": f"{self.repo_api}/statuses/{pull.head_sha}",
            "number": pull.number,
            "state": pull.state,
            "locked": False,
            "title": pull.title,
            "user": self.user(pull.author),
            "body": pull.body or None,
            "labels": [],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": pull.created_at,
            "updated_at": pull.updated_at,
            "closed_at": pull.closed_at,
            "merged_at": pull.merged_at,
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": self._branch_ref(pull.head_ref, pull.head_sha),
            "base": self._branch_ref(pull.base_ref, pull.base_sha),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "issue": {"href": issue},
                "comments": {"href": f"{issue}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{self.repo_api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{self.repo_api}/statuses/{pull.head_sha}"},
            },
            "author_association": self.association(pull.author),
            "auto_merge": None,
            "draft": pull.draft,
        }

    def pull(self, pull: Pull, commits: int, files: tuple[FileChange, ...]) -> Json:
        mergeable: bool | None = None
        mergeable_state = "unknown"
        if pull.state == "open":
            outcome = self.git.merge_outcome(pull.base_sha, pull.head_sha)
            mergeable = outcome.tree is not None
            mergeable_state = "clean" if mergeable else "dirty"
        return {
            **self.pull_simple(pull),
            "merged": pull.merged,
            "mergeable": mergeable,
            "rebaseable": False,
            "mergeable_state": mergeable_state,
            "merged_by": self.user(pull.merged_by) if pull.merged_by else None,
            "comments": sum(
                1 for c in self.store.comments.values() if c.issue_number == pull.number
            ),
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": commits,
            "additions": sum(f.additions for f in files),
            "deletions": sum(f.deletions for f in files),
            "changed_files": len(files),
        }

    def _branch_ref(self, ref: str, sha: str) -> Json:
        """Head and base of a same-repository PR: both belong to the repository owner."""
        return {
            "label": f"{self.owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user(self.owner),
            "repo": self.minimal_repository(),
        }

    def association(self, login: str) -> str:
        return "OWNER" if login == self.owner else "MEMBER"

    def review(self, pull: Pull, review: Review) -> Json:
        pull_url = f"{self.repo_api}/pulls/{pull.number}"
        html = f"{self.repo_web}/pull/{pull.number}#pullrequestreview-{review.id}"
        data: Json = {
            "id": review.id,
            "node_id": node_id("PRR", review.id),
            "user": self.user(review.user),
            "body": review.body,
            "state": review.state,
            "html_url": html,
            "pull_request_url": pull_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
            "commit_id": review.commit_id,
            "author_association": self.association(review.user),
        }
        if review.submitted_at is not None:
            data["submitted_at"] = review.submitted_at
        return data

    # -- issues and statuses ----------------------------------------------

    def comment(self, comment: Comment) -> Json:
        url = f"{self.repo_api}/issues/comments/{comment.id}"
        return {
            "id": comment.id,
            "node_id": node_id("IC", comment.id),
            "url": url,
            "html_url": f"{self.repo_web}/pull/{comment.issue_number}#issuecomment-{comment.id}",
            "body": comment.body,
            "user": self.user(comment.user),
            "created_at": comment.created_at,
            "updated_at": comment.updated_at,
            "issue_url": f"{self.repo_api}/issues/{comment.issue_number}",
            "author_association": self.association(comment.user),
        }

    def status(self, status: Status) -> Json:
        return {
            "url": f"{self.repo_api}/statuses/{status.sha}",
            "avatar_url": f"{self.web}/avatars/{status.creator}",
            "id": status.id,
            "node_id": node_id("SC", status.id),
            "state": status.state,
            "description": status.description,
            "target_url": status.target_url,
            "context": status.context,
            "created_at": status.created_at,
            "updated_at": status.created_at,
            "creator": self.user(status.creator),
        }


def account_for_email(store: Store, email: str) -> str | None:
    """The login whose noreply address or verified email `email` is."""
    address = email.strip().lower()
    if address == "noreply@github.com":
        return "web-flow"  # GitHub's own commits (web edits, merges): signed by GitHub
    local, _, domain = address.partition("@")
    if domain == "users.noreply.github.com":
        # `ID+login@`: the account with that id, whatever its login now; `login@` (before
        # 2017): whoever holds the login now.
        uid, plus, login = local.rpartition("+")
        for user in store.users.values():
            if user.kind == "User" and (
                str(user.id) == uid if plus else user.login.lower() == login
            ):
                return user.login
        return None
    for user in store.users.values():
        if address in (e.lower() for e in user.emails):
            return user.login
    return None


def _person(person: Person) -> Json:
    return {"name": person.name, "email": person.email, "date": person.date}


_REPO_LINKS = {
    "forks": "forks",
    "keys": "keys{/key_id}",
    "collaborators": "collaborators{/collaborator}",
    "teams": "teams",
    "hooks": "hooks",
    "issue_events": "issues/events{/number}",
    "events": "events",
    "assignees": "assignees{/user}",
    "branches": "branches{/branch}",
    "tags": "tags",
    "blobs": "git/blobs{/sha}",
    "git_tags": "git/tags{/sha}",
    "git_refs": "git/refs{/sha}",
    "trees": "git/trees{/sha}",
    "statuses": "statuses/{sha}",
    "languages": "languages",
    "stargazers": "stargazers",
    "contributors": "contributors",
    "subscribers": "subscribers",
    "subscription": "subscription",
    "commits": "commits{/sha}",
    "git_commits": "git/commits{/sha}",
    "comments": "comments{/number}",
    "issue_comment": "issues/comments{/number}",
    "contents": "contents/{+path}",
    "compare": "compare/{base}...{head}",
    "merges": "merges",
    "archive": "{archive_format}{/ref}",
    "downloads": "downloads",
    "issues": "issues{/number}",
    "pulls": "pulls{/number}",
    "milestones": "milestones{/number}",
    "notifications": "notifications{?since,all,participating}",
    "labels": "labels{/name}",
    "releases": "releases{/id}",
    "deployments": "deployments",
}
