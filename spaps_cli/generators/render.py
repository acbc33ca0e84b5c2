"""Rendering a Jinja2 template tree into a :class:`~spaps_cli.plan.Plan` (never onto the disk).

Conventions of a template tree:

* a file ending in ``.jinja`` is rendered and loses the suffix; any other file is copied byte
  for byte (so ``alembic.ini``'s ``%%(year)d`` or ``script.py.mako``'s ``${...}`` need no
  escaping);
* every path segment is itself a template (``src/{{ package }}/main.py.jinja``); a rendered
  segment must be a plain name, and :meth:`Plan.add` then checks that the full path resolves
  inside the destination (copier's ``ForbiddenPathError``; cookiecutter writes outside);
* undefined variables are errors (``StrictUndefined``), so a typo in a template fails the test
  suite instead of rendering an empty string into someone's service.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from spaps_cli.errors import UsageError

if TYPE_CHECKING:
    import jinja2

    from spaps_cli.plan import Plan

TEMPLATE_SUFFIX = ".jinja"

#: Never part of a template, even if a tool dropped it into the tree.
IGNORED_NAMES = frozenset({"__pycache__", ".DS_Store", ".mypy_cache", ".ruff_cache"})


def quoted(value: object) -> str:
    """A double-quoted literal valid in Python, TOML and YAML alike (JSON string syntax)."""
    return json.dumps(str(value), ensure_ascii=False)


def python_string(value: object) -> str:
    """A Python string literal quoted the way ``ruff format`` leaves it (fewest escapes)."""
    text = str(value)
    if text.count('"') > text.count("'"):
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return quoted(text)


def create_environment(tree: Path) -> jinja2.Environment:
    """The one Jinja2 configuration every template tree is rendered with."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(tree)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    environment.filters["quoted"] = quoted
    environment.filters["python_string"] = python_string
    return environment


def template_sources(tree: Path) -> list[PurePosixPath]:
    """Every file of ``tree`` as a relative posix path, in a stable (sorted) order."""
    sources: list[PurePosixPath] = []
    for directory, subdirectories, files in os.walk(tree):
        subdirectories[:] = sorted(d for d in subdirectories if d not in IGNORED_NAMES)
        relative_dir = PurePosixPath(Path(directory).relative_to(tree).as_posix())
        for name in sorted(files):
            if name in IGNORED_NAMES or name.endswith(".pyc"):
                continue
            sources.append(relative_dir / name)
    return sorted(sources)


def render_path(source: PurePosixPath, context: Mapping[str, Any], env: jinja2.Environment) -> str:
    """Render each segment of ``source`` (suffix stripped) and refuse anything but plain names."""
    segments: list[str] = []
    for index, raw in enumerate(source.parts):
        is_file = index == len(source.parts) - 1
        if is_file and raw.endswith(TEMPLATE_SUFFIX):
            raw = raw[: -len(TEMPLATE_SUFFIX)]
        segment = env.from_string(raw).render(context) if "{" in raw else raw
        if segment in {"", ".", ".."} or "/" in segment or "\\" in segment or "\0" in segment:
            raise UsageError(
                f"template path {source.as_posix()!r} renders to an unsafe segment {segment!r}",
                hint="names used in paths must be plain names without separators or '..'",
            )
        segments.append(segment)
    return "/".join(segments)


def render_tree(
    tree: Path,
    context: Mapping[str, Any],
    plan: Plan,
    *,
    into: str = "",
    include: Callable[[PurePosixPath], bool] | None = None,
) -> list[str]:
    """Add every file of ``tree`` to ``plan`` under ``into``; return the planned relative paths.

    ``include`` receives the *template* path (before rendering), so optional parts of a tree
    (the Celery worker, say) are chosen by the generator, not by clever file names.
    """
    env = create_environment(tree)
    planned: list[str] = []
    for source in template_sources(tree):
        if include is not None and not include(source):
            continue
        relative = render_path(source, context, env)
        if into:
            relative = f"{into.rstrip('/')}/{relative}"
        source_path = tree / source
        if source.name.endswith(TEMPLATE_SUFFIX):
            content: str | bytes = env.get_template(source.as_posix()).render(context)
        else:
            content = source_path.read_bytes()
        executable = bool(source_path.stat().st_mode & stat.S_IXUSR)
        plan.add(relative, content, executable=executable)
        planned.append(relative)
    return planned
