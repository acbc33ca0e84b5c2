"""Generated starters, attacked from inside: probes run by the generated service's own pytest.

A service is generated with a ``crud`` domain (``notes``), the ``admin`` and the ``users``
starters, plus the ``labs`` domain docs/DOMAINS.md shows (its code blocks, as printed); the
files in ``service_probes/`` are copied into its ``tests/`` and its whole suite
(the generated tests and the probes) runs with the generated ``conftest.py``: on SQLite, and on
the machine's PostgreSQL when reachable (a failure under ``SPAPS_REQUIRE_SERVICES=1``).

It runs in this repository's virtualenv with ``PYTHONPATH=src`` rather than in a fresh one: the
code under test is the generated service and the runtime of this checkout, both of which that
interpreter imports exactly as an installed service would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from spaps_server_quickstart.testing.services import (
    create_temporary_database,
    drop_temporary_database,
)

from spaps_cli.generators.domain import generate_domain
from spaps_cli.generators.registry_edit import REGISTRY_PATH, RouterRegistration, register_router
from spaps_cli.generators.service import ServiceAnswers, generate_service
from spaps_cli.names import service_name

PROBES = Path(__file__).parent / "service_probes"
DOMAINS_DOC = Path(__file__).resolve().parents[2] / "docs" / "DOMAINS.md"
DOMAINS = (("notes", "crud"), ("admin", "admin"), ("users", "users"))


@pytest.fixture(scope="module")
def probed_service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("probes") / "probe-api"
    generate_service(ServiceAnswers.build(service_name("probe-api")), destination=root)
    for domain, starter in DOMAINS:
        generate_domain(domain, start=root, starter=starter)
    _add_the_documented_labs_domain(root, "probe_api")
    for probe in sorted(PROBES.glob("probe_*.py")):
        shutil.copyfile(probe, root / "tests" / f"test_{probe.stem}.py")
    return root


def _add_the_documented_labs_domain(root: Path, package: str) -> None:
    """The ``# src/<pkg>/domains/labs/*.py`` blocks of docs/DOMAINS.md, registered as
    ``spaps add domain`` would register a router."""
    blocks = re.findall(
        r"```python\n# src/<pkg>/domains/labs/(\w+\.py)[^\n]*\n(.*?)```",
        DOMAINS_DOC.read_text(),
        re.S,
    )
    assert {name for name, _ in blocks} == {"accounts.py", "router.py"}
    labs = root / "src" / package / "domains" / "labs"
    labs.mkdir()
    (labs / "__init__.py").write_text('"""The labs domain of docs/DOMAINS.md."""\n')
    for name, code in blocks:
        (labs / name).write_text(code.replace("billing_api", package))
    registry = root / REGISTRY_PATH.format(package=package)
    registry.write_text(
        register_router(
            registry.read_text(),
            RouterRegistration.for_domain(package, "labs"),
            filename=registry.name,
            registry_module=f"{package}.api.registry",
        )
    )


def _run_suite(root: Path, **env: str) -> dict[str, str]:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root / "src"), "PYTHONDONTWRITEBYTECODE": "1", **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    outcomes = dict(
        re.findall(r"^(tests/\S+::\S+) (PASSED|FAILED|ERROR|SKIPPED)", completed.stdout, re.M)
    )
    bad = {test: outcome for test, outcome in outcomes.items() if outcome != "PASSED"}
    output = completed.stdout[-8000:] + completed.stderr[-3000:]
    assert completed.returncode == 0, output
    assert outcomes, output
    assert not bad, output
    probed = {test.split("::")[0] for test in outcomes if "test_probe_" in test}
    assert probed == {f"tests/test_{p.stem}.py" for p in PROBES.glob("probe_*.py")}
    return outcomes


def test_the_suite_and_the_probes_pass_on_sqlite(probed_service: Path) -> None:
    _run_suite(probed_service)


@pytest.mark.services
def test_the_suite_and_the_probes_pass_on_postgres(probed_service: Path) -> None:
    database = create_temporary_database(prefix="starter_probes")
    try:
        _run_suite(probed_service, DATABASE_URL=database.url)
    finally:
        drop_temporary_database(database)
