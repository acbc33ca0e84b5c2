"""Build hook: the CLI's wheel carries the runtime's wheel as ``spaps_cli/wheels/*.whl``.

This project's runtime (``spaps-server-quickstart`` from 1.0) is on no index a fresh machine
can reach under that name, yet every service ``spaps new service`` writes depends on it. So
the CLI's wheel brings it along: this hook builds ``runtime/`` into a wheel next to the CLI's
and force-includes it; ``spaps_cli/generators/wheelhouse.py`` copies it into the service's
``wheels/`` (docs/SERVICE_LAYOUT.md). Editable installs skip it: there the runtime installed
from the checkout is packed instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.builders.wheel import WheelBuilder


class RuntimeWheelHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        runtime = Path(self.root) / "runtime"
        if not (runtime / "pyproject.toml").is_file():
            raise RuntimeError(f"{runtime}/pyproject.toml is missing: the CLI wheel needs it")
        output = Path(tempfile.mkdtemp(prefix="spaps-runtime-wheel-"))
        built = [Path(p) for p in WheelBuilder(str(runtime)).build(directory=str(output))]
        for wheel in built:
            build_data["force_include"][str(wheel)] = f"spaps_cli/wheels/{wheel.name}"
