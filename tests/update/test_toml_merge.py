"""``pyproject.toml`` merged by key: the template's additions in, the team's values kept."""

from __future__ import annotations

import tomllib

from spaps_cli.update.toml_merge import merge_pyproject

BASE = """[project]
name = "shop"
requires-python = ">=3.11"
dependencies = [
    "spaps-server-quickstart>=1.0,<2",
]

[tool.ruff]
line-length = 100

[tool.spaps]
template-version = "1"
"""


def test_keys_and_requirements_from_both_sides() -> None:
    ours = BASE.replace(
        "dependencies = [\n", 'dependencies = [\n    "orjson>=3.10",  # fast JSON\n'
    ).replace("line-length = 100", "line-length = 120")
    theirs = (
        BASE.replace(">=1.0,<2", ">=1.2,<2")
        .replace('requires-python = ">=3.11"', 'requires-python = ">=3.12"')
        .replace("[tool.ruff]\n", '[tool.ruff]\ntarget-version = "py312"\n')
        .replace('template-version = "1"', 'template-version = "9"')
    )

    merged = merge_pyproject(BASE, ours, theirs)

    assert merged.conflicts == []
    assert "# fast JSON" in merged.text  # the team's comment kept
    document = tomllib.loads(merged.text)
    assert document["project"]["dependencies"] == [
        "orjson>=3.10",
        "spaps-server-quickstart>=1.2,<2",
    ]
    assert document["project"]["requires-python"] == ">=3.12"
    assert document["tool"]["ruff"] == {"line-length": 120, "target-version": "py312"}
    assert document["tool"]["spaps"]["template-version"] == "1"  # never merged


def test_a_value_both_changed_is_a_conflict() -> None:
    ours = BASE.replace("line-length = 100", "line-length = 120")
    theirs = BASE.replace("line-length = 100", "line-length = 88")
    assert merge_pyproject(BASE, ours, theirs).conflicts == ["tool.ruff.line-length"]


def test_a_requirement_both_changed_is_a_conflict() -> None:
    ours = BASE.replace(">=1.0,<2", ">=1.0,<1.5")
    theirs = BASE.replace(">=1.0,<2", ">=1.2,<2")
    merged = merge_pyproject(BASE, ours, theirs)
    assert merged.conflicts == ["project.dependencies[spaps-server-quickstart]"]


def test_a_key_the_template_removed_goes_only_if_untouched() -> None:
    theirs = BASE.replace("[tool.ruff]\nline-length = 100\n\n", "")
    assert "tool" in tomllib.loads(merge_pyproject(BASE, BASE, theirs).text)
    assert "ruff" not in tomllib.loads(merge_pyproject(BASE, BASE, theirs).text)["tool"]
    edited = BASE.replace("line-length = 100", "line-length = 120")
    merged = merge_pyproject(BASE, edited, theirs)
    assert merged.conflicts == ["tool.ruff"]
