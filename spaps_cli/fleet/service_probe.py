"""Run by ``spaps doctor`` with the *service's* interpreter: what that environment really has.

``python service_probe.py <src dir> <package> [env]`` prints one JSON object: the installed runtime
version and, from the service's own settings class, the missing and invalid settings, the
production problems and the effective database URL.

This file is executed as a script, never imported by the CLI: it must not import ``spaps_cli``
(the service's environment usually does not have the CLI) and imports the service and the
runtime only inside :func:`probe`, so the CLI process never imports the runtime.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import sys
from typing import Any

RUNTIME_DISTRIBUTION = "spaps-server-quickstart"
SETTINGS_MODULES = ("settings", "config", "core.settings", "core.config")


def _runtime_version() -> str | None:
    try:
        return importlib.metadata.version(RUNTIME_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


def _settings_source(package: str) -> tuple[type[Any], str, Any]:
    """The service's settings class, its env prefix and its module.

    The class and prefix come from the runtime's ``get_settings`` loader (``settings_class``,
    ``env_prefix``), else from the class config of the last settings class in the module.
    """
    from spaps_server_quickstart.settings import BaseServiceSettings

    for name in SETTINGS_MODULES:
        module_name = f"{package}.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name is not None and module_name.startswith(error.name):
                continue
            raise
        loader = getattr(module, "get_settings", None)
        cls = getattr(loader, "settings_class", None)
        if isinstance(cls, type) and issubclass(cls, BaseServiceSettings):
            prefix = getattr(loader, "env_prefix", None) or cls.model_config.get("env_prefix", "")
            return cls, str(prefix or ""), module
        classes = [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseServiceSettings)
            and value is not BaseServiceSettings
        ]
        if classes:
            cls = classes[-1]
            return cls, str(cls.model_config.get("env_prefix", "") or ""), module
    raise LookupError(
        f"no BaseServiceSettings subclass in {', '.join(f'{package}.{m}' for m in SETTINGS_MODULES)}"
    )


def _env_name(prefix: str, field_name: str, field: Any) -> str:
    alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
    return (alias or f"{prefix}{field_name}").upper()


def probe(package: str, env: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "runtime_version": _runtime_version(),
        "python": sys.executable,
        "pgvector_installed": importlib.util.find_spec("pgvector") is not None,
    }
    try:
        from pydantic import ValidationError, model_validator
        from spaps_server_quickstart.settings import SettingsError

        cls, prefix, _ = _settings_source(package)
    except Exception as error:
        result["settings_error"] = f"{type(error).__name__}: {error}"
        return result

    class Probe(cls):  # type: ignore[valid-type,misc]
        """The service's settings minus the production refusal, so every problem is listed."""

        @model_validator(mode="after")
        def _refuse_unsafe_production(self) -> Any:
            return self

    if env is not None:
        # The chosen env, spelled as the deployment would spell it (prefix included).
        os.environ[f"{prefix}ENV".upper()] = env
    fields = cls.model_fields
    result["env_prefix"] = prefix
    result["required"] = sorted(
        _env_name(prefix, name, field) for name, field in fields.items() if field.is_required()
    )
    try:
        settings = Probe(_env_prefix=prefix)
    except (ValidationError, SettingsError) as error:
        # Newer runtimes raise SettingsError (no input values), older ones pydantic's own.
        missing: list[str] = []
        invalid: list[dict[str, str]] = []
        for item in error.errors():
            name = str(item["loc"][0]) if item["loc"] else ""
            env_name = _env_name(prefix, name, fields[name]) if name in fields else name
            if item["type"] == "missing":
                missing.append(env_name)
            else:
                invalid.append({"setting": env_name, "message": str(item["msg"])})
        result["missing"] = sorted(missing)
        result["invalid"] = invalid
        return result
    result["missing"] = []
    result["invalid"] = []
    result["env"] = settings.env
    result["service_name"] = settings.service_name
    # A SecretUrl in newer runtimes (a plain str before): the doctor compares the real URL.
    database_url = settings.database_url
    result["database_url"] = getattr(database_url, "get_secret_value", lambda: database_url)()
    result["production_problems"] = settings.production_problems()
    return result


def main(argv: list[str]) -> int:
    source_dir, package, *rest = argv
    sys.path.insert(0, source_dir)
    sys.stdout.write(json.dumps(probe(package, rest[0] if rest else None)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
