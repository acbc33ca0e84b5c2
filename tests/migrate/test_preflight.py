"""The preflight reads what a project declares, locks and installs, and decides what can run."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from spaps_cli.codemods import preflight
from spaps_cli.codemods.preflight import Declared, ProjectVersions, Resolved, read_versions
from spaps_cli.codemods.registry import CODEMODS

ROOT = Path(__file__).resolve().parents[2]


def test_runtime_requirements_match_the_runtime_pyproject() -> None:
    document = tomllib.loads((ROOT / "runtime" / "pyproject.toml").read_text())
    lower_bounds: dict[str, str] = {}
    for line in document["project"]["dependencies"]:
        requirement = Requirement(line)
        for spec in requirement.specifier:
            if spec.operator == ">=":
                lower_bounds[requirement.name.lower()] = spec.version
    for name, minimum in preflight.RUNTIME_REQUIREMENTS.items():
        assert lower_bounds[name] == minimum, name


def test_every_codemod_declares_its_preflight_requirement() -> None:
    for codemod in CODEMODS:
        assert codemod.PREFLIGHT in preflight.NEEDS, codemod.ID
    by_id = {codemod.ID: codemod.PREFLIGHT for codemod in CODEMODS}
    assert by_id["on-event-to-lifespan"] == "lifespan"
    assert {need for codemod_id, need in by_id.items() if codemod_id != "on-event-to-lifespan"} == {
        "runtime"
    }


def test_pep621_optional_poetry_and_requirements_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        """\
[project]
name = "svc"
dependencies = ["fastapi[standard]>=0.100,<0.111"]

[project.optional-dependencies]
db = ["SQLAlchemy==1.4.52"]

[tool.poetry.dependencies]
python = "^3.11"
pydantic = "^1.10"

