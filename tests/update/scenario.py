"""A template change and a team's edits, as data for the update tests (unit and end to end).

:func:`make_template_v2` copies the shipped version-1 tree and changes it the way a template
release does: a reworded README heading, a new router registered in the registry, a new and two
removed files, a new dev dependency and a raised pin, a changed docstring in the settings module.
:func:`edit_like_a_team` edits a generated service the way teams do.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from spaps_cli.update.versions import HISTORY_DIR, TemplateVersions

PACKAGE_DIR = "src/{{ package }}"

#: A dependency the team adds; one the end-to-end virtualenv already has, so it installs offline.
TEAM_DEPENDENCY = "uvicorn>=0.20"

#: The template's ``service_name`` setting as the team renames it (its default kept): the
#: declaration before and after.
RENAMED_SETTING = ("    service_name: str = ", "    app_name: str = ")


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def make_template_v2(directory: Path) -> TemplateVersions:
    v1 = HISTORY_DIR / "1" / "service"
    v2 = directory / "2" / "service"
    shutil.copytree(v1, v2)
    replace(v2 / "README.md.jinja", "## Run it on your laptop", "## Run it locally")
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
    replace(
        registry,
        "from {{ package }}.api.meta import router as meta_router\n",
        "from {{ package }}.api.meta import router as meta_router\n"
        "from {{ package }}.api.status import router as status_router\n",
    )
    replace(
        registry,
        "    app.include_router(meta_router)\n",
        "    app.include_router(meta_router)\n    app.include_router(status_router)\n",
    )
    replace(v2 / "pyproject.toml.jinja", '"pytest>=8.0",\n', '"pytest>=8.2",\n    "httpx>=0.27",\n')
    replace(
        v2 / PACKAGE_DIR / "settings.py.jinja",
        '"""Settings: the runtime',
        '"""Settings (template 2): the runtime',
    )
    (v2 / ".dockerignore").unlink()
    (v2 / ".gitignore").unlink()
    return TemplateVersions(trees={"1": v1, "2": v2}, current="2")


def edit_like_a_team(root: Path, package: str, add_domain: Callable[[str], None]) -> None:
    """A new domain, a README paragraph, a dependency, a middleware, a renamed setting (the
    template's ``service_name``, with its uses), an ignore rule."""
    add_domain("orders")
    package_dir = root / "src" / package
    # a changed README paragraph, away from anything the template changes
    replace(root / "README.md", "The embedded defaults use SQLite", "Locally we use SQLite")
    replace(
        root / "pyproject.toml",
        "dependencies = [\n",
        f'dependencies = [\n    "{TEAM_DEPENDENCY}",\n',
    )
    with (package_dir / "main.py").open("a", encoding="utf-8") as handle:
        handle.write(
            '\n\n@app.middleware("http")\n'
            "async def add_team_header(request: Request, call_next: Any) -> Response:\n"
            "    response: Response = await call_next(request)\n"
            '    response.headers["x-team"] = "billing"\n'
            "    return response\n"
        )
    replace(
        package_dir / "main.py",
        "from fastapi import FastAPI\n",
        "from typing import Any\n\nfrom fastapi import FastAPI, Request, Response\n",
    )
    # a setting the template owns, renamed, and every use of it with it
    replace(package_dir / "settings.py", RENAMED_SETTING[0], RENAMED_SETTING[1])
    replace(package_dir / "api" / "meta.py", "settings.service_name", "settings.app_name")
    replace(root / "tests" / "test_migrations.py", 'fields["service_name"]', 'fields["app_name"]')
    with (root / ".gitignore").open("a", encoding="utf-8") as handle:
        handle.write("local-notes/\n")


#: Where each edit of :func:`edit_like_a_team` shows (file, text it put there; ``{package}``
#: filled in): an update that keeps the text, merged or inside a conflict, kept the edit.
TEAM_EDITS: dict[str, tuple[str, str]] = {
    "new domain: its router": ("src/{package}/domains/orders/router.py", "APIRouter"),
    "new domain: registered": (
        "src/{package}/api/registry.py",
        "app.include_router(orders_router)",
    ),
    "README paragraph": ("README.md", "Locally we use SQLite"),
    "extra dependency": ("pyproject.toml", f'"{TEAM_DEPENDENCY}"'),
    "custom middleware": ("src/{package}/main.py", 'response.headers["x-team"] = "billing"'),
    "renamed setting": ("src/{package}/settings.py", RENAMED_SETTING[1]),
    "renamed setting's use": ("src/{package}/api/meta.py", "settings.app_name"),
    "ignore rule": (".gitignore", "local-notes/"),
}

#: What an edit of :func:`edit_like_a_team` took out (``{package}`` filled in): back in the file
#: outside a conflict region, the update silently reverted the edit (a rename undone, or the
#: old name declared next to the new one).
TEAM_REMOVALS: dict[str, tuple[str, str]] = {
    "renamed setting": ("src/{package}/settings.py", RENAMED_SETTING[0]),
    "renamed setting's use": ("src/{package}/api/meta.py", "settings.service_name"),
}

#: Where each change of :func:`make_template_v2` shows once a service has taken it.
TEMPLATE_CHANGES: dict[str, tuple[str, str]] = {
    "README heading": ("README.md", "## Run it locally\n"),
    "status route": ("src/{package}/api/status.py", 'prefix="/status"'),
    "status registered": ("src/{package}/api/registry.py", "app.include_router(status_router)"),
    "new dev dependency": ("pyproject.toml", '"httpx>=0.27"'),
    "raised pin": ("pyproject.toml", '"pytest>=8.2"'),
    "settings docstring": ("src/{package}/settings.py", "Settings (template 2)"),
}


def evidence(table: dict[str, tuple[str, str]], package: str) -> dict[str, tuple[str, str]]:
    return {name: (path.format(package=package), text) for name, (path, text) in table.items()}
