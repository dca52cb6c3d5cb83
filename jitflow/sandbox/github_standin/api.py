"""One method per REST operation (names match `routes.OPERATIONS[*].handler`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from jitflow.sandbox.github_standin.landing import PullBranchApi
from jitflow.sandbox.github_standin.messages import ApiError, Request, Response
from jitflow.sandbox.github_standin.orgs import OrgApi
from jitflow.sandbox.github_standin.protection import render_protection
from jitflow.sandbox.github_standin.render import Json, Renderer
from jitflow.sandbox.github_standin.retarget import PullEditApi
from jitflow.sandbox.github_standin.rulesets import RulesetApi
from jitflow.sandbox.github_standin.service import Service, invalid, not_found

__all__ = ["Api", "Request", "Response"]


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ApiError(422, f"Invalid value for {name}: {value!r}") from None


class Api(RulesetApi, PullBranchApi, PullEditApi, OrgApi):
    def __init__(self, service: Service, renderer: Renderer) -> None:
        self.svc = service
        self.r = renderer

    # -- helpers ---------------------------------------------------------

    def _paginate(self, req: Request, items: list[Any]) -> Response:
        """Slice a list like GitHub: per_page (max 100), page, and a Link header."""
        per_page = min(max(_int(req.query.get("per_page", "30"), "per_page"), 1), 100)
        page = max(_int(req.query.get("page", "1"), "page"), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = []

        def link(number: int, rel: str) -> str:
            query = {**req.query, "per_page": str(per_page), "page": str(number)}
            return f'<{self.r.api}{req.path}?{urlencode(query)}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        headers = {"Link": ", ".join(links)} if links else {}
        return Response(200, items[(page - 1) * per_page : page * per_page], headers)

    def _repo_check(self, req: Request) -> None:
        if (req.params["owner"].lower(), req.params["repo"].lower()) != (
            self.svc.owner.lower(),
            self.svc.repo.lower(),
        ):
            raise not_found()

    def _number(self, req: Request, name: str = "pull_number") -> int:
        self._repo_check(req)
        try:
            return int(req.params[name])
        except ValueError:
            raise not_found() from None

    # -- users, orgs, teams ----------------------------------------------

    def get_authenticated_user(self, req: Request) -> Response:
        data = self.r.full_user(req.user)
        data.update(
            user_view_type="private",
            private_gists=0,
            total_private_repos=1,
            owned_private_repos=0,
            disk_usage=1,
            collaborators=0,
            two_factor_authentication=True,
        )
        return Response(200, data)

    def get_user(self, req: Request) -> Response:
        user = self.svc.store.users.get(req.params["username"])
        if user is None:
            raise not_found()
        return Response(200, self.r.full_user(user))

    def get_user_by_id(self, req: Request) -> Response:
        """An account by its id, whatever its login is now (`GET /user/{account_id}`)."""
        wanted = req.params["account_id"]
        user = next((u for u in self.svc.store.users.values() if str(u.id) == wanted), None)
        if user is None:
            raise not_found()
        return Response(200, self.r.full_user(user))

    def list_keys(self, req: Request) -> Response:
        user = self.svc.store.users.get(req.params["username"])
        if user is None:
            raise not_found()
        return self._paginate(req, [{"id": kid, "key": key} for kid, key in user.ssh_keys])

    def list_activities(self, req: Request) -> Response:
        """Repository activity, newest first, optionally for one ref / actor / type."""
        self._repo_check(req)
        ref = req.query.get("ref")
        wanted = ref if ref is None or ref.startswith("refs/") else f"refs/heads/{ref}"
        actor, kind = req.query.get("actor"), req.query.get("activity_type")
        items = [
            self.r.activity(a)
            for a in reversed(self.svc.store.activities)
            if (wanted is None or a.ref == wanted)
            and (actor is None or a.actor == actor)
            and (kind is None or a.activity_type == kind)
        ]
        return self._paginate(req, items)

    # -- repository ------------------------------------------------------

    def get_repo(self, req: Request) -> Response:
        self._repo_check(req)
        return Response(200, self.r.repository())

    def get_branch(self, req: Request) -> Response:
        self._repo_check(req)
        name = req.params["branch"]
        sha = self.svc.git.branches().get(name)
        if sha is None:
            raise ApiError(404, "Branch not found")
        url = f"{self.r.repo_api}/branches/{name}"
        protection = self.svc.store.protection.get(name)
        rendered: Json = {
            "enabled": bool(protection),
            "required_status_checks": {
                "enforcement_level": "everyone" if protection else "off",
                "contexts": list(
                    (protection or {}).get("required_status_checks", {}).get("contexts", [])
                ),
                "checks": [],
            },
        }
        if protection:
            rendered = {**render_protection(protection, f"{url}/protection"), **{"enabled": True}}
        return Response(
            200,
            {
                "name": name,
                "commit": self.r.commit(self.svc.git.commit(sha)),
                "_links": {"self": url, "html": f"{self.r.repo_web}/tree/{name}"},
                "protected": bool(protection),
                "protection": rendered,
                "protection_url": f"{url}/protection",
            },
        )

    def get_branch_protection(self, req: Request) -> Response:
        self._repo_check(req)
        branch = req.params["branch"]
        protection = self.svc.store.protection.get(branch)
        if not protection:
            raise ApiError(404, "Branch not protected")
        url = f"{self.r.repo_api}/branches/{branch}/protection"
        return Response(200, render_protection(protection, url))

    def update_branch_protection(self, req: Request) -> Response:
        """PUT .../protection: GitHub requires all four top-level keys (null to turn off)."""
        self._repo_check(req)
        required = (
            "required_status_checks",
            "enforce_admins",
            "required_pull_request_reviews",
            "restrictions",
        )
        missing = [key for key in required if key not in req.body]
        if missing:
            raise invalid("Branch", missing[0], "missing_field")
        branch = req.params["branch"]
        if self.svc.git.resolve(branch) is None:
            raise ApiError(404, "Branch not found")
        self.svc.store.protection[branch] = dict(req.body)
        url = f"{self.r.repo_api}/branches/{branch}/protection"
        return Response(200, render_protection(req.body, url))

    def get_commit(self, req: Request) -> Response:
        self._repo_check(req)
        sha = self.svc.git.resolve(req.params["ref"])
        if sha is None:
            raise ApiError(422, f"No commit found for SHA: {req.params['ref']}")
        info = self.svc.git.commit(sha)
        parent = info.parents[0] if info.parents else None
        files = self.svc.git.files(parent, sha) if parent else ()
        return Response(200, self.r.commit(info, files))

    # -- pull requests ---------------------------------------------------

    def _pull_json(self, number: int) -> Json:
        pull = self.svc.pull(number)
        commits = len(self.svc.pull_commits(pull))
        return self.r.pull(pull, commits, self.svc.pull_files(pull))

    def list_pulls(self, req: Request) -> Response:
        self._repo_check(req)
        state = req.query.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise invalid("PullRequest", "state")
        head = req.query.get("head")
        base = req.query.get("base")
        pulls = [
            p
            for p in self.svc.store.pulls.values()
            if state in ("all", p.state)
            and (head is None or f"{self.svc.owner}:{p.head_ref}" == head or p.head_ref == head)
            and (base is None or p.base_ref == base)
        ]
        newest_first = req.query.get("direction", "desc") == "desc"
        pulls.sort(key=lambda p: p.number, reverse=newest_first)
        return self._paginate(req, [self.r.pull_simple(p) for p in pulls])

    def create_pull(self, req: Request) -> Response:
        self._repo_check(req)
        body = req.body
        pull = self.svc.create_pull(
            req.user.login,
            str(body.get("head", "")),
            str(body.get("base", "")),
            str(body.get("title") or ""),
            str(body.get("body") or ""),
            bool(body.get("draft", False)),
        )
        data = self._pull_json(pull.number)
        return Response(201, data, {"Location": data["url"]})

    def get_pull(self, req: Request) -> Response:
        return Response(200, self._pull_json(self._number(req)))

    def list_pull_files(self, req: Request) -> Response:
        pull = self.svc.pull(self._number(req))
        files = [self.r.file(f, pull.head_sha) for f in self.svc.pull_files(pull)]
        return self._paginate(req, files)

    def list_pull_commits(self, req: Request) -> Response:
        pull = self.svc.pull(self._number(req))
        commits = [self.r.commit(self.svc.git.commit(c)) for c in self.svc.pull_commits(pull)]
        return self._paginate(req, commits)

    def list_reviews(self, req: Request) -> Response:
        pull = self.svc.pull(self._number(req))
        visible = [r for r in pull.reviews if r.state != "PENDING" or r.user == req.user.login]
        return self._paginate(req, [self.r.review(pull, r) for r in visible])

    def create_review(self, req: Request) -> Response:
        number = self._number(req)
        event = req.body.get("event")
        review = self.svc.submit_review(
            number,
            req.user.login,
            str(event) if event else None,
            str(req.body.get("body") or ""),
            req.body.get("commit_id"),
        )
        return Response(200, self.r.review(self.svc.pull(number), review))

    def get_review(self, req: Request) -> Response:
        pull = self.svc.pull(self._number(req))
        review = self.svc.store.review(pull, _int(req.params["review_id"], "review_id"))
        if review is None:
            raise not_found()
        return Response(200, self.r.review(pull, review))

    def dismiss_review(self, req: Request) -> Response:
        number = self._number(req)
        message = req.body.get("message")
        if not message:
            raise invalid("PullRequestReview", "message", "missing_field")
        review_id = _int(req.params["review_id"], "review_id")
        review = self.svc.dismiss_review(number, review_id, str(message), req.user.login)
        return Response(200, self.r.review(self.svc.pull(number), review))

    def check_merged(self, req: Request) -> Response:
        pull = self.svc.pull(self._number(req))
        return Response(204 if pull.merged else 404, None)

    def merge_pull(self, req: Request) -> Response:
        body = req.body
        sha = self.svc.merge(
            self._number(req),
            req.user.login,
            str(body.get("merge_method") or "merge"),
            body.get("sha"),
            body.get("commit_title"),
            body.get("commit_message"),
        )
        return Response(
            200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}
        )

    def list_commit_pulls(self, req: Request) -> Response:
        self._repo_check(req)
        sha = self.svc.git.resolve(req.params["commit_sha"])
        if sha is None:
            raise ApiError(422, f"No commit found for SHA: {req.params['commit_sha']}")
        return self._paginate(req, [self.r.pull_simple(p) for p in self.svc.pulls_for_commit(sha)])

    # -- statuses --------------------------------------------------------

    def create_status(self, req: Request) -> Response:
        self._repo_check(req)
        body = req.body
        status = self.svc.create_status(
            req.params["sha"],
            req.user.login,
            str(body.get("state", "")),
            str(body.get("context") or "default"),
            body.get("description"),
            body.get("target_url"),
        )
        return Response(201, self.r.status(status))

    def _ref_sha(self, req: Request) -> str:
        self._repo_check(req)
        sha = self.svc.git.resolve(req.params["ref"])
        if sha is None:
            raise ApiError(404, f"No commit found for SHA: {req.params['ref']}")
        return sha

    def get_combined_status(self, req: Request) -> Response:
        sha = self._ref_sha(req)
        state, latest = self.svc.combined_state(sha)
        page = self._paginate(req, [self.r.status(s) for s in latest])
        page.body = {
            "state": state,
            "statuses": page.body,
            "sha": sha,
            "total_count": len(latest),
            "repository": self.r.minimal_repository(),
            "commit_url": f"{self.r.repo_api}/commits/{sha}",
            "url": f"{self.r.repo_api}/commits/{sha}/status",
        }
        return page

    def list_statuses(self, req: Request) -> Response:
        sha = self._ref_sha(req)
        return self._paginate(req, [self.r.status(s) for s in self.svc.statuses(sha)])

    # -- issue comments ----------------------------------------------------

    def list_comments(self, req: Request) -> Response:
        number = self._number(req, "issue_number")
        self.svc.pull(number)
        comments = [c for c in self.svc.store.comments.values() if c.issue_number == number]
        return self._paginate(req, [self.r.comment(c) for c in comments])

    def create_comment(self, req: Request) -> Response:
        number = self._number(req, "issue_number")
        comment = self.svc.add_comment(number, req.user.login, str(req.body.get("body") or ""))
        data = self.r.comment(comment)
        return Response(201, data, {"Location": data["url"]})

    def _comment_id(self, req: Request) -> int:
        return self._number(req, "comment_id")

    def get_comment(self, req: Request) -> Response:
        comment = self.svc.store.comments.get(self._comment_id(req))
        if comment is None:
            raise not_found()
        return Response(200, self.r.comment(comment))

    def update_comment(self, req: Request) -> Response:
        comment = self.svc.edit_comment(
            self._comment_id(req), req.user.login, str(req.body.get("body") or "")
        )
        return Response(200, self.r.comment(comment))
