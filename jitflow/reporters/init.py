"""What `jitflow init` tells an operator once the scaffold is written."""

from __future__ import annotations

from pathlib import Path


def render_next_steps(directory: Path, action: str) -> str:
    """What an operator still has to do outside the repository; the docs it cites are linked
    at the pinned commit (they are not in the access repository)."""
    name, _, sha = action.partition("@")
    docs = f"https://github.com/{name}/blob/{sha}"
    return f"""\
Next steps (the admin guide: {docs}/README.md#for-admins):
  1. Review policies/ (who may ask for what, who approves) and replace @your-org/access-admins
     in .github/CODEOWNERS with the team that owns access policy. Then pin each person's
     GitHub account (a login can change hands; the id can't):  GITHUB_TOKEN=... \
     GITHUB_REPOSITORY=OWNER/NAME jitflow policy pin --repo {directory}
     (the example's github_ids are the demo's accounts: a login pinned to another account
     counts for nobody until re-pinned with --repin LOGIN).
  2. Commit and push:  git -C {directory} add -A && git -C {directory} commit -m "jitflow init"
  3. Set up Vault / OpenBao as in {docs}/docs/vault-setup.md
     (the JWT role for the sync workflow, the token role, the runner policy, each engine),
     then set the variables VAULT_ADDR and JITFLOW_VAULT_ROLE in the environment `jitflow`.
  4. Create the jitflow GitHub App (Contents: read and write), install it on this repository,
     set the variable JITFLOW_APP_ID and the secret JITFLOW_APP_PRIVATE_KEY in the environment
     `jitflow`: the sync pushes the ledger to main with its token.
  5. CODEOWNERS (or a github-team: group) names a team: create the jitflow teams App
     (Organization permissions: Members: read, nothing else), install it on the organisation,
     set the variable JITFLOW_TEAMS_APP_ID and the secret JITFLOW_TEAMS_APP_PRIVATE_KEY in the
     repository: the workflows read team membership with its token ({docs}/README.md#teams).
  6. Protect main with a ruleset whose only bypass actor is the jitflow App: require the
     statuses jitflow/policy and jitflow/approval, a pull request with 1 approval, code owner
     review and last-push approval (the README's ruleset.json), then run `jitflow doctor`.
  7. Requesters: `jitflow request POLICY --reason ... --open`; `jitflow creds ID` after merge.
"""
