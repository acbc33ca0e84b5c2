"""A template update whose new template raises the runtime pin: the runtime's codemods run too.

Template 2 here is the scenario's, released with the scenario's runtime 2.0.0 (its pins start at
2.0, its ``db.py`` calls ``build_metadata``); the registry holds 2.0.0's codemod
(``create_metadata`` renamed). A service generated at template 1 calls ``create_metadata`` in its
``db.py`` and wherever its team used it: after ``spaps update`` it must import on runtime 2,
in one run, one apply.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from cli.cli_runner import RunSpaps

from spaps_cli.codemods.runtime_upgrades import UpgradeRegistry
from spaps_cli.update.versions import TemplateVersions
from tests.update.conftest import snapshot
from tests.update.runtime_scenario import (
    NEW,
    OLD,
    REGISTRY,
    BuildMetadata,
    make_template_v2_on_runtime_v2,
)
from tests.update.scenario import replace

PKG = "src/billing_api"
DB = f"{PKG}/db.py"
REPORTS = f"{PKG}/reports.py"

#: The team's own module: an import and a use the codemod rewrites, a string it cannot.
TEAM_MODULE = f'''"""The team's reporting tables, on metadata of their own."""

from spaps_server_quickstart.db import {OLD}

#: Where the factory lives (read by the team's docs generator).
FACTORY = "spaps_server_quickstart.db.{OLD}"

