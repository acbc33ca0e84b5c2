"""A second template version (see scenario.py) and a service generated at version 1."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from spaps_cli.generators.service import ServiceAnswers, generate_service
from spaps_cli.names import service_name
from spaps_cli.update.versions import TemplateVersions
from tests.update.scenario import make_template_v2

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def versions(tmp_path: Path) -> TemplateVersions:
    return make_template_v2(tmp_path / "history")


@pytest.fixture
def service_root(tmp_path: Path) -> Path:
    root = tmp_path / "billing-api"
    generate_service(ServiceAnswers.build(service_name("billing-api")), destination=root, now=NOW)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
