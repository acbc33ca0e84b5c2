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

from .conftest import CHANGELOG, IndexServer, make_distribution

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
    # production only: a TestPyPI run must not take the tag the real release needs
    assert tag["if"] == "needs.publish.result == 'success' && (inputs.index || 'pypi') == 'pypi'"
    assert tag["permissions"] == {"contents": "write"}
    script = tag["steps"][-1]["run"]
    assert "git push origin" in script
    assert tag["steps"][-1]["env"]["TAG"] == "${{ needs.build.outputs.tag }}"
    assert tag["steps"][-1]["env"]["SIGNING_KEY"] == "${{ secrets.RELEASE_TAG_SIGNING_KEY }}"


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


def changelog_for(version: str) -> str:
    """A changelog whose latest section is ``version``: what ``check --strict`` wants."""
    return CHANGELOG.replace("## [1.0.0] - 2026-01-01", f"## [{version}] - 2026-01-01")


@pytest.mark.parametrize(
    ("name", "local", "dry_run", "code", "publish", "reason"),
    [
        ("demo-pkg", "1.4.0", "false", 0, "true", "AHEAD"),
        ("demo-pkg", "1.4.0", "true", 0, "false", "AHEAD"),
        ("first-one", "0.1.0", "false", 0, "true", "NOT_PUBLISHED"),
        ("demo-pkg", "1.2.0", "false", 0, "false", "ALREADY_PUBLISHED"),
        ("next-out", "1.1.2", "false", 0, "true", "MAINTENANCE"),
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
    root = make_distribution(tmp_path / "pkg", name=name, version=local)
    (root / "CHANGELOG.md").write_text(changelog_for(local))
    if name == "next-out":
        pyproject = root / "pyproject.toml"
        pyproject.write_text(pyproject.read_text() + 'series = "1.1"\n')
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


def test_check_in_ci_is_strict_and_fails_on_a_missing_changelog_section(
    index_server: IndexServer, tmp_path: Path
) -> None:
    make_distribution(tmp_path / "pkg", version="1.4.0")  # CHANGELOG has 1.0.0 only
    script = step(load(WORKFLOWS / REUSABLE)["jobs"]["build"], "check")["run"]
    assert "--strict" in script
    env = {"PACKAGE_DIR": "pkg", "INDEX": index_server.url, "TAG_PREFIX": "", "DRY_RUN": "false"}
    returncode, outputs, log = run_step(script, env, tmp_path)
    assert returncode == 1, log
    assert "publish" not in outputs


def test_build_tools_are_pinned() -> None:
    job = load(WORKFLOWS / REUSABLE)["jobs"]["build"]
    install = next(s for s in job["steps"] if s.get("name", "").startswith("Install"))["run"]
    for tool in ("build", "twine"):
        assert re.search(rf'"{tool}==\d+(\.\d+)*"', install), install


def pushed_tag_step() -> dict[str, Any]:
    job = load(WORKFLOWS / REUSABLE)["jobs"]["build"]
    return next(s for s in job["steps"] if s.get("name", "").startswith("A pushed tag"))


@pytest.mark.parametrize(
    ("pushed", "ok"),
    [("demo-v1.2.3", True), ("demo-v1.2.4", False), ("v1.2.3", False), ("demo-v1.2.3.0", False)],
)
def test_a_pushed_tag_must_be_prefix_plus_version(tmp_path: Path, pushed: str, ok: bool) -> None:
    step_ = pushed_tag_step()
    assert step_["if"] == "github.ref_type == 'tag'"
    assert step_["env"]["EXPECTED_TAG"] == "${{ steps.check.outputs.tag }}"
    env = {"PUSHED_TAG": pushed, "EXPECTED_TAG": "demo-v1.2.3"}
    returncode, _, log = run_step(step_["run"], env, tmp_path)
    assert (returncode == 0) is ok, log
    if not ok:
        assert "::error::pushed tag" in log
    build = load(WORKFLOWS / REUSABLE)["jobs"]["build"]
    names = [s.get("name", "") for s in build["steps"]]
    assert names.index(step_["name"]) < names.index("Build sdist and wheel")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=30
    ).stdout.strip()


@pytest.fixture
def released_clone(tmp_path: Path) -> tuple[Path, str]:
    """A clone of a repository with one commit, its origin a bare repository on disk."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", str(origin))
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", str(origin), str(work))
    git(
        work,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t.invalid",
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        "release",
    )
    git(work, "push", "--quiet", "origin", "HEAD")
    return work, git(work, "rev-parse", "HEAD")


@pytest.mark.parametrize("file", [c[0] for c in CALLERS])
def test_the_tag_job_makes_an_annotated_tag(
    released_clone: tuple[Path, str], file: str, tmp_path: Path
) -> None:
    work, sha = released_clone
    script = load(WORKFLOWS / file)["jobs"]["tag"]["steps"][-1]["run"]
    env = {
        "TAG": "x-v1.0.0",
        "VERSION": "1.0.0",
        "GITHUB_SHA": sha,
        "SIGNING_KEY": "",
        "RUNNER_TEMP": str(tmp_path),
    }
    returncode, _, log = run_step(script, env, work)
    assert returncode == 0, log
    origin = tmp_path / "origin.git"
    assert git(origin, "cat-file", "-t", "x-v1.0.0") == "tag"  # annotated, not lightweight
    assert git(origin, "rev-parse", "x-v1.0.0^{commit}") == sha
    assert "Release spaps-" in git(origin, "cat-file", "-p", "x-v1.0.0")
    again, _, log = run_step(script, env, work)
    assert again == 0, log
    assert "already points at" in log


def test_the_tag_job_signs_when_a_key_is_configured(
    released_clone: tuple[Path, str], tmp_path: Path
) -> None:
    work, sha = released_clone
    key = tmp_path / "key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "release", "-f", str(key)],
        check=True,
        timeout=30,
    )
    script = load(WORKFLOWS / "release-runtime.yml")["jobs"]["tag"]["steps"][-1]["run"]
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    env = {
        "TAG": "runtime-v1.0.0",
        "VERSION": "1.0.0",
        "GITHUB_SHA": sha,
        "SIGNING_KEY": key.read_text(),
        "RUNNER_TEMP": str(runner_temp),
    }
    returncode, _, log = run_step(script, env, work)
    assert returncode == 0, log
    origin = tmp_path / "origin.git"
    assert "-----BEGIN SSH SIGNATURE-----" in git(origin, "cat-file", "-p", "runtime-v1.0.0")
    assert list(runner_temp.iterdir()) == []  # the key file is gone
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"release {key.with_suffix('.pub').read_text()}")
    verified = subprocess.run(
        ["git", "-c", f"gpg.ssh.allowedSignersFile={signers}", "tag", "-v", "runtime-v1.0.0"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert 'Good "git" signature' in verified.stderr


def test_the_tag_job_refuses_a_tag_on_another_commit(
    released_clone: tuple[Path, str], tmp_path: Path
) -> None:
    work, sha = released_clone
    git(
        work,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t.invalid",
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        "later",
    )
    later = git(work, "rev-parse", "HEAD")
    git(work, "tag", "cli-v1.0.0", sha)
    script = load(WORKFLOWS / "release-cli.yml")["jobs"]["tag"]["steps"][-1]["run"]
    env = {"TAG": "cli-v1.0.0", "VERSION": "1.0.0", "GITHUB_SHA": later, "SIGNING_KEY": ""}
    returncode, _, log = run_step(script, env, work)
    assert returncode == 1
    assert f"exists at {sha}" in log
