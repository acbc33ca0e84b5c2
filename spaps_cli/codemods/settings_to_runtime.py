"""settings-to-runtime: the service's ``BaseSettings`` class → ``BaseServiceSettings``.

The rule is that the migrated class loads **the same values from the same environment** for
every field the service had. So a class is rewritten only when that is proven from its text:

- every field's environment name (its name, or a literal ``alias``) is compared with the base's
  field names case-insensitively: a local ``DATABASE_URL``/``ENV``/``DEBUG`` next to the base's
  ``database_url``/``env``/``debug`` would be fed by the same variable, so the class is refused;
- a field with exactly a base field's name stays as an override (its type and default win, so it
  loads what it loaded) unless the base's definition means the same, and is reported for review;
- members named like the base's (``is_production``, ``production_problems``), a ``class Config``,
  ``case_sensitive=True``, a configuration that is not a literal call, a pydantic 1 class, or
  any other statement the proof does not cover: refused, with the line and the reason.

What the base adds is then switched back to what ``BaseSettings`` did, in the class itself,
where a reviewer sees it: no ``.env`` unless the class read one, its ``extra`` policy, empty
variables kept (``env_ignore_empty=False``), and no production guard
(``production_environments = []``). Each is reported, with the variables the base now reads
that the class did not, so the service can turn the runtime's behaviour on deliberately. Only
the class named by ``settings-class`` in ``[tool.spaps.migrate]`` (default ``Settings``) is
rewritten. ``@lru_cache def get_settings(): return Settings()`` becomes
``create_settings_loader(Settings)`` (same caching, plus ``cache_clear``) in a module whose
settings class is, or becomes, a ``BaseServiceSettings``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

import libcst as cst

from spaps_cli.codemods.base import Codemod, Example
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.import_edits import (
    add_import,
    imported_names,
    names_in,
    remove_unused_imports,
)
from spaps_cli.codemods.project_scan import ProjectFacts, same_module
from spaps_cli.codemods.statements import class_bases, code, is_docstring, resolve

RUNTIME_SETTINGS = "spaps_server_quickstart.settings"
RUNTIME_BASE = f"{RUNTIME_SETTINGS}.BaseServiceSettings"
BASE_SETTINGS = frozenset({"pydantic_settings.BaseSettings", "pydantic_settings.main.BaseSettings"})
PYDANTIC_V1 = frozenset({"pydantic.BaseSettings", "pydantic.env_settings.BaseSettings"})
#: Imports that mark the module where the service's app is built.
APP_BUILDERS = frozenset(
    {
        "fastapi.FastAPI",
        "spaps_server_quickstart.create_app",
        "spaps_server_quickstart.app.create_app",
    }
)
LRU_CACHES = frozenset({"functools.lru_cache", "functools.cache"})
CONFIG_CALLS = frozenset(
    {"pydantic_settings.SettingsConfigDict", "pydantic.ConfigDict", "dict", "SettingsConfigDict"}
)

#: BaseServiceSettings fields: name -> (annotation, default), as spelled in runtime/settings.py
#: (a test compares this table with the class). A field whose base definition carries
#: constraints or validators is spelled so that no local field can match it and be dropped.
BASE_FIELDS: dict[str, tuple[str, str]] = {
    "service_name": ("str", '"spaps-service"'),
    "env": ("Environment", '"dev"'),
    "production_environments": ("list[str]", '["prod","production"]'),
    "debug": ("DebugFlag", "False"),
    "log_level": ("str", '"INFO"'),
    "log_format": ('Literal["json","console"]', '"console"'),
    "database_url": ("SecretUrl", 'SecretUrl("sqlite+aiosqlite:///./service.db")'),
    "database_echo": ("bool", "False"),
    "database_null_pool": ("bool", "False"),
    "database_pool_size": ("int", "Field(default=5, ge=1)"),
    "database_max_overflow": ("int", "Field(default=10, ge=0)"),
    "database_pool_recycle_seconds": ("int", "Field(default=1800, ge=-1)"),
    "database_pool_timeout_seconds": ("float", "Field(default=30.0, gt=0)"),
    "run_migrations_on_startup": ("bool", "False"),
    "pgvector_enabled": ("bool", "False"),
    "celery_broker_url": ("SecretUrl", 'SecretUrl("filesystem://")'),
    "celery_result_backend": ("SecretUrl", 'SecretUrl("db+sqlite:///./celery-results.sqlite")'),
    "celery_filesystem_folder": ("str", '"./.celery-broker"'),
    "celery_task_always_eager": ("bool", "False"),
    "celery_task_soft_time_limit_seconds": ("int", "Field(default=240, ge=1)"),
    "celery_task_time_limit_seconds": ("int", "Field(default=300, ge=1)"),
    "celery_visibility_timeout_seconds": ("int", "Field(default=3600, ge=1)"),
    "celery_max_redeliveries": ("int", "Field(default=3, ge=0)"),
    "redis_url": ("SecretUrl|None", "None"),
    "readiness_timeout_seconds": ("float", "Field(default=2.0, gt=0)"),
    "auth_mode": ("AuthMode", '"local"'),
    "spaps_api_url": ("str", '"https://api.sweetpotato.dev"'),
    "spaps_api_key": ("SecretStr", 'SecretStr("change-me")'),
    "spaps_application_id": ("str|None", "None"),
    "auth_local_secret": ("SecretStr", 'SecretStr("local-dev-secret")'),
    "auth_public_paths": ("list[str]", "Field(default_factory=...)"),
    "auth_admin_user_ids": ("list[str]", "Field(default_factory=list)"),
    "auth_cache_ttl_seconds": ("float", "Field(default=30.0, ge=0)"),
    "auth_cache_max_entries": ("int", "Field(default=10_000, ge=0)"),
    "auth_connect_timeout_seconds": ("float", "Field(default=1.0, gt=0)"),
    "auth_read_timeout_seconds": ("float", "Field(default=3.0, gt=0)"),
    "auth_validation_deadline_seconds": ("float", "Field(default=5.0, gt=0)"),
    "auth_account_cache_ttl_seconds": ("float", "Field(default=30.0, ge=0)"),
    "max_request_body_bytes": ("int", "Field(default=1_048_576, ge=0)"),
    "cors_allow_origins": ("list[str]", "Field(default_factory=list)"),
    "cors_allow_methods": ("list[str]", "Field(default_factory=...)"),
    "cors_allow_headers": ("list[str]", "Field(default_factory=...)"),
    "cors_allow_credentials": ("bool", "False"),
    "cors_max_age_seconds": ("int", "Field(default=600, ge=0)"),
    "sentry_dsn": ("SecretStr|None", "None"),
    "sentry_traces_sample_rate": ("float", "Field(default=0.0, ge=0, le=1)"),
    "otel_enabled": ("bool", "False"),
    "otel_exporter_otlp_traces_endpoint": ("str|None", "None"),
    "request_id_header": ("str", '"X-Request-ID"'),
    "timing_header": ("str", '"Server-Timing"'),
}
#: Fields the base's validators read: a local override would run through them.
VALIDATED_FIELDS = frozenset(
    {
        # URL settings are SecretUrl on the base: its validators and properties (and the
        # runtime's DatabaseResources and Celery factory) read them as URLs, not as str.
        "database_url",
        "redis_url",
        "celery_broker_url",
        "celery_result_backend",
        "log_level",
        "auth_public_paths",
        "cors_allow_origins",
        "cors_allow_methods",
        "sentry_dsn",
        "otel_exporter_otlp_traces_endpoint",
        "celery_task_soft_time_limit_seconds",
        "celery_task_time_limit_seconds",
        "celery_visibility_timeout_seconds",
    }
)
#: Members of BaseServiceSettings that are not fields: a local one would replace the base's.
BASE_MEMBERS = frozenset(
    {
        "_check_cors_credentials",
        "_check_cors_methods",
        "_check_cors_origins",
        "_check_log_level",
        "_check_otlp_endpoint",
        "_check_public_paths",
        "_check_redis_url",
        "_check_sentry_dsn",
        "_check_spaps_api_url",
        "_check_url",
        "_refuse_unsafe_production",
        "is_production",
        "model_validate",
        "production_problems",
        "tracing_enabled",
        "uses_embedded_broker",
        "uses_embedded_result_backend",
        "uses_sqlite",
    }
)
#: What BaseSettings does where BaseServiceSettings differs: the migrated class says it again.
BASE_SETTINGS_CONFIG: dict[str, str] = {
    "env_file": "None",
    "extra": '"forbid"',
    "env_ignore_empty": "False",
}


@dataclass
class Proof:
    """Why a settings class can (or cannot) move onto the base, from its text alone."""

    blockers: list[tuple[cst.CSTNode, str]] = field(default_factory=list)
    overrides: list[tuple[cst.CSTNode, str]] = field(default_factory=list)
    drop: set[int] = field(default_factory=set)  # indexes of body statements to drop
    config_index: int | None = None
    config_keywords: dict[str, str] = field(default_factory=dict)
    env_names: set[str] = field(default_factory=set)


def prove(node: cst.ClassDef, imports: dict[str, str]) -> Proof:
    """Check every statement of a BaseSettings class against the rule in the module docstring."""
    proof = Proof()
    if node.keywords:
        proof.blockers.append((node, "class keyword arguments configure it: not covered"))
    if len(node.bases) != 1:
        proof.blockers.append((node, "it has more than one base class"))
    body = node.body
    assert isinstance(body, cst.IndentedBlock)
    fields: list[tuple[int, cst.AnnAssign]] = []
    for index, statement in enumerate(body.body):
        if isinstance(statement, cst.ClassDef):
            proof.blockers.append(
                (statement, f"nested class {statement.name.value} (pydantic 1 style Config)")
            )
            continue
        if isinstance(statement, cst.FunctionDef):
            if statement.name.value in BASE_MEMBERS:
                proof.blockers.append(
                    (statement, f"{statement.name.value} would replace the base's own member")
                )
            continue
        if not isinstance(statement, cst.SimpleStatementLine):
            proof.blockers.append((statement, "a statement the proof does not cover"))
            continue
        for small in statement.body:
            if isinstance(small, cst.Pass) or (
                isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString)
            ):
                continue
            if isinstance(small, cst.Assign) and _target(small.targets[0].target) == "model_config":
                if len(small.targets) != 1 or not _read_config(small.value, imports, proof):
                    proof.blockers.append(
                        (statement, "model_config is not a literal SettingsConfigDict(...) call")
                    )
                proof.config_index = index
                continue
            if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                if len(statement.body) != 1:
                    proof.blockers.append((statement, "several statements on one line"))
                fields.append((index, small))
                continue
            name = _target(small.targets[0].target) if isinstance(small, cst.Assign) else None
            if name is not None and (name.lower() in BASE_FIELDS or name in BASE_MEMBERS):
                proof.blockers.append((statement, f"{name} would replace the base's {name}"))
            elif name is None:
                proof.blockers.append((statement, "a statement the proof does not cover"))
    if proof.config_keywords.get("case_sensitive", "False") != "False":
        proof.blockers.append((node, "case_sensitive=True: variable names are compared exactly"))
    for index, small in fields:
        _prove_field(index, small, body.body[index], proof)
    return proof


def _target(node: cst.BaseExpression) -> str | None:
    return node.value if isinstance(node, cst.Name) else None


def _read_config(value: cst.BaseExpression, imports: dict[str, str], proof: Proof) -> bool:
    if not isinstance(value, cst.Call) or resolve(code(value.func), imports) not in CONFIG_CALLS:
        return False
    for arg in value.args:
        if arg.keyword is None:
            return False
        proof.config_keywords[arg.keyword.value] = code(arg.value)
    return True


def _prove_field(
    index: int, small: cst.AnnAssign, statement: cst.BaseStatement, proof: Proof
) -> None:
    assert isinstance(small.target, cst.Name)
    name = small.target.value
    annotation = code(small.annotation.annotation)
    if name.startswith("_") or annotation.startswith(("ClassVar", "typing.ClassVar")):
        return
    if "alias" in annotation:
        proof.blockers.append(
            (statement, f"field '{name}' sets an alias inside its annotation: not covered")
        )
        return
    env_name = name
    value = small.value
    if isinstance(value, cst.Call) and code(value.func).split(".")[-1] == "Field":
        for arg in value.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword in {"alias", "validation_alias", "env"}:
                if not isinstance(arg.value, cst.SimpleString):
                    proof.blockers.append(
                        (statement, f"field '{name}' has an alias that is not a plain string")
                    )
                    return
                literal = arg.value.evaluated_value
                env_name = literal if isinstance(literal, str) else name
    proof.env_names.add(env_name.lower())
    if env_name != name and env_name.lower() in BASE_FIELDS:
        proof.blockers.append(
            (
                statement,
                f"field '{name}' reads the variable {env_name}, which the base's"
                f" '{env_name.lower()}' reads too",
            )
        )
        return
    if name not in BASE_FIELDS:
        if name.lower() in BASE_FIELDS:
            proof.blockers.append(
                (
                    statement,
                    f"field '{name}' and the base's '{name.lower()}' read the same variable"
                    f" {name.upper()} (names compare case-insensitively)",
                )
            )
        return
    if name in VALIDATED_FIELDS:
        proof.blockers.append(
            (statement, f"field '{name}' would run through the base's validators")
        )
        return
    base_type, base_default = BASE_FIELDS[name]
    own_default = _normal_value(code(value)) if value is not None else None
    if _normal_type(annotation) == _normal_type(base_type) and own_default == _normal_value(
        base_default
    ):
        proof.drop.add(index)
        return
    proof.overrides.append(
        (
            statement,
            f"field '{name}' overrides the base's ({base_type}, default {base_default}) and is"
            " kept, so it loads what it loaded; the runtime reads it too: check it means the"
            " same",
        )
    )


def _normal_type(annotation: str) -> str:
    text = re.sub(r"\s+", "", annotation).replace("'", '"')
    optional = re.fullmatch(r"(?:typing\.)?Optional\[(.+)\]", text)
    if optional:
        text = f"{optional.group(1)}|None"
    return text


def _normal_value(value: str) -> str:
    return re.sub(r"\s+", "", value).replace("'", '"')


class SettingsToRuntime(Codemod):
    ID: ClassVar[str] = "settings-to-runtime"
    PREFLIGHT: ClassVar[str | None] = "runtime"
    SUMMARY: ClassVar[str] = (
        "Subclass BaseServiceSettings, drop fields it provides, use create_settings_loader."
    )
    NEEDLES: ClassVar[tuple[bytes, ...]] = (b"BaseSettings", b"lru_cache", b"functools.cache")
    PROVIDES: ClassVar[tuple[str, ...]] = ("settings-on-runtime",)
    EXAMPLES: ClassVar[tuple[Example, ...]] = (
        Example(
            "the service's Settings class and its cached getter",
            before="""\
