"""`jitflow doctor` for `secret` grants: an engine is mounted at the path, and the Vault
policies the grant token carries let it read the path the way the policy says (GET: `read`,
POST: `update`), judged from the policies' text as Vault would match their paths.

Pure: the HCL (or JSON) text of each ACL policy in, problems out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from jitflow.core.model import GrantSpec

_HCL_RULE = re.compile(r'path\s+"([^"]+)"\s*\{([^{}]*)\}', re.S)
_CAPABILITIES = re.compile(r"capabilities\s*=\s*\[([^\]]*)\]", re.S)


def needed_capability(method: str) -> str:
    return "read" if method == "GET" else "update"


def acl_rules(text: str) -> list[tuple[str, frozenset[str]]]:
    """(path pattern, capabilities) of each rule of an ACL policy, HCL or JSON."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            paths = json.loads(stripped).get("path") or {}
        except (ValueError, AttributeError):
            return []
        return [
            (str(p), frozenset(str(c) for c in (body or {}).get("capabilities") or []))
            for p, body in paths.items()
            if isinstance(body, dict)
        ]
    rules = []
    for pattern, body in _HCL_RULE.findall(text):
        found = _CAPABILITIES.search(body)
        caps = re.findall(r'"([^"]+)"', found.group(1)) if found else []
        rules.append((pattern, frozenset(caps)))
    return rules


def path_matches(pattern: str, path: str) -> bool:
    """Vault's ACL path matching: `+` is one segment, a trailing `*` any suffix."""
    regex = "".join(
        "[^/]+" if part == "+" else re.escape(part) for part in re.split(r"(\+)", pattern)
    )
    if regex.endswith(re.escape("*")):
        regex = regex[: -len(re.escape("*"))] + ".*"
    return re.fullmatch(regex, path) is not None


def capabilities_on(path: str, texts: Sequence[str]) -> frozenset[str]:
    """What several policies together allow on `path`: the most specific matching rule of
    each (Vault prefers an exact match, then the longest pattern), `deny` wins."""
    allowed: set[str] = set()
    for text in texts:
        matching = [(p, c) for p, c in acl_rules(text) if path_matches(p, path)]
        if not matching:
            continue
        exact = [c for p, c in matching if p == path]
        caps = exact[0] if exact else max(matching, key=lambda pc: len(pc[0]))[1]
        if "deny" in caps:
            return frozenset({"deny"})
        allowed |= caps
    return frozenset(allowed)


def mount_of(path: str, mounts: Mapping[str, str]) -> str | None:
    """The longest mounted secrets engine path that `path` lies under."""
    found = [m for m in mounts if path == m or path.startswith(m.rstrip("/") + "/")]
    return max(found, key=len) if found else None


def secret_grant_problems(
    grant: GrantSpec, mounts: Mapping[str, str], policy_texts: Mapping[str, str | None]
) -> tuple[list[str], list[str]]:
    """(problems, fixes) for a `secret` grant; empty when the grant token can read its path."""
    problems: list[str] = []
    fixes: list[str] = []
    if mount_of(grant.path, mounts) is None:
        problems.append(f"no secrets engine is mounted where {grant.path} lies")
        fixes.append(f"bao secrets enable -path={grant.path.split('/')[0]} <engine>")
    texts = [t for t in (policy_texts.get(n) for n in grant.policies) if t is not None]
    need = needed_capability(grant.method)
    caps = capabilities_on(grant.path, texts)
    if texts and need not in caps:  # a `deny` leaves nothing else
        names = ", ".join(grant.policies)
        problems.append(
            f"the grant token's policies ({names}) don't allow {need!r} on {grant.path} "
            f"(a {grant.method} needs it)"
        )
        wanted = '["read"]' if need == "read" else '["create", "update"]'
        fixes.append(
            f'add path "{grant.path}" {{ capabilities = {wanted} }} to {grant.policies[0]}'
        )
    return problems, fixes
