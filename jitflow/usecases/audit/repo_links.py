"""Which repository a report speaks of: its name and GitHub links, from the git remote.

Kept apart from the HTML evidence pack so that the OCSF export (and through it sync's
outbound delivery) names the repository without loading the HTML reporter."""

from __future__ import annotations

from pathlib import Path

from jitflow.adapters.git import Git
from jitflow.adapters.git.remote import remote_url
from jitflow.core.links import RepoLinks, links_from_remote


def repository_links(git: Git, remote: str = "origin") -> RepoLinks | None:
    """The GitHub pages of the repository behind `remote`, when it is a GitHub remote."""
    url = remote_url(git, remote)
    return links_from_remote(url) if url is not None else None


def repository_name(git: Git, links: RepoLinks | None) -> str:
    return links.name if links else Path(git.path).resolve().name
