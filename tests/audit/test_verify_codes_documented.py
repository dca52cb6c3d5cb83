"""Every finding code `audit verify` can report is listed in README's audit section, and every
one has a test in tests/audit that forges it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "jitflow" / "usecases" / "audit"
# a code is the first string argument of Violation(...) or of the append-only `_flag(...)`
_CODE = re.compile(r'(?:Violation|_flag)\(\s*"([a-z][a-z0-9-]+)"')


def finding_codes() -> set[str]:
    codes: set[str] = set()
    for path in SOURCES.glob("*.py"):
        codes |= set(_CODE.findall(path.read_text()))
    return codes


def test_codes_are_found() -> None:
    assert {"ledger-unsigned", "grant-vanished", "approvals-insufficient"} <= finding_codes()


def test_every_finding_code_is_in_the_readme_audit_section() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## For auditors") : readme.index("## For admins")]
    missing = sorted(c for c in finding_codes() if f"`{c}`" not in section)
    assert not missing, f"undocumented audit verify codes: {missing}"


def test_every_finding_code_has_a_test() -> None:
    tests = "".join(p.read_text() for p in (ROOT / "tests" / "audit").glob("test_*.py"))
    untested = sorted(c for c in finding_codes() if f'"{c}' not in tests and f"{c}:" not in tests)
    assert not untested, f"codes no test forges: {untested}"
