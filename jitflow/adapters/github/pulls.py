"""Pull requests: read one whole (files, reviews, commits, pushes), find, open.

Why apart: reading a PR is what evaluation trusts, so its completeness checks (every page, a
head that did not move while read) sit together.
"""

from __future__ import annotations

from dataclasses import replace

from jitflow.adapters.github import mapping
from jitflow.adapters.github.connection import GitHubConnection, PullMoved
from jitflow.core.model import PullRequestFacts, Push


class Pulls(GitHubConnection):
    """The pull requests of the repository."""

    def pull_request(self, number: int) -> PullRequestFacts:
        """The PR with all its files, reviews and commits (every page)."""
        return self._call(
            f"reading pull request #{number} of {self.repository}",
            "pull-requests: read, contents: read and issues: read",
            lambda: self._read_pull(number),
        )

    def branch_pushes(self, branch: str) -> list[Push]:
        """Every update of `branch` GitHub lists in the repository's activity, newest first,
        with GitHub's time of each (PyGithub has no method for the activity list)."""
        ref = f"refs/heads/{branch}"
        return self._call(
            f"listing the pushes to {branch} of {self.repository}",
            "contents: read",
            lambda: [mapping.push(a) for a in self._pages(f"{self._repo}/activity", {"ref": ref})],
        )

    def pulls_for_commit(self, sha: str) -> list[int]:
        """Numbers of the merged PRs GitHub associates with commit `sha`."""
        pulls = self._call(
            f"listing pull requests of commit {sha} in {self.repository}",
            "pull-requests: read and contents: read",
            lambda: self._all(self._repo_obj().get_commit(sha).get_pulls()),
        )
        return sorted({p.number for p in pulls if p.merged_at})

    def open_pulls_with_head_sha(self, sha: str) -> list[int]:
        """Numbers of the open PRs whose head is commit `sha` (for merge queues)."""
        pulls = self._call(
            f"listing open pull requests of {self.repository}",
            "pull-requests: read",
            lambda: self._all(self._repo_obj().get_pulls(state="open")),
        )
        return sorted(p.number for p in pulls if p.head.sha == sha)

    def create_pull(self, head: str, base: str, title: str, body: str) -> int:
        """Open a PR from `head` into `base`; an already open one for them is reused."""
        return self._call(
            f"opening a pull request from {head} into {base} in {self.repository}",
            "pull-requests: write and contents: write",
            lambda: self._create_pull(head, base, title, body),
        )

    def _read_pull(self, number: int) -> PullRequestFacts:
        pull = self._repo_obj().get_pull(number)
        pr = pull.raw_data  # the one GET of the PR (PyGithub completes it lazily)
        files = [mapping.changed_file(f.raw_data) for f in self._all(pull.get_files())]
        reviews = [
            r for r in (mapping.review(r.raw_data) for r in self._all(pull.get_reviews())) if r
        ]
        commits = [mapping.pull_commit(c) for c in self._all(pull.get_commits())]
        mapping.ensure_complete(number, pr, "changed_files", len(files), "files")
        mapping.ensure_complete(number, pr, "commits", len(commits), "commits")
        if commits and str(pr["head"]["sha"]) not in {c.sha for c in commits}:
            raise PullMoved
        pushes = []
        if mapping.head_in_repository(pr, self.repository):
            # A fork's pushes are not in this repository's activity: none is known, so the
            # head counts as unattributed (core.contributors refuses it). PyGithub has no
            # method for the activity list.
            ref = f"refs/heads/{pr['head']['ref']}"
            pushes = [mapping.push(a) for a in self._pages(f"{self._repo}/activity", {"ref": ref})]
        # A retargeted PR: reviews before it saw a diff against another branch.
        events = self._pages(f"{self._repo}/issues/{number}/events", {})
        facts = mapping.pull_facts(pr, files, reviews, commits, pushes)
        return replace(facts, base_changed_at=mapping.last_base_change(events))

    def _create_pull(self, head: str, base: str, title: str, body: str) -> int:
        from github.GithubException import GithubException

        repo = self._repo_obj()
        try:
            return repo.create_pull(base=base, head=head, title=title, body=body).number
        except GithubException as exc:
            if exc.status != 422:
                raise
            mine = repo.get_pulls(state="open", head=f"{self._owner}:{head}", base=base)
            existing = [p.number for p in self._all(mine)]
            if not existing:
                raise
            return existing[0]
