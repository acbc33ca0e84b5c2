"""The generated service's toolchain agrees with itself: one ruff for pre-commit and CI, one lock
for CI and the image, dependencies installed in a layer before the code.

Issue 16 observed pre-commit pinning ruff v0.6.9 while CI installed ``ruff>=0.6`` (0.17 then),
and a Dockerfile that copied ``src`` before installing dependencies despite its own comment.
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from cli.dockerfile import dockerfile_instructions
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


#: What may be in the image before dependencies are installed: nothing a code edit changes.
DEPENDENCY_INPUTS = {"pyproject.toml", "uv.lock", "wheels"}


def test_dockerfile_installs_dependencies_from_the_lock_before_copying_code(
    service: Path,
) -> None:
    instructions = dockerfile_instructions(service)
    installs = [
        index
        for index, (kind, arguments) in enumerate(instructions)
        if kind == "RUN" and "uv sync" in arguments
    ]
    assert installs, "the Dockerfile never runs uv sync"
    first = installs[0]
    assert "--no-install-project" in instructions[first][1]
    copied_before = [
        source
        for kind, arguments in instructions[:first]
        if kind == "COPY"
        for source in arguments.split()[:-1]
        if not source.startswith("--")
    ]
    assert set(copied_before) == DEPENDENCY_INPUTS, copied_before
    copy_src = [
        index
        for index, (kind, arguments) in enumerate(instructions)
        if kind == "COPY" and arguments.split()[0] == "src"
    ]
    assert len(copy_src) == 1
    assert first < copy_src[0] < installs[-1], "the service is installed after its code is copied"
    for index in installs:
        assert "--locked" in instructions[index][1], instructions[index]
    assert not any(
        kind == "RUN" and re.search(r"\bpip install\b(?!\s+uv==)", arguments)
        for kind, arguments in instructions
    ), "a pip install beside the lock"


def test_ci_installs_from_the_lock_and_runs_the_image_with_compose_and_smoke(
    service: Path,
) -> None:
    ci = yaml.safe_load((service / ".github" / "workflows" / "ci.yml").read_text())
    uv_pin = dev_requirements(service)["uv"]
    for name, job in ci["jobs"].items():
        runs = [step.get("run", "") for step in job["steps"]]
        installs = [run for run in runs if "install" in run or "sync" in run]
        assert installs == [f"pip install uv{uv_pin.specifier}", "uv sync --locked --extra dev"], (
            name,
            installs,
        )
    runs = [step.get("run", "") for step in ci["jobs"]["image"]["steps"]]

    def position(prefix: str) -> int:
        found = [index for index, run in enumerate(runs) if run.startswith(prefix)]
        assert len(found) == 1, (prefix, runs)
        return found[0]

    assert (
        position("python -c \"import secrets; print('AUTH_LOCAL_SECRET='")
        < position("docker compose build")
        < position("docker compose up --wait")
        < position("spaps smoke")
    )
    smoke = next(
        step for step in ci["jobs"]["image"]["steps"] if "spaps smoke" in step.get("run", "")
    )
    # Against the stack compose published on the runner: its PostgreSQL (and Redis).
    assert smoke["env"]["DATABASE_URL"].endswith("@127.0.0.1:5432/billing_api")
    assert '--database-url "$DATABASE_URL"' in smoke["run"]
    compose = yaml.safe_load((service / "compose.yaml").read_text())
    assert compose["services"]["db"]["ports"] == ["127.0.0.1:${DB_PORT:-5432}:5432"]


def test_the_image_build_context_keeps_the_lock_and_wheels(service: Path) -> None:
    ignored = (service / ".dockerignore").read_text().split()
    gitignored = (service / ".gitignore").read_text().split()
    for needed in ("uv.lock", "wheels", "wheels/"):
        assert needed not in ignored
        assert needed not in gitignored
    document = tomllib.loads((service / "pyproject.toml").read_text())
    sources = document["tool"]["uv"]["sources"]
    assert set(sources) == {"spaps-server-quickstart", "spaps-cli"}
    for source in sources.values():  # relative paths: uv.lock holds in any clone
        assert not Path(source["path"]).is_absolute()
        assert (service / source["path"]).is_file(), source
    assert sorted(path.name.split("-")[0] for path in (service / "wheels").glob("*.whl")) == [
        "spaps_cli",
        "spaps_server_quickstart",
    ]


def test_next_hint_is_the_readme_install_block(service: Path) -> None:
    """The fast twin of tests/e2e/test_fresh_machine.py: the two texts never drift apart."""
    from spaps_cli.commands.new import NEXT_STEPS
    from tests.e2e.test_fresh_machine import readme_commands

    commands = readme_commands((service / "README.md").read_text())
    assert " && ".join(command.split("  #")[0].strip() for command in commands) == NEXT_STEPS