reporting_metadata = {OLD}()
'''

#: Appended to ``db.py`` by the team: a use of the name whose import the template rewrites.
TEAM_DB_LINES = (
    f"\n\n#: The team's audit tables, kept apart from the service's.\naudit_metadata = {OLD}()\n"
)


@pytest.fixture(autouse=True)
def _no_outer_virtualenv(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's runtime is read from its own environment; not from the one running pytest."""
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)


@pytest.fixture
def released(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TemplateVersions:
    """The CLI as a release shipping template 2 on runtime 2.0.0 (and its codemod) would be."""
    versions = make_template_v2_on_runtime_v2(tmp_path / "history")
    monkeypatch.setattr(TemplateVersions, "installed", classmethod(lambda cls: versions))
    monkeypatch.setattr(UpgradeRegistry, "installed", classmethod(lambda cls: REGISTRY))
    return versions


def _pins(root: Path) -> list[str]:
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    strings = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return [s for s in strings if s.startswith("spaps-server-quickstart")]


def _team_edits(root: Path) -> None:
    (root / REPORTS).write_text(TEAM_MODULE, encoding="utf-8")
    with (root / DB).open("a", encoding="utf-8") as handle:
        handle.write(TEAM_DB_LINES)


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_a_raised_pin_runs_the_runtime_codemods_in_the_same_update(
    service_root: Path, released: TemplateVersions, run_spaps: RunSpaps
) -> None:
    _team_edits(service_root)
    factory_line = _line_of((service_root / REPORTS).read_text(encoding="utf-8"), "FACTORY =")

    outcome = run_spaps("update", str(service_root), "--json")

    result = outcome.json()
    assert result["conflicts"] == []
    assert result["recorded"] is True
    runtime = result["runtime"]
    assert (runtime["from"], runtime["to"]) == ("1.0.0", "2.0.0")
    assert runtime["upgrades"] == ["2.0.0"]
    assert runtime["codemods"] == [BuildMetadata.ID]
    assert sorted(runtime["changed_files"]) == [DB, REPORTS]
    assert [pin["to"] for pin in runtime["pin"]] == [
        "spaps-server-quickstart[postgres,redis,server]>=2.0,<3",
        "spaps-server-quickstart[testing]>=2.0,<3",
    ]
    assert _pins(service_root) == [
        "spaps-server-quickstart[postgres,redis,server]>=2.0,<3",
        "spaps-server-quickstart[testing]>=2.0,<3",
    ]
    pyproject = tomllib.loads((service_root / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["spaps"]["template-version"] == "2"
    # db.py: the template renamed its own import and call; the team's appended use of the old
    # name was carried across too (the codemod ran on the team's side before the merge), so the
    # module does not call a name it no longer imports
    db = (service_root / DB).read_text(encoding="utf-8")
    assert OLD not in db
    assert f"from spaps_server_quickstart.db import DatabaseResources, {NEW}\n" in db
    assert f"audit_metadata = {NEW}()" in db
    assert f"metadata = {NEW}()" in db
    compile(db, DB, "exec")
    # the team's own module: import and use rewritten, the string is a follow-up at its line
    reports = (service_root / REPORTS).read_text(encoding="utf-8")
    assert f"from spaps_server_quickstart.db import {NEW}\n" in reports
    assert f"reporting_metadata = {NEW}()" in reports
    assert f'FACTORY = "spaps_server_quickstart.db.{OLD}"' in reports
    follow_ups = sorted(
        (f["file"], f["line"], f["codemod"]) for f in runtime["findings"] if not f["auto_fixable"]
    )
    assert [(path, codemod) for path, _, codemod in follow_ups] == [
        ("pyproject.toml", "runtime-pin"),
        (REPORTS, BuildMetadata.ID),
    ]
    assert (REPORTS, factory_line, BuildMetadata.ID) in follow_ups
    pyproject_text = (service_root / "pyproject.toml").read_text(encoding="utf-8")
    [(_, wheel_line, _)] = [f for f in follow_ups if f[0] == "pyproject.toml"]
    assert pyproject_text.splitlines()[wheel_line - 1].startswith("spaps-server-quickstart = {")
    assert runtime["follow_ups"] == 2
    assert outcome.code == 3  # follow-ups are left, as with --runtime

    # a second run is a no-op: the template is recorded, the old API is gone
    after = snapshot(service_root)
    again = run_spaps("update", str(service_root), "--json")
    assert again.code == 0
    assert again.json()["files"] == []
    assert snapshot(service_root) == after


def test_human_output_names_the_runtime_step(
    service_root: Path, released: TemplateVersions, run_spaps: RunSpaps
) -> None:
    _team_edits(service_root)

    outcome = run_spaps("update", str(service_root))

    text = " ".join((outcome.stdout + outcome.stderr).split())
    assert "pin spaps-server-quickstart[testing]" in text
    assert f"update {REPORTS}" in text
    assert f"follow-up {REPORTS}:" in text
    assert "updated template 1 -> 2" in text
    assert (
        f"runtime 1.0.0 -> 2.0.0 (the new template's pin), 2 file(s) rewritten by {BuildMetadata.ID}"
        in text
    )
    assert outcome.code == 3


def test_an_untouched_service_takes_the_templates_code(
    service_root: Path, released: TemplateVersions, run_spaps: RunSpaps
) -> None:
    outcome = run_spaps("update", str(service_root), "--json")

    result = outcome.json()
    by_path = {f["path"]: f["outcome"] for f in result["files"]}
    assert by_path[DB] == "replace"
    assert result["runtime"]["changed_files"] == []  # the template's own db.py is the new code
    assert NEW in (service_root / DB).read_text(encoding="utf-8")
    # the only follow-up is the vendored 1.0.0 wheel the new pin does not admit
    assert [f["codemod"] for f in result["runtime"]["findings"] if not f["auto_fixable"]] == [
        "runtime-pin"
    ]


@pytest.mark.parametrize("flag", ["--dry-run", "--diff", "--check"])
def test_dry_run_diff_and_check_write_nothing(
    flag: str, service_root: Path, released: TemplateVersions, run_spaps: RunSpaps
) -> None:
    _team_edits(service_root)
    before = snapshot(service_root)

    outcome = run_spaps("update", str(service_root), flag, "--json")

    assert snapshot(service_root) == before
    result = outcome.json()
    if flag == "--check":
        assert outcome.code == 1
        return
    assert result["dry_run"] is True
    assert sorted(result["runtime"]["changed_files"]) == [DB, REPORTS]
    if flag == "--diff":
        assert f"+reporting_metadata = {NEW}()" in result["diff"]
        assert f"+audit_metadata = {NEW}()" in result["diff"]
        assert '+    "spaps-server-quickstart[testing]>=2.0,<3",' in result["diff"]


def test_conflicts_elsewhere_do_not_stop_the_code_moving_with_the_pin(
    service_root: Path, released: TemplateVersions, run_spaps: RunSpaps
) -> None:
    """The pin moves in the run that leaves the conflict, so the code moves in it too; the run
    that records the version after the conflict is resolved changes nothing else."""
    _team_edits(service_root)
    replace(service_root / "README.md", "## Run it on your laptop", "## Run it on a laptop")

    outcome = run_spaps("update", str(service_root), "--json")

    assert outcome.code == 3
    result = outcome.json()
    assert [c["path"] for c in result["conflicts"]] == ["README.md"]
    assert sorted(result["runtime"]["changed_files"]) == [DB, REPORTS]
    assert OLD not in (service_root / DB).read_text(encoding="utf-8")
    assert f"reporting_metadata = {NEW}()" in (service_root / REPORTS).read_text(encoding="utf-8")
    spaps = tomllib.loads((service_root / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "spaps"
    ]
    assert (spaps["template-version"], spaps["update-pending"]) == ("1", "2")

    readme = service_root / "README.md"
    lines = readme.read_text(encoding="utf-8").splitlines()
    start, end = lines.index("<<<<<<< yours"), lines.index(">>>>>>> template 2")
    readme.write_text(
        "\n".join([*lines[:start], "## Run it locally", *lines[end + 1 :]]) + "\n", "utf-8"
    )
    before = snapshot(service_root)
    final = run_spaps("update", str(service_root), "--json")
    assert final.code == 0, final.stdout
    assert final.json()["runtime"] is None
    after = snapshot(service_root)
    assert [p for p in after if after[p] != before.get(p)] == ["pyproject.toml"]


def test_a_file_the_codemods_cannot_parse_stops_the_update_before_anything_is_written(
    service_root: Path, released: TemplateVersions, run_spaps: RunSpaps
) -> None:
    broken = service_root / PKG / "broken.py"
    broken.write_text(f"from spaps_server_quickstart.db import {OLD}\ndef (:\n", encoding="utf-8")
    before = snapshot(service_root)

    outcome = run_spaps("update", str(service_root))

    assert outcome.code == 2
    assert f"{PKG}/broken.py" in outcome.error_lines[0]
    assert "runtime 2.0.0" in outcome.error_lines[0]
    assert snapshot(service_root) == before


def test_a_template_that_keeps_the_pin_runs_no_runtime_step(
    service_root: Path,
    versions: TemplateVersions,
    run_spaps: RunSpaps,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(TemplateVersions, "installed", classmethod(lambda cls: versions))
    monkeypatch.setattr(UpgradeRegistry, "installed", classmethod(lambda cls: REGISTRY))
    (service_root / REPORTS).write_text(TEAM_MODULE, encoding="utf-8")

    outcome = run_spaps("update", str(service_root), "--json")

    assert outcome.code == 0, outcome.stdout
    assert outcome.json()["runtime"] is None
    assert (service_root / REPORTS).read_text(encoding="utf-8") == TEAM_MODULE


def test_a_fleet_row_says_the_runtime_moved(
    service_root: Path, released: TemplateVersions, run_spaps: RunSpaps, tmp_path: Path
) -> None:
    import shutil

    fleet = tmp_path / "fleet"
    fleet.mkdir()
    shutil.move(service_root, fleet / "billing-api")

    outcome = run_spaps("update", "--fleet", str(fleet), "--json")

    [row] = outcome.json()["services"]
    assert row["result"] == "updated (runtime 1.0.0 -> 2.0.0), 1 follow-up(s)"
    assert row["follow_ups"][0]["path"] == "pyproject.toml"
    assert outcome.code == 3
