"""The publishing workflows: parsed with PyYAML, job graph checked, and their scripts run.

The shell steps of the reusable workflow are executed for real (bash, the installed ``spaps``,
the loopback index), so the exit-code-to-output mapping is tested, not just read.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from spaps_cli.project import read_pyproject

from .conftest import IndexServer, make_distribution

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
REUSABLE = "python-package-release.yml"
PINNED = re.compile(r"^pypa/gh-action-pypi-publish@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


def triggers(document: dict[str, Any]) -> dict[str, Any]:
    on = document["on"] if "on" in document else document[True]  # type: ignore[index]  # YAML 1.1: `on` is True
    assert isinstance(on, dict)
    return on


def step(job: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if s.get("id") == step_id)


def test_reusable_workflow_interface() -> None:
    document = load(WORKFLOWS / REUSABLE)
    call = triggers(document)["workflow_call"]
    assert set(triggers(document)) == {"workflow_call"}
    inputs = call["inputs"]
    assert {"package-dir", "python-version", "index", "tag-prefix", "dry-run"} <= set(inputs)
    assert inputs["package-dir"]["required"] is True
    assert inputs["dry-run"]["type"] == "boolean"
    assert inputs["python-version"]["default"] == "3.12"
    outputs = call["outputs"]
    for name in ("version", "tag", "publish", "reason", "artifact-name"):
        assert outputs[name]["value"] == f"${{{{ jobs.build.outputs.{name} }}}}"
    assert document["permissions"] == {"contents": "read"}

    job = document["jobs"]["build"]
    for name in ("version", "tag", "publish", "reason", "artifact-name"):
        assert job["outputs"][name] == f"${{{{ steps.check.outputs.{name} }}}}"
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    uses = [s.get("uses", "") for s in job["steps"]]
    assert "spaps release check" in runs
    assert "python -m build --sdist --wheel" in runs
    assert "twine check --strict dist/*" in runs
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    assert not any("pypi-publish" in u for u in uses), "uploads belong to the caller"
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    # inputs reach scripts through env, never pasted into the script text
    assert "${{ inputs." not in runs


CALLERS = [
    ("release-runtime.yml", "runtime", "runtime-v"),
    ("release-cli.yml", ".", "cli-v"),
]


def check_caller(document: dict[str, Any], *, uses: str, tag_prefix: str | None) -> None:
    jobs = document["jobs"]
    assert set(jobs) == {"build", "publish", "tag"}
    assert document["permissions"] == {"contents": "read"}
    assert document["concurrency"]["cancel-in-progress"] is False
    assert document["concurrency"]["group"].startswith("release-")

    build = jobs["build"]
    assert build["uses"] == uses
    if tag_prefix is not None:
        assert build["with"]["tag-prefix"] == tag_prefix

    publish = jobs["publish"]
    assert publish["needs"] == "build"
    assert publish["if"] == "needs.build.outputs.publish == 'true'"
    assert publish["permissions"] == {"id-token": "write"}
    assert "environment" in publish
    steps = publish["steps"]
    assert steps[0]["uses"].startswith("actions/download-artifact@")
    assert steps[0]["with"]["name"] == "${{ needs.build.outputs.artifact-name }}"
    assert PINNED.match(steps[1]["uses"])
    assert "password" not in steps[1].get("with", {}), "trusted publishing: no secrets"

    tag = jobs["tag"]
    assert set(tag["needs"]) == {"build", "publish"}
    assert tag["if"] == "needs.publish.result == 'success'"
    assert tag["permissions"] == {"contents": "write"}
    script = tag["steps"][-1]["run"]
    assert "git push origin" in script
    assert tag["steps"][-1]["env"]["TAG"] == "${{ needs.build.outputs.tag }}"


@pytest.mark.parametrize(("file", "package_dir", "prefix"), CALLERS)
def test_repository_callers(file: str, package_dir: str, prefix: str) -> None:
    document = load(WORKFLOWS / file)
    check_caller(document, uses=f"./.github/workflows/{REUSABLE}", tag_prefix=prefix)
    build = document["jobs"]["build"]
    assert build["with"]["package-dir"] == package_dir
    pyproject = read_pyproject(REPO / package_dir / "pyproject.toml")
    assert pyproject["tool"]["spaps"]["release"]["tag-prefix"] == prefix
    on = triggers(document)
    assert on["push"]["tags"] == [f"{prefix}*"]
    assert "workflow_dispatch" in on


def test_service_template_renders_to_the_same_graph() -> None:
    # The same whitespace rules as spaps_cli.generators.render, which renders it for real.
    template = jinja2.Environment(
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    source = (
        REPO / "templates" / "service" / ".github" / "workflows" / "release.yml.jinja"
    ).read_text()
    text = template.from_string(source).render(
        service="billing-api", python_version="3.12", cli_version="0.3.1"
    )
    document = yaml.safe_load(text)
    check_caller(
        document,
        uses="sweetpotato/spaps/.github/workflows/python-package-release.yml@cli-v0.3.1",
        tag_prefix="",
    )
    assert document["jobs"]["build"]["with"]["spaps-cli"] == "spaps-cli==0.3.1"
    assert document["concurrency"]["group"] == "release-billing-api"
    assert "${{ inputs.index || 'pypi' }}" in text


def run_step(script: str, env: dict[str, str], cwd: Path) -> tuple[int, dict[str, str], str]:
    output = cwd / "github_output"
    output.write_text("")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    completed = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, "PATH": path, "GITHUB_OUTPUT": str(output), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    values = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return completed.returncode, values, completed.stdout + completed.stderr


@pytest.mark.parametrize(
    ("name", "local", "dry_run", "code", "publish", "reason"),
    [
        ("demo-pkg", "1.4.0", "false", 0, "true", "AHEAD"),
        ("demo-pkg", "1.4.0", "true", 0, "false", "AHEAD"),
        ("first-one", "0.1.0", "false", 0, "true", "NOT_PUBLISHED"),
        ("demo-pkg", "1.2.0", "false", 0, "false", "ALREADY_PUBLISHED"),
        ("demo-pkg", "1.1.5", "false", 12, None, None),
        ("broken", "1.0.0", "false", 13, None, None),
    ],
)
def test_check_step_maps_outcomes_to_outputs(
    index_server: IndexServer,
    tmp_path: Path,
    name: str,
    local: str,
    dry_run: str,
    code: int,
    publish: str | None,
    reason: str | None,
) -> None:
    make_distribution(tmp_path / "pkg", name=name, version=local)
    script = step(load(WORKFLOWS / REUSABLE)["jobs"]["build"], "check")["run"]
    env = {
        "PACKAGE_DIR": "pkg",
        "INDEX": index_server.url,
        "TAG_PREFIX": "",
        "DRY_RUN": dry_run,
    }
    returncode, outputs, log = run_step(script, env, tmp_path)
    assert returncode == code, log
    if publish is None:
        assert "::error::" in log
        return
    assert outputs["publish"] == publish
    assert outputs["reason"] == reason
    assert outputs["version"] == local
    assert outputs["tag"] == f"demo-v{local}"
    assert outputs["artifact-name"] == f"dist-{name}-{local}"


@pytest.mark.parametrize(
    ("files", "ok"),
    [
        (["demo_pkg-1.2.4rc1.tar.gz", "demo_pkg-1.2.4rc1-py3-none-any.whl"], True),
        (["demo_pkg-1.2.4-rc.1.tar.gz", "demo_pkg-1.2.4rc1-py3-none-any.whl"], False),
        (["demo_pkg-1.2.4rc1-py3-none-any.whl"], False),
    ],
)
def test_dist_name_step(tmp_path: Path, files: list[str], ok: bool) -> None:
    job = load(WORKFLOWS / REUSABLE)["jobs"]["build"]
    script = next(s for s in job["steps"] if s.get("name", "").startswith("Dist file names"))["run"]
    (tmp_path / "dist").mkdir()
    for name in files:
        (tmp_path / "dist" / name).write_bytes(b"")
    returncode, _, log = run_step(script, {"VERSION": "1.2.4rc1"}, tmp_path)
    assert (returncode == 0) is ok, log
