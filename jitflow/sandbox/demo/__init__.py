"""`jitflow demo`: the README's first command, a whole lifecycle on real local servers."""

from jitflow.sandbox.demo.run import DemoOptions, DemoResult, run_demo

__all__ = ["DemoOptions", "DemoResult", "run_demo"]
