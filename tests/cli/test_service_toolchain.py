"""The generated service's toolchain agrees with itself: one ruff for pre-commit and CI, one lock
for CI and the image, dependencies installed in a layer before the code.

Issue 16 observed pre-commit pinning ruff v0.6.9 while CI installed ``ruff>=0.6`` (0.17 then),
and a Dockerfile that copied ``src`` before installing dependencies despite its own comment.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from spaps_cli import names
from spaps_cli.generators.service import ServiceAnswers, generate_service


@pytest.fixture(scope="module", params=[True, False], ids=["celery", "no-celery"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    answers = ServiceAnswers.build(names.service_name("billing-api"), celery=request.param)
    root = tmp_path_factory.mktemp("toolchain") / "billing-api"
    generate_service(answers, destination=root, now=datetime(2026, 12, 5, 9, 30))
    return root


def dev_requirements(service: Path) -> dict[str, Requirement]:
    document = tomllib.loads((service / "pyproject.toml").read_text())
    dev = document["project"]["optional-dependencies"]["dev"]
    return {Requirement(line).name: Requirement(line) for line in dev}


def test_pre_commit_runs_the_ruff_the_dev_extra_pins(service: Path) -> None:
    ruff = dev_requirements(service)["ruff"]
    specifiers = list(ruff.specifier)
    assert len(specifiers) == 1, f"ruff must be pinned to one version, not {ruff}"
    assert specifiers[0].operator == "=="
    hooks = yaml.safe_load((service / ".pre-commit-config.yaml").read_text())
    revs = [repo["rev"] for repo in hooks["repos"] if repo["repo"].endswith("/ruff-pre-commit")]
    assert revs == [f"v{specifiers[0].version}"]


def test_ci_gets_ruff_only_from_the_dev_extra(service: Path) -> None:
    """A second, looser ruff install in CI is how the two drifted apart."""
    ci = yaml.safe_load((service / ".github" / "workflows" / "ci.yml").read_text())
    for job in ci["jobs"].values():
        for step in job["steps"]:
            command = step.get("run", "")
            for word in ("pip install", "uv pip install", "uv tool install"):
                if word in command:
                    assert "ruff" not in command, command
