"""Where ``__version__`` is, read with ``ast``: every real assignment is found, nothing else.

A form the bump cannot keep in sync is refused with ``file:line``; it is never skipped, because a
skipped ``__version__`` goes stale without anyone noticing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import make_distribution, snapshot

DATE = ("--date", "2026-11-26")
INIT = "demo_pkg/__init__.py"


@pytest.mark.parametrize(
    ("source", "bumped"),
    [
        pytest.param(
            '__version__ = version = "1.0.0"\n',
            '__version__ = version = "1.0.1"\n',
            id="chained",
        ),
        pytest.param(
            'try:\n    import x\nexcept ImportError:\n    __version__ = "1.0.0"\n',
            'try:\n    import x\nexcept ImportError:\n    __version__ = "1.0.1"\n',
            id="inside-try-except",
        ),
        pytest.param(
            'if True:\n    __version__: str = "1.0.0"  # kept\n',
            'if True:\n    __version__: str = "1.0.1"  # kept\n',
            id="annotated-in-if",
        ),
        pytest.param(
            '__version__ = """1.0.0"""\n', '__version__ = """1.0.1"""\n', id="triple-quoted"
        ),
        pytest.param("__version__ = '1.0.0'\n", "__version__ = '1.0.1'\n", id="single-quoted"),
        pytest.param(
            '"""Docs.\n\n__version__ = "0.0.1"\n"""\n\n__version__ = "1.0.0"\n',
            '"""Docs.\n\n__version__ = "0.0.1"\n"""\n\n__version__ = "1.0.1"\n',
            id="docstring-line-is-not-an-assignment",
        ),
        pytest.param(
            'def f():\n    __version__ = "9"\n\n\n__version__ = "1.0.0"\n',
            'def f():\n    __version__ = "9"\n\n\n__version__ = "1.0.1"\n',
            id="function-local-is-not-the-module-version",
        ),
    ],
)
def test_every_real_assignment_is_found_and_edited_in_place(
    spaps: Any, tmp_path: Path, source: str, bumped: str
) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    (root / INIT).write_text(source)
    check = spaps("release", "check", "--offline", "--json", cwd=root)
    assert check.code == 0, check.stderr
    assert check.json()["version_file_value"] == "1.0.0"
    result = spaps("release", "bump", "patch", "--offline", *DATE, cwd=root)
    assert result.code == 0, result.stderr
    assert (root / INIT).read_text() == bumped


def test_a_stale_chained_assignment_is_drift(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    (root / INIT).write_text('__version__ = version = "0.9.0"\n')
    result = spaps("release", "check", "--offline", "--json", cwd=root)
    assert result.code == 1
    assert "says __version__ = 0.9.0" in result.json()["problems"][0]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(
            "__version__ = (1, 0, 0)\n",
            f"{INIT}:1: __version__ = (1, 0, 0) is not a plain string literal",
            id="tuple",
        ),
        pytest.param(
            "VERSION = '1.0.0'\n__version__ = VERSION\n",
            f"{INIT}:2: __version__ = VERSION is not a plain string literal",
            id="name",
        ),
        pytest.param(
            '__version__ = "1." "0.0"\n',
            f'{INIT}:1: __version__ = "1." "0.0" is not a plain string literal',
            id="implicit-concatenation",
        ),
        pytest.param(
            '__version__, other = "1.0.0", 2\n',
            f"{INIT}:1: __version__ is assigned by unpacking",
            id="unpacking",
        ),
        pytest.param(
            'try:\n    __version__ = "1.0.0"\nexcept Exception:\n    __version__ = "0"\n',
            f"{INIT} assigns __version__ 2 times (lines 2, 4)",
            id="two-assignments",
        ),
    ],
)
def test_unsupported_forms_are_refused_naming_the_line(
    spaps: Any, tmp_path: Path, source: str, message: str
) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    (root / INIT).write_text(source)
    before = snapshot(root)
    for command in (("bump", "patch"), ("check",)):
        result = spaps("release", *command, "--offline", cwd=root)
        assert result.code == 2, result.stderr
        assert message in result.stderr
        assert 'the supported form is one plain string literal: __version__ = "1.2.3"' in (
            result.stderr
        )
        assert result.stderr.count("error:") == 1
    assert snapshot(root) == before


def test_a_version_read_from_the_installed_metadata_is_left_alone(
    spaps: Any, tmp_path: Path
) -> None:
    """It cannot go stale, and its fallback literal is a placeholder, not the version."""
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    source = (
        "from importlib.metadata import PackageNotFoundError, version\n\n"
        'try:\n    __version__ = version("demo-pkg")\n'
        'except PackageNotFoundError:\n    __version__ = "0.0.0"\n'
    )
    (root / INIT).write_text(source)
    result = spaps("release", "bump", "patch", "--offline", *DATE, "--json", cwd=root)
    assert result.code == 0, result.stderr
    assert INIT not in {row["path"] for row in result.json()["files"]}
    assert (root / INIT).read_text() == source


def test_absolute_version_file_inside_the_distribution(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.spaps.release]\n", f'[tool.spaps.release]\nversion-file = "{root / INIT}"\n'
        )
    )
    check = spaps("release", "check", "--offline", "--json", cwd=root)
    assert check.code == 0, check.stderr
    assert check.json()["version_file"] == INIT
    result = spaps("release", "bump", "patch", "--offline", *DATE, cwd=root)
    assert result.code == 0, result.stderr
    assert '__version__ = "1.0.1"' in (root / INIT).read_text()


@pytest.mark.parametrize("where", ["absolute", "relative"])
@pytest.mark.parametrize("setting", ["version-file", "hatch-path"])
def test_a_version_file_outside_the_distribution_is_refused(
    spaps: Any, tmp_path: Path, where: str, setting: str
) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    outside = tmp_path / "elsewhere.py"
    outside.write_text('__version__ = "1.0.0"\n')
    given = str(outside) if where == "absolute" else "../elsewhere.py"
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    if setting == "version-file":
        text = text.replace(
            "[tool.spaps.release]\n", f'[tool.spaps.release]\nversion-file = "{given}"\n'
        )
        name = "[tool.spaps.release] version-file"
    else:
        text = text.replace('version = "1.0.0"\n', 'dynamic = ["version"]\n')
        text += f'\n[tool.hatch.version]\npath = "{given}"\n'
        name = "[tool.hatch.version] path"
    pyproject.write_text(text)
    before = snapshot(tmp_path)
    for command in (("bump", "patch"), ("check",)):
        result = spaps("release", *command, "--offline", cwd=root)
        assert result.code == 2, result.stderr
        assert f"{name} = {given!r} is outside the distribution directory" in result.stderr
        assert result.stderr.count("error:") == 1
    assert snapshot(tmp_path) == before


def test_an_integer_project_version_must_be_a_string(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "1.0.0"', "version = 1"))
    result = spaps("release", "check", "--offline", cwd=root)
    assert result.code == 2
    assert "[project] version = 1 must be a string" in result.stderr
    assert "has no version" not in result.stderr
