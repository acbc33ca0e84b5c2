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

Compiled templates are cached between runs in the user's cache directory (Jinja's bytecode cache,
keyed by the template source and the Python version, so it can never serve a stale template):
compiling a service's two dozen templates is a tenth of ``spaps new service``'s wall time. The
cache is best effort (an unwritable home just means compiling every time) and
``SPAPS_TEMPLATE_CACHE=off`` turns it off.
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
CACHE_ENV = "SPAPS_TEMPLATE_CACHE"

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
        auto_reload=False,
        bytecode_cache=bytecode_cache(),
    )
    environment.filters["quoted"] = quoted
    environment.filters["python_string"] = python_string
    return environment


def bytecode_cache() -> jinja2.BytecodeCache | None:
    """The compiled-template cache, or ``None`` when it is switched off or cannot be created."""
    if os.environ.get(CACHE_ENV, "").strip().lower() in {"0", "off", "false", "no"}:
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = Path(base) / "spaps" / "templates"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _best_effort_cache_class()(str(directory))


def _best_effort_cache_class() -> type[jinja2.FileSystemBytecodeCache]:
    import jinja2

    class BestEffortBytecodeCache(jinja2.FileSystemBytecodeCache):
        """A cache that never fails a command: unreadable or unwritable entries are skipped."""

        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except (OSError, EOFError, ValueError):
                bucket.reset()

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                return

    return BestEffortBytecodeCache


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


def render_path(
    source: PurePosixPath,
    context: Mapping[str, Any],
    env: jinja2.Environment,
    rendered: dict[str, str] | None = None,
) -> str:
    """Render each segment of ``source`` (suffix stripped) and refuse anything but plain names."""
    segments: list[str] = []
    for index, raw in enumerate(source.parts):
        is_file = index == len(source.parts) - 1
        if is_file and raw.endswith(TEMPLATE_SUFFIX):
            raw = raw[: -len(TEMPLATE_SUFFIX)]
        if "{" not in raw:
            segment = raw
        elif rendered is not None and raw in rendered:
            segment = rendered[raw]  # most paths share {{ package }}: compile it once
        else:
            segment = env.from_string(raw).render(context)
            if rendered is not None:
                rendered[raw] = segment
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
    rendered_segments: dict[str, str] = {}
    planned: list[str] = []
    for source in template_sources(tree):
        if include is not None and not include(source):
            continue
        relative = render_path(source, context, env, rendered_segments)
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
