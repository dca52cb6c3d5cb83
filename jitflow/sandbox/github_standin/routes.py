"""The REST operations the stand-in serves, named by GitHub's own operationIds.

One table drives the HTTP router and the contract-test extraction, so the
fixture can never list an operation the server does not answer (or vice versa).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    handler: str

    @property
    def pattern(self) -> re.Pattern[str]:
        """The path template as an anchored regex with one named group per parameter."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        return re.compile(f"^{regex}$")


_R = "/repos/{owner}/{repo}"

OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", "/user", "users/get-authenticated", "get_authenticated_user"),
    Operation("GET", "/user/{account_id}", "users/get-by-id", "get_user_by_id"),
    Operation("GET", "/users/{username}", "users/get-by-username", "get_user"),
    Operation("GET", "/users/{username}/keys", "users/list-public-keys-for-user", "list_keys"),
    Operation("GET", "/orgs/{org}", "orgs/get", "get_org"),
    Operation("GET", "/orgs/{org}/teams/{team_slug}", "teams/get-by-name", "get_team"),
    Operation(
        "GET",
        "/orgs/{org}/teams/{team_slug}/memberships/{username}",
        "teams/get-membership-for-user-in-org",
        "get_team_membership",
    ),
    Operation("GET", _R, "repos/get", "get_repo"),
    Operation("GET", _R + "/branches/{branch}", "repos/get-branch", "get_branch"),
    Operation(
        "GET",
        _R + "/branches/{branch}/protection",
        "repos/get-branch-protection",
        "get_branch_protection",
    ),
    Operation("GET", _R + "/rules/branches/{branch}", "repos/get-branch-rules", "get_branch_rules"),
    Operation("GET", _R + "/rulesets/{ruleset_id}", "repos/get-repo-ruleset", "get_repo_ruleset"),
    Operation("POST", _R + "/rulesets", "repos/create-repo-ruleset", "create_repo_ruleset"),
    Operation(
        "PUT",
        _R + "/branches/{branch}/protection",
        "repos/update-branch-protection",
        "update_branch_protection",
    ),
    Operation("GET", _R + "/activity", "repos/list-activities", "list_activities"),
    Operation(
        "GET", _R + "/actions/variables/{name}", "actions/get-repo-variable", "get_repo_variable"
    ),
    Operation(
        "GET", _R + "/actions/secrets/{secret_name}", "actions/get-repo-secret", "get_repo_secret"
    ),
    Operation("GET", _R + "/pulls", "pulls/list", "list_pulls"),
    Operation("POST", _R + "/pulls", "pulls/create", "create_pull"),
    Operation("GET", _R + "/pulls/{pull_number}", "pulls/get", "get_pull"),
    Operation("PATCH", _R + "/pulls/{pull_number}", "pulls/update", "update_pull"),
    Operation("GET", _R + "/pulls/{pull_number}/files", "pulls/list-files", "list_pull_files"),
    Operation(
        "GET", _R + "/pulls/{pull_number}/commits", "pulls/list-commits", "list_pull_commits"
    ),
    Operation("GET", _R + "/pulls/{pull_number}/reviews", "pulls/list-reviews", "list_reviews"),
    Operation("POST", _R + "/pulls/{pull_number}/reviews", "pulls/create-review", "create_review"),
    Operation(
        "GET", _R + "/pulls/{pull_number}/reviews/{review_id}", "pulls/get-review", "get_review"
    ),
    Operation(
        "PUT",
        _R + "/pulls/{pull_number}/reviews/{review_id}/dismissals",
        "pulls/dismiss-review",
        "dismiss_review",
    ),
    Operation("GET", _R + "/pulls/{pull_number}/merge", "pulls/check-if-merged", "check_merged"),
    Operation("PUT", _R + "/pulls/{pull_number}/merge", "pulls/merge", "merge_pull"),
    Operation(
        "PUT",
        _R + "/pulls/{pull_number}/update-branch",
        "pulls/update-branch",
        "update_pull_branch",
    ),
    Operation("GET", _R + "/commits/{ref}", "repos/get-commit", "get_commit"),
    Operation(
        "GET",
        _R + "/commits/{commit_sha}/pulls",
        "repos/list-pull-requests-associated-with-commit",
        "list_commit_pulls",
    ),
    Operation("POST", _R + "/statuses/{sha}", "repos/create-commit-status", "create_status"),
    Operation(
        "GET",
        _R + "/commits/{ref}/status",
        "repos/get-combined-status-for-ref",
        "get_combined_status",
    ),
    Operation(
        "GET",
        _R + "/commits/{ref}/statuses",
        "repos/list-commit-statuses-for-ref",
        "list_statuses",
    ),
    Operation(
        "GET", _R + "/issues/{issue_number}/comments", "issues/list-comments", "list_comments"
    ),
    Operation(
        "GET", _R + "/issues/{issue_number}/events", "issues/list-events", "list_issue_events"
    ),
    Operation(
        "POST", _R + "/issues/{issue_number}/comments", "issues/create-comment", "create_comment"
    ),
    Operation("GET", _R + "/issues/comments/{comment_id}", "issues/get-comment", "get_comment"),
    Operation(
        "PATCH", _R + "/issues/comments/{comment_id}", "issues/update-comment", "update_comment"
    ),
)

# Undocumented paths GitHub still answers and PyGithub calls (Commit.get_statuses):
# served by the documented operation whose response they share.
ALIASES: tuple[Operation, ...] = (
    Operation("GET", _R + "/statuses/{ref}", "repos/list-commit-statuses-for-ref", "list_statuses"),
)

# Webhook payload schemas the event builder's output is checked against.
WEBHOOK_SCHEMAS: tuple[str, ...] = (
    "pull-request-opened",
    "pull-request-synchronize",
    "pull-request-reopened",
    "pull-request-edited",
    "pull-request-ready-for-review",
    "pull-request-closed",
    "pull-request-review-submitted",
    "pull-request-review-edited",
    "pull-request-review-dismissed",
    "merge-group-checks-requested",
    "push",
    "workflow-dispatch",
)
