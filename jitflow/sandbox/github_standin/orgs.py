"""Organisations and their teams, as a token sees them; the repository's Actions variables
and secrets (a secret's name and dates only, never its value).

Team reads need the organisation's Members: read. GitHub answers a token without it in two
ways: an integration token (the workflow's GITHUB_TOKEN, a GitHub App installation token
minted without `members`) gets 403 "Resource not accessible by integration"; a person's
classic token without `read:org` gets 404, as if the team did not exist. A member who is not
in the team is a 404 on the membership, the team itself still readable.
"""

from __future__ import annotations

from collections.abc import Callable

from jitflow.sandbox.github_standin.messages import ApiError, Request, Response
from jitflow.sandbox.github_standin.render import Renderer, node_id
from jitflow.sandbox.github_standin.service import Service, not_found
from jitflow.sandbox.github_standin.state import User

_ORG_USER_KEYS = ("login", "id", "node_id", "avatar_url", "html_url", "type")


class OrgApi:
    """GET /orgs/{org}, its teams and team memberships; Actions variables and secrets."""

    svc: Service
    r: Renderer
    _repo_check: Callable[[Request], None]

    def _org(self, name: str) -> User:
        org = self.svc.store.users.get(name)
        if org is None or org.kind != "Organization":
            raise not_found()
        return org

    def get_org(self, req: Request) -> Response:
        org = self._org(req.params["org"])
        url = f"{self.r.api}/orgs/{org.login}"
        return Response(
            200,
            {
                **{k: v for k, v in self.r.user(org.login).items() if k in _ORG_USER_KEYS},
                "url": url,
                "repos_url": f"{url}/repos",
                "events_url": f"{url}/events",
                "hooks_url": f"{url}/hooks",
                "issues_url": f"{url}/issues",
                "members_url": f"{url}/members{{/member}}",
                "public_members_url": f"{url}/public_members{{/member}}",
                "description": None,
                "has_organization_projects": False,
                "has_repository_projects": False,
                "public_repos": 0,
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "created_at": org.created_at,
                "updated_at": org.created_at,
                "archived_at": None,
            },
        )

    def _team_access(self, req: Request) -> tuple[str, str]:
        org, slug = req.params["org"], req.params["team_slug"]
        self._org(org)
        if not req.user.can_read_org:
            if req.user.hides_teams:
                raise not_found()  # GitHub hides from a person's token what it can't read
            raise ApiError(403, "Resource not accessible by integration")
        if (org, slug) not in self.svc.store.teams:
            raise not_found()
        return org, slug

    def get_team(self, req: Request) -> Response:
        org, slug = self._team_access(req)
        team = self.svc.store.teams[(org, slug)]
        url = f"{self.r.api}/orgs/{org}/teams/{slug}"
        organization = self.get_org(req).body
        organization.update(type="Organization", followers=0, following=0)
        return Response(
            200,
            {
                "id": team.id,
                "node_id": node_id("T", team.id),
                "url": url,
                "html_url": f"{self.r.web}/orgs/{org}/teams/{slug}",
                "name": slug,
                "slug": slug,
                "description": None,
                "privacy": "closed",
                "notification_setting": "notifications_enabled",
                "permission": "pull",
                "members_url": f"{url}/members{{/member}}",
                "repositories_url": f"{url}/repos",
                "parent": None,
                "members_count": len(team.members),
                "repos_count": 1,
                "created_at": organization["created_at"],
                "updated_at": organization["created_at"],
                "organization": organization,
                "type": "organization",
            },
        )

    def get_team_membership(self, req: Request) -> Response:
        org, slug = self._team_access(req)
        username = req.params["username"]
        if username not in self.svc.store.teams[(org, slug)].members:
            raise not_found()
        url = f"{self.r.api}/orgs/{org}/teams/{slug}/memberships/{username}"
        return Response(200, {"url": url, "role": "member", "state": "active"})

    def get_repo_variable(self, req: Request) -> Response:
        self._repo_check(req)
        found = self.svc.store.variables.get(req.params["name"])
        if found is None:
            raise not_found()
        value, at = found
        body = {"name": req.params["name"], "value": value, "created_at": at, "updated_at": at}
        return Response(200, body)

    def get_repo_secret(self, req: Request) -> Response:
        self._repo_check(req)
        name = req.params["secret_name"]
        at = self.svc.store.secrets.get(name)
        if at is None:
            raise not_found()
        return Response(200, {"name": name, "created_at": at, "updated_at": at})
