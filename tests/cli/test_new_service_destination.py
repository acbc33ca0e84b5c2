"""Where the service lands: refusals, re-runs, dry runs, and failures that leave nothing behind."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

import spaps_cli.plan
from cli.cli_runner import RunSpaps, tree_snapshot
from spaps_cli.errors import ExitCode

NAME = "billing-api"


def generate(run_spaps: RunSpaps, target: Path, *extra: str) -> None:
    outcome = run_spaps("new", "service", NAME, "--dir", str(target), *extra)
    assert outcome.code == ExitCode.OK, outcome.stderr


STATUS_LINE = re.compile(r"^ *((?:would )?[a-z]+)  \S")


def status_verbs(stderr: str) -> set[str]:
    return {m[1] for line in stderr.splitlines() if (m := STATUS_LINE.match(line))}


def test_default_directory_is_the_name(
    run_spaps: RunSpaps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_spaps("new", "service", NAME).code == ExitCode.OK
    assert (tmp_path / NAME / "src" / "billing_api" / "main.py").is_file()
    assert [p.name for p in tmp_path.iterdir()] == [NAME]


def test_rerun_with_same_answers_is_all_identical_and_writes_nothing(
    run_spaps: RunSpaps, tmp_path: Path
) -> None:
    target = tmp_path / "svc"
    generate(run_spaps, target, "--description", "Bills things")
    before = tree_snapshot(target)
    mtimes = {p: p.stat().st_mtime_ns for p in target.rglob("*") if p.is_file()}

    outcome = run_spaps(
        "new", "service", NAME, "--dir", str(target), "--description", "Bills things", "--json"
    )

    assert outcome.code == ExitCode.OK, outcome.stderr
    payload = json.loads(outcome.stdout)
    assert payload["changed"] is False
    assert {row["action"] for row in payload["files"]} == {"identical"}
    # Every file but .env, which is the developer's from the first run on (never re-planned).
    assert sorted(row["path"] for row in payload["files"]) == sorted(
        p.relative_to(target).as_posix() for p in mtimes if p.name != ".env"
    )
    assert status_verbs(outcome.stderr) == {"identical"}
    assert tree_snapshot(target) == before
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes


def test_rerun_after_add_domain_keeps_the_domains_registered(
    run_spaps: RunSpaps, tmp_path: Path
) -> None:
    """The registry is rendered with the recorded domains: identical, and --force keeps them."""
    target = tmp_path / "svc"
    generate(run_spaps, target)
    for domain in ("users", "shop_items_long"):
        assert run_spaps("add", "domain", domain, "--dir", str(target)).code == ExitCode.OK
    before = tree_snapshot(target)

    outcome = run_spaps("new", "service", NAME, "--dir", str(target), "--json")

    assert outcome.code == ExitCode.OK, outcome.stderr
    assert {row["action"] for row in json.loads(outcome.stdout)["files"]} == {"identical"}
    assert tree_snapshot(target) == before

    registry = target / "src/billing_api/api/registry.py"
    registry.write_text(registry.read_text().replace("    app.include_router(users_router)\n", ""))
    forced = run_spaps("new", "service", NAME, "--dir", str(target), "--force")

    assert forced.code == ExitCode.OK, forced.stderr
    assert tree_snapshot(target) == before


def test_recorded_domain_that_is_not_a_name_is_a_usage_error(
    run_spaps: RunSpaps, tmp_path: Path
) -> None:
    target = tmp_path / "svc"
    generate(run_spaps, target)
    pyproject = target / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("domains = []", 'domains = ["a.b"]', 1))

    outcome = run_spaps("new", "service", NAME, "--dir", str(target))

    assert outcome.code == ExitCode.USAGE
    assert "[tool.spaps] domains lists 'a.b', which is not a domain name" in outcome.stderr


def test_rerun_keeps_the_recorded_migration_timestamp(run_spaps: RunSpaps, tmp_path: Path) -> None:
    target = tmp_path / "svc"
    generate(run_spaps, target)
    pyproject = (target / "pyproject.toml").read_text()
    (initial,) = (target / "migrations" / "versions").glob("*_core_initial.py")
    created = initial.name.split("_", 1)[0]
    assert f'created = "{created}"' in pyproject
    # Pretend the service was generated long ago: the re-run must reuse that timestamp.
    old = "199901010000"
    (target / "pyproject.toml").write_text(pyproject.replace(created, old))
    initial.rename(initial.with_name(f"{old}_core_initial.py"))
    text = initial.with_name(f"{old}_core_initial.py").read_text().replace(created, old)
    initial.with_name(f"{old}_core_initial.py").write_text(text)

    outcome = run_spaps("new", "service", NAME, "--dir", str(target), "--json")

    assert outcome.code == ExitCode.OK, outcome.stderr
    assert {row["action"] for row in json.loads(outcome.stdout)["files"]} == {"identical"}


def test_dry_run_touches_nothing(run_spaps: RunSpaps, tmp_path: Path) -> None:
    target = tmp_path / "svc"
    outcome = run_spaps("new", "service", NAME, "--dir", str(target), "--dry-run", "--json")
    assert outcome.code == ExitCode.OK, outcome.stderr
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    payload = json.loads(outcome.stdout)
    assert payload["dry_run"] is True
    assert payload["changed"] is True
    assert "src/billing_api/main.py" in {row["path"] for row in payload["files"]}
    assert status_verbs(outcome.stderr) == {"would create"}


def test_dry_run_over_an_edited_service_shows_the_conflict_and_touches_nothing(
    run_spaps: RunSpaps, tmp_path: Path
) -> None:
    target = tmp_path / "svc"
    generate(run_spaps, target)
    readme = target / "README.md"
    readme.write_text("my own readme\n")
    before = tree_snapshot(target)

    outcome = run_spaps("new", "service", NAME, "--dir", str(target), "--dry-run", "--force")

    assert outcome.code == ExitCode.OK
    assert "would force  README.md" in outcome.stderr
    assert "+# billing-api" in outcome.stdout  # the diff of the overwrite
    assert tree_snapshot(target) == before


def test_edited_file_is_a_conflict_then_force_or_skip(run_spaps: RunSpaps, tmp_path: Path) -> None:
    target = tmp_path / "svc"
    generate(run_spaps, target)
    readme = target / "README.md"
    readme.write_text("my own readme\n")
    (target / "Dockerfile").unlink()

    conflict = run_spaps("new", "service", NAME, "--dir", str(target))
    assert conflict.code == ExitCode.CONFLICT
    assert conflict.error_lines == ["error: README.md already exists with different content"]
    assert "conflict  README.md" in conflict.stderr
    assert not (target / "Dockerfile").exists()  # a conflict writes nothing at all

    skipped = run_spaps("new", "service", NAME, "--dir", str(target), "--skip")
    assert skipped.code == ExitCode.OK
    assert readme.read_text() == "my own readme\n"
    assert "skip  README.md" in skipped.stderr
    assert "create  Dockerfile" in skipped.stderr

    forced = run_spaps("new", "service", NAME, "--dir", str(target), "--force")
    assert forced.code == ExitCode.OK
    assert readme.read_text().startswith("# billing-api\n")
    assert "force  README.md" in forced.stderr


def test_existing_non_empty_directory_is_refused(run_spaps: RunSpaps, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "notes.txt").write_text("mine\n")

    outcome = run_spaps("new", "service", NAME, "--dir", str(target))

    assert outcome.code == ExitCode.CONFLICT
    assert len(outcome.error_lines) == 1
    assert "is not empty and was not generated by spaps" in outcome.error_lines[0]
    assert "--force" in outcome.stderr
    assert [p.name for p in target.iterdir()] == ["notes.txt"]

    forced = run_spaps("new", "service", NAME, "--dir", str(target), "--force")
    assert forced.code == ExitCode.OK
    assert (target / "notes.txt").read_text() == "mine\n"
    assert (target / "pyproject.toml").is_file()


def test_directory_with_only_a_git_repository_counts_as_empty(
    run_spaps: RunSpaps, tmp_path: Path
) -> None:
    target = tmp_path / "svc"
    (target / ".git").mkdir(parents=True)
    generate(run_spaps, target)
    assert (target / "pyproject.toml").is_file()


def test_directory_of_another_service_is_refused(run_spaps: RunSpaps, tmp_path: Path) -> None:
    target = tmp_path / "svc"
    generate(run_spaps, target)
    before = tree_snapshot(target)

    outcome = run_spaps("new", "service", "invoices", "--dir", str(target))

    assert outcome.code == ExitCode.CONFLICT
    assert outcome.error_lines == [
        f"error: {target} already holds the spaps service 'billing-api', not 'invoices'"
    ]
    assert tree_snapshot(target) == before


def test_destination_that_is_a_file_is_a_usage_error(run_spaps: RunSpaps, tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    outcome = run_spaps("new", "service", NAME, "--dir", str(target))
    assert outcome.code == ExitCode.USAGE
    assert outcome.error_lines == [f"error: {target} exists and is not a directory"]
    assert target.read_text() == "x"


def _blocked_by_a_file(tmp_path: Path) -> Path:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory should be\n")
    return blocker / "svc"


def _under_procfs(tmp_path: Path) -> Path:
    # The kernel refuses to create anything in /proc, for root as well.
    return Path("/proc") / f"spaps-test-{uuid.uuid4().hex}" / "svc"


def _read_only_directory(tmp_path: Path) -> Path:
    parent = tmp_path / "read-only"
    parent.mkdir()
    parent.chmod(0o500)
    return parent / "svc"


UNWRITABLE: list[Callable[[Path], Path]] = [_blocked_by_a_file, _under_procfs]
if os.geteuid() != 0:  # root ignores permission bits; the two cases above hold for root too
    UNWRITABLE.append(_read_only_directory)


@pytest.mark.parametrize("make_target", UNWRITABLE, ids=lambda f: f.__name__.strip("_"))
def test_unwritable_destination_exits_4_and_leaves_nothing(
    run_spaps: RunSpaps, tmp_path: Path, make_target: Callable[[Path], Path]
) -> None:
    target = make_target(tmp_path)
    before = tree_snapshot(tmp_path)
    try:
        outcome = run_spaps("new", "service", NAME, "--dir", str(target))
    finally:
        for path in tmp_path.iterdir():
            path.chmod(0o700)

    assert outcome.code == ExitCode.FILE_ACCESS, outcome.stderr
    (line,) = outcome.error_lines
    assert str(target) in line or str(target.parent) in line
    assert tree_snapshot(tmp_path) == before
    assert not target.exists()


class _Interrupt:
    """``atomic_write`` that fails on its ``fail_on``-th call, like a full disk or Ctrl-C."""

    def __init__(self, fail_on: int, error: BaseException) -> None:
        self.calls = 0
        self.fail_on = fail_on
        self.error = error
        self.real = spaps_cli.plan.atomic_write

    def __call__(
        self, path: Path, content: bytes, *, executable: bool = False, private: bool = False
    ) -> None:
        self.calls += 1
        if self.calls == self.fail_on:
            raise self.error
        self.real(path, content, executable=executable, private=private)


@pytest.mark.parametrize(
    ("error", "expected_code"),
    [
        (OSError(28, "No space left on device"), ExitCode.FILE_ACCESS),
        (KeyboardInterrupt(), 130),
    ],
    ids=["disk-full", "ctrl-c"],
)
@pytest.mark.parametrize("fail_on", [1, 12, 24])
def test_interrupted_write_leaves_nothing_behind(
    run_spaps: RunSpaps,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    expected_code: int,
    fail_on: int,
) -> None:
    interrupt = _Interrupt(fail_on, error)
    monkeypatch.setattr(spaps_cli.plan, "atomic_write", interrupt)
    target = tmp_path / "deep" / "svc"

    outcome = run_spaps("new", "service", NAME, "--dir", str(target))

    assert interrupt.calls >= fail_on
    assert outcome.code == expected_code
    if isinstance(error, OSError):
        (line,) = outcome.error_lines
        assert line.endswith("No space left on device; nothing was changed")
    assert list(tmp_path.iterdir()) == []  # not even the directories it created


def test_interrupted_force_restores_the_previous_files(
    run_spaps: RunSpaps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "svc"
    generate(run_spaps, target)
    for name in ("README.md", "Dockerfile", "compose.yaml"):
        (target / name).write_text(f"my own {name}\n")
    (target / "src" / "billing_api" / "api" / "meta.py").unlink()
    before = tree_snapshot(target)
    # Four writes are planned (three forced, one re-created); the last one fails.
    monkeypatch.setattr(
        spaps_cli.plan, "atomic_write", _Interrupt(4, OSError(5, "Input/output error"))
    )

    outcome = run_spaps("new", "service", NAME, "--dir", str(target), "--force")

    assert outcome.code == ExitCode.FILE_ACCESS
    assert tree_snapshot(target) == before
