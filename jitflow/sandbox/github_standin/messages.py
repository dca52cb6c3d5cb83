"""One REST request, its response and an error response as the handlers see them (shared by
api.py, the service and the handler mixins such as rulesets.py, so none of them imports
another)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jitflow.sandbox.github_standin.state import User

Json = dict[str, Any]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Json
    user: User


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """A GitHub error response: status, message and (for 422) the `errors` list."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}
