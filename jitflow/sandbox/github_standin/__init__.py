"""A local stand-in for the GitHub REST API, backed by a real bare git repository."""

from jitflow.sandbox.github_standin.standin import GitHubStandIn, StandInError

__all__ = ["GitHubStandIn", "StandInError"]
