"""The stand-in's Python control API: start it, add users and teams, act on PRs."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from jitflow.adapters.git import Git
from jitflow.sandbox.github_standin import pushes
from jitflow.sandbox.github_standin.accounts import rename
from jitflow.sandbox.github_standin.api import Api
from jitflow.sandbox.github_standin.githttp import install_hook
from jitflow.sandbox.github_standin.gitrepo import ZERO_SHA, BareRepo
from jitflow.sandbox.github_standin.landing import update_branch
from jitflow.sandbox.github_standin.messages import ApiError
from jitflow.sandbox.github_standin.render import Renderer
from jitflow.sandbox.github_standin.retarget import change_base
from jitflow.sandbox.github_standin.rulesets import ENFORCEMENTS, store_ruleset
from jitflow.sandbox.github_standin.server import (
    Recorder,
    RecordingServer,
    ServedRequest,
    make_handler,
)
from jitflow.sandbox.github_standin.service import REVIEW_EVENTS, Service
from jitflow.sandbox.github_standin.state import Fault, Team, TimelineEvent, timestamp
from jitflow.sandbox.lifecycle import LocalServer


class StandInError(RuntimeError):
    """A control-API call GitHub would refuse (the message is GitHub's)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class GitHubStandIn(LocalServer):
    """A local GitHub REST API over a real bare repository, for tests and the demo.

    PyGithub talks to it unchanged: `Github(base_url=s.api_url, auth=Auth.Token(t))`.
    """

    def __init__(self, bare_repo: Path, owner: str = "acme", repo: str = "access") -> None:
        self.bare_repo = Path(bare_repo)
        self.owner = owner
        self.repo = repo
        self._service = Service(BareRepo(self.bare_repo), owner, repo)
        self._service.add_user(owner, [], False, kind="Organization").token = ""
        self._renderer = Renderer("", owner, repo, self._service.store, self._service.git)
        self._recorder = Recorder()
        self._server: RecordingServer | None = None
        self._thread: threading.Thread | None = None
        self._api_url = ""

    # -- lifecycle -------------------------------------------------------

    def start(self) -> GitHubStandIn:
        if self._server is not None:
            return self
        install_hook(self.bare_repo)
        handler = make_handler(self._service, Api(self._service, self._renderer), self._recorder)
        server = RecordingServer(self._recorder, handler)
        self._server = server
        self._api_url = f"http://127.0.0.1:{server.server_address[1]}"
        self._renderer.api = self._api_url
        self._thread = threading.Thread(
            target=server.serve_forever, name="github-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        server = self._server
        # shutdown() waits without bound for serve_forever's loop; if that loop is stuck (once
        # seen at a test teardown under heavy load), closing the socket below frees it.
        stopper = threading.Thread(target=server.shutdown, name="standin-stop", daemon=True)
        stopper.start()
        stopper.join(timeout=10)
        server.close_listener()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __repr__(self) -> str:
        return f"GitHubStandIn({self.full_name!r}, api_url={self._api_url or 'not started'!r})"

    @property
    def api_url(self) -> str:
        if not self._api_url:
            raise RuntimeError("the GitHub stand-in is not started; call start() first")
        return self._api_url

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def git_url(self) -> str:
        """Where git clones and pushes over HTTP (pushes are judged like GitHub's)."""
        return f"{self.api_url}/{self.owner}/{self.repo}.git"

    @property
    def web_flow_public_key(self) -> str:
        """The public key GitHub's own commits (merges, rebases) are signed with."""
        return self._service.git.web_flow.public_key

    @property
    def requests_log(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of each request served, in order."""
        return [(r.method, r.path, r.status) for r in self.requests_served]

    @property
    def requests_served(self) -> list[ServedRequest]:
        """Each request served, in order, with the X-GitHub-Request-Id it was answered with."""
        with self._service.lock:
            return list(self._recorder.requests)

    @property
    def connections(self) -> list[tuple[float, int]]:
        """(time.time(), client port) of every connection this stand-in accepted."""
        return list(self._recorder.connections)

    @property
    def listener(self) -> tuple[int, int]:
        """(descriptor, socket inode) the accept loop listens on, -1s when stopped: for failure
        messages, to compare with the socket /proc shows listening on the stand-in's port."""
        if self._server is None or self._server.socket.fileno() == -1:
            return -1, -1
        descriptor = self._server.socket.fileno()
        return descriptor, os.fstat(descriptor).st_ino

    @property
    def served(self) -> list[tuple[str, int, Any]]:
        with self._service.lock:
            return list(self._recorder.served)

    # -- people ------------------------------------------------------------

    def add_user(
        self,
        login: str,
        *,
        ssh_keys: Sequence[str] = (),
        can_read_org: bool = False,
        emails: Sequence[str] | None = None,
        hides_teams: bool = False,
    ) -> str:
        """Create a user and return a fresh API token for them.

        can_read_org=False behaves like a workflow's GITHUB_TOKEN (team lookups
        answer 403); True like a token or App with members:read. hides_teams=True (with
        can_read_org=False) is a person's classic token without read:org: team lookups answer
        404, as if the team did not exist. `emails` are the account's
        verified emails (default `<login>@example.test`); commits are attributed to the
        account by these and by `<login>@users.noreply.github.com`, never by name.
        """
        with self._service.lock:
            if login in self._service.store.users:
                raise StandInError(422, f"user {login!r} already exists")
            mails = list(emails) if emails is not None else None
            user = self._service.add_user(login, list(ssh_keys), can_read_org, "User", mails)
            user.hides_teams = hides_teams
            return user.token

    def rename_user(self, old: str, new: str) -> None:
        """@old changes their username to @new (same account id; @old is free again)."""
        with self._service.lock:
            try:
                rename(self._service.store, old, new)
            except ValueError as exc:
                raise StandInError(422, str(exc)) from None

    def push(self, work: Path, branch: str, pusher: str, *, force: bool = False) -> str:
        """`git push` from the clone `work` to `branch` as @pusher (GitHub records who pushed,
        whatever the commits claim); returns the new tip."""
        with self._call():
            self._require_user(pusher)
            git = self._service.git
            before = git.branches().get(branch, ZERO_SHA)
            args = ["push", "--quiet", *(["--force"] if force else []), str(self.bare_repo)]
            Git(work).run(*args, f"HEAD:refs/heads/{branch}")
            after = git.branches()[branch]
            pushes.record(self._service.store, git, branch, before, after, pusher)
            return after

    def activities(self) -> list[dict[str, Any]]:
        """The repository activity (who moved which branch), newest first."""
        with self._call():
            store = self._service.store
            return [self._renderer.activity(a) for a in reversed(store.activities)]

    def set_ssh_keys(self, login: str, ssh_keys: Sequence[str]) -> None:
        """Replace the SSH keys @login publishes (GET /users/{login}/keys), as in Settings."""
        with self._service.lock:
            user = self._service.store.users.get(login)
            if user is None:
                raise StandInError(404, f"no user {login!r}")
            ids = self._service.store.ids
            user.ssh_keys = [(ids.next("key"), key.strip()) for key in ssh_keys]

    def add_app(self, slug: str, permissions: Mapping[str, str] | None = None) -> tuple[int, str]:
        """Install a GitHub App on the repository; return (app id, installation token).
        The token acts as `<slug>[bot]`; rulesets name the App as bypass actor by its id.
        `permissions` are the App's, e.g. {"members": "read"} (organisation Members: read,
        which team reads need; without it they answer 403)."""
        with self._service.lock:
            login = f"{slug}[bot]"
            if login in self._service.store.users:
                raise StandInError(422, f"app {slug!r} already exists")
            members = (permissions or {}).get("members") in ("read", "write")
            user = self._service.add_user(login, [], members, "Bot")
            user.app_id = self._service.store.ids.next("app")
            return user.app_id, user.token

    def token_for(self, login: str) -> str:
        with self._service.lock:
            user = self._service.store.users.get(login)
            if user is None or not user.token:
                raise StandInError(404, f"no user {login!r}")
            return user.token

    def set_actions_variable(self, name: str, value: str) -> None:
        """Settings > Secrets and variables > Actions > Variables, at repository level."""
        with self._service.lock:
            self._service.store.variables[name] = (value, timestamp())

    def set_actions_secret(self, name: str) -> None:
        """A repository secret named `name` (the stand-in keeps no value: GitHub shows none)."""
        with self._service.lock:
            self._service.store.secrets[name] = timestamp()

    def remove_actions_settings(self) -> None:
        """Delete every Actions variable and secret of the repository."""
        with self._service.lock:
            self._service.store.variables.clear()
            self._service.store.secrets.clear()

    def add_team(self, org: str, slug: str, members: Sequence[str]) -> None:
        with self._service.lock:
            store = self._service.store
            if org not in store.users:
                self._service.add_user(org, [], False, "Organization").token = ""
            team = store.teams.get((org, slug))
            if team is None:
                team = Team(store.ids.next("team"), org, slug, set())
                store.teams[(org, slug)] = team
            team.members = set(members)

    # -- pull requests -------------------------------------------------------

    def create_pull(
        self, author: str, head: str, base: str = "main", title: str = "", body: str = ""
    ) -> int:
        """Open a PR from a branch already pushed to the bare repository."""
        with self._call():
            self._require_user(author)
            return self._service.create_pull(author, head, base, title or head, body).number

    def submit_review(
        self,
        number: int,
        reviewer: str,
        state: str,
        commit_sha: str | None = None,
        body: str = "",
        submitted_at: datetime | None = None,
    ) -> int:
        """state is APPROVE, REQUEST_CHANGES or COMMENT; the commit defaults to the head; a
        test may date the review (`submitted_at`) instead of waiting for that moment."""
        if state not in REVIEW_EVENTS:
            raise StandInError(422, f"review state must be one of {sorted(REVIEW_EVENTS)}")
        with self._call():
            self._require_user(reviewer)
            text = body or ("" if state == "APPROVE" else f"{state.lower()} by {reviewer}")
            review = self._service.submit_review(
                number, reviewer, state, text, commit_sha, submitted_at
            )
            return review.id

    def dismiss_review(self, number: int, review_id: int, message: str = "") -> None:
        with self._call():
            self._service.dismiss_review(number, review_id, message or "Dismissed", self.owner)

    def merge_pull(self, number: int, merged_by: str, method: str = "merge") -> str:
        """Merge like the merge button (branch protection applies); return the PR's
        merge_commit_sha (for "rebase": the last rebased commit)."""
        with self._call():
            self._require_user(merged_by)
            return self._service.merge(number, merged_by, method)

    def update_branch(self, number: int, clicked_by: str) -> str:
        """The PR page's "Update branch" button, clicked by @clicked_by; the new head."""
        with self._call():
            self._require_user(clicked_by)
            return update_branch(self._service, number, clicked_by, None)

    def change_base(self, number: int, base: str, actor: str) -> None:
        """Retarget open PR `number` onto branch `base` (the PR page's Edit), as @actor."""
        with self._call():
            self._require_user(actor)
            change_base(self._service, number, base, actor)

    def merge_queue(
        self, numbers: Sequence[int], merged_by: str, method: str = "merge"
    ) -> list[str]:
        """Land PRs through the merge queue (one group, in order); their merge commits."""
        with self._call():
            self._require_user(merged_by)
            return self._service.merge_queue(list(numbers), merged_by, method)

    def pushes_as(self, login: str | None) -> None:
        """Who the next git pushes come from (the merged_by of a PR a push merges)."""
        with self._service.lock:
            self._service.pusher = login

    def pull(self, number: int) -> dict[str, Any]:
        """The PR's JSON exactly as GET /repos/{o}/{r}/pulls/{n} would return it."""
        with self._call():
            pull = self._service.pull(number)
            commits = len(self._service.pull_commits(pull))
            return self._renderer.pull(pull, commits, self._service.pull_files(pull))

    def pull_timeline(self, number: int) -> list[TimelineEvent]:
        """What happened to the PR, in order: opened, synchronize, reviewed, merged..."""
        with self._call():
            return list(self._service.pull(number).timeline)

    def add_comment(self, number: int, author: str, body: str) -> int:
        with self._call():
            self._require_user(author)
            return self._service.add_comment(number, author, body).id

    def comments(self, number: int) -> list[dict[str, Any]]:
        with self._call():
            self._service.pull(number)
            store = self._service.store
            mine = [c for c in store.comments.values() if c.issue_number == number]
            return [self._renderer.comment(c) for c in mine]

    def create_status(self, sha: str, creator: str, state: str, context: str = "default") -> None:
        with self._call():
            self._service.create_status(sha, creator, state, context)

    def statuses(self, sha: str) -> list[dict[str, Any]]:
        """Statuses posted on a commit, newest first."""
        with self._call():
            full = self._service.git.resolve(sha) or sha
            return [self._renderer.status(s) for s in self._service.statuses(full)]

    def set_branch_protection(self, branch: str, protection: dict[str, Any] | None) -> None:
        """Protect a branch with GitHub's PUT-body settings (None removes protection).

        e.g. {"required_pull_request_reviews": {"required_approving_review_count": 1},
              "required_status_checks": {"strict": True, "contexts": ["jitflow"]},
              "enforce_admins": True, "restrictions": None}
        """
        with self._service.lock:
            if protection is None:
                self._service.store.protection.pop(branch, None)
            else:
                self._service.store.protection[branch] = dict(protection)

    def add_ruleset(
        self,
        name: str,
        rules: Sequence[dict[str, Any]],
        *,
        include: Sequence[str] = ("~DEFAULT_BRANCH",),
        exclude: Sequence[str] = (),
        bypass_actors: Sequence[dict[str, Any]] = (),
        enforcement: str = "active",
    ) -> int:
        """Add a branch ruleset with GitHub's create-body rules; return its id.

        e.g. rules=[{"type": "pull_request", "parameters": {"required_approving_review_count": 1}},
                    {"type": "required_status_checks", "parameters":
                        {"required_status_checks": [{"context": "jitflow/policy"}]}}],
             bypass_actors=[{"actor_id": 5, "actor_type": "RepositoryRole"}]
        """
        if enforcement not in ENFORCEMENTS:
            raise StandInError(422, f"Invalid enforcement: {enforcement}")
        with self._service.lock:
            return store_ruleset(
                self._service.store,
                name,
                rules,
                include=include,
                exclude=exclude,
                bypass_actors=bypass_actors,
                enforcement=enforcement,
            )

    def remove_ruleset(self, ruleset_id: int) -> None:
        with self._service.lock:
            if self._service.store.rulesets.pop(ruleset_id, None) is None:
                raise StandInError(404, f"no ruleset {ruleset_id}")

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Make the next `times` requests matching method and path answer `status`."""
        with self._service.lock:
            rule = Fault(method.upper(), path_regex, status, times, dict(headers or {}))
            self._service.store.faults.append(rule)

    def clear_faults(self) -> None:
        """Forget injected faults that have not fired yet: the service answers normally."""
        with self._service.lock:
            self._service.store.faults.clear()

    # -- helpers ---------------------------------------------------------------

    @contextmanager
    def _call(self) -> Iterator[None]:
        """Run a control call under the lock, after following pushes, with GitHub's errors."""
        with self._service.lock:
            try:
                self._service.refresh()
                yield
            except ApiError as exc:
                detail = f"{exc.message} {exc.errors}" if exc.errors else exc.message
                raise StandInError(exc.status, detail) from None

    def _require_user(self, login: str) -> None:
        if login not in self._service.store.users:
            raise StandInError(404, f"no user {login!r}; call add_user first")
