"""``[tool.spaps.migrate]``: which codemods run, what is excluded, and the service's names.

Old services (HTMA, Ingredient) have no ``[tool.spaps]`` table at all, so the table is looked up
optionally: the nearest ``pyproject.toml`` that has one wins, and without one the defaults apply.
The result is a small frozen object because it is pickled into every worker process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spaps_cli.errors import UsageError
from spaps_cli.project import PYPROJECT, check_spaps_tables, read_pyproject

if TYPE_CHECKING:
    from spaps_cli.codemods.preflight import ProjectVersions

TABLE = "tool.spaps.migrate"


@dataclass(frozen=True)
class MigrateConfig:
    """Options shared by every codemod and the runner."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    #: old local module -> shared module, e.g. ``"htma.core.logging" = "spaps_server_quickstart.logging"``
    modules: Mapping[str, str] = field(default_factory=dict)
    #: the service's settings class (HTMA calls it ``HTMASettings``)
    settings_class: str = "Settings"
    source: Path | None = None  # the pyproject.toml the table came from
    #: Follow-ups acknowledged for the --check gate: ``"GLOB:CODEMOD-ID"`` or ``"GLOB"``.
    acknowledge: tuple[str, ...] = ()
    #: What the project declares/installs (the preflight); None until the runner has read it.
    versions: ProjectVersions | None = None

    def __hash__(self) -> int:
        return hash(
            (
                self.select,
                self.ignore,
                self.exclude,
                self.acknowledge,
                tuple(sorted(self.modules.items())),
            )
        )


def _strings(table: Mapping[str, Any], key: str, where: Path) -> tuple[str, ...]:
    value = table.get(key, table.get(key.replace("-", "_"), []))
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UsageError(
            f"{where}: [{TABLE}] {key} must be a list of strings",
            hint=f'write e.g. {key} = ["on-event-to-lifespan"]',
        )
    return tuple(str(item) for item in value)


def config_from_table(table: Mapping[str, Any], where: Path) -> MigrateConfig:
    """Validate one ``[tool.spaps.migrate]`` table (unknown keys are errors: typos hide silently)."""
    check_spaps_tables({"tool": {"spaps": {"migrate": table}}}, where)
    modules = table.get("modules", {})
    if not isinstance(modules, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in modules.items()
    ):
        raise UsageError(
            f"{where}: [{TABLE}.modules] must map module names to module names",
            hint='write e.g. "htma.core.logging" = "spaps_server_quickstart.logging"',
        )
    settings_class = table.get("settings-class", table.get("settings_class", "Settings"))
    if not isinstance(settings_class, str) or not settings_class.isidentifier():
        raise UsageError(f"{where}: [{TABLE}] settings-class must be a class name")
    return MigrateConfig(
        select=_strings(table, "select", where),
        ignore=_strings(table, "ignore", where),
        exclude=_strings(table, "exclude", where),
        acknowledge=_strings(table, "acknowledge", where),
        modules={str(k): str(v) for k, v in modules.items()},
        settings_class=settings_class,
        source=where,
    )


def load_config(start: Path) -> MigrateConfig:
    """Read ``[tool.spaps.migrate]`` from the nearest pyproject.toml that has it, else defaults."""
    from spaps_cli.paths import existing_file, resolve

    start = resolve(start, what="PATH")
    if start.is_file():
        start = start.parent
    for directory in (start, *start.parents):
        candidate = existing_file(directory / PYPROJECT, what=PYPROJECT)
        if candidate is None:
            continue
        from spaps_cli.project import spaps_table

        document = read_pyproject(candidate)
        table = spaps_table(document, candidate).get("migrate")
        if table is not None:
            return config_from_table(dict(table), candidate)
    return MigrateConfig()
