"""``spaps doctor`` on a freshly generated service (clean) and on services broken in each way.

Every test starts from a copy of a service made by ``spaps new service`` and breaks one thing;
the doctor runs for real (its probe runs in a subprocess with this interpreter, where the runtime
is installed, exactly as it would with a service's own virtualenv).
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import spaps_server_quickstart
from cli.cli_runner import RunSpaps
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from spaps_cli.fleet.compat import format_range, load_matrix, parse_matrix
from spaps_cli.fleet.doctor import run_doctor
from spaps_cli.fleet.findings import DoctorContext, Finding, run_family
from spaps_cli.fleet.records import database_identity
from spaps_cli.project import Project, find_project

from .conftest import PACKAGE, SERVICE, generate

ISSUE_ENV = ("ENV", "DATABASE_URL", "API_TOKEN", "SPAPS_FLEET")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe inherits this process's environment: keep the runner's own out of it."""
    for name in ISSUE_ENV:
        monkeypatch.delenv(name, raising=False)


def ids(payload: dict[str, object]) -> list[str]:
    findings = payload["findings"]
    assert isinstance(findings, list)
    return sorted(finding["id"] for finding in findings)


def set_dependency(service: Path, requirement: str | None) -> None:
    pyproject = service / "pyproject.toml"
    text = pyproject.read_text()
    line = re.search(r'^    "spaps-server-quickstart[^"]*",\n', text, re.MULTILINE)
    assert line is not None, "the template's runtime dependency moved"
    replacement = "" if requirement is None else f'    "{requirement}",\n'
    pyproject.write_text(text.replace(line.group(0), replacement))


def write_env(service: Path, **values: str) -> None:
    (service / ".env").write_text("".join(f"{key}={value}\n" for key, value in values.items()))


# --------------------------------------------------------------------------- clean


def test_fresh_service_is_clean(service: Path, run_spaps: RunSpaps) -> None:
    outcome = run_spaps("doctor", str(service), "--json")
    payload = outcome.json()
    assert payload["findings"] == []
    assert outcome.code == 0, outcome.stderr
    assert payload["clean"] is True
    for family in ("runtime", "settings", "database", "migrations"):
        assert payload["checks"][family] == "ok"
    assert payload["python"] == sys.executable


def test_human_output_names_each_finding_and_its_fix(service: Path, run_spaps: RunSpaps) -> None:
    set_dependency(service, None)
    outcome = run_spaps("doctor", str(service))
    assert outcome.code == 1
    assert "[runtime.not-pinned]" in outcome.stderr
    assert 'fix: add "spaps-server-quickstart>=1.0,<2"' in outcome.stderr
    assert "error: 1 finding(s) in billing-api" in outcome.stderr
    assert outcome.stdout == ""


def test_outside_a_service_is_a_usage_error(tmp_path: Path, run_spaps: RunSpaps) -> None:
    assert run_spaps("doctor", str(tmp_path)).code == 2


# --------------------------------------------------------------------------- runtime versions


@pytest.mark.parametrize(
    ("requirement", "finding"),
    [
        (None, "runtime.not-pinned"),
        ("spaps-server-quickstart>=0.5,<0.6", "runtime.pin-unsupported"),
        ("spaps-server-quickstart>=0.1", "runtime.pin-too-wide"),
    ],
)
def test_pinned_runtime_is_checked_against_the_matrix(
    service: Path, run_spaps: RunSpaps, requirement: str | None, finding: str
) -> None:
    set_dependency(service, requirement)
    outcome = run_spaps("doctor", str(service), "--json")
    assert outcome.code == 1
    found = ids(outcome.json())
    assert finding in found
    if finding == "runtime.pin-unsupported":
        assert "runtime.pin-mismatch" in found  # 1.0.0 is installed, the pin wants 0.5


def test_unknown_template_version(service: Path, run_spaps: RunSpaps) -> None:
    pyproject = service / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('template-version = "1"', 'template-version = "99"')
    )
    outcome = run_spaps("doctor", str(service), "--json")
    assert outcome.code == 1
    assert ids(outcome.json()) == ["runtime.template-unknown"]


