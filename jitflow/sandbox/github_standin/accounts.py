"""Accounts as GitHub keeps them: a numeric id that never changes, a login that can.

GitHub lets a user rename their account (Settings > Account > Change username). The account
keeps its id (`id`, `node_id` in every user object); every object it made (PRs, reviews,
comments, statuses, pushes) shows the new login from then on; the old login is freed and
anyone may register it, getting a new account with a new id. Old logins redirect for
repositories, never for identities: `GET /users/{old}` answers the newcomer.

The first account to register a login here gets an id derived from the login (so fixtures,
the demo and the shipped example groups file can pin it); an account registering a login that
was ever used before gets a fresh id from a range the derived ids never reach.
"""

from __future__ import annotations

import hashlib
import re

from jitflow.sandbox.github_standin.state import Store

_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
REUSED_ID_BASE = 100_000_000  # above every derived id (at most 24 bits + collision bumps)


def first_id(login: str) -> int:
    """The id of the first account to register `login` in a stand-in (24 bits of a hash)."""
    return int(hashlib.sha256(login.lower().encode()).hexdigest()[:6], 16) + 1


def new_account_id(store: Store, login: str) -> int:
    """The id a new account registering `login` gets."""
    taken = {user.id for user in store.users.values()}
    if login.lower() in store.used_logins:
        return store.ids.next("reused-user") + REUSED_ID_BASE
    uid = first_id(login)
    while uid in taken:
        uid += 1 << 24
    return uid


def rename(store: Store, old: str, new: str) -> None:
    """Rename account @old to @new, as GitHub does: same id, every object shows @new, @old is
    free for anyone to register."""
    user = store.users.get(old)
    if user is None or user.kind != "User":
        raise ValueError(f"no user {old!r}")
    if not _LOGIN.match(new) or any(u.lower() == new.lower() for u in store.users):
        raise ValueError(f"login {new!r} is invalid or taken")
    del store.users[old]
    user.login = new
    store.users[new] = user
    store.used_logins.add(new.lower())

    def moved(login: str | None) -> str | None:
        return new if login == old else login

    for pull in store.pulls.values():
        pull.author = new if pull.author == old else pull.author
        pull.merged_by = moved(pull.merged_by)
        for review in pull.reviews:
            review.user = new if review.user == old else review.user
        for event in pull.timeline:
            event.actor = new if event.actor == old else event.actor
        for issue_event in pull.issue_events:
            issue_event.actor = new if issue_event.actor == old else issue_event.actor
    for comment in store.comments.values():
        comment.user = new if comment.user == old else comment.user
    for status in store.statuses:
        status.creator = new if status.creator == old else status.creator
    for activity in store.activities:
        activity.actor = moved(activity.actor)
    for team in store.teams.values():
        if old in team.members:
            team.members = (team.members - {old}) | {new}
