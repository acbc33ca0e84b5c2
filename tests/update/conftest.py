"""A second template version made the way a template change would make it, and a service of v1.

``template_v2`` copies the shipped version-1 tree and changes it the way a real template release
does: a reworded README heading, a new router registered in the registry, a new and a removed
file, a new dev dependency and a raised pin, a changed docstring in the settings module.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spaps_cli.generators.service import ServiceAnswers, generate_service
from spaps_cli.names import service_name
from spaps_cli.update.versions import HISTORY_DIR, TemplateVersions

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PACKAGE_DIR = "src/{{ package }}"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path}: {old!r} not in the version-1 tree any more"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def versions(tmp_path: Path) -> TemplateVersions:
    v1 = HISTORY_DIR / "1" / "service"
    v2 = tmp_path / "history" / "2" / "service"
    shutil.copytree(v1, v2)
    _edit(v2 / "README.md.jinja", "## Run it on your laptop", "## Run it locally")
    (v2 / PACKAGE_DIR / "api" / "status.py.jinja").write_text(
        '"""A status route every service of template 2 has."""\n\n'
        "from __future__ import annotations\n\n"
        "from fastapi import APIRouter\n\n"
        'router = APIRouter(prefix="/status", tags=["status"])\n\n\n'
        '@router.get("")\n'
        "async def status() -> dict[str, str]:\n"
        '    return {"status": "ok"}\n',
        encoding="utf-8",
    )
    registry = v2 / PACKAGE_DIR / "api" / "registry.py.jinja"
    _edit(
        registry,
        "from {{ package }}.api.meta import router as meta_router\n",
        "from {{ package }}.api.meta import router as meta_router\n"
        "from {{ package }}.api.status import router as status_router\n",
    )
    _edit(
        registry,
        "    app.include_router(meta_router)\n",
        "    app.include_router(meta_router)\n    app.include_router(status_router)\n",
    )
    _edit(v2 / "pyproject.toml.jinja", '"pytest>=8.0",\n', '"pytest>=8.2",\n    "httpx>=0.27",\n')
    _edit(
        v2 / PACKAGE_DIR / "settings.py.jinja",
        '"""Settings: the runtime',
        '"""Settings (template 2): the runtime',
    )
    (v2 / ".dockerignore").unlink()
    (v2 / ".gitignore").unlink()
    return TemplateVersions(trees={"1": v1, "2": v2}, current="2")


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
