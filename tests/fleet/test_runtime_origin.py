"""``spaps doctor`` tells this project's runtime from the other ``spaps-server-quickstart``.

The other distribution's releases (0.1.0 to 0.9.1 on the public index) are stood in for by a
distribution of our own making, with that name and version and no repository URL: a dist-info
directory and a package placed first on the probe's ``sys.path``. Nothing of the real one is
used.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from cli.cli_runner import RunSpaps

from spaps_cli.fleet.runtime_origin import (
    RUNTIME_REPOSITORY,
    check_runtime_origin,
    is_this_projects,
)
from spaps_cli.project import read_pyproject

REPO = Path(__file__).resolve().parents[2]


def test_the_marker_is_what_the_runtime_declares() -> None:
    urls = read_pyproject(REPO / "runtime" / "pyproject.toml")["project"]["urls"]
    assert urls["Repository"] == RUNTIME_REPOSITORY


def test_the_installed_runtime_is_this_projects() -> None:
    import importlib.metadata

    urls = importlib.metadata.metadata("spaps-server-quickstart").get_all("Project-URL") or []
    assert is_this_projects(list(urls))


@pytest.mark.parametrize(
    ("urls", "ours"),
    [
        (["Repository, https://github.com/sweetpotato/spaps"], True),
        (
            ["Changelog, https://x.example/c", "Repository, https://github.com/SweetPotato/spaps/"],
            True,
        ),
        (["Repository, https://github.com/sweetpotato/spaps.git"], True),
        (["Homepage, https://github.com/sweetpotato/spaps"], False),  # only Repository counts
        (["Repository, https://github.com/sweetpotato/spaps-hosted"], False),
        (["Home-page, https://spaps.example"], False),
        ([], False),
    ],
)
def test_is_this_projects(urls: list[str], ours: bool) -> None:
    assert is_this_projects(urls) is ours


def test_no_finding_without_an_installed_runtime_or_a_probe() -> None:
    assert check_runtime_origin({"runtime_version": None, "runtime_urls": []}) == []
    assert check_runtime_origin({"probe_error": "no python"}) == []


def foreign_runtime(root: Path) -> Path:
    """A stand-in for the other distribution: name, version 0.9.1, no repository URL."""
    info = root / "spaps_server_quickstart-0.9.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: spaps-server-quickstart\nVersion: 0.9.1\n"
        "Summary: a hosted service\nRequires-Python: >=3.12\n"
        "Project-URL: Homepage, https://hosted.example\n"
    )
    package = root / "spaps_server_quickstart"
    package.mkdir()
    (package / "__init__.py").write_text('"""Not this project\'s runtime."""\n')
    return root


def test_doctor_names_a_foreign_runtime(service: Path, run_spaps: RunSpaps, tmp_path: Path) -> None:
    site = foreign_runtime(tmp_path / "foreign")
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nPYTHONPATH="{site}" exec "{sys.executable}" "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    outcome = run_spaps("doctor", str(service), "--python", str(python), "--json")
    assert outcome.code == 1
    findings = {f["id"]: f for f in outcome.json()["findings"]}
    foreign = findings["runtime.foreign"]
    assert foreign["severity"] == "error"
    assert "spaps-server-quickstart 0.9.1 is not this project's runtime" in foreign["message"]
    assert "Homepage, https://hosted.example" in foreign["message"]
    assert "--extra-index-url" in foreign["hint"]


def test_doctor_accepts_this_projects_runtime(service: Path, run_spaps: RunSpaps) -> None:
    outcome = run_spaps("doctor", str(service), "--json")
    assert "runtime.foreign" not in {f["id"] for f in outcome.json()["findings"]}
