"""Run by ``spaps doctor`` with the *service's* interpreter: what that environment really has.

``python service_probe.py <src dir> <package> [env]`` prints one JSON object: the installed runtime
(and ``spaps`` client) version, from the service's own settings class the missing and invalid
settings, the production problems and the effective database URL, and what Alembic makes of
``alembic.ini`` and the revision graph (:func:`alembic_history`).

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


CLIENT_DISTRIBUTION = "spaps"


def _installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _runtime_urls() -> list[str]:
    """The installed runtime's ``Project-URL`` and ``Home-page`` entries: where it comes from.

    Read from the distribution's metadata, not by importing it: the doctor tells this project's
    runtime from another distribution of the same name without running that one's code.
    """
    try:
        metadata = importlib.metadata.metadata(RUNTIME_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return []
    urls = [str(entry) for entry in metadata.get_all("Project-URL") or []]
    urls += [f"Home-page, {home}" for home in metadata.get_all("Home-page") or []]
    return urls


def _runtime_version() -> str | None:
    return _installed_version(RUNTIME_DISTRIBUTION)


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
        "runtime_urls": _runtime_urls(),
        "client_version": _installed_version(CLIENT_DISTRIBUTION),
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


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]


def alembic_history(root: str) -> dict[str, Any]:
    """``alembic.ini`` and the revision graph as Alembic itself reads them, in this interpreter.

    ``Config`` parses the ini, ``ScriptDirectory.from_config`` resolves ``script_location``
    (and applies ``prepend_sys_path``), ``get_heads()`` loads every revision and builds the
    map, raising ``CycleDetected`` for a cycle and ``KeyError`` after its "is not present"
    warning for a dangling ``down_revision``. What it says is returned, never raised.
    """
    import warnings

    ini = os.path.join(root, "alembic.ini")
    if not os.path.isfile(ini):
        return {"missing": True}
    try:
        from alembic.config import Config
        from alembic.script import ScriptDirectory
        from alembic.script.revision import CycleDetected
    except ImportError as error:
        return {"unavailable": _one_line(error)}
    try:
        script = ScriptDirectory.from_config(Config(ini))
    except Exception as error:
        return {"config_error": _one_line(error)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            heads = sorted(script.get_heads())
        except CycleDetected as error:
            return {"cycle": sorted(error.revisions)}
        except KeyError as error:
            return {"dangling": [str(error.args[0]) if error.args else "?"]}
        except Exception as error:
            return {"history_error": _one_line(error)}
    return {"heads": heads, "warnings": [str(w.message) for w in caught]}


def main(argv: list[str]) -> int:
    source_dir, package, *rest = argv
    sys.path.insert(0, source_dir)
    result = probe(package, rest[0] if rest else None)
    result["alembic"] = alembic_history(os.path.dirname(os.path.abspath(source_dir)))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
