"""``spaps add domain`` against a freshly generated service: plan, apply, re-run, refuse."""

from __future__ import annotations

import ast
import itertools
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from cli.cli_runner import RunSpaps

from spaps_cli.errors import ExitCode
from spaps_cli.generators.domain import plan_domain
from spaps_cli.plan import ConflictPolicy
from spaps_cli.project import find_project

from .conftest import NOW, snapshot

REGISTRY = "src/billing_api/api/registry.py"
VERSIONS = "migrations/versions"


def _migrations(root: Path) -> dict[str, tuple[str, str | None]]:
    """file name -> (revision, down_revision), read the way Alembic would see them."""
    found: dict[str, tuple[str, str | None]] = {}
    for path in sorted((root / VERSIONS).glob("*.py")):
        values = {
            node.targets[0].id if isinstance(node, ast.Assign) else node.target.id: node.value
            for node in ast.parse(path.read_text()).body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            and isinstance(
                node.targets[0] if isinstance(node, ast.Assign) else node.target, ast.Name
            )
        }
        revision = ast.literal_eval(values["revision"])
        down = ast.literal_eval(values["down_revision"])
        found[path.name] = (revision, down)
    return found


def test_creates_the_domain_registers_it_and_records_it(
    service_root: Path, spaps: RunSpaps
) -> None:
    result = spaps("add", "domain", "users", "--dir", str(service_root), "--json")

    assert result.code == 0, result.stderr
    payload = result.json()
    assert payload["command"] == "add domain"
    assert (payload["domain"], payload["starter"], payload["changed"]) == ("users", "users", True)
    actions = {row["path"]: row["action"] for row in payload["files"]}
    domain_dir = "src/billing_api/domains/users"
    for module in ("__init__", "router", "schemas", "models", "service", "tasks"):
        assert actions[f"{domain_dir}/{module}.py"] == "create"
    assert actions["tests/domains/test_users_domain.py"] == "create"
    assert actions[REGISTRY] == "update"
    assert actions["pyproject.toml"] == "update"
    migration = [p for p in actions if p.startswith(VERSIONS)]
    assert len(migration) == 1
    assert re.fullmatch(rf"{VERSIONS}/\d{{12}}_users_create_tables\.py", migration[0])

    registry = (service_root / REGISTRY).read_text()
    assert "from billing_api.domains.users.router import router as users_router\n" in registry
    assert registry.rstrip().endswith("app.include_router(users_router)")
    pyproject = (service_root / "pyproject.toml").read_text()
    assert 'domains = ["users"]' in pyproject
    assert 'migration-domains = ["core", "users"]' in pyproject
    assert "# Written by `spaps new service`" in pyproject  # the template's comment survives


def test_rerun_is_identical_and_writes_nothing(service_root: Path, spaps: RunSpaps) -> None:
    assert spaps("add", "domain", "billing", "--dir", str(service_root)).code == 0
    before = snapshot(service_root)

    again = spaps("add", "domain", "billing", "--dir", str(service_root), "--json")

    assert again.code == 0, again.stderr
    assert {row["action"] for row in again.json()["files"]} == {"identical"}
    assert again.json()["changed"] is False
    assert snapshot(service_root) == before


def test_dry_run_prints_the_plan_and_diffs_and_writes_nothing(
    service_root: Path, spaps: RunSpaps
) -> None:
    before = snapshot(service_root)

    result = spaps("add", "domain", "billing", "--dir", str(service_root), "--dry-run")

    assert result.code == 0, result.stderr
    assert snapshot(service_root) == before
    assert "would create" in result.stderr
    assert "src/billing_api/domains/billing/router.py" in result.stderr
    assert f"would update  {REGISTRY}" in result.stderr
    assert (
        "+from billing_api.domains.billing.router import router as billing_router" in result.stdout
    )
    assert "+    app.include_router(billing_router)" in result.stdout
    assert '+domains = ["billing"]' in result.stdout


def test_migrations_chain_to_the_head_with_increasing_timestamps(service_root: Path) -> None:
    """Three domains planned in the same minute still get distinct, ordered file names."""
    for name in ("users", "admin", "billing"):
        project = find_project(service_root)
        plan, _, _ = plan_domain(project, name, now=NOW + timedelta(seconds=1))
        plan.apply(plan.resolve())

    migrations = _migrations(service_root)
    names = list(migrations)
    assert [name.split("_", 1)[1] for name in names] == [
        "core_initial.py",
        "users_create_tables.py",
        "admin_create_tables.py",
        "billing_create_tables.py",
    ]
    timestamps = [name[:12] for name in names]
    assert timestamps == sorted(set(timestamps)), "timestamps must be unique and increasing"
    chain = [migrations[name] for name in names]
    for (parent, _), (_, down) in itertools.pairwise(chain):
        assert down == parent
    assert all(len(revision) <= 32 for revision, _ in chain)


