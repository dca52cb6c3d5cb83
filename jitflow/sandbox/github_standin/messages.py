"""One REST request and response as the handlers see them (shared by api.py and the
handler mixins such as rulesets.py, so none of them imports another)."""

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