from functools import lru_cache

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    # shown on /docs
    service_name: str = "orders"
    database_echo: bool = False
    stripe_key: str = ""


@lru_cache
def get_settings() -> Settings:
    return Settings()
""",
            after="""\
from pydantic_settings import SettingsConfigDict
from spaps_server_quickstart.settings import BaseServiceSettings, create_settings_loader


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_file=None, extra="forbid", env_ignore_empty=False)
    production_environments: list[str] = []

    # shown on /docs
    service_name: str = "orders"
    stripe_key: str = ""


get_settings = create_settings_loader(Settings)
""",
        ),
        Example(
            "a field and the base's read the same variable: refused",
            before="""\
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    DATABASE_URL: str = "postgresql://localhost/orders"
""",
            after="""\
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    DATABASE_URL: str = "postgresql://localhost/orders"
""",
        ),
    )

    @classmethod
    def needles(cls, config: MigrateConfig) -> tuple[bytes, ...]:
        return (*cls.NEEDLES, f"class {config.settings_class}(".encode())

    @classmethod
    def wants(cls, data: bytes, config: MigrateConfig) -> bool:
        if b"BaseSettings" in data or f"class {config.settings_class}(".encode() in data:
            return True
        # lru_cache is everywhere; only a cached getter returning the settings class counts.
        name = re.escape(config.settings_class.encode())
        return b"cache" in data and re.search(rb"return\s+" + name + rb"\(\s*\)", data) is not None

    def __init__(self, config: MigrateConfig, facts: ProjectFacts | None = None) -> None:
        super().__init__(config, facts)
        self._imports: dict[str, str] = {}
        self._removed_names: set[str] = set()
        self._needed: list[tuple[str, str]] = []
        self._on_runtime = False  # the settings class here is (or now is) BaseServiceSettings
        self._refused = False  # the settings class here stays a plain BaseSettings
        self._builds_app = False  # this module imports FastAPI or create_app

    def visit_Module(self, node: cst.Module) -> bool:
        self._imports = imported_names(node)
        self._builds_app = not APP_BUILDERS.isdisjoint(self._imports.values())
        for statement in node.body:
            if (
                isinstance(statement, cst.ClassDef)
                and statement.name.value == self.config.settings_class
                and any(
                    resolve(base, self._imports) == RUNTIME_BASE for base in class_bases(statement)
                )
            ):
                self._on_runtime = True
        return True

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False  # fields are rewritten in leave_ClassDef; nested classes are not ours

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # only module-level getters are rewritten

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        bases = [resolve(base, self._imports) for base in class_bases(updated_node)]
        name = updated_node.name.value
        if any(base in PYDANTIC_V1 for base in bases):
            self.follow_up(
                original_node,
                f"'{name}' is a pydantic 1 BaseSettings and the runtime needs pydantic 2:"
                " upgrade first (bump-pydantic moves it to pydantic-settings), then re-run",
            )
            return updated_node
        if not any(base in BASE_SETTINGS for base in bases):
            return updated_node
        if name != self.config.settings_class:
            self.follow_up(
                original_node,
                f"'{name}' subclasses BaseSettings but is not the configured"
                f" settings class '{self.config.settings_class}': if it is the service's settings,"
                " set settings-class in [tool.spaps.migrate]; otherwise leave it",
            )
            return updated_node
        if not self._in_service():
            self.follow_up(
                original_node,
                f"'{name}' is in a module nothing in the project imports and that builds no app"
                " (a tool's configuration, loaded by path?): it is left on BaseSettings. If it is"
                " the service's settings, import it from the service's code and re-run",
            )
            return updated_node
        proof = prove(original_node, self._imports)
        if proof.blockers:
            self._refused = True
            for anchor, reason in proof.blockers:
                self.follow_up(
                    anchor,
                    f"'{name}' not moved onto BaseServiceSettings: {reason}. Rename or remove"
                    " it (or move it by hand, checking each variable it reads), then re-run",
                )
            return updated_node
        for anchor, message in proof.overrides:
            self.follow_up(anchor, message)
        return self._rewrite(original_node, updated_node, proof)

    def _in_service(self) -> bool:
        """Is this module part of the service: imported by the project, or where its app is built?

        A settings class in a file the service never imports (gunicorn's ``-c`` config, a
        script) is not the service's settings, whatever its name: moving it onto the runtime
        would make that tool read the runtime's variables and depend on the runtime. A module
        given on its own (no project scanned) is taken as the service's.
        """
        if not self.facts.scanned or not self.module_name or self._builds_app:
            return True
        return any(same_module(module, self.module_name) for module, _ in self.facts.imports)

    def _rewrite(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef, proof: Proof
    ) -> cst.ClassDef:
        name = updated_node.name.value
        new_bases = []
        for arg in updated_node.bases:
            base = code(arg.value)
            if resolve(base, self._imports) in BASE_SETTINGS:
                self._removed_names.add(base.split(".")[0])
                arg = arg.with_changes(value=cst.Name("BaseServiceSettings"))
            new_bases.append(arg)
        body = updated_node.body
        assert isinstance(body, cst.IndentedBlock)
        restored = {
            key: value
            for key, value in BASE_SETTINGS_CONFIG.items()
            if key not in proof.config_keywords
        }
        config_args = [*proof.config_keywords.items(), *restored.items()]
        config_line = cst.parse_statement(
            "model_config = SettingsConfigDict("
            + ", ".join(f"{key}={value}" for key, value in config_args)
            + ")\n"
        )
        guard_line = cst.parse_statement("production_environments: list[str] = []\n")
        statements = list(body.body)
        config_leading = (
            list(getattr(statements[proof.config_index], "leading_lines", ()))
            if proof.config_index is not None
            else ()
        )
        kept: list[cst.BaseStatement] = []
        carried: list[cst.EmptyLine] = []
        for index, statement in enumerate(statements):
            if index == proof.config_index:
                continue
            if index in proof.drop:
                self._removed_names |= names_in(statement, self._imports)
                carried.extend(
                    line
                    for line in statement.leading_lines  # type: ignore[attr-defined]
                    if line.comment is not None
                )
                continue
            if carried:
                statement = statement.with_changes(
                    leading_lines=[*carried, *getattr(statement, "leading_lines", ())]
                )
                carried = []
            kept.append(statement)
        # The restored configuration goes after the docstring, before the fields.
        at = 1 if kept and is_docstring(kept[0]) else 0
        if at < len(kept):
            lines = list(getattr(kept[at], "leading_lines", ()))
            if not lines or lines[0].comment is not None:
                kept[at] = kept[at].with_changes(
                    leading_lines=[cst.EmptyLine(indent=False), *lines]
                )
        if at and not config_leading:
            config_leading = [cst.EmptyLine(indent=False)]
        kept[at:at] = [config_line.with_changes(leading_lines=config_leading), guard_line]
        self._needed += [
            (RUNTIME_SETTINGS, "BaseServiceSettings"),
            ("pydantic_settings", "SettingsConfigDict"),
        ]
        self._on_runtime = True
        self.changed(
            original_node,
            f"'{name}' now subclasses BaseServiceSettings"
            + (f" ({len(proof.drop)} field(s) it provides dropped)" if proof.drop else ""),
        )
        new_reads = sorted(
            field_name.upper() for field_name in BASE_FIELDS if field_name not in proof.env_names
        )
        prefix = proof.config_keywords.get("env_prefix", "").strip("\"'")
        # A class that already says every one of these keys needs none written back.
        written_back = (
            "model_config: " + ", ".join(f"{k}={v}" for k, v in restored.items()) + "; "
            if restored
            else ""
        )
        self.follow_up(
            original_node,
            f"review what BaseServiceSettings adds to '{name}': it is written back to what the"
            f" old class did ({written_back}production_environments = [] turns the production"
            " guard off). Turn each on"
            " deliberately; the class now also reads "
            + ", ".join(f"{prefix.upper()}{variable}" for variable in new_reads)
            + ": a value there that does not fit its type stops start-up. Loading errors are"
            " now SettingsError (a ValueError naming each setting without its value), not"
            " pydantic's ValidationError: code catching ValidationError must catch it",
        )
        return updated_node.with_changes(bases=new_bases, body=body.with_changes(body=kept))

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef | cst.SimpleStatementLine:
        decorators = updated_node.decorators
        if len(decorators) != 1:
            return updated_node
        decorator = decorators[0].decorator
        target = decorator.func if isinstance(decorator, cst.Call) else decorator
        decorator_name = code(target)
        if resolve(decorator_name, self._imports) not in LRU_CACHES or self._refused:
            return updated_node
        if isinstance(decorator, cst.Call) and any(
            not (arg.keyword and arg.keyword.value == "maxsize") and code(arg.value) != "None"
            for arg in decorator.args
        ):
            return updated_node
        params = updated_node.params
        if (
            params.params
            or params.kwonly_params
            or params.posonly_params
            or isinstance(params.star_arg, cst.Param)
            or params.star_kwarg
        ):
            return updated_node
        returned = _single_return(updated_node)
        if (
            returned is None
            or not isinstance(returned, cst.Call)
            or not isinstance(returned.func, cst.Name)
            or returned.func.value != self.config.settings_class
        ):
            return updated_node
        if returned.args:
            self.follow_up(
                original_node,
                f"'{updated_node.name.value}' passes arguments to {returned.func.value}():"
                " use create_settings_loader(..., **overrides) by hand",
            )
            return updated_node
        self._removed_names.add(decorator_name.split(".")[0])
        self._needed.append((RUNTIME_SETTINGS, "create_settings_loader"))
        self.changed(original_node, f"'{updated_node.name.value}' now uses create_settings_loader")
        return cst.SimpleStatementLine(
            body=[
                cst.Assign(
                    targets=[cst.AssignTarget(cst.Name(updated_node.name.value))],
                    value=cst.Call(
                        func=cst.Name("create_settings_loader"),
                        args=[cst.Arg(cst.Name(returned.func.value))],
                    ),
                )
            ],
            leading_lines=updated_node.leading_lines,
        )

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.changes:
            return updated_node
        module = updated_node
        for source, name in sorted(set(self._needed)):
            module = add_import(module, source, name)
        return remove_unused_imports(module, self.removable(self._removed_names))


def _single_return(node: cst.FunctionDef) -> cst.BaseExpression | None:
    """The expression of a body that is only ``return X`` (after an optional docstring)."""
    body = node.body
    statements = list(body.body) if isinstance(body, cst.IndentedBlock) else [body]
    if statements and isinstance(statements[0], cst.SimpleStatementLine):
        first = statements[0].body[0]
        if (
            isinstance(first, cst.Expr)
            and isinstance(first.value, cst.SimpleString)
            and len(statements) == 2
        ):
            statements = statements[1:]
    if len(statements) != 1:
        return None
    statement = statements[0]
    if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        small = statement.body[0]
    else:
        return None
    if isinstance(small, cst.Return):
        return small.value
    return None
