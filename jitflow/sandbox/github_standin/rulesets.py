"""Repository rulesets: stored in the shape of GitHub's create body, served like its GETs.

`RulesetApi` holds the two REST handlers (mixed into `Api`): the rules that apply to a
branch, and one ruleset with its bypass actors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jitflow.sandbox.github_standin.enforcement import applies_to
from jitflow.sandbox.github_standin.messages import Request, Response
from jitflow.sandbox.github_standin.render import Json, Renderer, node_id
from jitflow.sandbox.github_standin.service import Service, invalid, not_found
from jitflow.sandbox.github_standin.state import Store, timestamp

# GitHub answers every parameter of these rules, defaulted when the ruleset left it out.
_RULE_DEFAULTS: Mapping[str, Json] = {
    "pull_request": {
        "dismiss_stale_reviews_on_push": False,
        "require_code_owner_review": False,
        "require_last_push_approval": False,
        "required_approving_review_count": 0,
        "required_review_thread_resolution": False,
    },
    "required_status_checks": {
        "required_status_checks": [],
        "strict_required_status_checks_policy": False,
    },
}


ENFORCEMENTS = ("active", "evaluate", "disabled")


def store_ruleset(
    store: Store,
    name: str,
    rules: Sequence[Mapping[str, Any]],
    *,
    include: Sequence[str],
    exclude: Sequence[str],
    bypass_actors: Sequence[Mapping[str, Any]],
    enforcement: str,
) -> int:
    """Store a new ruleset (create-body shape plus id and times); return its id."""
    normalized = []
    for rule in rules:
        kind = str(rule["type"])
        entry: Json = {"type": kind}
        if kind in _RULE_DEFAULTS or rule.get("parameters"):
            entry["parameters"] = {**_RULE_DEFAULTS.get(kind, {}), **(rule.get("parameters") or {})}
        normalized.append(entry)
    now = timestamp()
    ruleset_id = store.ids.next("ruleset")
    store.rulesets[ruleset_id] = {
        "id": ruleset_id,
        "name": name,
        "target": "branch",
        "enforcement": enforcement,
        "conditions": {"ref_name": {"include": list(include), "exclude": list(exclude)}},
        "bypass_actors": [
            {"actor_id": a.get("actor_id"), "actor_type": a["actor_type"], "bypass_mode": "always"}
            | dict(a)
            for a in bypass_actors
        ],
        "rules": normalized,
        "created_at": now,
        "updated_at": now,
    }
    return ruleset_id


class RulesetApi:
    """GET .../rules/branches/{branch} and GET .../rulesets/{ruleset_id}."""

    svc: Service
    r: Renderer
    _repo_check: Callable[[Request], None]  # Api's: 404 unless the path names our repository

    def get_branch_rules(self, req: Request) -> Response:
        self._repo_check(req)
        branch = req.params["branch"]
        source = f"{self.svc.owner}/{self.svc.repo}"
        rules = [
            {
                **rule,
                "ruleset_source_type": "Repository",
                "ruleset_source": source,
                "ruleset_id": ruleset["id"],
            }
            for ruleset in self.svc.store.rulesets.values()
            if applies_to(ruleset, branch)
            for rule in ruleset["rules"]
        ]
        return Response(200, rules)

    def get_repo_ruleset(self, req: Request) -> Response:
        self._repo_check(req)
        try:
            ruleset = self.svc.store.rulesets.get(int(req.params["ruleset_id"]))
        except ValueError:
            raise not_found() from None
        if ruleset is None:
            raise not_found()
        return Response(200, self._render_ruleset(ruleset))

    def create_repo_ruleset(self, req: Request) -> Response:
        """POST .../rulesets: a branch ruleset from GitHub's create body."""
        self._repo_check(req)
        body = req.body
        name, rules = body.get("name"), body.get("rules", [])
        enforcement = body.get("enforcement")
        if not isinstance(name, str) or not name:
            raise invalid("Ruleset", "name", "missing_field")
        if enforcement not in ENFORCEMENTS:
            raise invalid("Ruleset", "enforcement")
        if body.get("target", "branch") != "branch" or not isinstance(rules, list):
            raise invalid("Ruleset", "rules")
        if any(not isinstance(r, dict) or "type" not in r for r in rules):
            raise invalid("Ruleset", "rules")
        ref_name = (body.get("conditions") or {}).get("ref_name") or {}
        store = self.svc.store
        ruleset_id = store_ruleset(
            store,
            name,
            rules,
            include=list(ref_name.get("include", ["~DEFAULT_BRANCH"])),
            exclude=list(ref_name.get("exclude", [])),
            bypass_actors=list(body.get("bypass_actors", [])),
            enforcement=enforcement,
        )
        return Response(201, self._render_ruleset(store.rulesets[ruleset_id]))

    def _render_ruleset(self, ruleset: Json) -> Json:
        url = f"{self.r.repo_api}/rulesets/{ruleset['id']}"
        return {
            **ruleset,
            "source_type": "Repository",
            "source": f"{self.svc.owner}/{self.svc.repo}",
            "node_id": node_id("RRS", int(ruleset["id"])),
            "current_user_can_bypass": "never",
            "_links": {
                "self": {"href": url},
                "html": {"href": f"{self.r.repo_web}/rules/{ruleset['id']}"},
            },
        }
