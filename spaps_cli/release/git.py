"""The few git operations a release needs: is the tree clean, does a tag exist, commit, tag.

git runs non-interactively (``GIT_TERMINAL_PROMPT=0``, no editor, no pager) so a release in CI
can never hang on a prompt. Nothing here pushes: publishing a tag is the workflow's job, after
the upload succeeded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from spaps_cli.errors import ConflictError, UsageError

GIT_TIMEOUT = 30.0


class GitError(UsageError):
    """git is missing, the directory is not a repository, or a git command failed."""


@dataclass(frozen=True)
class TagState:
    exists: bool
    commit: str | None  # the commit the tag points at
    head: str | None  # HEAD's commit

    @property
    def at_head(self) -> bool:
        return self.exists and self.commit is not None and self.commit == self.head


def _run(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if git is None:
        raise GitError("git is not installed", hint="install git or drop --commit/--tag")
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_EDITOR": "true",
        "GIT_PAGER": "cat",
        "LC_ALL": "C",
    }
    try:
        result = subprocess.run(
            [git, "-C", str(root), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=GIT_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} did not finish in {GIT_TIMEOUT:g}s") from exc
    if check and result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise GitError(
            f"git {' '.join(args[:2])} failed: {message[-1] if message else result.returncode}"
        )
    return result


def repository_root(path: Path) -> Path | None:
    """The work tree containing ``path``, or None outside a repository (or without git)."""
    if shutil.which("git") is None:
        return None
    result = _run(path, "rev-parse", "--show-toplevel", check=False)
    return Path(result.stdout.strip()) if result.returncode == 0 else None


def dirty_files(root: Path) -> list[str]:
    """Tracked files with uncommitted changes (staged or not); untracked files don't count."""
    result = _run(root, "status", "--porcelain", "--untracked-files=no")
    return [line[3:] for line in result.stdout.splitlines() if line.strip()]


def require_clean(root: Path) -> None:
    dirty = dirty_files(root)
    if dirty:
        more = f" and {len(dirty) - 1} more" if len(dirty) > 1 else ""
        raise GitError(
            f"the work tree has uncommitted changes ({dirty[0]}{more}): refusing to commit/tag",
            hint="commit or stash your changes first, or drop --commit/--tag",
        )


def tag_state(root: Path, tag: str) -> TagState:
    head = _run(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    found = _run(
        root, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}", check=False
    )
    return TagState(
        exists=found.returncode == 0,
        commit=found.stdout.strip() or None,
        head=head.stdout.strip() or None,
    )


def require_new_tag(root: Path, tag: str) -> None:
    if tag_state(root, tag).exists:
        raise ConflictError(f"tag {tag} already exists", hint="a version is tagged once")


class CommitFailedError(GitError):
    """``git add``/``git commit`` refused (typically a pre-commit hook); ``reason`` is its
    first line of output, which is where hooks put what went wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"git commit failed: {reason}")
        self.reason = reason


def commit(root: Path, paths: list[Path], message: str) -> str:
    names = [str(p) for p in paths]
    for args in (("add", "--", *names), ("commit", "--quiet", "-m", message, "--", *names)):
        result = _run(root, *args, check=False)
        if result.returncode != 0:
            lines = [line.strip() for line in (result.stderr + result.stdout).splitlines()]
            raise CommitFailedError(
                next((line for line in lines if line), f"exit {result.returncode}")
            )
    return _run(root, "rev-parse", "HEAD").stdout.strip()


def unstage(root: Path, paths: list[Path]) -> None:
    """Put the index entries of ``paths`` back to HEAD (works on an unborn branch too)."""
    _run(root, "reset", "--quiet", "--", *(str(p) for p in paths))


def tag(root: Path, name: str, message: str) -> None:
    _run(root, "tag", "--annotate", "--message", message, name)
