"""What to say when GitHub won't: failure messages and permission hints, free of any GitHub library.

Why apart: these messages are what a person reads when jitflow stops (what failed, why, which
permission the token likely lacks, GitHub's own words and request id); `connection` scrubs
tokens from them before they leave the adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jitflow.adapters.github.http import (
    is_rate_limited,
    is_transient,
    lowered_headers,
    rate_limit_wait,
)


@dataclass(frozen=True)
class Failure:
    """What GitHub answered to one action (GitHub's words in `said`), and what it needed."""

    status: int
    headers: Mapping[str, str]
    said: str
    action: str
    permission: str
    attempts: int
    now: float


def describe_failure(failure: Failure) -> str:
    """A message for a person: what failed, why, and what to do (GitHub's words in `said`),
    with GitHub's request id, which GitHub support asks for and which tells whose answer it was."""
    message = _failure_reason(failure)
    request_id = str(lowered_headers(failure.headers).get("x-github-request-id", "")).strip()
    return f"{message} [GitHub request id {request_id}]" if request_id else message


def _failure_reason(failure: Failure) -> str:
    status, headers, said = failure.status, failure.headers, failure.said
    action, permission, attempts = failure.action, failure.permission, failure.attempts
    detail = f": {said}" if said else ""
    if is_rate_limited(status, headers, said):
        wait = rate_limit_wait(headers, failure.now)
        when = f" (it resets in about {int(wait)} s)" if wait is not None else ""
        return (
            f"GitHub's rate limit stopped {action} after {attempts} attempt(s){when}: "
            "try again later, or use a GitHub App token, which has a higher limit"
        )
    if status == 401:
        return (
            f"GitHub rejected the token while {action} (HTTP 401, bad credentials): "
            "check that GITHUB_TOKEN holds a valid token that has not expired"
        )
    if status == 403:
        return f"GitHub refused {action} (HTTP 403{detail}): the token lacks {permission}"
    if status == 404:
        needs = f" (it needs {permission})" if permission else ""
        return (
            f"GitHub found nothing while {action} (HTTP 404): it does not exist, "
            f"or the token cannot see it{needs}"
        )
    if is_transient(status):
        return (
            f"GitHub failed while {action} (HTTP {status}, {attempts} attempts): "
            "GitHub may be having trouble; try again later"
        )
    return f"GitHub rejected {action} (HTTP {status}{detail})"


def github_said(data: Any) -> str:
    """GitHub's own explanation in an error body (`message` plus any `errors`), kept short."""
    body = data if isinstance(data, dict) else {}
    parts = [str(body.get("message") or "")]
    for error in body.get("errors") or []:
        parts.append(str(error.get("message") or "") if isinstance(error, dict) else str(error))
    return "; ".join(p for p in parts if p)[:300]


# What the generated workflows read (jitflow init's templates): the token of a GitHub App
# that holds nothing but Members: read, or a token stored as a secret.
TEAMS_SETUP = (
    "in the access repository, set the variable JITFLOW_TEAMS_APP_ID and the secret "
    "JITFLOW_TEAMS_APP_PRIVATE_KEY (a GitHub App with Organization permissions > Members: "
    "read and nothing else, installed on the organisation), or the secret JITFLOW_TEAMS_TOKEN "
    "(a fine-grained token with Members: read); see the README, Teams"
)


def team_permission(org: str, *, teams_token_set: bool) -> str:
    """What a token needs to read teams of `org`, and how to give the workflows one."""
    if not teams_token_set:
        return (
            f"Members: read on the organisation {org}, which the workflow GITHUB_TOKEN never "
            f"has, and no JITFLOW_TEAMS_TOKEN is set: {TEAMS_SETUP}"
        )
    return (
        f"Members: read on the organisation {org}: the token in JITFLOW_TEAMS_TOKEN must be "
        f"a GitHub App's installed on {org} with Organization permissions > Members: read "
        "(minted with permission-members: read), or a fine-grained token with Members: read "
        f"that can see the team"
    )
