"""The minimal Vault HTTP client the dev set-up writes with (the adapter's hvac client is for
the runner)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

from jitflow.errors import VaultError


class SetupApi:
    """Minimal Vault HTTP client for setup (the adapter's hvac client is for the runner);
    errors never echo request bodies."""

    def __init__(self, addr: str, token: str) -> None:
        self._addr = addr.rstrip("/")
        self._session = requests.Session()
        self._session.headers["X-Vault-Token"] = token

    def __repr__(self) -> str:
        return f"SetupApi({self._addr!r}, token=<redacted>)"

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        try:
            response = self._session.request(
                method, f"{self._addr}/v1/{path}", data=json.dumps(body or {}), timeout=30
            )
        except requests.RequestException as exc:
            raise VaultError(
                f"setup: cannot reach Vault at {self._addr}: {type(exc).__name__}"
            ) from exc
        if response.status_code >= 400:
            errors = response.json().get("errors") if response.content else None
            raise VaultError(f"setup: {method} {path} failed ({response.status_code}): {errors}")
        return response.json() if response.content else None

    def write(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self.call("POST", path, body)

    def read(self, path: str) -> Any:
        return self.call("GET", path)

    def close(self) -> None:
        self._session.close()
