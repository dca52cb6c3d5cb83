"""The straightforward reading of history the audit's fast path is checked against.

- `plumbing_commits`: each commit read by its own git processes (`git show` for its facts,
  `git diff-tree` for its changes, main's line from `git rev-list --first-parent`), not the
  one marked-up `git log` stream the audit parses.
- `StraightforwardFolder`: the fold as first written: every message's trailers parsed, each
  path tried against the three ledger patterns in turn, the revocation test made for every
  commit. The fast fold (`HistoryFolder`) parses trailers only where an event or a ledger
  addition needs them and matches one combined pattern.
"""

from __future__ import annotations

from datetime import UTC, datetime

from jitflow.adapters.git import Git
from jitflow.core.history import (
    ACTIVE_PATH,
    ARCHIVE_PATH,
    REQUEST_PATH,
    Commit,
    CommitRef,
    FileChange,
    HistoryFolder,
    RequestTrail,
    _foreign,
    parse_trailers,
    split_list,
)


def plumbing_commits(git: Git, head: str) -> list[Commit]:
    main = set(git.run("rev-list", "--first-parent", head).split())
    commits = []
    for line in git.run("rev-list", "--topo-order", "--parents", head).splitlines():
        sha, *parents = line.split()
        shown = git.execute(["show", "-s", "--format=%an%x00%ae%x00%ce%x00%ct%x00%B", sha])
        name, email, committer, stamp, message = shown.stdout.split(b"\0", 4)
        commits.append(
            Commit(
                sha,
                tuple(parents),
                name.decode("utf-8", "replace"),
                email.decode("utf-8", "replace"),
                committer.decode("utf-8", "replace"),
                datetime.fromtimestamp(int(stamp), UTC),
                message[:-1].decode("utf-8", "replace"),  # show ends the format with a newline
                _changes(git, sha, parents),
                sha in main,
            )
        )
    return commits


def _changes(git: Git, sha: str, parents: list[str]) -> tuple[FileChange, ...]:
    against = [parents[0], sha] if parents else ["--root", sha]
    args = ["diff-tree", "-r", "-z", "--raw", "--no-abbrev", "--no-renames", "--no-commit-id"]
    out = git.execute([*args, *against]).stdout.decode("utf-8", "surrogateescape")
    items = out.split("\0")
    changes = []
    for meta, path in zip(items[0::2], items[1::2], strict=False):
        _, _, old, new, status = meta.split(" ")
        changes.append(FileChange(status[0], path, old, new))
    return tuple(changes)


class StraightforwardFolder(HistoryFolder):
    def feed(self, commit: Commit) -> list[RequestTrail]:
        ref = CommitRef(commit.sha, commit.committed_at, commit.author_name, commit.author_email)
        trailers = parse_trailers(commit.message)
        if trailers.get("jitflow-event") == "post-review" and commit.on_main:
            self._post_review(commit, ref, trailers)
        if trailers.get("jitflow-event") == "warn" and commit.on_main and self._by_runner(commit):
            for request_id in split_list(trailers.get("jitflow-request", "")):
                self._trail(request_id).warnings.append(ref)
        deletes_only_active = bool(commit.changes) and all(
            c.status == "D" and ACTIVE_PATH.match(c.path) for c in commit.changes
        )
        done: list[RequestTrail] = []
        for change in commit.changes:
            if match := ARCHIVE_PATH.match(change.path):
                self._plain_ledger_change(commit, ref, trailers, change, match.group(1), True)
            elif match := ACTIVE_PATH.match(change.path):
                trail = self._trail(match.group(1))
                if change.status == "D" and deletes_only_active:
                    if commit.on_main:
                        trail.revocation = trail.revocation or ref
                        trail.record_blob = trail.record_blob or change.old_blob
                    elif trail.revocation is None:
                        trail.foreign_writes.append(_foreign(commit, change))
                    continue
                self._plain_ledger_change(commit, ref, trailers, change, match.group(1), False)
            elif match := REQUEST_PATH.match(change.path):
                finished = self._request_change(commit, ref, change, match.group(1))
                if finished:
                    done.append(finished)
        return done

    def _plain_ledger_change(
        self,
        commit: Commit,
        ref: CommitRef,
        trailers: dict[str, str],
        change: FileChange,
        request_id: str,
        archive: bool,
    ) -> None:
        trail = self._trail(request_id)
        if not self._by_runner(commit):
            trail.foreign_writes.append(_foreign(commit, change))
        if change.status == "D" or not commit.on_main:
            return
        trail.record_blob = trail.record_blob or change.new_blob
        if archive and change.status == "A" and trail.end is None:
            trail.end = ref
            trail.end_event = trailers.get("jitflow-event", "")
        elif not archive and change.status == "A":
            trail.issue = ref
            trail.issue_trailers = dict(trailers)
