"""Every ``__version__`` literal of the distribution is found and bumped, or named when stale;
and ``bump`` edits only the distribution it was started in (or ``--package``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import make_distribution, snapshot

DATE = ("--date", "2026-12-01")

BARE_PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.25"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "{version}"
{extra}"""


def bare(root: Path, *, name: str, version: str = "1.0.0", extra: str = "") -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        BARE_PYPROJECT.format(name=name, version=version, extra=extra)
    )
    return root


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def layout_src_version_module(tmp: Path, stale: str) -> tuple[Path, str]:
    root = bare(tmp / "src-layout", name="demo-pkg")
    write(root, "src/demo_pkg/__init__.py", "from ._version import __version__\n")
    write(root, "src/demo_pkg/_version.py", f'__version__ = "{stale}"\n')
    return root, "src/demo_pkg/_version.py"


def layout_other_import_name(tmp: Path, stale: str) -> tuple[Path, str]:
    root = bare(tmp / "renamed", name="acme-tools")
    write(root, "src/acme/__init__.py", f'"""Acme."""\n\n__version__ = "{stale}"\n')
    return root, "src/acme/__init__.py"


def layout_flat_other_import_name(tmp: Path, stale: str) -> tuple[Path, str]:
    root = bare(tmp / "flat", name="acme-tools")
    write(root, "acmelib/__init__.py", f'__version__ = "{stale}"\n')
    write(root, "tests/__init__.py", '__version__ = "0.0.0"  # not a package of the dist\n')
    return root, "acmelib/__init__.py"


def layout_second_literal_next_to_hatch_path(tmp: Path, stale: str) -> tuple[Path, str]:
    extra = 'dynamic = ["version"]\n\n[tool.hatch.version]\npath = "demo_pkg/__about__.py"\n'
    root = tmp / "hatch"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        BARE_PYPROJECT.replace('version = "{version}"\n', "").format(name="demo-pkg", extra=extra)
    )
    write(root, "demo_pkg/__about__.py", '__version__ = "1.0.0"\n')
    write(root, "demo_pkg/__init__.py", f'"""Demo."""\n\nimport os\n\n__version__ = "{stale}"\n')
    return root, "demo_pkg/__init__.py"


LAYOUTS = [
    layout_src_version_module,
    layout_other_import_name,
    layout_flat_other_import_name,
    layout_second_literal_next_to_hatch_path,
]


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda f: f.__name__.removeprefix("layout_"))
def test_every_literal_is_bumped(spaps: Any, tmp_path: Path, layout: Any) -> None:
    root, literal = layout(tmp_path, "1.0.0")
    result = spaps("release", "bump", "patch", "--offline", *DATE, "--json", cwd=root)
    assert result.code == 0, result.stderr
    assert '__version__ = "1.0.1"' in (root / literal).read_text()
    check = spaps("release", "check", "--offline", "--json", cwd=root)
    assert check.code == 0, check.stdout
    assert literal in [f["path"] for f in check.json()["version_files"]]


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda f: f.__name__.removeprefix("layout_"))
def test_a_stale_literal_stops_check_and_bump_with_file_and_line(
    spaps: Any, tmp_path: Path, layout: Any
) -> None:
    root, literal = layout(tmp_path, "0.9.0")
    line = next(
        n for n, text in enumerate((root / literal).read_text().splitlines(), 1) if "0.9.0" in text
    )
    check = spaps("release", "check", "--offline", "--json", cwd=root)
    assert check.code == 1
    [problem] = check.json()["problems"]
    assert f"{literal}:{line} says __version__ = 0.9.0" in problem
    before = snapshot(root)
    bump = spaps("release", "bump", "patch", "--offline", *DATE, cwd=root)
    assert bump.code == 2
    assert f"{literal}:{line}" in bump.stderr
    assert snapshot(root) == before


def test_vendored_and_derived_versions_are_left_alone(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    write(root, "demo_pkg/_vendor/__init__.py", "")
    write(root, "demo_pkg/_vendor/six.py", '__version__ = "1.16.0"\n')
    write(root, "demo_pkg/about.py", 'VERSION = "x"\n__version__ = VERSION\n')
    vendored = (root / "demo_pkg/_vendor/six.py").read_bytes()
    result = spaps("release", "bump", "patch", "--offline", *DATE, cwd=root)
    assert result.code == 0, result.stderr
    assert (root / "demo_pkg/_vendor/six.py").read_bytes() == vendored
    assert '__version__ = "1.0.1"' in (root / "demo_pkg/__init__.py").read_text()


def test_a_literal_that_cannot_be_kept_in_sync_is_refused(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    write(root, "demo_pkg/_version.py", '__version__ = "1.0.0"\n__version__ = "1.0.0"\n')
    result = spaps("release", "bump", "patch", "--offline", *DATE, cwd=root)
    assert result.code == 2
    assert "_version.py assigns __version__ 2 times" in result.stderr


@pytest.mark.parametrize("subdirectory", ["docs", "demo_pkg", "nested/deeper"])
def test_bump_never_walks_up_to_a_parent_distribution(
    spaps: Any, tmp_path: Path, subdirectory: str
) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    here = root / subdirectory
    here.mkdir(parents=True, exist_ok=True)
    before = snapshot(root)
    result = spaps("release", "bump", "patch", "--offline", *DATE, cwd=here)
    assert result.code == 2
    assert f"no pyproject.toml in {here.resolve()}" in result.stderr
    assert f"--package {root.resolve()}" in result.stderr
    assert snapshot(root) == before
    named = spaps("release", "bump", "patch", "--offline", "--package", str(root), *DATE, cwd=here)
    assert named.code == 0, named.stderr
    assert 'version = "1.0.1"' in (root / "pyproject.toml").read_text()
