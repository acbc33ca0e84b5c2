"""settings-to-runtime: the service's ``BaseSettings`` class → ``BaseServiceSettings``.

Only the class named by ``settings-class`` in ``[tool.spaps.migrate]`` (default ``Settings``) is
rewritten: services also keep small ``BaseSettings`` models with their own ``env_prefix`` that
must not inherit the runtime's fields. Fields the base already has are dropped only when they
mean the same thing (same type and same default); a field that changes the default stays as an
override and is reported. ``@lru_cache def get_settings(): return Settings()`` becomes
``create_settings_loader(Settings)``, which has the same caching and a ``cache_clear`` for tests.
"""

from __future__ import annotations

import re
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
from spaps_cli.codemods.statements import class_bases, code, resolve

RUNTIME_SETTINGS = "spaps_server_quickstart.settings"
BASE_SETTINGS = frozenset(
    {
        "pydantic_settings.BaseSettings",
        "pydantic.BaseSettings",
        "pydantic.env_settings.BaseSettings",
    }
)
PYDANTIC_V1 = frozenset({"pydantic.BaseSettings", "pydantic.env_settings.BaseSettings"})
LRU_CACHES = frozenset({"functools.lru_cache", "functools.cache"})

#: BaseServiceSettings fields: name -> (annotation, default), as spelled in runtime/settings.py.
BASE_FIELDS: dict[str, tuple[str, str]] = {
    "service_name": ("str", '"spaps-service"'),
    "env": ("Environment", '"dev"'),
    "debug": ("bool", "False"),
    "log_level": ("str", '"INFO"'),
    "log_format": ('Literal["json","console"]', '"console"'),
    "database_url": ("SecretUrl", 'SecretUrl("sqlite+aiosqlite:///./service.db")'),
    "database_echo": ("bool", "False"),
    "database_null_pool": ("bool", "False"),
    "database_pool_size": ("int", "5"),
    "database_max_overflow": ("int", "10"),
    "database_pool_recycle_seconds": ("int", "1800"),
    "database_pool_timeout_seconds": ("float", "30.0"),
    "run_migrations_on_startup": ("bool", "False"),
    "celery_broker_url": ("SecretUrl", 'SecretUrl("filesystem://")'),
    "celery_result_backend": ("SecretUrl", 'SecretUrl("db+sqlite:///./celery-results.sqlite")'),
    "celery_task_always_eager": ("bool", "False"),
    "redis_url": ("SecretUrl|None", "None"),
    "auth_mode": ("AuthMode", '"local"'),
    "spaps_api_url": ("str", '"https://api.sweetpotato.dev"'),
    "spaps_api_key": ("SecretStr", 'SecretStr("change-me")'),
    "spaps_application_id": ("str|None", "None"),
}


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
    SUMMARY: ClassVar[str] = (
        "Subclass BaseServiceSettings, drop fields it provides, use create_settings_loader."
    )
    NEEDLES: ClassVar[tuple[bytes, ...]] = (b"BaseSettings", b"lru_cache", b"functools.cache")
    EXAMPLES: ClassVar[tuple[Example, ...]] = (
        Example(
            "the service's Settings class and its cached getter",
            before="""\
from functools import lru_cache

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    # shown on /docs
    service_name: str = "orders"
    debug: bool = False
    log_level: str = "INFO"
    stripe_key: str = ""


@lru_cache
def get_settings() -> Settings:
    return Settings()
""",
            after="""\
from spaps_server_quickstart.settings import BaseServiceSettings, create_settings_loader


class Settings(BaseServiceSettings):
    # shown on /docs
    service_name: str = "orders"
    stripe_key: str = ""


get_settings = create_settings_loader(Settings)
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

    def __init__(self, config: MigrateConfig) -> None:
        super().__init__(config)
        self._imports: dict[str, str] = {}
        self._removed_names: set[str] = set()
        self._needed: list[str] = []

    def visit_Module(self, node: cst.Module) -> bool:
        self._imports = imported_names(node)
        return True

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False  # fields are rewritten in leave_ClassDef; nested classes are not ours

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # only module-level getters are rewritten

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        bases = [resolve(base, self._imports) for base in class_bases(updated_node)]
        if not any(base in BASE_SETTINGS for base in bases):
            return updated_node
        if updated_node.name.value != self.config.settings_class:
            self.follow_up(
                original_node,
                f"'{updated_node.name.value}' subclasses BaseSettings but is not the configured"
                f" settings class '{self.config.settings_class}': if it is the service's settings,"
                " set settings-class in [tool.spaps.migrate]; otherwise leave it",
            )
            return updated_node
        new_bases = []
        for arg in updated_node.bases:
            name = code(arg.value)
            if resolve(name, self._imports) in BASE_SETTINGS:
                self._removed_names.add(name.split(".")[0])
                arg = arg.with_changes(value=cst.Name("BaseServiceSettings"))
            new_bases.append(arg)
        body = updated_node.body
        assert isinstance(body, cst.IndentedBlock)
        kept: list[cst.BaseStatement] = []
        carried: list[cst.EmptyLine] = []
        dropped = 0
        for statement in body.body:
            verdict = self._field_verdict(statement)
            if verdict == "drop":
                dropped += 1
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
        if not kept:
            kept.append(cst.SimpleStatementLine(body=[cst.Pass()]))
        self._needed.append("BaseServiceSettings")
        if any(base in PYDANTIC_V1 for base in bases):
            self.follow_up(
                original_node,
                f"'{updated_node.name.value}' was a pydantic v1 BaseSettings; BaseServiceSettings"
                " is pydantic-settings 2: run bump-pydantic on this module (Field(env=...),"
                " class Config, validators)",
            )
        self.changed(
            original_node,
            f"'{updated_node.name.value}' now subclasses BaseServiceSettings"
            + (f" ({dropped} field(s) it provides dropped)" if dropped else ""),
        )
        return updated_node.with_changes(bases=new_bases, body=body.with_changes(body=kept))

    def _field_verdict(self, statement: cst.BaseStatement) -> str:
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return "keep"
        small = statement.body[0]
        if not isinstance(small, cst.AnnAssign) or not isinstance(small.target, cst.Name):
            return "keep"
        name = small.target.value
        if name not in BASE_FIELDS:
            return "keep"
        base_type, base_default = BASE_FIELDS[name]
        own_type = _normal_type(code(small.annotation.annotation))
        own_default = _normal_value(code(small.value)) if small.value is not None else None
        if own_type == _normal_type(base_type) and own_default == _normal_value(base_default):
            return "drop"
        self.follow_up(
            statement,
            f"field '{name}' is also defined by BaseServiceSettings (type {base_type},"
            f" default {base_default}); kept as an override: drop it if the runtime's is right",
        )
        return "keep"

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef | cst.SimpleStatementLine:
        decorators = updated_node.decorators
        if len(decorators) != 1:
            return updated_node
        decorator = decorators[0].decorator
        target = decorator.func if isinstance(decorator, cst.Call) else decorator
        decorator_name = code(target)
        if resolve(decorator_name, self._imports) not in LRU_CACHES:
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
        self._needed.append("create_settings_loader")
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
        for name in sorted(set(self._needed)):
            module = add_import(module, RUNTIME_SETTINGS, name)
        return remove_unused_imports(module, self._removed_names)


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
