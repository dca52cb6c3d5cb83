"""Local servers for the demo and the tests: OpenBao (dev and raft), PostgreSQL, their set-up."""