def test_rerun_reuses_the_existing_migration(service_root: Path, spaps: RunSpaps) -> None:
    assert spaps("add", "domain", "users", "--dir", str(service_root)).code == 0
    assert spaps("add", "domain", "admin", "--dir", str(service_root)).code == 0
    before = _migrations(service_root)

    assert spaps("add", "domain", "users", "--dir", str(service_root)).code == 0

    assert _migrations(service_root) == before


def test_two_heads_stop_before_anything_is_written(service_root: Path, spaps: RunSpaps) -> None:
    initial = next((service_root / VERSIONS).glob("*_core_initial.py"))
    revision = _migrations(service_root)[initial.name][0]
    (service_root / VERSIONS / "202611261300_core_branch.py").write_text(
        f'revision = "branch"\ndown_revision = "{revision}"\n'
    )
    (service_root / VERSIONS / "202611261301_core_other.py").write_text(
        f'revision = "other"\ndown_revision = "{revision}"\n'
    )
    before = snapshot(service_root)

    result = spaps("add", "domain", "billing", "--dir", str(service_root))

    assert result.code == 2
    assert "2 heads" in result.stderr
    assert "alembic merge heads" in result.stderr
    assert snapshot(service_root) == before


def _initial(root: Path) -> tuple[Path, str]:
    initial = next((root / VERSIONS).glob("*_core_initial.py"))
    return initial, _migrations(root)[initial.name][0]


def _write(root: Path, name: str, revision: str, down: str | None) -> None:
    (root / VERSIONS / name).write_text(f'revision = "{revision}"\ndown_revision = {down!r}\n')


def _cycle_apart_from_the_chain(root: Path) -> None:
    """Two files naming each other: the chain still has exactly one head."""
    _write(root, "202611261300_core_ping.py", "ping", "pong")
    _write(root, "202611261301_core_pong.py", "pong", "ping")


def _self_parent(root: Path) -> None:
    _write(root, "202611261300_core_self.py", "self", "self")


def _cycle_through_the_base(root: Path) -> None:
    """The initial migration's parent is the newest one: no base, no head."""
    initial, revision = _initial(root)
    _write(root, "202611261300_core_next.py", "next", revision)
    initial.write_text(initial.read_text().replace("= None", '= "next"', 1))


def _dangling_base(root: Path) -> None:
    """The first migration's parent does not exist (a file deleted, a bad rebase)."""
    initial, _ = _initial(root)
    initial.write_text(initial.read_text().replace("= None", '= "deleted_long_ago"', 1))


@pytest.mark.parametrize(
    ("breakage", "says"),
    [
        (
            _cycle_apart_from_the_chain,
            "cycle (202611261300_core_ping.py, 202611261301_core_pong.py)",
        ),
        (_self_parent, "cycle (202611261300_core_self.py)"),
        (_cycle_through_the_base, "cycle ("),
        (_dangling_base, "down_revision 'deleted_long_ago' is not a revision"),
    ],
    ids=["apart", "self", "through-base", "dangling"],
)
def test_a_broken_history_is_refused_before_anything_is_written(
    service_root: Path, spaps: RunSpaps, breakage: Callable[[Path], None], says: str
) -> None:
    """Alembic cannot load these histories: add domain must not build on them."""
    breakage(service_root)
    before = snapshot(service_root)

    result = spaps("add", "domain", "billing", "--dir", str(service_root))

    assert result.code == 2, result.stderr
    assert len(result.error_lines) == 1
    assert says in result.error_lines[0]
    assert snapshot(service_root) == before


def test_a_changed_file_is_a_conflict_unless_force_or_skip(
    service_root: Path, spaps: RunSpaps
) -> None:
    assert spaps("add", "domain", "billing", "--dir", str(service_root)).code == 0
    router = service_root / "src/billing_api/domains/billing/router.py"
    edited = router.read_text() + "\n# my change\n"
    router.write_text(edited)

    conflict = spaps("add", "domain", "billing", "--dir", str(service_root))
    assert conflict.code == 3
    assert "conflict" in conflict.stderr
    assert "--force" in conflict.stderr
    assert router.read_text() == edited

    skipped = spaps("add", "domain", "billing", "--dir", str(service_root), "--skip")
    assert skipped.code == 0
    assert router.read_text() == edited

    forced = spaps("add", "domain", "billing", "--dir", str(service_root), "--force")
    assert forced.code == 0
    assert "# my change" not in router.read_text()


