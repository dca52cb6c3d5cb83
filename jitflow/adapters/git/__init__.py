"""Everything jitflow knows about git, in one room (pre-commit's `git.py` is the model).

- `runner`: the one wrapper that runs the git binary (`Git`), argv lists only, no shell.
- `reading`: what a commit's tree and a diff say (files, listings, changed files).
- `graph`: questions about the commit graph (exists here? ancestor? first-parent lines).
- `log`: walking history (`git log` streams parsed into commits), one commit's facts,
  searches of commit messages.
- `writing`: ledger commits built with `git fast-import`, signed in-process.
- `remote`: fetching what a shallow checkout lacks, pushing, remote-tracking tips.
- `branches`: one-commit branches made with plumbing (request and revoke PRs).
- `clone`: the clone itself (its shared git folder, its settings).

Use-cases call these intention-named functions; no other module runs git.
"""

from jitflow.adapters.git.runner import Git, GitResult, ObjectReader, remote_auth_env

__all__ = ["Git", "GitResult", "ObjectReader", "remote_auth_env"]
