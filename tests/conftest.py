"""Shared fixtures: the GitHub stand-in and the OpenBao / PostgreSQL servers."""

pytest_plugins = ["tests.conftest_github", "tests.conftest_servers"]