def test_explicit_starter_and_unknown_starter(service_root: Path, spaps: RunSpaps) -> None:
    result = spaps(
        "add", "domain", "staff", "--starter", "admin", "--dir", str(service_root), "--json"
    )
    assert result.code == 0, result.stderr
    assert result.json()["starter"] == "admin"
    router = (service_root / "src/billing_api/domains/staff/router.py").read_text()
    assert "require_roles(ADMIN)" in router
    assert 'prefix="/staff"' in router

    unknown = spaps("add", "domain", "shop", "--starter", "blog", "--dir", str(service_root))
    assert unknown.code == 2
    assert "'blog' is not one of 'users', 'admin', 'crud'" in unknown.stderr  # the parser's


def test_list_shows_every_starter(spaps: RunSpaps) -> None:
    text = spaps("add", "domain", "--list")
    assert text.code == 0
    for name in ("users", "admin", "crud"):
        assert f"{name}  " in text.stdout
    assert "GET /me" in text.stdout

    listed = spaps("add", "domain", "--list", "--json").json()
    assert [s["name"] for s in listed] == ["users", "admin", "crud"]
    assert listed[1]["default_for"] == ["admin"]


def test_outside_a_service_is_a_clear_error(tmp_path: Path, spaps: RunSpaps) -> None:
    result = spaps("add", "domain", "billing", "--dir", str(tmp_path))

    assert result.code == 2
    assert "no pyproject.toml with [tool.spaps]" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (b"[tool.spaps\npackage = 1\n", "invalid TOML"),
        (b'[tool.spaps]\npackage = "caf\xe9"\n', "is not UTF-8 text"),
    ],
    ids=["invalid-toml", "not-utf8"],
)
def test_an_unreadable_pyproject_is_a_one_line_error_and_nothing_is_written(
    service_root: Path, spaps: RunSpaps, damage: bytes, message: str
) -> None:
    (service_root / "pyproject.toml").write_bytes(damage)
    before = snapshot(service_root)

    result = spaps("add", "domain", "billing", "--dir", str(service_root))

    assert result.code == 2
    [line] = result.error_lines
    assert str(service_root / "pyproject.toml") in line
    assert message in line
    assert snapshot(service_root) == before


def test_runs_from_a_subdirectory_of_the_service(service_root: Path, spaps: RunSpaps) -> None:
    result = spaps("add", "domain", "billing", "--dir", str(service_root / "src" / "billing_api"))

    assert result.code == 0, result.stderr
    assert (service_root / "src/billing_api/domains/billing/models.py").is_file()


def test_a_registry_with_a_syntax_error_stops_everything(
    service_root: Path, spaps: RunSpaps
) -> None:
    registry = service_root / REGISTRY
    registry.write_text(registry.read_text() + "\ndef broken(:\n")
    before = snapshot(service_root)

    result = spaps("add", "domain", "billing", "--dir", str(service_root))

    assert result.code == 2
    error_line = result.stderr.splitlines()[0]
    assert error_line.startswith(f"error: {REGISTRY}:")
    assert "syntax error" in error_line
    assert snapshot(service_root) == before


def test_a_hand_registered_router_is_not_registered_twice(
    service_root: Path, spaps: RunSpaps
) -> None:
    registry = service_root / REGISTRY
    source = registry.read_text()
    source = (
        source.replace(
            "from fastapi import FastAPI\n",
            "from fastapi import FastAPI\n\nfrom billing_api.domains import billing\n",
        ).rstrip()
        + '\n    app.include_router(billing.router.router, prefix="/v1")\n'
    )
    registry.write_text(source)

    assert spaps("add", "domain", "billing", "--dir", str(service_root)).code == 0

    assert registry.read_text() == source


def test_a_star_imported_router_is_refused_not_registered_twice(
    service_root: Path, spaps: RunSpaps
) -> None:
    """``include_router(router)`` may be the star's router: refuse rather than include twice."""
    registry = service_root / REGISTRY
    source = registry.read_text()
    source = (
        source.replace(
            "from fastapi import FastAPI\n",
            "from fastapi import FastAPI\n\nfrom billing_api.domains.billing.router import *\n",
        ).rstrip()
        + "\n    app.include_router(router)\n"
    )
    registry.write_text(source)
    line = source.splitlines().index("from billing_api.domains.billing.router import *") + 1
    before = snapshot(service_root)

    result = spaps("add", "domain", "billing", "--dir", str(service_root))

    assert result.code == 2
    assert result.error_lines == [
        f"error: {REGISTRY}:{line}: billing_api.domains.billing.router is star-imported,"
        " so spaps cannot tell whether its router is already included"
    ]
    assert (
        "hint: replace the star import with 'from billing_api.domains.billing.router import"
        " router as billing_router', then re-run" in result.stderr
    )
    assert snapshot(service_root) == before


