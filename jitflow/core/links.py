"""Links from evidence to GitHub's pages, derived from a git remote URL (pure).

Works for github.com and GitHub Enterprise Server alike: the web host is the remote's host, so
`git@ghe.example.com:acme/access.git` links to `https://ghe.example.com/acme/access`.
Credentials in a remote URL (a token in `https://x-access-token:...@github.com/...`) are
dropped, never copied into a report.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*)$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class RepoLinks:
    """The web pages of one GitHub repository."""

    base: str  # https://host/owner/name

    @property
    def name(self) -> str:
        return "/".join(self.base.split("/")[-2:])

    def commit(self, sha: str) -> str:
        return f"{self.base}/commit/{sha}"

    def pull(self, number: int) -> str:
        return f"{self.base}/pull/{number}"

    def blob(self, sha: str, path: str) -> str:
        return f"{self.base}/blob/{sha}/{path}"


def links_from_remote(url: str) -> RepoLinks | None:
    """The repository's web base for a remote URL, or None for a local path or odd URL."""
    url = url.strip()
    host, path = "", ""
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http", "ssh", "git"):
            return None
        host, path = parts.hostname or "", parts.path
        if parts.scheme == "http" and parts.port:
            host = f"{host}:{parts.port}"  # a plain-HTTP test or lab server keeps its port
        scheme = "http" if parts.scheme == "http" else "https"
    elif match := _SCP_LIKE.match(url):
        host, path, scheme = match.group("host"), match.group("path"), "https"
    else:
        return None
    segments = [s for s in path.strip("/").removesuffix(".git").split("/") if s]
    if not host or len(segments) < 2 or not all(_NAME.match(s) for s in segments[-2:]):
        return None
    return RepoLinks(f"{scheme}://{host}/{segments[-2]}/{segments[-1]}")


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine: where plain http may carry a token or a payload."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
