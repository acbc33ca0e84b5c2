"""A runtime 2.0.0 with one breaking change, its upgrade codemod and a matrix that lists it.

There is one runtime release (1.0.0), so the registry has no real row yet. The scenario makes
the release a breaking change would make: ``create_metadata`` (the public function every service's
``db.py`` calls to build its ``Base.metadata``) renamed to ``build_metadata``, the old name gone.
:func:`make_runtime_v2` applies it to a copy of this checkout's runtime; :data:`REGISTRY` carries
its codemod through the same registry type the CLI's own rows use; :func:`matrix_with_v2` is the
compatibility matrix of a CLI release that lists 2.0.0 for template 1;
:func:`make_template_v2_on_runtime_v2` is a template 2 released with that runtime (its pin raised).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from spaps_cli.codemods.base import Example
from spaps_cli.codemods.runtime_upgrades import RuntimeUpgrade, UpgradeRegistry
from spaps_cli.codemods.runtime_upgrades.renamed_names import RenamedRuntimeNames
from spaps_cli.fleet.compat import CompatibilityMatrix, parse_matrix
from spaps_cli.update.versions import TemplateVersions
from tests.update.scenario import PACKAGE_DIR, make_template_v2, replace

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "runtime"
OLD, NEW = "create_metadata", "build_metadata"


class BuildMetadata(RenamedRuntimeNames):
    ID: ClassVar[str] = "runtime-2-build-metadata"
    SUMMARY: ClassVar[str] = "create_metadata is build_metadata (runtime 2.0.0)."
    RUNTIME_VERSION: ClassVar[str] = "2.0.0"
    RENAMES: ClassVar[Mapping[str, str]] = {
        f"spaps_server_quickstart.db.{OLD}": f"spaps_server_quickstart.db.{NEW}",
        f"spaps_server_quickstart.db.base.{OLD}": f"spaps_server_quickstart.db.base.{NEW}",
        f"spaps_server_quickstart.{OLD}": f"spaps_server_quickstart.{NEW}",
    }
    EXAMPLES: ClassVar[tuple[Example, ...]] = (
        Example(
            "an import and its use",
            f"from spaps_server_quickstart.db import {OLD}\n\nmetadata = {OLD}()\n",
            f"from spaps_server_quickstart.db import {NEW}\n\nmetadata = {NEW}()\n",
        ),
    )


REGISTRY = UpgradeRegistry.of(
    [RuntimeUpgrade("2.0.0", (BuildMetadata,), "create_metadata renamed")]
)


def matrix_with_v2(*, v2_status: str = "supported") -> CompatibilityMatrix:
    """This CLI's matrix plus runtime 2.0.0 and a CLI release admitting it for template 1."""
    return parse_matrix(
        {
            "schema": 1,
            "runtime": [
                {"version": "1.0.0", "released": "2026-11-26", "status": "supported"},
                {"version": "2.0.0", "released": "2027-03-01", "status": v2_status},
            ],
            "cli": [
                {
                    "version": "0.1.0",
                    "released": "2026-11-26",
                    "template-version": "1",
                    "runtime": ">=1.0,<2",
                },
                {
                    "version": "0.2.0",
                    "released": "2027-03-01",
                    "template-version": "1",
                    "runtime": ">=1.0,<3",
                },
            ],
        }
    )


def make_runtime_v2(directory: Path) -> Path:
    """A copy of this checkout's runtime as release 2.0.0: ``create_metadata`` renamed, gone."""
    target = directory / "runtime-2.0.0"
    shutil.copytree(
        RUNTIME_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    )
    word = re.compile(rf"\b{OLD}\b")
    changed = 0
    for path in (target / "spaps_server_quickstart").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if word.search(text):
            path.write_text(word.sub(NEW, text), encoding="utf-8")
            changed += 1
    assert changed, f"{OLD} not found in the runtime: the scenario needs another breaking change"
    for path, old, new in (
        (target / "pyproject.toml", 'version = "1.0.0"', 'version = "2.0.0"'),
        (
            target / "spaps_server_quickstart" / "__init__.py",
            '__version__ = "1.0.0"',
            '__version__ = "2.0.0"',
        ),
    ):
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{path}: {old!r} not found"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def make_template_v2_on_runtime_v2(directory: Path) -> TemplateVersions:
    """Template 2 (:func:`~tests.update.scenario.make_template_v2`) released with runtime 2.0.0.

    Its pins start at 2.0 (``>=2.0,<3``, the policy range) and its own code calls the runtime
    by the new name, as a template written for that runtime does; a service generated at
    template 1 still has ``create_metadata`` in its ``db.py`` and wherever its team used it.
    """
    versions = make_template_v2(directory)
    v2 = versions.trees["2"]
    for requirement in ("runtime_requirement", "runtime_testing_requirement"):
        replace(
            v2 / "pyproject.toml.jinja",
            f'"{{{{ {requirement} }}}}"',
            f"\"{{{{ {requirement} | replace('>=1.0,<2', '>=2.0,<3') }}}}\"",
        )
    db = v2 / PACKAGE_DIR / "db.py.jinja"
    db.write_text(re.sub(rf"\b{OLD}\b", NEW, db.read_text(encoding="utf-8")), encoding="utf-8")
    return versions