@pytest.mark.parametrize("dry_run", [(), ("--dry-run",)], ids=["apply", "dry-run"])
def test_a_directory_where_a_file_goes_exits_4_and_writes_nothing(
    service_root: Path, spaps: RunSpaps, dry_run: tuple[str, ...]
) -> None:
    """A path blocked by a directory cannot be written: exit 4 (FILE_ACCESS), as docs/CLI.md says."""
    blocker = service_root / "tests/domains/test_billing_domain.py"
    blocker.mkdir(parents=True)
    before = snapshot(service_root)

    result = spaps("add", "domain", "billing", "--dir", str(service_root), *dry_run)

    assert result.code == ExitCode.FILE_ACCESS
    assert result.error_lines == [
        f"error: cannot write {blocker}: it is a directory, expected a file; nothing was changed"
    ]
    assert "hint: move or remove that directory, then re-run" in result.stderr
    assert snapshot(service_root) == before
    assert blocker.is_dir()


def test_no_celery_service_gets_no_tasks_module(tmp_path: Path, spaps: RunSpaps) -> None:
    root = tmp_path / "lean-api"
    assert spaps("new", "service", "lean-api", "--no-celery", "--dir", str(root)).code == 0

    result = spaps("add", "domain", "billing", "--dir", str(root))

    assert result.code == 0, result.stderr
    assert not (root / "src/lean_api/domains/billing/tasks.py").exists()
    assert (root / "src/lean_api/domains/billing/router.py").is_file()


def test_importing_the_command_module_stays_light() -> None:
    code = (
        "import sys, spaps_cli.commands.add\n"
        "heavy = {'libcst', 'jinja2', 'tomlkit'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert output.strip() == "[]"


@pytest.mark.parametrize("policy", [ConflictPolicy.ERROR, ConflictPolicy.FORCE])
def test_plan_is_pure(service_root: Path, policy: ConflictPolicy) -> None:
    """Planning reads the service and never writes, whatever the policy."""
    before = snapshot(service_root)

    plan, _, _ = plan_domain(find_project(service_root), "billing", policy=policy, now=NOW)

    assert snapshot(service_root) == before
    assert len(plan.files) == 10


def test_the_grown_service_passes_its_own_ruff_config(service_root: Path, spaps: RunSpaps) -> None:
    """Generated and edited code is lint- and format-clean under the service's own settings."""
    for domain in ("users", "admin", "billing"):
        assert spaps("add", "domain", domain, "--dir", str(service_root)).code == 0
    task = ("add", "task", "send_invoice", "--domain", "billing", "--dir", str(service_root))
    assert spaps(*task).code == 0

    for argv in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        linted = subprocess.run(
            [sys.executable, "-m", "ruff", *argv],
            cwd=service_root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert linted.returncode == 0, linted.stdout + linted.stderr


def test_dry_run_json_keeps_stdout_parseable_and_carries_the_diffs(
    service_root: Path, spaps: RunSpaps
) -> None:
    before = snapshot(service_root)

    result = spaps("add", "domain", "billing", "--dir", str(service_root), "--dry-run", "--json")

    assert result.code == 0, result.stderr
    rows = {row["path"]: row for row in result.json()["files"]}  # the whole stdout is JSON
    assert result.json()["dry_run"] is True
    assert "+    app.include_router(billing_router)" in rows[REGISTRY]["diff"]
    assert '+domains = ["billing"]' in rows["pyproject.toml"]["diff"]
    assert "diff" not in rows["src/billing_api/domains/billing/router.py"]
    assert snapshot(service_root) == before


def test_regenerating_the_service_keeps_the_domains_it_recorded(
    service_root: Path, spaps: RunSpaps
) -> None:
    assert spaps("add", "domain", "billing", "--dir", str(service_root)).code == 0
    pyproject = (service_root / "pyproject.toml").read_bytes()
    # The registry is rendered with the recorded billing router and the pyproject that records
    # the domain must come out identical, not reset.
    result = spaps("new", "service", "billing-api", "--dir", str(service_root), "--skip", "--json")
    assert result.code == 0, result.stderr
    actions = {row["path"]: row["action"] for row in result.json()["files"]}
    assert actions["pyproject.toml"] == "identical"
    assert actions["src/billing_api/api/registry.py"] == "identical"
    assert (service_root / "pyproject.toml").read_bytes() == pyproject
