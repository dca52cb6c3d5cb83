"""`jitflow creds` reads no comment for a grant the runner delivered nothing for (a group
membership, an extension in place): a look-alike posted as the runner would be all there is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from jitflow.adapters.git import Git
from jitflow.errors import UsageError
from jitflow.usecases.creds import CredsOptions, retrieve
from tests.gitrepo import GitRepo

BOT = "github-actions[bot]"
FORGED = "<!-- jitflow:credentials:alice-x -->\n-----BEGIN AGE ENCRYPTED FILE-----\nYQ==\n"


@dataclass
class Comments:
    read: int = 0

    def find_marked_comments(self, number: int, marker: str) -> list[tuple[int, str, str]]:
        self.read += 1
        return [(1, BOT, FORGED + "-----END AGE ENCRYPTED FILE-----\n")]


@pytest.mark.parametrize(
    ("grant", "refusal"),
    [
        ("  kind: identity-group\n", "no credentials to fetch"),
        ("  kind: vault-token\n  extends: alice-w\n  extension: in-place\n", "in place"),
    ],
)
def test_no_comment_is_read_when_nothing_was_delivered(
    tmp_path: Path, grant: str, refusal: str
) -> None:
    repo = GitRepo.create(tmp_path / "r")
    record = f"policy: p\nrequester: alice\nreason: r\ngrant:\n{grant}  pr: 7\n".encode()
    tip = repo.commit({"requests/active/alice-x.yaml": record}, branch="main")
    Git(repo.path).run("update-ref", "refs/remotes/origin/main", tip)
    comments = Comments()
    options = CredsOptions(repo.path, "alice-x", tmp_path / "key")
    with pytest.raises(UsageError, match=refusal):
        retrieve(options, comments, {"JITFLOW_BOT_LOGIN": BOT})
    assert comments.read == 0
