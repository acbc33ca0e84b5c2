"""``spaps update`` from template 1 to a synthesised template 2, on a service a team edited."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from cli.cli_runner import RunSpaps

from spaps_cli.update.versions import TemplateVersions
from tests.update.conftest import snapshot
from tests.update.copier_side import lost, outside_conflicts
from tests.update.scenario import RENAMED_SETTING, TEAM_DEPENDENCY, edit_like_a_team, replace

PKG = "src/billing_api"


@pytest.fixture
def installed(versions: TemplateVersions, monkeypatch: pytest.MonkeyPatch) -> TemplateVersions:
    """The CLI as a release with template 2 would ship it."""
    monkeypatch.setattr(TemplateVersions, "installed", classmethod(lambda cls: versions))
    return versions


def _edit_like_a_team(root: Path, run_spaps: RunSpaps) -> None:
    def add_domain(name: str) -> None:
        assert run_spaps("add", "domain", name, "--dir", str(root)).code == 0

    edit_like_a_team(root, "billing_api", add_domain)


def test_update_keeps_edits_and_takes_the_template(
    service_root: Path, installed: TemplateVersions, run_spaps: RunSpaps
) -> None:
    _edit_like_a_team(service_root, run_spaps)
    before = snapshot(service_root)

    outcome = run_spaps("update", str(service_root), "--json")

    assert outcome.code == 0, outcome.stderr
    result = outcome.json()
    by_path = {f["path"]: f["outcome"] for f in result["files"]}
    assert result["conflicts"] == []
    # untouched files: replaced; new files created; an untouched removed file removed
    assert by_path["README.md"] == "merge"
    assert by_path[f"{PKG}/api/status.py"] == "create"
    assert by_path[".dockerignore"] == "remove"
    assert not (service_root / ".dockerignore").exists()
    # removed by the template but edited here: kept and reported
    assert by_path[".gitignore"] == "kept"
    assert (service_root / ".gitignore").read_bytes() == before[".gitignore"]
    readme = (service_root / "README.md").read_text(encoding="utf-8")
    assert "## Run it locally" in readme
    assert "Locally we use SQLite" in readme
    assert "template version 2" in readme
    # registry: the recorded domain is replayed on both renders, so the template's router joins it
    registry = (service_root / PKG / "api" / "registry.py").read_text(encoding="utf-8")
    assert by_path[f"{PKG}/api/registry.py"] == "replace"
    assert registry.count("app.include_router(status_router)") == 1
    assert registry.count("app.include_router(orders_router)") == 1
    assert "from billing_api.api.status import router as status_router\n" in registry
    assert "from billing_api.domains.orders.router import router as orders_router" in registry
    assert "<<<<<<<" not in registry
    compile(registry, "registry.py", "exec")
    # pyproject: the team's dependency kept, the template's added and raised, version recorded
    pyproject = tomllib.loads((service_root / "pyproject.toml").read_text(encoding="utf-8"))
    assert TEAM_DEPENDENCY in pyproject["project"]["dependencies"]
    dev = pyproject["project"]["optional-dependencies"]["dev"]
    assert "httpx>=0.27" in dev
    assert "pytest>=8.2" in dev
    assert "pytest>=8.0" not in dev
    assert pyproject["tool"]["spaps"]["template-version"] == "2"
    assert pyproject["tool"]["spaps"]["domains"] == ["orders"]
    # settings: the rename kept, the template's docstring change merged
    settings = (service_root / PKG / "settings.py").read_text(encoding="utf-8")
    assert 'app_name: str = "billing-api"' in settings
    assert "service_name" not in settings
    assert "settings.app_name" in (service_root / PKG / "api" / "meta.py").read_text("utf-8")
    assert "Settings (template 2)" in settings
    assert "x-team" in (service_root / PKG / "main.py").read_text(encoding="utf-8")
    # files only the team added (the domain) untouched
    for path, data in before.items():
        if path.startswith(f"{PKG}/domains/orders/"):
            assert (service_root / path).read_bytes() == data

    again = snapshot(service_root)
    second = run_spaps("update", str(service_root), "--json")
    assert second.code == 0
    assert second.json()["files"] == []
    assert snapshot(service_root) == again


def test_untouched_service_is_replaced_file_for_file(
    service_root: Path, installed: TemplateVersions, run_spaps: RunSpaps
) -> None:
    outcome = run_spaps("update", str(service_root), "--json")
    assert outcome.code == 0, outcome.stderr
    outcomes = {f["outcome"] for f in outcome.json()["files"]}
    assert outcomes <= {"replace", "create", "remove"}
    assert (service_root / PKG / "api" / "status.py").is_file()


def test_real_conflict_is_marked_reported_and_blocks_the_version(
    service_root: Path, installed: TemplateVersions, run_spaps: RunSpaps
) -> None:
    replace(service_root / "README.md", "## Run it on your laptop", "## Run it on a laptop")

    outcome = run_spaps("update", str(service_root))

    assert outcome.code == 3
    readme = (service_root / "README.md").read_text(encoding="utf-8")
    line = readme.splitlines().index("<<<<<<< yours") + 1
    assert f"README.md:{line}" in outcome.stderr
    assert "## Run it on a laptop" in readme
    assert "## Run it locally" in readme
    assert "||||||| template 1" in readme
    assert ">>>>>>> template 2" in readme
    pyproject = tomllib.loads((service_root / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["spaps"]["template-version"] == "1"
    assert pyproject["tool"]["spaps"]["update-pending"] == "2"
    # the other files were still brought up to date
    assert (service_root / PKG / "api" / "status.py").is_file()
    # a re-run refuses until the markers are resolved
    again = run_spaps("update", str(service_root))
    assert again.code == 2
    assert "README.md still has conflict markers" in again.stderr
    lines = readme.splitlines()
    start, end = line - 1, lines.index(">>>>>>> template 2")
    resolved = [*lines[:start], "## Run it locally, on a laptop", *lines[end + 1 :]]
    (service_root / "README.md").write_text("\n".join(resolved) + "\n", encoding="utf-8")
    final = run_spaps("update", str(service_root))
    assert final.code == 0, final.stderr
    pyproject = tomllib.loads((service_root / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["spaps"]["template-version"] == "2"
    assert "update-pending" not in pyproject["tool"]["spaps"]
    assert "## Run it locally, on a laptop" in (service_root / "README.md").read_text("utf-8")


def test_without_git_the_same_update_happens(
    service_root: Path,
    installed: TemplateVersions,
    run_spaps: RunSpaps,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replace(service_root / "README.md", "## Run it on your laptop", "## Run it on a laptop")
    replace(service_root / "README.md", "The embedded defaults use SQLite", "Locally we use SQLite")
    monkeypatch.setenv("PATH", str(service_root))  # no git anywhere on it
    outcome = run_spaps("update", str(service_root), "--json")
    assert outcome.code == 3
    assert [c["path"] for c in outcome.json()["conflicts"]] == ["README.md"]
    readme = (service_root / "README.md").read_text(encoding="utf-8")
    assert "Locally we use SQLite" in readme  # merged next to the conflict, not lost
    assert readme.count("<<<<<<< yours") == 1


def test_check_reports_how_far_behind_and_writes_nothing(
    service_root: Path, installed: TemplateVersions, run_spaps: RunSpaps
) -> None:
    before = snapshot(service_root)
    outcome = run_spaps("update", str(service_root), "--check")
    assert outcome.code == 1
    assert "template version 1, the CLI's is 2 (1 version behind)" in outcome.stderr
    assert snapshot(service_root) == before
    assert run_spaps("update", str(service_root)).code == 0
    assert run_spaps("update", str(service_root), "--check").code == 0


@pytest.mark.parametrize("flag", ["--dry-run", "--diff"])
def test_dry_run_and_diff_write_nothing(
    flag: str, service_root: Path, installed: TemplateVersions, run_spaps: RunSpaps
) -> None:
    replace(service_root / "README.md", "## Run it on your laptop", "## Run it on a laptop")
    before = snapshot(service_root)
    outcome = run_spaps("update", str(service_root), flag)
    assert outcome.code == 3  # the conflict it would leave
    assert snapshot(service_root) == before
    quiet = run_spaps("-q", "update", str(service_root), flag)
    assert "would conflict  README.md:" in quiet.stderr  # a problem: shown under -q
    assert "would replace" not in quiet.stderr
    assert snapshot(service_root) == before
    if flag == "--diff":
        assert "+## Run it locally" in outcome.stdout or "+>>>>>>> template 2" in outcome.stdout


def test_bad_target_version_is_a_usage_error(
    service_root: Path, installed: TemplateVersions, run_spaps: RunSpaps
) -> None:
    outcome = run_spaps("update", str(service_root), "--to", "7")
    assert outcome.code == 2
    assert "'7' is not one this CLI ships (it has 1, 2)" in outcome.stderr


def test_real_cli_service_is_current(service_root: Path, run_spaps: RunSpaps) -> None:
    """Against the shipped templates a fresh service is up to date: a no-op, exit 0."""
    before = snapshot(service_root)
    assert run_spaps("update", str(service_root), "--check").code == 0
    assert run_spaps("update", str(service_root)).code == 0
    assert snapshot(service_root) == before


def test_pyproject_conflict_is_marked_in_the_file(
    service_root: Path, installed: TemplateVersions, run_spaps: RunSpaps
) -> None:
    replace(service_root / "pyproject.toml", '"pytest>=8.0"', '"pytest>=8.1"')

    outcome = run_spaps("update", str(service_root), "--json")

    assert outcome.code == 3
    conflicts = outcome.json()["conflicts"]
    assert [c["path"] for c in conflicts] == ["pyproject.toml"]
    lines = (service_root / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    assert lines[conflicts[0]["line"] - 1] == "<<<<<<< yours"
    assert '    "pytest>=8.1",' in lines
    assert '    "pytest>=8.2",' in lines
    assert 'template-version = "1"' in lines


def test_windows_line_endings_are_not_edits(
    service_root: Path, installed: TemplateVersions, run_spaps: RunSpaps
) -> None:
    """A checkout with core.autocrlf: CRLF everywhere, one real edit in the README."""
    replace(service_root / "README.md", "The embedded defaults use SQLite", "Locally we use SQLite")
    for path in service_root.rglob("*"):
        if path.is_file():
            path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))

    outcome = run_spaps("update", str(service_root), "--json")

    assert outcome.code == 0, outcome.stdout
    outcomes = {f["path"]: f["outcome"] for f in outcome.json()["files"]}
    assert outcomes["README.md"] == "merge"
    assert outcomes[f"{PKG}/settings.py"] == "replace"
    readme = (service_root / "README.md").read_bytes()
    assert b"## Run it locally\r\n" in readme
    assert b"Locally we use SQLite" in readme
    assert b"\n" not in readme.replace(b"\r\n", b"")


def test_recorded_answers_choose_the_files(
    tmp_path: Path, installed: TemplateVersions, run_spaps: RunSpaps
) -> None:
    """A service without Celery gets no worker from the new template either."""
    root = tmp_path / "quiet-api"
    assert run_spaps("new", "service", "quiet-api", "--dir", str(root), "--no-celery").code == 0

    outcome = run_spaps("update", str(root), "--json")

    assert outcome.code == 0, outcome.stderr
    assert not (root / "src" / "quiet_api" / "worker.py").exists()
    paths = {f["path"] for f in outcome.json()["files"]}
    assert "src/quiet_api/api/status.py" in paths
    assert not any("worker" in path for path in paths)


def test_a_renamed_setting_the_template_also_changed_is_marked_never_reverted(
    service_root: Path, installed: TemplateVersions, run_spaps: RunSpaps
) -> None:
    """The team renamed ``service_name``; the next template changes that very line. Either
    the rename survives or a conflict shows both: the old name never quietly comes back."""
    replace(
        installed.trees["2"] / "src" / "{{ package }}" / "settings.py.jinja",
        '    service_name: str = "{{ service }}"\n',
        '    service_name: str = "{{ service }}"  # logs, traces and /meta name the service\n',
    )
    replace(service_root / PKG / "settings.py", RENAMED_SETTING[0], RENAMED_SETTING[1])

    outcome = run_spaps("update", str(service_root), "--json")

    assert outcome.code == 3
    assert [c["path"] for c in outcome.json()["conflicts"]] == [f"{PKG}/settings.py"]
    settings = (service_root / PKG / "settings.py").read_text(encoding="utf-8")
    assert RENAMED_SETTING[0] not in outside_conflicts(settings)
    assert 'app_name: str = "billing-api"' in settings
    assert "# logs, traces and /meta name the service" in settings
    assert "Settings (template 2)" in settings  # the rest of the template's change merged
    evidence = {"renamed setting": (f"{PKG}/settings.py", RENAMED_SETTING[1])}
    removals = {"renamed setting": (f"{PKG}/settings.py", RENAMED_SETTING[0])}
    assert lost(service_root, evidence, removals) == []


def test_a_rename_undone_outside_a_conflict_counts_as_lost(tmp_path: Path) -> None:
    """The check the copier comparison relies on: the old name back next to the new one (what a
    merge that re-adds the template's line would leave) is a lost edit, not a kept one."""
    settings = tmp_path / "settings.py"
    evidence = {"renamed setting": ("settings.py", RENAMED_SETTING[1])}
    removals = {"renamed setting": ("settings.py", RENAMED_SETTING[0])}
    settings.write_text(
        f'class Settings:\n{RENAMED_SETTING[1]}"a"\n{RENAMED_SETTING[0]}"a"\n', encoding="utf-8"
    )
    assert lost(tmp_path, evidence, removals) == ["renamed setting"]
    settings.write_text(
        "class Settings:\n<<<<<<< yours\n"
        f'{RENAMED_SETTING[1]}"a"\n=======\n{RENAMED_SETTING[0]}"a"  # new\n>>>>>>> template 2\n',
        encoding="utf-8",
    )
    assert lost(tmp_path, evidence, removals) == []
