"""The current template version is one constant, kept in step with the shipped history."""

from __future__ import annotations

import filecmp
from pathlib import Path

from spaps_cli.generators.service import TEMPLATE_VERSION
from spaps_cli.generators.templates_location import template_tree
from spaps_cli.update.versions import HISTORY_DIR, TemplateVersions, version_key


def _differences(left: Path, right: Path) -> list[str]:
    comparison = filecmp.dircmp(left, right, ignore=["__pycache__"])
    found = [*comparison.left_only, *comparison.right_only]
    found += filecmp.cmpfiles(left, right, comparison.common_files, shallow=False)[1]
    for name in comparison.common_dirs:
        found += [f"{name}/{item}" for item in _differences(left / name, right / name)]
    return found


def test_history_holds_every_version_up_to_the_current_one() -> None:
    shipped = sorted((p.name for p in HISTORY_DIR.iterdir() if p.is_dir()), key=version_key)
    assert shipped == [str(n) for n in range(1, version_key(TEMPLATE_VERSION) + 1)], (
        "spaps_cli/template_history must hold 1..TEMPLATE_VERSION"
    )


def test_current_tree_equals_its_snapshot() -> None:
    differences = _differences(template_tree("service"), HISTORY_DIR / TEMPLATE_VERSION / "service")
    assert not differences, (
        f"templates/service differs from template_history/{TEMPLATE_VERSION} in {differences}:"
        " a template change is a new template version; bump TEMPLATE_VERSION in"
        " spaps_cli/generators/service.py and copy templates/service to"
        " spaps_cli/template_history/<new version>/service"
    )


def test_installed_versions_list_the_current_one() -> None:
    versions = TemplateVersions.installed()
    assert versions.current == TEMPLATE_VERSION
    assert versions.ordered()[-1] == TEMPLATE_VERSION
