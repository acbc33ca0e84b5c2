"""``[tool.spaps]`` values of the wrong type are one-line errors naming the key, in every command.

Before, ``spaps = "x"`` was a ``ValueError`` traceback (``dict("x")``), ``package = "/etc"`` made
``add domain`` look for domains in ``/etc`` (a traceback) and ``doctor`` check the wrong files,
``package = "../x"`` pointed outside the service, and ``celery = "yes"`` counted as true.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.cli_runner import RunSpaps

HEAD = '[project]\nname = "billing-api"\nversion = "1.0.0"\n\n'
SPAPS = '[tool.spaps]\nservice = "billing-api"\npackage = "billing_api"\n'

TABLES = {
    "tool.spaps is a string": ('[tool]\nspaps = "billing_api"\n', "[tool.spaps] must be a table"),
    "tool is a string": ('tool = "x"\n', "[tool] must be a table"),
    "absolute package": (SPAPS.replace('"billing_api"', '"/etc"'), "package = '/etc'"),
    "escaping package": (SPAPS.replace('"billing_api"', '"../../x"'), "package = '../../x'"),
    "package with a slash": (SPAPS.replace('"billing_api"', '"src/x"'), "package = 'src/x'"),
    "package is a number": (SPAPS.replace('"billing_api"', "5"), "package must be a string"),
    "domains is a string": (SPAPS + 'domains = "users"\n', "domains must be a list of strings"),
    "domains holds a number": (SPAPS + "domains = [1]\n", "domains must be a list of strings"),
    "answers is a number": (SPAPS + "answers = 3\n", "[tool.spaps.answers] must be a table"),
    "celery is a string": (
        SPAPS + '\n[tool.spaps.answers]\ncelery = "yes"\n',
        "[tool.spaps.answers] celery must be true or false",
    ),
    "migrate is a string": (SPAPS + 'migrate = "all"\n', "[tool.spaps.migrate] must be a table"),
    "tag-prefix is a number": (
        SPAPS + "\n[tool.spaps.release]\ntag-prefix = 5\n",
        "[tool.spaps.release] tag-prefix must be a string",
    ),
}
COMMANDS = {
    "add domain": ["add", "domain", "things", "--dir", "{root}"],
    "add task": ["add", "task", "ping", "--domain", "things", "--dir", "{root}"],
    "doctor": ["doctor", "{root}"],
    "smoke": ["smoke", "{root}"],
    "migrate": ["migrate", "--check", "{root}"],
    "release check": ["release", "check", "--offline", "--package", "{root}"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("table", sorted(TABLES))
def test_wrong_types_are_one_line_errors(
    tmp_path: Path, run_spaps: RunSpaps, table: str, command: str
) -> None:
    body, expected = TABLES[table]
    root = tmp_path / "billing-api"
    (root / "src" / "billing_api").mkdir(parents=True)
    # A top-level key must come before the first table, or TOML puts it into [project].
    text = body + HEAD if body.startswith("tool =") else HEAD + body
    (root / "pyproject.toml").write_text(text)
    outcome = run_spaps(*(arg.format(root=root) for arg in COMMANDS[command]))
    assert outcome.code == 2, outcome.stderr
    [line] = outcome.error_lines
    assert expected in line, line
    assert "pyproject.toml" in line
    assert sorted(p.name for p in root.rglob("*")) == ["billing_api", "pyproject.toml", "src"]


RELEASE = {
    "urls is a string": ('urls = "x"\n', "[project] urls must be a table"),
    "dynamic is a number": ("dynamic = 3\n", "[project] dynamic must be a list of strings"),
    "tool.hatch is a string": ('\n[tool]\nhatch = "x"\n', "[tool.hatch] must be a table"),
    "hatch version is a number": ("\n[tool.hatch]\nversion = 3\n", "[tool.hatch.version] must"),
    "wheel is a number": (
        "\n[tool.hatch.build.targets]\nwheel = 3\n",
        "[tool.hatch.build.targets.wheel] must be a table",
    ),
    "wheel packages is a string": (
        '\n[tool.hatch.build.targets.wheel]\npackages = "demo_pkg"\n',
        "packages must be a list of strings",
    ),
}


@pytest.mark.parametrize("command", [["check"], ["bump", "patch"]])
@pytest.mark.parametrize("case", sorted(RELEASE))
def test_release_reads_typed_pyproject_values(
    tmp_path: Path, run_spaps: RunSpaps, case: str, command: list[str]
) -> None:
    body, expected = RELEASE[case]
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "demo-pkg"\nversion = "1.0.0"\n' + body)
    before = pyproject.read_bytes()
    outcome = run_spaps("release", *command, "--offline", "--package", str(tmp_path))
    assert outcome.code == 2, outcome.stderr
    [line] = outcome.error_lines
    assert expected in line, line
    assert pyproject.read_bytes() == before
