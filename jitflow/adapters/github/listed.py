"""Lists read as GitHub's JSON, still through PyGithub's `PaginatedList` (its pages, its retry).

Why apart: where jitflow reads two or three fields of each item of a long list (the comments
of a PR, listed before every upsert), PyGithub's typed objects cost more CPU than the request
(an `IssueComment` builds a `NamedUser`, dates and reactions per item). `Listed` keeps the item
as GitHub sent it, in `raw_data`. Imported lazily: it imports PyGithub.
"""

from __future__ import annotations

from typing import Any

from github.GithubObject import NonCompletableGithubObject
from github.PaginatedList import PaginatedList
from github.Requester import Requester


class Listed(NonCompletableGithubObject):
    """One item of a list as GitHub sent it (`raw_data`); no typed attribute is built."""

    def __init__(
        self, requester: Requester, headers: dict[str, str | int], attributes: dict[str, Any]
    ) -> None:
        self._requester = requester
        self._headers = headers
        self._rawData = attributes

    def _initAttributes(self) -> None:
        pass

    def _useAttributes(self, attributes: Any) -> None:
        pass


def listed(requester: Requester, url: str) -> PaginatedList[Listed]:
    """Every item of the list at `url` (PyGithub follows GitHub's pages), as JSON."""
    return PaginatedList(Listed, requester, url, None)