@pytest.mark.parametrize(
    ("status", "finding", "severity"),
    [
        ("deprecated", "runtime.deprecated", "warning"),
        ("unsupported", "runtime.unsupported", "error"),
    ],
)
def test_installed_runtime_status_comes_from_the_matrix(
    service: Path, status: str, finding: str, severity: str
) -> None:
    matrix = parse_matrix(
        {
            "schema": 1,
            "runtime": [
                {"version": "1.0.0", "released": "2026-11-26", "status": status},
                {"version": "1.0.1", "released": "2026-12-01", "status": "supported"},
            ],
            "cli": [
                {
                    "version": "0.1.0",
                    "released": "2026-11-26",
                    "template-version": "1",
                    "runtime": ">=1.0,<2",
                }
            ],
        }
    )
    report = run_doctor(find_project(service), matrix=matrix)
    runtime_findings = [f for f in report.findings if f.id.startswith("runtime.")]
    assert [(f.id, f.severity) for f in runtime_findings] == [(finding, severity)]
    assert "1.0.1" in runtime_findings[0].hint


def matrix_of(runtimes: list[tuple[str, str]], clis: list[tuple[str, str, str]]) -> Any:
    """A matrix with the given ``(runtime, status)`` and ``(cli, template, range)`` rows."""
    return parse_matrix(
        {
            "schema": 1,
            "runtime": [
                {"version": version, "released": "2026-11-26", "status": status}
                for version, status in runtimes
            ],
            "cli": [
                {"version": cli, "released": "2026-11-26", "template-version": t, "runtime": r}
                for cli, t, r in clis
            ],
        }
    )


INSTALLED = spaps_server_quickstart.__version__
#: The range this CLI's template pins (whatever the runtime's series is).
SERIES = format_range(load_matrix().runtime_range("1") or SpecifierSet())
#: A runtime release inside that range other than the installed one.
SIBLING = f"{Version(INSTALLED).major}.{Version(INSTALLED).minor}.{Version(INSTALLED).micro + 1}"
TEMPLATE_ONE = [("0.1.0", "1", SERIES)]


@pytest.mark.parametrize(
    ("runtimes", "clis", "expected"),
    [
        # listed and supported, among older and newer rows: clean
        (
            [(INSTALLED, "supported"), ("0.0.9", "unsupported"), ("99.0.0", "supported")],
            [*TEMPLATE_ONE, ("9.0.0", "2", ">=99.0,<100")],
            [],
        ),
        # a release the matrix does not list yet, inside the template's range: a warning
        (
            [(SIBLING, "supported"), ("99.0.0", "supported")],
            TEMPLATE_ONE,
            [("runtime.unknown", "warning", False)],
        ),
        # the service's template was released for another range: an error
        (
            [(INSTALLED, "supported"), ("99.0.0", "supported")],
            [("0.1.0", "1", ">=99.0,<100")],
            [("runtime.pin-unsupported", "error", True), ("runtime.unsupported", "error", True)],
        ),
        # listed, but deprecated: a warning that still fails (the service should upgrade)
        (
            [(INSTALLED, "deprecated"), (SIBLING, "supported")],
            TEMPLATE_ONE,
            [("runtime.deprecated", "warning", True)],
        ),
    ],
    ids=["listed", "unknown-in-range", "outside-range", "deprecated"],
)
def test_runtime_against_other_matrix_combinations(
    service: Path,
    runtimes: list[tuple[str, str]],
    clis: list[tuple[str, str, str]],
    expected: list[tuple[str, str, bool]],
) -> None:
    matrix = matrix_of(runtimes, clis)
    report = run_doctor(find_project(service), matrix=matrix)
    found = [(f.id, f.severity, f.fails) for f in report.findings if f.id.startswith("runtime.")]
    assert sorted(found) == sorted(expected)
    assert report.ok is all(not fails for _, _, fails in expected)


@pytest.mark.parametrize(
    ("client_range", "expected"),
    [
        (None, []),
        (">=0.8.3,<0.9", []),
        (">=0.9,<0.10", ["runtime.client-unsupported"]),
        (">=0.1,<0.8", ["runtime.client-unsupported"]),
    ],
)
def test_the_spaps_client_next_to_the_runtime_is_one_it_was_tested_with(
    service: Path, client_range: str | None, expected: list[str]
) -> None:
    row: dict[str, Any] = {"version": INSTALLED, "released": "2026-11-26"}
    if client_range is not None:
        row["spaps-client"] = client_range
    matrix = parse_matrix(
        {
            "schema": 1,
            "runtime": [row],
            "cli": [
                {"version": "0.1.0", "released": "2026-11-26", "template-version": "1"}
                | {"runtime": SERIES}
            ],
        }
    )
    report = run_doctor(find_project(service), matrix=matrix)
    found = [f for f in report.findings if f.id.startswith("runtime.")]
    assert [f.id for f in found] == expected
    installed = importlib.metadata.version("spaps")
    for finding in found:
        assert f"installed spaps {installed} is outside {client_range}" in finding.message
        assert finding.hint == f'pip install "spaps{client_range}"'


