"""Audit use-cases: reports, invariant proofs and access reviews from git history alone.

Entry points for the CLI (heavy modules load lazily, so `jitflow --help` stays fast):
`run_audit(AuditOptions)`, `run_verify(VerifyOptions)`, `run_review(ReviewOptions)`.
"""
