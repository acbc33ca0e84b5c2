"""The generated tree is clean (ruff, mypy --strict) and keeps the contracts other commands use."""

from __future__ import annotations

import ast
import configparser
import re
import subprocess
import sys
import tomllib
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from spaps_server_quickstart.db.migrations import validate_migrations

from spaps_cli import names
from spaps_cli.fleet.compat import format_range, load_matrix
from spaps_cli.generators.service import ServiceAnswers, generate_service

BIN = Path(sys.executable).parent
VARIANTS = {
    "default": {"celery": True, "pgvector": False},
    "no-celery-pgvector": {"celery": False, "pgvector": True},
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    answers = ServiceAnswers.build(
        names.service_name("billing-api"), description='Bills "things"', **VARIANTS[request.param]
    )
    root = tmp_path_factory.mktemp(request.param) / "billing-api"
    generate_service(answers, destination=root, now=datetime(2026, 11, 26, 19, 5))
    return root


def run_tool(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_ruff_check_and_format_are_clean(service: Path) -> None:
    # --isolated would drop the service's own config; it must be the one that passes.
    check = run_tool("ruff", "check", "--no-cache", ".", cwd=service)
    assert check.returncode == 0, check.stdout + check.stderr
    formatted = run_tool("ruff", "format", "--check", "--no-cache", ".", cwd=service)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def test_mypy_strict_is_clean(service: Path) -> None:
    # The service's own [tool.mypy] (strict, src + tests), with the runtime importable.
    result = run_tool("mypy", "--cache-dir", str(service / ".mypy_cache"), cwd=service)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_pyproject_records_the_spaps_table(service: Path) -> None:
    pyproject = tomllib.loads((service / "pyproject.toml").read_text())
    spaps = pyproject["tool"]["spaps"]
    celery = (service / "src" / "billing_api" / "worker.py").exists()
    assert spaps == {
        "service": "billing-api",
        "package": "billing_api",
        "cli-version": "0.1.0",
        "template-version": "1",
        "created": "202611261905",
        "service-id": spaps["service-id"],
        "domains": [],
        "migration-domains": ["core"],
        "answers": {
            "description": 'Bills "things"',
            "celery": celery,
            "pgvector": spaps["answers"]["pgvector"],
        },
    }
    assert re.fullmatch(r"[0-9a-f]{8}", spaps["service-id"])
    assert pyproject["project"]["description"] == 'Bills "things"'
    (requirement,) = pyproject["project"]["dependencies"]
    assert requirement.startswith("spaps-server-quickstart[postgres,redis,server")
    matrix_range = load_matrix().runtime_range("1")
    assert matrix_range is not None
    assert requirement.endswith("]" + format_range(matrix_range))
    assert requirement.endswith("]>=1.0,<2")
    assert ("pgvector" in requirement) is spaps["answers"]["pgvector"]
    ini = pyproject["tool"]["pytest"]["ini_options"]
    assert ini["spaps_app"] == "billing_api.main:create_app"
    assert ("spaps_celery_app" in ini) is celery


def test_router_registry_is_one_function_of_include_router_calls(service: Path) -> None:
    """The shape `spaps add domain` edits with libcst."""
    tree = ast.parse((service / "src" / "billing_api" / "api" / "registry.py").read_text())
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert [f.name for f in functions] == ["register_routers"]
    (register,) = functions
    assert [a.arg for a in register.args.args] == ["app"]
    for statement in register.body:
        assert isinstance(statement, ast.Expr)
        assert isinstance(statement.value, ast.Call)
        assert ast.unparse(statement.value.func) == "app.include_router"
    assert [ast.unparse(s) for s in register.body] == ["app.include_router(meta_router)"]


def test_migrations_follow_the_naming_rule(service: Path) -> None:
    versions = service / "migrations" / "versions"
    assert [p.name for p in versions.iterdir()] == ["202611261905_core_initial.py"]
    assert validate_migrations(versions, ["core"]) == []
    alembic = configparser.ConfigParser(interpolation=None)
    alembic.read(service / "alembic.ini")
    assert alembic["alembic"]["script_location"] == "%(here)s/migrations"
    assert alembic["alembic"]["file_template"].startswith(
        "%%(year)d%%(month).2d%%(day).2d%%(hour).2d%%(minute).2d_"
    )
    initial = (versions / "202611261905_core_initial.py").read_text()
    answers = tomllib.loads((service / "pyproject.toml").read_text())["tool"]["spaps"]["answers"]
    assert ("create_vector_extension(op)" in initial) is answers["pgvector"]


def test_compose_has_health_checks_and_a_database_of_its_own(service: Path) -> None:
    compose = yaml.safe_load((service / "compose.yaml").read_text())
    services = compose["services"]
    celery = (service / "src" / "billing_api" / "worker.py").exists()
    assert set(services) == {"db", "redis", "api"} | ({"worker"} if celery else set())
    assert services["db"]["image"].startswith("pgvector/pgvector:")
    assert services["db"]["environment"]["POSTGRES_DB"] == "billing_api"
    for name, definition in services.items():
        assert "healthcheck" in definition, name
    assert services["api"]["depends_on"]["db"] == {"condition": "service_healthy"}
    assert services["api"]["environment"]["DATABASE_URL"].endswith("@db:5432/billing_api")
    env_example = (service / ".env.example").read_text()
    assert "/billing_api\n" in env_example


def test_dockerfile_runs_as_non_root_with_a_health_check(service: Path) -> None:
    dockerfile = (service / "Dockerfile").read_text()
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert users == ["app"]
    assert "HEALTHCHECK" in dockerfile
    assert "billing_api.main:app" in dockerfile


def test_ci_and_pre_commit_are_valid_yaml_with_the_expected_steps(service: Path) -> None:
    ci = yaml.safe_load((service / ".github" / "workflows" / "ci.yml").read_text())
    steps = [step.get("run") for step in ci["jobs"]["test"]["steps"]]
    for command in (
        "ruff check .",
        "mypy",
        "spaps migrate --check",
        "alembic upgrade head",
        "pytest",
        "spaps doctor",
    ):
        assert command in steps
    smoke = [run for run in steps if run and run.startswith("spaps smoke")]
    assert len(smoke) == 1
    assert '--database-url "$DATABASE_URL"' in smoke[0]
    assert set(ci["jobs"]["test"]["services"]) == {"postgres", "redis"}
    release = yaml.safe_load((service / ".github" / "workflows" / "release.yml").read_text())
    assert release["jobs"]["publish"]["needs"] == "build"
    hooks = yaml.safe_load((service / ".pre-commit-config.yaml").read_text())
    ids = {hook["id"] for repo in hooks["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "mypy", "spaps-migrate-check"} <= ids


def test_the_first_release_bump_of_a_new_service_has_nothing_to_warn_about(
    service: Path, tmp_path: Path
) -> None:
    """A Keep a Changelog CHANGELOG.md with an Unreleased entry: the first ``release bump``
    moves it under the new version and warns about nothing (the index is not asked here)."""
    import json
    import shutil

    from cli.cli_runner import spaps_process

    copy = tmp_path / "service"
    shutil.copytree(service, copy)
    outcome = spaps_process(
        ["release", "bump", "patch", "--offline", "--json", "--date", "2027-01-02"], cwd=copy
    )
    assert outcome.code == 0, outcome.stderr
    result = json.loads(outcome.stdout)
    assert [w for w in result["warnings"] if not w.startswith("--offline")] == []
    changelog = (copy / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog\n")
    unreleased, released = changelog.split("## [0.1.1] - 2027-01-02\n")
    assert "## [Unreleased]\n" in unreleased
    assert "### Added\n- The service, generated by `spaps new service`" in released
