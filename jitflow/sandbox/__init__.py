"""The sandbox: what the demo and the tests run on, apart from the product.

- `github_standin/`: a local stand-in for the GitHub REST API, backed by a real bare git repo.
- `servers/`: launchers for a dev OpenBao (and a raft one) and PostgreSQL, and their set-up.
- `demo/`: the `jitflow demo` story, played on those servers.

The product (the CLI commands other than `demo`, use-cases, core, adapters, reporters) never
imports this package; tests/test_layers.py checks it.
"""