[tool.poetry.group.workers.dependencies]
celery = { version = "~5.3", extras = ["redis"] }
"""
    )
    (tmp_path / "requirements-dev.txt").write_text(
        "# tools\n-r requirements.txt\nhttpx>=0.27 # client\n"
    )
    versions = read_versions(tmp_path, {})
    assert versions.declared["fastapi"] == (Declared("pyproject.toml", "<0.111,>=0.100", 3),)
    assert versions.declared["sqlalchemy"][0].specifier == "==1.4.52"
    assert versions.declared["pydantic"][0].specifier == ">=1.10,<2"
    assert versions.declared["celery"][0].specifier == ">=5.3,<5.4"
    assert versions.declared["httpx"] == (Declared("requirements-dev.txt", ">=0.27", 3),)
    assert versions.blocking("runtime") == [
        ("fastapi", "0.121"),
        ("pydantic", "2.7"),
        ("sqlalchemy", "2.0.30"),
        ("celery", "5.4"),
    ]
    assert versions.blocking("lifespan") == []
    assert not versions.guarantees("fastapi", "0.112.2")


def test_locks_pin_and_the_project_virtualenv_wins(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "svc"\ndependencies = ["fastapi"]\n'
    )
    (tmp_path / "uv.lock").write_text(
        'version = 1\n[[package]]\nname = "fastapi"\nversion = "0.89.1"\n'
        '[[package]]\nname = "pydantic"\nversion = "2.9.0"\n'
    )
    versions = read_versions(tmp_path, {})
    assert versions.resolved["fastapi"] == Resolved("uv.lock", "0.89.1")
    assert versions.blocking("lifespan") == [("fastapi", "0.93.0")]
    site = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr\n")
    (site / "fastapi-0.115.0.dist-info").mkdir()
    versions = read_versions(tmp_path, {})
    assert versions.resolved["fastapi"] == Resolved(".venv", "0.115.0")
    assert versions.blocking("lifespan") == []
    assert versions.resolved["pydantic"] == Resolved("uv.lock", "2.9.0")


def test_poetry_lock_and_an_active_virtualenv(tmp_path: Path) -> None:
    (tmp_path / "poetry.lock").write_text('[[package]]\nname = "Pydantic"\nversion = "1.10.13"\n')
    environment = tmp_path / "elsewhere"
    (environment / "lib" / "python3.12" / "site-packages" / "celery-5.4.0.dist-info").mkdir(
        parents=True
    )
    versions = read_versions(tmp_path, {"VIRTUAL_ENV": str(environment)})
    assert versions.resolved["pydantic"] == Resolved("poetry.lock", "1.10.13")
    assert versions.resolved["celery"].version == "5.4.0"
    assert versions.blocking("runtime") == [("pydantic", "2.7")]


@pytest.mark.parametrize(
    ("specifier", "can_meet", "guarantees"),
    [
        ("", True, False),
        (">=0.80", True, False),
        ("==0.87.0", False, False),
        ("<0.93", False, False),
        ("~=0.92.0", False, False),
        (">=0.93,<0.100", True, False),
        (">=0.112.2", True, True),
        ("==0.115.*", True, True),
    ],
)
def test_specifier_reasoning(specifier: str, can_meet: bool, guarantees: bool) -> None:
    versions = ProjectVersions({"fastapi": (Declared("requirements.txt", specifier),)})
    assert versions.can_meet("fastapi", "0.93.0") is can_meet
    assert versions.guarantees("fastapi", "0.112.2") is guarantees


def test_nothing_known_blocks_nothing() -> None:
    versions = ProjectVersions()
    assert versions.blocking("runtime") == []
    assert versions.blocking("lifespan") == []


def test_one_follow_up_per_unmet_requirement_naming_what_to_upgrade() -> None:
    versions = ProjectVersions(
        {
            "pydantic": (Declared("pyproject.toml", "<2", 7),),
            "fastapi": (Declared("requirements.txt", "==0.87.0", 2),),
        }
    )
    blocked = preflight.check(
        versions,
        {
            "settings-to-runtime": "runtime",
            "imports": "runtime",
            "on-event-to-lifespan": "lifespan",
        },
    )
    by_need = {item.need: item for item in blocked}
    runtime = by_need["runtime"]
    assert runtime.codemods == ("settings-to-runtime", "imports")
    assert (runtime.source, runtime.line) == ("requirements.txt", 2)  # fastapi comes first
    assert "bump-pydantic" in runtime.message
    assert "fastapi>=0.121" in runtime.message
    lifespan = by_need["lifespan"]
    assert (lifespan.source, lifespan.line) == ("requirements.txt", 2)
    assert "fastapi>=0.93.0" in lifespan.message


@pytest.mark.parametrize(
    ("specifier", "blocked"),
    [
        ("", False),
        (">=0.13", False),
        ("==0.15.0", True),
        ("<0.16", True),
        ("~=0.13.5", True),
        (">=0.16,<1", False),
        (">=1.0", False),
    ],
)
def test_a_starlette_only_project_needs_a_starlette_whose_lifespan_takes_a_context_manager(
    specifier: str, blocked: bool
) -> None:
    """0.13.5 added ``lifespan=`` for generator functions; the generated one needs 0.16.0."""
    versions = ProjectVersions({"starlette": (Declared("requirements.txt", specifier),)})
    assert (versions.blocking("lifespan") == [("starlette", "0.16.0")]) is blocked


def test_an_old_starlette_blocks_the_lifespan_codemod_naming_starlette() -> None:
    versions = ProjectVersions({"starlette": (Declared("pyproject.toml", "==0.15.0", 4),)})
    [blocked] = preflight.check(versions, {"on-event-to-lifespan": "lifespan"})
    assert (blocked.source, blocked.line) == ("pyproject.toml", 4)
    assert "starlette==0.15.0 (pyproject.toml:4) but starlette>=0.16.0 is needed" in blocked.message
    assert "Starlette(lifespan=...) cannot work here" in blocked.message
    assert "FastAPI" not in blocked.message
