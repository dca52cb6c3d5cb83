"""The suite's file order (tests/conftest.py) names files that exist: a renamed or removed
long file would silently drop out of the longest-first order."""

from pathlib import Path

from tests.conftest import LONGEST_FIRST

ROOT = Path(__file__).resolve().parents[1]


def test_every_longest_first_file_exists_once() -> None:
    missing = [path for path in LONGEST_FIRST if not (ROOT / path).is_file()]
    assert not missing, f"tests/conftest.py LONGEST_FIRST names missing files: {missing}"
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)
