"""The compatibility matrix: one data file, the generated document, and the answers doctor uses."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path
from typing import Any

import pytest
import spaps_server_quickstart
from packaging.requirements import Requirement
from packaging.version import Version

import spaps_cli
from spaps_cli.fleet.compat import (
    CLIENT_DISTRIBUTION,
    MatrixError,
    format_range,
    load_matrix,
    parse_matrix,
)
from spaps_cli.fleet.compat_doc import main as render_main
from spaps_cli.fleet.compat_doc import render_markdown
from spaps_cli.generators.service import RUNTIME_REQUIREMENT, TEMPLATE_VERSION

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "COMPATIBILITY.md"
REGENERATE = "python -m spaps_cli.fleet.compat_doc docs/COMPATIBILITY.md"


def test_compatibility_doc_is_generated_from_the_matrix() -> None:
    assert DOC.read_text(encoding="utf-8") == render_markdown(load_matrix()), (
        f"docs/COMPATIBILITY.md is stale: run `{REGENERATE}`"
    )


def test_the_generator_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "COMPATIBILITY.md"
    assert render_main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")


def test_matrix_knows_this_cli_and_this_runtime() -> None:
    """Releasing a CLI or a runtime without a matrix row fails here, not in users' doctor runs."""
    matrix = load_matrix()
    cli = {release.version: release for release in matrix.clis}[Version(spaps_cli.__version__)]
    assert cli.template_version == TEMPLATE_VERSION
    assert matrix.verdict(TEMPLATE_VERSION, Version(spaps_server_quickstart.__version__)).ok


def test_generated_pin_is_the_matrix_range() -> None:
    """The pin ``spaps new service`` writes and the range the matrix supports are the same."""
    pin = Requirement(RUNTIME_REQUIREMENT.format(extras=""))
    allowed = load_matrix().runtime_range(TEMPLATE_VERSION)
    assert allowed is not None
    assert format_range(pin.specifier) == format_range(allowed)


def test_the_client_range_is_the_runtimes_own_pin_of_it() -> None:
    """The runtime pins the official ``spaps`` client to what it was tested with (an upper
    bound: 0.x minors may break), and the matrix row of this runtime says the same range."""
    document = tomllib.loads((REPO / "runtime" / "pyproject.toml").read_text(encoding="utf-8"))
    (pin,) = [
        Requirement(raw)
        for raw in document["project"]["dependencies"]
        if Requirement(raw).name == CLIENT_DISTRIBUTION
    ]
    assert any(item.operator in ("<", "<=", "~=", "==") for item in pin.specifier)
    assert pin.specifier.contains(importlib.metadata.version(CLIENT_DISTRIBUTION))
    row = load_matrix().runtime(Version(spaps_server_quickstart.__version__))
    assert row is not None
    assert format_range(row.client) == format_range(pin.specifier)


def matrix_data(**runtime: Any) -> dict[str, Any]:
    return {
        "schema": 1,
        "runtime": [
            {"version": "0.1.0", "released": "2026-11-26", **runtime},
            {"version": "0.2.0", "released": "2027-01-10"},
        ],
        "cli": [
            {
                "version": "0.1.0",
                "released": "2026-11-26",
                "template-version": "1",
                "runtime": ">=0.1.0,<0.2",
            },
            {
                "version": "0.2.0",
                "released": "2027-01-10",
                "template-version": "2",
                "runtime": ">=0.2.0,<0.3",
            },
        ],
    }


@pytest.mark.parametrize(
    ("template", "runtime", "status"),
    [
        ("1", "0.1.0", "supported"),
        ("1", "0.2.0", "unsupported"),
        ("2", "0.1.0", "unsupported"),
        ("2", "0.2.0", "supported"),
        ("1", "0.1.7", "unknown"),
        ("3", "0.2.0", "unknown"),
    ],
)
def test_verdicts(template: str, runtime: str, status: str) -> None:
    assert parse_matrix(matrix_data()).verdict(template, Version(runtime)).status == status


def test_runtime_status_wins_inside_the_range() -> None:
    deprecated = parse_matrix(matrix_data(status="deprecated"))
    assert deprecated.verdict("1", Version("0.1.0")).status == "deprecated"
    retired = parse_matrix(matrix_data(status="unsupported"))
    assert retired.verdict("1", Version("0.1.0")).status == "unsupported"
    assert retired.supported_runtimes("1") == []


def test_rendered_table_marks_each_cell() -> None:
    text = render_markdown(parse_matrix(matrix_data(status="deprecated")))
    assert "| runtime | template 2 | template 1 |" in text
    assert "| 0.2.0 | yes | no |" in text
    assert "| 0.1.0 | no | deprecated |" in text


def test_each_runtime_row_carries_its_client_range() -> None:
    matrix = parse_matrix(matrix_data(**{"spaps-client": "<0.9,>=0.8.3"}))
    older, newer = sorted(matrix.runtimes, key=lambda runtime: runtime.version)
    assert format_range(older.client) == ">=0.8.3,<0.9"
    assert str(newer.client) == ""
    text = render_markdown(matrix)
    assert "| 0.1.0 | 2026-11-26 | `` | `>=0.8.3,<0.9` | supported |" in text
    assert "| 0.2.0 | 2027-01-10 | `` | `any` | supported |" in text
    with pytest.raises(MatrixError, match="not a PEP 440 version range"):
        parse_matrix(matrix_data(**{"spaps-client": "~~0.8"}))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema": 2}, "schema must be 1"),
        ({"runtime": [{"version": "x.y", "released": "2026"}]}, "not a PEP 440 version"),
        ({"runtime": [{"version": "1", "released": "2026", "status": "maybe"}]}, "status"),
        (
            {
                "cli": [
                    {"version": "1", "released": "2026", "template-version": "1", "runtime": "~~1"}
                ]
            },
            "not a PEP 440 version range",
        ),
        ({"cli": [{"version": "1", "released": "2026"}]}, "missing 'template-version'"),
        ({"runtime": []}, "at least one"),
    ],
)
def test_malformed_matrix(change: dict[str, Any], message: str) -> None:
    with pytest.raises(MatrixError, match=message):
        parse_matrix({**matrix_data(), **change})
