"""Cut the operations the GitHub stand-in serves out of GitHub's OpenAPI description.

Usage (needs the network once; the output is committed so tests never do):

    npm install --prefix /tmp/octokit @octokit/openapi @octokit/webhooks-examples
    python tests/contract/extract_openapi.py /tmp/octokit/node_modules

Writes tests/fixtures/github/openapi-subset.json (operations with their response
schemas, every `$ref` inlined, descriptions and examples dropped to stay small)
and vendors the webhook example payloads into tests/fixtures/webhooks/.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from jitflow.sandbox.github_standin.routes import OPERATIONS, WEBHOOK_SCHEMAS  # noqa: E402

SUBSET = ROOT / "tests" / "fixtures" / "github" / "openapi-subset.json"
WEBHOOKS = ROOT / "tests" / "fixtures" / "webhooks"
MAX_DEPTH = 40
# `discriminator` maps to $refs that no longer exist once inlined; oneOf still applies.
_DROP = {"description", "example", "examples", "summary", "externalDocs", "title", "discriminator"}

# (event, action or None) -> file name; the first example of each is vendored.
WEBHOOK_EXAMPLES = (
    ("pull_request", "opened"),
    ("pull_request", "synchronize"),
    ("pull_request", "reopened"),
    ("pull_request", "edited"),
    ("pull_request", "ready_for_review"),
    ("pull_request", "closed"),
    ("pull_request_review", "submitted"),
    ("pull_request_review", "edited"),
    ("pull_request_review", "dismissed"),
    ("merge_group", "checks_requested"),
    ("push", None),
    ("workflow_dispatch", None),
    ("schedule", None),
)


_NULL = {"type": "string", "nullable": True, "enum": [None]}


class Inliner:
    """Replace every `$ref` by the referenced component, bounded against cycles."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def lookup(self, ref: str) -> Any:
        node: Any = self.spec
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def inline(self, node: Any, stack: tuple[str, ...] = ()) -> Any:
        if isinstance(node, list):
            return [self.inline(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            if ref in stack or len(stack) >= MAX_DEPTH:
                return {}  # a cycle: accept anything below this point
            return self.inline(self.lookup(ref), (*stack, ref))
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROP:
                continue
            if key == "properties":
                out[key] = {name: self.inline(sub, stack) for name, sub in value.items()}
            else:
                out[key] = self.inline(value, stack)
        if out.get("nullable") and "type" not in out:
            # `nullable` beside oneOf/allOf (no `type`) means "or null" (OAS 3.0.3);
            # validators ignore it there, so spell the null branch out.
            del out["nullable"]
            return {"anyOf": [out, _NULL]}
        return out


def response_schemas(inliner: Inliner, operation: dict[str, Any]) -> dict[str, Any]:
    """status -> JSON schema (or None when the response has no body), 2xx and 4xx only."""
    result: dict[str, Any] = {}
    for status, response in operation["responses"].items():
        if not status.startswith(("2", "4")):
            continue
        resolved = inliner.inline(response)
        schema = resolved.get("content", {}).get("application/json", {}).get("schema")
        result[status] = schema
    return result


def build_subset(modules: Path) -> dict[str, Any]:
    package = modules / "@octokit" / "openapi"
    spec = json.loads((package / "generated" / "api.github.com.json").read_text())
    inliner = Inliner(spec)
    operations = []
    for op in OPERATIONS:
        entry = spec["paths"][op.template][op.method.lower()]
        if entry["operationId"] != op.operation_id:
            raise SystemExit(f"{op.template}: spec says {entry['operationId']}")
        operations.append(
            {
                "method": op.method,
                "path": op.template,
                "operationId": op.operation_id,
                "responses": response_schemas(inliner, entry),
            }
        )
    webhooks = {}
    for name in WEBHOOK_SCHEMAS:
        body = spec["x-webhooks"][name]["post"]["requestBody"]
        webhooks[name] = inliner.inline(body["content"]["application/json"]["schema"])
    return {
        "source": "@octokit/openapi generated/api.github.com.json",
        "package_version": json.loads((package / "package.json").read_text())["version"],
        "spec_version": spec["info"]["version"],
        "openapi": spec["openapi"],
        "operations": operations,
        "webhooks": webhooks,
    }


def vendor_webhooks(modules: Path) -> list[str]:
    package = modules / "@octokit" / "webhooks-examples"
    index = json.loads((package / "api.github.com" / "index.json").read_text())
    by_event = {entry["name"]: entry["examples"] for entry in index}
    missing = []
    for event, action in WEBHOOK_EXAMPLES:
        examples = [e for e in by_event.get(event, []) if e.get("action") == action]
        name = f"{event}.{action}.json" if action else f"{event}.json"
        if not examples:
            missing.append(name)
            continue
        (WEBHOOKS / name).write_text(json.dumps(examples[0], indent=2, sort_keys=True) + "\n")
    version = json.loads((package / "package.json").read_text())["version"]
    lines = [f"@octokit/webhooks-examples {version}"]
    for name in missing:
        how = "derived by build_event" if "edited" in name else "not a webhook; not provided"
        lines.append(f"not in the package ({how}): {name}")
    (WEBHOOKS / "VERSION").write_text("\n".join(lines) + "\n")
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("node_modules", type=Path)
    args = parser.parse_args()
    subset = build_subset(args.node_modules)
    SUBSET.parent.mkdir(parents=True, exist_ok=True)
    SUBSET.write_text(json.dumps(subset, sort_keys=True, separators=(",", ":")) + "\n")
    WEBHOOKS.mkdir(parents=True, exist_ok=True)
    missing = vendor_webhooks(args.node_modules)
    print(f"wrote {SUBSET} ({SUBSET.stat().st_size} bytes); examples missing: {missing}")


if __name__ == "__main__":
    main()
