"""Bad domain and task names are refused by the shared validator, before anything is written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli.cli_runner import RunSpaps

from spaps_cli.names import MAX_LENGTH, max_domain_length

from .conftest import snapshot


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Billing", "must be snake_case"),
        ("billing-items", "must be snake_case"),
        ("2fa", "must not start with a digit"),
        ("../evil", "path separators are not allowed"),
        ("class", "is a Python keyword"),
        ("match", "is a Python keyword"),
        ("json", "would shadow the standard library module"),
        ("asyncio", "would shadow the standard library module"),
        ("fastapi", "would shadow a package of the service stack"),
        ("sqlalchemy", "would shadow a package of the service stack"),
        ("worker", "is already used inside every service"),
        ("api", "is already used inside every service"),
        ("billing_api", "cannot have the service package's own name"),
        ("x" * 41, "at most 40"),
        ("x" * 20, "at most 19 for a domain of billing_api"),
    ],
)
def test_bad_names_are_refused(
    service_root: Path, spaps: RunSpaps, name: str, problem: str
) -> None:
    before = snapshot(service_root)

    result = spaps("add", "domain", name, "--dir", str(service_root))

    assert result.code == 2
    assert problem in result.stderr
    assert snapshot(service_root) == before


def test_a_module_of_the_service_package_is_refused(service_root: Path, spaps: RunSpaps) -> None:
    (service_root / "src/billing_api/payments.py").write_text("RATE = 1\n")

    result = spaps("add", "domain", "payments", "--dir", str(service_root))

    assert result.code == 2
    assert "'payments' is already a module of the service package" in result.stderr


def test_a_hand_made_domain_folder_is_a_clash(service_root: Path, spaps: RunSpaps) -> None:
    folder = service_root / "src/billing_api/domains/billing"
    folder.mkdir()
    (folder / "__init__.py").write_text('"""Written by hand."""\n')
    before = snapshot(service_root)

    clash = spaps("add", "domain", "billing", "--dir", str(service_root))

    assert clash.code == 2
    assert "domain 'billing' already exists in this service" in clash.stderr
    assert snapshot(service_root) == before
    forced = spaps("add", "domain", "billing", "--dir", str(service_root), "--force")
    assert forced.code == 0, forced.stderr


def test_a_recorded_domain_is_a_rerun_not_a_clash(service_root: Path, spaps: RunSpaps) -> None:
    assert spaps("add", "domain", "users", "--dir", str(service_root)).code == 0

    again = spaps("add", "domain", "users", "--dir", str(service_root))

    assert again.code == 0
    assert "already exists" not in again.stderr


def test_every_problem_is_listed_with_a_caret(service_root: Path, spaps: RunSpaps) -> None:
    result = spaps("add", "domain", "My-Domain", "--dir", str(service_root))

    assert result.code == 2
    assert "  My-Domain\n  ^" in result.stderr
    assert "hint: use lowercase snake_case" in result.stderr


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("SendInvoice", "must be snake_case"),
        ("def", "is a Python keyword"),
        ("send-invoice", "must be snake_case"),
    ],
)
def test_bad_task_names_are_refused(
    service_root: Path, spaps: RunSpaps, name: str, problem: str
) -> None:
    assert spaps("add", "domain", "billing", "--dir", str(service_root)).code == 0
    before = snapshot(service_root)

    result = spaps("add", "task", name, "--domain", "billing", "--dir", str(service_root))

    assert result.code == 2
    assert problem in result.stderr
    assert snapshot(service_root) == before


@pytest.mark.parametrize("name", ["meta", "status"])
def test_a_module_of_the_api_package_is_refused(
    service_root: Path, spaps: RunSpaps, name: str
) -> None:
    """The registry imports ``<module>_router`` from each api module: the domain's alias."""
    (service_root / "src/billing_api/api/status.py").write_text("router = None\n")
    before = snapshot(service_root)

    result = spaps("add", "domain", name, "--dir", str(service_root))

    assert result.code == 2
    assert f"'{name}' is a module of the service's api package" in result.stderr
    assert snapshot(service_root) == before


def _ruff() -> str:
    found = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(found).is_file():
        pytest.skip("ruff is not installed")
    return found


#: The longest service name the validator allows (40 characters), with and without hyphens.
LONGEST_SERVICES = ["abcdefghij-abcdefghij-abcdefghij-abcdefg", "a" * 40]


@pytest.mark.parametrize(
    "service", ["ab", "billing-api", "abcdefghij-abcdefghij", *LONGEST_SERVICES]
)
def test_the_longest_domain_names_allowed_generate_ruff_clean_code(
    tmp_path: Path, spaps: RunSpaps, service: str
) -> None:
    """Every starter and a task at the longest allowed names: the service's ruff passes.

    The service itself, each starter's domain and ``add task`` with a 40-character task name:
    the service's own ``ruff check`` and ``ruff format --check`` pass.
    """
    assert max(len(s) for s in LONGEST_SERVICES) == MAX_LENGTH
    root = tmp_path / "svc"
    assert spaps("new", "service", service, "--dir", str(root)).code == 0
    limit = max_domain_length(service.replace("-", "_"))
    for starter in ("crud", "users", "admin"):
        # No underscores: the class name (the domain in CamelCase) is then as long as it gets.
        name = ("abcdefghijklmnopqrstuvwxyz" * 2)[: limit - 1] + starter[0]
        result = spaps("add", "domain", name, "--starter", starter, "--dir", str(root))
        assert result.code == 0, result.stderr
        task = ("abcdefghijklmnopqrstuvwxyz" * 2)[: MAX_LENGTH - 1] + starter[0]
        result = spaps("add", "task", task, "--domain", name, "--dir", str(root))
        assert result.code == 0, result.stderr
    too_long = "x" * (limit + 1)
    refused = spaps("add", "domain", too_long, "--dir", str(root))
    assert refused.code == 2
    assert f"at most {limit} for a domain of" in refused.stderr

    for command in (["check"], ["format", "--check"]):
        lint = subprocess.run(
            [_ruff(), *command, "--no-cache", "."], cwd=root, capture_output=True, text=True
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr
