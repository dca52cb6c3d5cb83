"""Who changed a PR, judged from what GitHub vouches for rather than what commits claim.

A commit's author and committer are claims anyone can write; GitHub ties them to an account
only by a verified email, and it records who pushed each ref update. So, like policy-bot's
contributor rule but stricter for request PRs (a request is its requester's own statement):

- every commit must be tied by GitHub to the PR author, as author and as committer
  (GitHub's `web-flow` may commit only with a signature GitHub verified);
- a commit whose email is linked to no account (author or committer `null`) is refused;
- a `Co-authored-by:` trailer naming anyone but the author is refused;
- every push that brought a PR commit must be the author's, as GitHub recorded it.

Everyone named anywhere (authors, committers, co-authors, pushers) is a contributor and
never counts as an approver, even where the PR is refused anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jitflow.core.model import Finding, PullCommit, PullRequestFacts, Push

# GitHub's own identities: they vouch for nobody, and approve nothing.
NOT_A_PERSON = frozenset({"web-flow", "github", "github-actions[bot]"})
_LOGIN = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}")
_TRAILER = re.compile(r"^(?P<name>.*?)\s*<(?P<email>[^<>]*)>\s*$")


@dataclass(frozen=True)
class Contributions:
    contributors: frozenset[str]  # lower-case logins that changed the PR
    findings: tuple[Finding, ...]  # why the PR can't be trusted as the author's own


def co_author_login(trailer: str) -> str | None:
    """The login a `Co-authored-by:` value provably names: a GitHub noreply address."""
    match = _TRAILER.match(trailer)
    if match is None:
        return None
    local, _, domain = match.group("email").strip().lower().partition("@")
    login = local.split("+", 1)[-1]
    return login if domain == "users.noreply.github.com" and _LOGIN.fullmatch(login) else None


def _named_logins(trailer: str) -> set[str]:
    """The login a trailer names: its noreply login, else a name that looks like a login
    (a guess, used only to keep that person from approving)."""
    login = co_author_login(trailer)
    if login:
        return {login}
    match = _TRAILER.match(trailer)
    name = (match.group("name") if match else trailer).strip().lower()
    return {name} if _LOGIN.fullmatch(name) else set()


def judge_contributions(pr: PullRequestFacts) -> Contributions:
    """Contributors of `pr` and the findings that refuse it as not the author's own."""
    author = pr.author.lower()
    findings: list[Finding] = []
    contributors: set[str] = set()
    for commit in pr.commits:
        findings += _commit_findings(commit, author)
        contributors |= {
            login.lower() for login in (commit.author_login, commit.committer_login) if login
        }
        for trailer in commit.co_authors:
            named = _named_logins(trailer)
            contributors |= named
            if co_author_login(trailer) != author:
                findings.append(
                    _finding(
                        "co-author",
                        f"commit {commit.sha[:7]} names co-author {trailer!r}: a request is "
                        "its requester's own, so a request PR can't be co-authored; remove the "
                        "trailer",
                    )
                )
    if pr.pushes is not None:
        shas = {commit.sha for commit in pr.commits}
        relevant = [p for p in pr.pushes if p.after in shas]
        contributors |= {p.actor.lower() for p in relevant if p.actor}
        findings += _push_findings(relevant, pr.head_sha, author)
    return Contributions(frozenset(contributors - NOT_A_PERSON), tuple(findings))


def _commit_findings(commit: PullCommit, author: str) -> list[Finding]:
    short = commit.sha[:7]
    out = []
    for role, login in (("author", commit.author_login), ("committer", commit.committer_login)):
        if login is None:
            out.append(
                _finding(
                    "commit-identity-unlinked",
                    f"commit {short}: its {role} email is linked to no GitHub account, so "
                    "GitHub can't say who made it; commit with an email verified on your "
                    "account (or your noreply address) and push again",
                )
            )
        elif login.lower() == author:
            continue
        elif role == "committer" and login.lower() == "web-flow" and commit.verified:
            continue  # made by GitHub itself (web edit, update branch), signed by GitHub
        else:
            out.append(
                _finding(
                    "commit-not-by-author",
                    f"commit {short} has {role} @{login}, not the PR author @{author}: only "
                    "the requester writes a request PR (others comment, or open their own)",
                )
            )
    return out


def _push_findings(pushes: list[Push], head_sha: str, author: str) -> list[Finding]:
    out = []
    for push in pushes:
        if push.actor is None or push.actor.lower() != author:
            who = f"@{push.actor}" if push.actor else "an account GitHub no longer knows"
            out.append(
                _finding(
                    "pushed-by-other",
                    f"{who} pushed commit {push.after[:7]} to this PR's branch: only the "
                    "requester may push to a request PR",
                )
            )
    if head_sha and not any(p.after == head_sha for p in pushes):
        out.append(
            _finding(
                "push-unattributed",
                f"GitHub records no push of the head commit {head_sha[:7]}, so it can't say "
                "who pushed it; push the branch again",
            )
        )
    return out


def _finding(code: str, message: str) -> Finding:
    return Finding(code, message)