def test_an_unknown_runtime_in_range_is_a_warning_naming_the_range(
    service: Path, run_spaps: RunSpaps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runtime patch release the CLI does not list yet must not fail every service."""
    import spaps_cli.fleet.compat

    matrix = matrix_of([(SIBLING, "supported")], TEMPLATE_ONE)
    monkeypatch.setattr(spaps_cli.fleet.compat, "load_matrix", lambda: matrix)
    outcome = run_spaps("doctor", str(service), "--json")
    payload = outcome.json()
    (finding,) = payload["findings"]
    assert finding["id"] == "runtime.unknown"
    assert finding["severity"] == "warning"
    assert (
        SERIES.replace(",", ",") in finding["message"]
        or format_range(SpecifierSet(SERIES)) in finding["message"]
    )
    assert outcome.code == 0, outcome.stderr
    assert payload["ok"] is True
    assert payload["clean"] is False

    human = run_spaps("doctor", str(service))
    assert human.code == 0
    assert "[runtime.unknown]" in human.stderr
    assert "none that fails the check" in human.stderr


def test_runtime_not_installed_in_the_services_python(service: Path, run_spaps: RunSpaps) -> None:
    """The system Python has neither the runtime nor pydantic: both families say so."""
    system_python = Path("/usr/bin/python3")
    assert system_python.exists()
    outcome = run_spaps("doctor", str(service), "--json", "--python", str(system_python))
    assert outcome.code == 1
    payload = outcome.json()
    assert ids(payload) == ["runtime.not-installed", "settings.unloadable"]
    assert payload["python"] == str(system_python)


def test_missing_python_is_a_usage_error(service: Path, run_spaps: RunSpaps) -> None:
    assert run_spaps("doctor", str(service), "--python", "/nonexistent/python").code == 2


# --------------------------------------------------------------------------- settings


def add_required_setting(service: Path) -> None:
    settings = service / "src" / PACKAGE / "settings.py"
    text = settings.read_text()
    marker = f'    service_name: str = "{SERVICE}"\n'
    assert marker in text
    settings.write_text(text.replace(marker, marker + "    api_token: str\n"))


def test_required_setting_without_a_value(service: Path, run_spaps: RunSpaps) -> None:
    add_required_setting(service)
    outcome = run_spaps("doctor", str(service), "--json")
    assert outcome.code == 1
    (finding,) = outcome.json()["findings"]
    assert finding["id"] == "settings.missing"
    assert finding["message"] == "API_TOKEN has no value in the environment or .env"
    assert "set API_TOKEN" in finding["hint"]


def test_required_setting_from_the_environment_or_dotenv(
    service: Path, run_spaps: RunSpaps, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_required_setting(service)
    monkeypatch.setenv("API_TOKEN", "from-the-environment")
    assert run_spaps("doctor", str(service)).code == 0
    monkeypatch.delenv("API_TOKEN")
    write_env(service, API_TOKEN="from-dotenv")
    assert run_spaps("doctor", str(service)).code == 0


def test_invalid_setting(service: Path, run_spaps: RunSpaps) -> None:
    write_env(service, DATABASE_POOL_SIZE="0")
    outcome = run_spaps("doctor", str(service), "--json")
    assert outcome.code == 1
    (finding,) = outcome.json()["findings"]
    assert finding["id"] == "settings.invalid"
    assert finding["message"].startswith("DATABASE_POOL_SIZE:")


def test_production_guards_for_env_prod(service: Path, run_spaps: RunSpaps) -> None:
    outcome = run_spaps("doctor", str(service), "--json", "--env", "prod")
    assert outcome.code == 1
    payload = outcome.json()
    assert payload["env"] == "prod"
    messages = [f["message"] for f in payload["findings"]]
    assert set(ids(payload)) == {"settings.production"}
    fragments = (
        "SPAPS_API_KEY",
        "SQLite",
        "AUTH_MODE=local",
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
        "SPAPS_APPLICATION_ID",
    )
    # AUTH_LOCAL_SECRET is not among them: the service's .env holds a random 256-bit one.
    assert len(messages) == len(fragments)
    for fragment in fragments:
        assert any(fragment in message for message in messages), fragment


def test_production_ready_environment_is_clean(service: Path, run_spaps: RunSpaps) -> None:
    write_env(
        service,
        ENV="prod",
        DATABASE_URL=f"postgresql+asyncpg://{PACKAGE}:pw@db.internal:5432/{PACKAGE}",
        CELERY_BROKER_URL="redis://redis.internal:6379/0",
        CELERY_RESULT_BACKEND="redis://redis.internal:6379/1",
        AUTH_MODE="spaps",
        SPAPS_API_KEY="sk-live-not-a-placeholder",
        SPAPS_APPLICATION_ID="app-orders",
        AUTH_LOCAL_SECRET="a-random-signing-secret-of-forty-characters",
    )
    outcome = run_spaps("doctor", str(service), "--json")
    assert outcome.json()["findings"] == []
    assert outcome.json()["env"] == "prod"
    assert outcome.code == 0


def test_settings_module_that_does_not_import(service: Path, run_spaps: RunSpaps) -> None:
    settings = service / "src" / PACKAGE / "settings.py"
    settings.write_text(settings.read_text() + "\nraise RuntimeError('boom at import')\n")
    outcome = run_spaps("doctor", str(service), "--json")
    assert outcome.code == 1
    (finding,) = outcome.json()["findings"]
    assert finding["id"] == "settings.unloadable"
    assert "boom at import" in finding["message"]


# --------------------------------------------------------------------------- database


def test_database_name_must_be_the_services_own(service: Path, run_spaps: RunSpaps) -> None:
    write_env(service, DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    outcome = run_spaps("doctor", str(service), "--json")
    assert outcome.code == 1
    (finding,) = outcome.json()["findings"]
    assert finding["id"] == "database.foreign-name"
    assert "'postgres'" in finding["message"]


@pytest.mark.parametrize("database", [PACKAGE, f"{PACKAGE}_test"])
def test_own_database_names_are_accepted(service: Path, run_spaps: RunSpaps, database: str) -> None:
    write_env(service, DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}")
    assert run_spaps("doctor", str(service)).code == 0


def test_database_shared_with_a_sibling_service(service: Path, run_spaps: RunSpaps) -> None:
    fleet = service.parent
    sibling = generate(fleet / "ledger", "ledger")
    own = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PACKAGE}"
    write_env(service, DATABASE_URL=own)
    write_env(sibling, DATABASE_URL=own.replace("127.0.0.1", "localhost"))

    assert run_spaps("doctor", str(service)).code == 0, "without --fleet nothing is on record"
    outcome = run_spaps("doctor", str(service), "--json", "--fleet", str(fleet))
    assert outcome.code == 1
    (finding,) = outcome.json()["findings"]
    assert finding["id"] == "database.shared"
    assert "'ledger'" in finding["message"]

    write_env(sibling, DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/ledger")
    assert run_spaps("doctor", str(service), "--fleet", str(fleet)).code == 0


def test_fleet_file_records_deployed_services(
    service: Path, run_spaps: RunSpaps, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = service.parent
    url = f"postgresql+asyncpg://svc:secret@db.internal/{PACKAGE}"
    (fleet / "spaps-fleet.toml").write_text(f'[services.reports]\ndatabase-url = "{url}"\n')
    write_env(service, DATABASE_URL=url.replace("svc:secret", "other:pw"))
    monkeypatch.setenv("SPAPS_FLEET", str(fleet))
    outcome = run_spaps("doctor", str(service), "--json")
    assert outcome.code == 1
    (finding,) = outcome.json()["findings"]
    assert finding["id"] == "database.shared"
    assert "secret" not in finding["message"], "passwords are never printed"


@pytest.mark.parametrize("source", ["option", "environment"])
@pytest.mark.parametrize("kind", ["missing", "dangling-symlink"])
def test_a_missing_fleet_directory_is_a_usage_error(
    service: Path,
    tmp_path: Path,
    run_spaps: RunSpaps,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    kind: str,
) -> None:
    """A typo in --fleet / SPAPS_FLEET must not silently skip the shared-database check."""
    fleet = tmp_path / "no-such-fleet"
    if kind == "dangling-symlink":
        fleet.symlink_to(tmp_path / "gone")
    if source == "option":
        outcome = run_spaps("doctor", str(service), "--fleet", str(fleet))
        named = f"--fleet {fleet}"
    else:
        monkeypatch.setenv("SPAPS_FLEET", str(fleet))
        outcome = run_spaps("doctor", str(service))
        named = f"SPAPS_FLEET={fleet}"
    assert outcome.code == 2
    assert outcome.error_lines == [f"error: {named}: no such directory or fleet file"], (
        outcome.stderr
    )
    assert outcome.stdout == ""


def test_sqlite_defaults_of_siblings_are_separate_files(service: Path, run_spaps: RunSpaps) -> None:
    fleet = service.parent
    generate(fleet / "ledger", "ledger")
    assert run_spaps("doctor", str(service), "--fleet", str(fleet)).code == 0
    shared = f"sqlite+aiosqlite:///{fleet / 'shared.db'}"
    write_env(service, DATABASE_URL=shared)
    write_env(fleet / "ledger", DATABASE_URL=shared)
    outcome = run_spaps("doctor", str(service), "--json", "--fleet", str(fleet))
    assert ids(outcome.json()) == ["database.shared"]


def test_database_identity() -> None:
    root = Path("/srv/a")
    assert database_identity("postgresql+asyncpg://u:p@127.0.0.1/x", root) == database_identity(
        "postgresql://v@localhost:5432/x", root
    )
    assert database_identity("postgresql://u@h/x", root) != database_identity(
        "postgresql://u@h/y", root
    )
    assert database_identity("sqlite+aiosqlite:///./service.db", root) == (
        "sqlite",
        "/srv/a/service.db",
    )
    assert database_identity("sqlite+aiosqlite:///:memory:", root) is None


# --------------------------------------------------------------------------- migrations


def versions(service: Path) -> Path:
    return service / "migrations" / "versions"


@pytest.mark.parametrize(
    ("filename", "fragment"),
    [
        ("add_invoices.py", "expected <YYYYMMDDHHMM>_<domain>_<slug>.py"),
        ("202611261999_core_bad_minute.py", "not a valid YYYYMMDDHHMM timestamp"),
        ("202611270900_billing_add_invoices.py", "domain is not one of: core"),
    ],
)
def test_migration_names_and_domains(
    service: Path, run_spaps: RunSpaps, filename: str, fragment: str
) -> None:
    (initial,) = versions(service).glob("*_core_*.py")
    text = initial.read_text()
    revision = re.search(r'^revision(?:: str)? = "([^"]+)"', text, re.MULTILINE)
    assert revision is not None
    (versions(service) / filename).write_text(
        f'revision = "x{filename[:8]}"\ndown_revision = "{revision.group(1)}"\n'
    )
    outcome = run_spaps("doctor", str(service), "--json")
    assert outcome.code == 1
    findings = outcome.json()["findings"]
    assert {f["id"] for f in findings} == {"migrations.invalid"}
    assert any(fragment in f["message"] for f in findings)


def test_a_second_head_is_reported(service: Path, run_spaps: RunSpaps) -> None:
    (versions(service) / "202611270900_core_parallel_branch.py").write_text(
        'revision = "parallel"\ndown_revision = None\n'
    )
    outcome = run_spaps("doctor", str(service), "--json")
    assert outcome.code == 1
    (finding,) = outcome.json()["findings"]
    assert finding["id"] == "migrations.multiple-heads"
    assert finding["message"].startswith("2 heads: ")
    assert "parallel" in finding["message"]


def test_domains_recorded_by_the_service_are_allowed(service: Path, run_spaps: RunSpaps) -> None:
    pyproject = service / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'migration-domains = ["core"]', 'migration-domains = ["core", "billing"]'
        )
    )
    (initial,) = versions(service).glob("*_core_*.py")
    revision = re.search(r'^revision(?:: str)? = "([^"]+)"', initial.read_text(), re.MULTILINE)
    assert revision is not None
    (versions(service) / "202611270900_billing_add_invoices.py").write_text(
        f'revision = "billing1"\ndown_revision = "{revision.group(1)}"\n'
    )
    assert run_spaps("doctor", str(service)).code == 0


def test_missing_alembic_ini(service: Path, run_spaps: RunSpaps) -> None:
    (service / "alembic.ini").unlink()
    outcome = run_spaps("doctor", str(service), "--json")
    assert ids(outcome.json()) == ["migrations.no-alembic"]
    assert outcome.code == 1


def test_the_matrix_is_what_doctor_reads() -> None:
    matrix = load_matrix()
    assert matrix.runtime_range("1") is not None


# --------------------------------------------------------------------------- spaps migrate --check


def test_duplicated_middleware_left_to_remove(service: Path, run_spaps: RunSpaps) -> None:
    """Old hand-written request-id middleware is what ``spaps migrate --check`` still finds."""
    from spaps_cli.codemods.middleware_to_runtime import MiddlewareToRuntime

    legacy = service / "src" / PACKAGE / "legacy_app.py"
    legacy.write_text(MiddlewareToRuntime.EXAMPLES[0].before)
    outcome = run_spaps("doctor", str(service), "--json")
    assert outcome.code == 1
    payload = outcome.json()
    assert payload["checks"]["codemods"] == "findings"
    found = payload["findings"]
    assert {f["id"] for f in found} == {"migrate.middleware-to-runtime"}
    assert all(f"src/{PACKAGE}/legacy_app.py" in f["message"] for f in found)
    assert any("spaps migrate" in f["hint"] for f in found)

    assert run_spaps("migrate", str(legacy)).code == 0
    after = run_spaps("doctor", str(service), "--json").json()["findings"]
    assert [
        f for f in after if f["id"] == "migrate.middleware-to-runtime" and "rewrite" in f["message"]
    ] == []


def test_unparsable_python_is_reported(service: Path, run_spaps: RunSpaps) -> None:
    from spaps_cli.codemods.middleware_to_runtime import MiddlewareToRuntime

    broken = MiddlewareToRuntime.EXAMPLES[0].before + "\ndef broken(:\n    pass\n"
    (service / "src" / PACKAGE / "broken.py").write_text(broken)
    outcome = run_spaps("doctor", str(service), "--json")
    assert outcome.code == 1
    assert "migrate.unreadable" in ids(outcome.json())


def test_the_services_own_virtualenv_is_used(service: Path, run_spaps: RunSpaps) -> None:
    """Without --python, PATH/.venv/bin/python is the service's interpreter.

    The .venv is a real virtualenv; a .pth file lends it this environment's packages instead
    of installing them again.
    """
    import subprocess
    import sysconfig

    venv = service / ".venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    borrowed = sysconfig.get_path("purelib")
    (purelib / "borrowed.pth").write_text(f"import site; site.addsitedir({borrowed!r})\n")
    outcome = run_spaps("doctor", str(service), "--json")
    assert outcome.json()["python"] == str(venv / "bin" / "python")
    assert outcome.json()["findings"] == []
    assert outcome.code == 0


def test_pgvector_services_need_the_extra(tmp_path: Path, run_spaps: RunSpaps) -> None:
    service = generate(tmp_path / "vectors", "vectors", "--pgvector")
    assert run_spaps("doctor", str(service)).code == 0
    pyproject = service / "pyproject.toml"
    text = pyproject.read_text()
    assert ",pgvector]" in text
    pyproject.write_text(text.replace(",pgvector]", "]"))
    outcome = run_spaps("doctor", str(service), "--json")
    assert outcome.code == 1
    assert ids(outcome.json()) == ["runtime.pgvector-extra"]


def test_env_prefix_of_the_settings_loader_is_respected(
    service: Path, run_spaps: RunSpaps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two services sharing one environment use prefixes; doctor names the prefixed variables."""
    add_required_setting(service)
    settings = service / "src" / PACKAGE / "settings.py"
    text = settings.read_text()
    assert "create_settings_loader(Settings)" in text
    settings.write_text(
        text.replace(
            "create_settings_loader(Settings)",
            'create_settings_loader(Settings, env_prefix="BILLING_")',
        )
    )
    outcome = run_spaps("doctor", str(service), "--json")
    (finding,) = outcome.json()["findings"]
    assert finding["message"].startswith("BILLING_API_TOKEN ")
    monkeypatch.setenv("BILLING_API_TOKEN", "x")
    monkeypatch.setenv("API_TOKEN", "not this one")
    assert run_spaps("doctor", str(service)).code == 0
    prod = run_spaps("doctor", str(service), "--json", "--env", "prod").json()
    assert prod["env"] == "prod"
    assert {f["id"] for f in prod["findings"]} == {"settings.production"}


# --------------------------------------------------------------------------- pin and script paths


@pytest.mark.parametrize(
    ("requirement", "witness"),
    [
        ("spaps-server-quickstart>=1.0,<3", "2.0.0"),  # an upper bound, but too high
        ("spaps-server-quickstart>=1.0,<2.1", "2.0.0"),  # reaches into the next major
        ("spaps-server-quickstart<2", "0.0.0"),  # no lower bound: the other 0.x releases
        ("spaps-server-quickstart>=0.9,<2", "0.9"),  # reaches the other distribution's 0.9.x
    ],
)
def test_a_pin_wider_than_the_template_range_is_too_wide(
    service: Path, requirement: str, witness: str
) -> None:
    set_dependency(service, requirement)
    findings = check_runtime_version(find_project(service))
    (finding,) = findings
    assert finding.id == "runtime.pin-too-wide"
    assert f"allows {witness}" in finding.message
    assert "outside >=1.0,<2" in finding.message


@pytest.mark.parametrize(
    "requirement",
    [
        "spaps-server-quickstart>=1.0,<2",
        "spaps-server-quickstart~=1.0",
        "spaps-server-quickstart==1.*",
        "spaps-server-quickstart==1.0.0",
    ],
)
def test_a_pin_inside_the_template_range_is_fine(service: Path, requirement: str) -> None:
    set_dependency(service, requirement)
    project = find_project(service)
    assert check_runtime_version(project) == []


def check_runtime_version(project: Project) -> list[Finding]:
    context = DoctorContext(project, {"probe_error": "not probed"}, matrix_override=load_matrix())
    return run_family("runtime", context)


def check_migrations(project: Project) -> list[Finding]:
    return run_family("migrations", DoctorContext(project, {"probe_error": "not probed"}))


def set_script_location(service: Path, location: str) -> None:
    ini = service / "alembic.ini"
    text = ini.read_text()
    assert "script_location = %(here)s/migrations\n" in text, "the template's alembic.ini moved"
    ini.write_text(text.replace("%(here)s/migrations", location))


def test_an_absolute_script_location_that_does_not_exist(service: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "migrations"
    set_script_location(service, str(missing))
    (finding,) = check_migrations(find_project(service))
    assert finding.id == "migrations.no-versions"
    assert finding.message == f"{missing / 'versions'} does not exist"


def test_a_package_script_location_is_found_in_the_services_source(service: Path) -> None:
    """``billing_api:migrations`` is alembic's package form: src/billing_api/migrations."""
    (service / "migrations").rename(service / "src" / PACKAGE / "migrations")
    set_script_location(service, f"{PACKAGE}:migrations")
    assert check_migrations(find_project(service)) == []
    (initial,) = (service / "src" / PACKAGE / "migrations" / "versions").glob("*_core_*.py")
    initial.rename(initial.with_name("bad_name.py"))
    (finding,) = check_migrations(find_project(service))
    assert finding.id == "migrations.invalid"


# --------------------------------------------------------------------------- the registry


def test_every_family_is_one_module_of_registered_checks() -> None:
    """Adding a check is one decorated function in its family's module, nothing else."""
    from spaps_cli.fleet.checks import FAMILIES
    from spaps_cli.fleet.findings import registered

    families = registered()
    assert tuple(families) == FAMILIES
    for family, checks in families.items():
        assert checks, family
        assert {check.__module__ for check in checks} == {f"spaps_cli.fleet.checks.{family}"}


# --------------------------------------------------------------------------- alembic's view


def _ini(service: Path) -> Path:
    return service / "alembic.ini"


def _no_section_header(service: Path) -> None:
    _ini(service).write_text("script_location = migrations\n" + _ini(service).read_text())


def _undefined_interpolation(service: Path) -> None:
    text = _ini(service).read_text().replace("%(here)s/migrations", "%(nowhere)s/migrations")
    _ini(service).write_text(text)


def _no_alembic_section(service: Path) -> None:
    _ini(service).write_text(_ini(service).read_text().replace("[alembic]", "[alembik]"))


def _duplicate_key(service: Path) -> None:
    text = _ini(service).read_text()
    _ini(service).write_text(text.replace("[alembic]\n", "[alembic]\nprepend_sys_path = .\n"))


def _not_utf8(service: Path) -> None:
    _ini(service).write_bytes(b"# \xff\xfe caf\xe9\n" + _ini(service).read_bytes())


def _initial_migration(service: Path) -> tuple[Path, str]:
    (initial,) = versions(service).glob("*_core_initial.py")
    revision = re.search(r'^revision: str = "([^"]+)"', initial.read_text(), re.MULTILINE)
    assert revision is not None
    return initial, revision.group(1)


def _cycle_apart(service: Path) -> None:
    for minute, revision, down in (("00", "ping", "pong"), ("01", "pong", "ping")):
        (versions(service) / f"2026112709{minute}_core_{revision}.py").write_text(
            f'revision = "{revision}"\ndown_revision = "{down}"\n'
        )


def _cycle_through_base(service: Path) -> None:
    initial, revision = _initial_migration(service)
    (versions(service) / "202611270900_core_next.py").write_text(
        f'revision = "next"\ndown_revision = "{revision}"\n'
    )
    initial.write_text(initial.read_text().replace("= None", '= "next"', 1))


def _dangling(service: Path) -> None:
    _, revision = _initial_migration(service)
    (versions(service) / "202611270900_core_orphan.py").write_text(
        'revision = "orphan"\ndown_revision = "deleted_long_ago"\n'
    )
    (versions(service) / "202611270901_core_child.py").write_text(
        f'revision = "child"\ndown_revision = ("{revision}", "orphan")\n'
    )


@pytest.mark.parametrize("where", ["alembic", "spaps"])
@pytest.mark.parametrize(
    ("breakage", "finding", "says"),
    [
        (_no_section_header, "migrations.config-unreadable", "MissingSectionHeaderError"),
        (_undefined_interpolation, "migrations.config-unreadable", "nowhere"),
        (_no_alembic_section, "migrations.config-unreadable", "script_location"),
        (_duplicate_key, "migrations.config-unreadable", "prepend_sys_path"),
        (_not_utf8, "migrations.config-unreadable", "UnicodeDecodeError"),
        (_cycle_apart, "migrations.cycle", "202611270900_core_ping.py, 202611270901_core_pong.py"),
        (_cycle_through_base, "migrations.cycle", "202611270900_core_next.py"),
        (_dangling, "migrations.dangling", "'deleted_long_ago'"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_alembic_ini_and_the_revision_graph_are_read_as_alembic_reads_them(
    service: Path,
    run_spaps: RunSpaps,
    breakage: Any,
    finding: str,
    says: str,
    where: str,
) -> None:
    """``alembic``: Alembic itself, in the service's interpreter; ``spaps``: an interpreter
    without Alembic, where doctor reads the ini and the graph by Alembic's rules itself."""
    breakage(service)
    args = ["--python", "/usr/bin/python3"] if where == "spaps" else []
    outcome = run_spaps("doctor", str(service), "--json", *args)
    assert outcome.code == 1
    payload = outcome.json()
    assert payload["checks"]["migrations"] == "findings"
    found = [f for f in payload["findings"] if f["id"].startswith("migrations.")]
    assert [f["id"] for f in found] == [finding], found
    assert says in found[0]["message"]
    assert "\n" not in found[0]["message"]
    read_by_spaps = any("spaps read alembic.ini" in note for note in payload["notes"])
    assert read_by_spaps is (where == "spaps")


SECRET = "Pl4nted-S3cret-Value-0123456789"


@pytest.mark.parametrize("human", [False, True], ids=["json", "human"])
def test_doctor_never_prints_a_secret_of_a_refused_configuration(
    service: Path, run_spaps: RunSpaps, human: bool
) -> None:
    """A known secret in every secret setting and URL password of configurations doctor refuses
    (production guard, bad values): none of it reaches stdout or stderr."""
    write_env(
        service,
        ENV="prod",
        DATABASE_URL=f"postgresql+asyncpg://{PACKAGE}:{SECRET}@db.internal:5432/{PACKAGE}",
        CELERY_BROKER_URL=f"redis://:{SECRET}@redis.internal:6379/0",
        CELERY_RESULT_BACKEND="filesystem://",
        REDIS_URL=f"redis://:{SECRET}@redis.internal:6379/2",
        AUTH_MODE="local",
        SPAPS_API_KEY=SECRET,
        AUTH_LOCAL_SECRET=SECRET[:10],
        LOG_LEVEL="LOUD",
    )
    outcome = run_spaps("doctor", str(service), *([] if human else ["--json"]), "--env", "prod")
    assert outcome.code == 1
    assert "settings." in outcome.stdout + outcome.stderr  # it did find the problems
    for fragment in (SECRET, SECRET[:10]):
        assert fragment not in outcome.stdout
        assert fragment not in outcome.stderr
