"""``wheels/`` of a service generated from this checkout: valid, reproducible wheels.

The fresh-machine install itself is tests/e2e/test_fresh_machine.py; here the wheels are taken
apart: every RECORD hash matches, the metadata is the installed distribution's, the runtime's
version satisfies the pin the service's pyproject declares, and packing twice gives the same
bytes (re-runs stay ``identical`` and uv.lock stays valid).
"""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess
import sys
import tomllib
import zipfile
from datetime import datetime
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from spaps_cli import names
from spaps_cli.generators.service import ServiceAnswers, generate_service
from spaps_cli.generators.wheelhouse import service_wheel_filenames, service_wheels


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    answers = ServiceAnswers.build(names.service_name("billing-api"))
    root = tmp_path_factory.mktemp("wheelhouse") / "billing-api"
    generate_service(answers, destination=root, now=datetime(2026, 12, 5, 9, 30))
    return root


def read_wheel(path: Path) -> tuple[dict[str, str], zipfile.ZipFile]:
    archive = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    (metadata_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    headers = Parser().parsestr(archive.read(metadata_name).decode())
    return {"Name": headers["Name"], "Version": headers["Version"]}, archive


def test_every_record_entry_matches_the_file(service: Path) -> None:
    for wheel in sorted((service / "wheels").glob("*.whl")):
        _, archive = read_wheel(wheel)
        (record_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/RECORD")]
        rows = [line.split(",") for line in archive.read(record_name).decode().splitlines()]
        listed = {row[0] for row in rows}
        assert listed == set(archive.namelist()), wheel.name
        for name, digest, size in rows:
            if name == record_name:
                continue
            data = archive.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == f"sha256={expected.decode()}", (wheel.name, name)
            assert int(size) == len(data)


def test_the_runtime_wheel_satisfies_the_services_pin(service: Path) -> None:
    document = tomllib.loads((service / "pyproject.toml").read_text())
    (pin,) = [Requirement(r) for r in document["project"]["dependencies"]]
    (runtime,) = (service / "wheels").glob("spaps_server_quickstart-*.whl")
    headers, archive = read_wheel(runtime)
    assert headers["Name"] == pin.name
    assert pin.specifier.contains(Version(headers["Version"]))
    assert "spaps_server_quickstart/app.py" in archive.namelist()
    assert not [n for n in archive.namelist() if "__pycache__" in n or n.endswith(".pyc")]


def test_the_cli_wheel_carries_templates_and_the_runtime_wheel(service: Path) -> None:
    (cli,) = (service / "wheels").glob("spaps_cli-*.whl")
    headers, archive = read_wheel(cli)
    assert headers["Name"] == "spaps-cli"
    contents = archive.namelist()
    assert "spaps_cli/templates/service/Dockerfile.jinja" in contents
    (runtime,) = (service / "wheels").glob("spaps_server_quickstart-*.whl")
    assert archive.read(f"spaps_cli/wheels/{runtime.name}") == runtime.read_bytes()
    entry_points = next(n for n in contents if n.endswith("entry_points.txt"))
    assert "spaps = spaps_cli.__main__:main" in archive.read(entry_points).decode()


def test_packing_is_reproducible() -> None:
    assert service_wheels() == service_wheels()


def test_the_names_alone_are_the_names_of_the_packed_wheels() -> None:
    """``spaps update`` renders with the names only; they must be the ones new service writes."""
    assert service_wheel_filenames() == [wheel.filename for wheel in service_wheels()]


def test_wheels_packed_from_this_checkout_install_and_work(service: Path, tmp_path: Path) -> None:
    """The "generated from a checkout" case: pip accepts both packed wheels, and the installed
    CLI finds its templates (inside the package now) and the runtime wheel it carries."""
    target = tmp_path / "site"
    wheels = sorted(str(path) for path in (service / "wheels").glob("*.whl"))
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    subprocess.run(
        [*pip, "--target", str(target), *wheels],
        check=True,
        capture_output=True,
        timeout=120,
    )
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import spaps_cli, spaps_server_quickstart\n"
        "from spaps_cli.generators import templates_location, wheelhouse\n"
        "print(spaps_cli.__file__, spaps_server_quickstart.__file__)\n"
        "print(templates_location.template_tree('service'))\n"
        "print(wheelhouse.runtime_wheel().filename)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe, str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert all(Path(path).is_relative_to(target) for path in shown[:3]), shown
    (runtime,) = (service / "wheels").glob("spaps_server_quickstart-*.whl")
    assert shown[3] == runtime.name


def test_without_a_runtime_wheel_the_error_says_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A checkout with only the CLI installed has no runtime to pack: one clear error."""
    from importlib import metadata

    from spaps_cli.errors import FileAccessError
    from spaps_cli.generators import wheelhouse

    real = metadata.distribution

    def without_runtime(name: str) -> metadata.Distribution:
        if name == wheelhouse.RUNTIME_DISTRIBUTION:
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(wheelhouse, "PACKAGED_WHEELS", tmp_path)
    monkeypatch.setattr(wheelhouse.metadata, "distribution", without_runtime)
    with pytest.raises(FileAccessError) as raised:
        wheelhouse.runtime_wheel()
    assert "spaps-server-quickstart" in str(raised.value)
    assert 'pip install -e "./runtime[server]"' in (raised.value.hint or "")
