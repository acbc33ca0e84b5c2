"""``spaps update --fleet DIR``: three services at different template versions, one table."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from cli.cli_runner import RunSpaps

from spaps_cli.generators.service import ServiceAnswers, generate_service
from spaps_cli.names import service_name
from spaps_cli.update.run import run_update
from spaps_cli.update.versions import TemplateVersions
from tests.update.conftest import NOW
from tests.update.scenario import replace


@pytest.fixture
def three_versions(versions: TemplateVersions, tmp_path: Path) -> TemplateVersions:
    v3 = tmp_path / "history" / "3" / "service"
    shutil.copytree(versions.trees["2"], v3)
    (v3 / "CONTRIBUTING.md.jinja").write_text("# Contributing to {{ service }}\n", "utf-8")
    return TemplateVersions(trees={**versions.trees, "3": v3}, current="3")


def _template_version(root: Path) -> str:
    document = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return str(document["tool"]["spaps"]["template-version"])


def test_fleet_updates_each_service_and_reports_one_table(
    three_versions: TemplateVersions,
    tmp_path: Path,
    run_spaps: RunSpaps,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fleet = tmp_path / "fleet"
    for name in ("alpha-api", "beta-api", "gamma-api"):
        generate_service(
            ServiceAnswers.build(service_name(name)), destination=fleet / name, now=NOW
        )
    (fleet / "notes").mkdir()  # not a service: ignored
    # gamma is already at 2; beta's team edited what the template changes next
    assert (
        run_update(
            fleet / "gamma-api",
            to="2",
            check=False,
            diff=False,
            dry_run=False,
            json_output=True,
            versions=three_versions,
        )
        == 0
    )
    replace(fleet / "beta-api" / "README.md", "## Run it on your laptop", "## On a laptop")
    monkeypatch.setattr(TemplateVersions, "installed", classmethod(lambda cls: three_versions))

    check = run_spaps("update", "--fleet", str(fleet), "--check", "--json")
    assert check.code == 1
    behind = {row["service"]: row["behind"] for row in check.json()["services"]}
    assert behind == {"alpha-api": 2, "beta-api": 2, "gamma-api": 1}

    outcome = run_spaps("update", "--fleet", str(fleet))
    assert outcome.code == 3
    table = outcome.stderr
    assert "spaps update --fleet" in table
    for name, result in [
        ("alpha-api", "updated"),
        ("beta-api", "1 conflicted"),
        ("gamma-api", "updated"),
    ]:
        line = next(row for row in table.splitlines() if name in row and "│" in row)
        assert result in line
    assert "beta-api/README.md:" in table
    assert _template_version(fleet / "alpha-api") == "3"
    assert _template_version(fleet / "beta-api") == "1"
    assert _template_version(fleet / "gamma-api") == "3"
    assert (fleet / "gamma-api" / "CONTRIBUTING.md").read_text("utf-8") == (
        "# Contributing to gamma-api\n"
    )

    again = run_spaps("update", "--fleet", str(fleet), "--json")
    results = {row["service"]: row["result"] for row in again.json()["services"]}
    assert results["alpha-api"] == results["gamma-api"] == "up to date"
    assert results["beta-api"].startswith("error: README.md still has conflict markers")
    assert again.code == 2


def test_fleet_without_services_is_a_usage_error(tmp_path: Path, run_spaps: RunSpaps) -> None:
    outcome = run_spaps("update", "--fleet", str(tmp_path))
    assert outcome.code == 2
    assert "no service with a [tool.spaps] table" in outcome.stderr
