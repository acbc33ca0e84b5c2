"""db-session-to-runtime: ``Depends(get_db)`` parameters → the runtime's ``DbSession``.

The runtime owns the engine and session factory (``DatabaseResources``, built by ``create_app``
from ``DATABASE_URL`` and closed by the lifespan) and gives endpoints ``DbSession``, an
``Annotated[AsyncSession, Depends(...)]``. Endpoint parameters are rewritten where the local
dependency is imported; the module that defines the local engine, sessionmaker and ``get_db``,
and tests that override ``get_db``, are follow-ups (their replacement depends on how the app is
built, which one file does not show).
"""

from __future__ import annotations

import re
from typing import ClassVar

import libcst as cst

from spaps_cli.codemods.base import Codemod, Example
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.import_edits import (
    add_import,
    dotted_name,
    imported_names,
    remove_unused_imports,
)
from spaps_cli.codemods.statements import code, resolve

RUNTIME_DB = "spaps_server_quickstart.db"
SESSION_DEPENDENCIES = frozenset({"get_db", "get_session", "get_async_session", "get_db_session"})
ENGINE_FACTORIES = frozenset(
    {
        "sqlalchemy.ext.asyncio.create_async_engine",
        "sqlalchemy.create_engine",
        "sqlalchemy.orm.sessionmaker",
        "sqlalchemy.ext.asyncio.async_sessionmaker",
    }
)


_TRIGGER = re.compile(
    rb"Depends\(\s*(?:get_db|get_session|get_async_session)\s*\)"
    rb"|dependency_overrides\s*\[|create_async_engine\(|create_engine\(|sessionmaker\("
    rb"|def (?:get_db|get_session|get_async_session)\b"
)


class DbSessionToRuntime(Codemod):
    ID: ClassVar[str] = "db-session-to-runtime"
    PREFLIGHT: ClassVar[str | None] = "runtime"
    SUMMARY: ClassVar[str] = "Use the runtime's DbSession instead of a local get_db dependency."
    NEEDLES: ClassVar[tuple[bytes, ...]] = (
        b"get_db",
        b"get_session",
        b"get_async_session",
        b"sessionmaker",
        b"create_async_engine",
    )
    EXAMPLES: ClassVar[tuple[Example, ...]] = (
        Example(
            "endpoint parameters",
            before="""\
from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import get_db

router = APIRouter()


@router.get("/items/{item_id}")
async def read_item(item_id: int, db: AsyncSession = Depends(get_db)):
    return await db.get(Item, item_id)
""",
            after="""\
from fastapi import APIRouter
from spaps_server_quickstart.db import DbSession

router = APIRouter()


@router.get("/items/{item_id}")
async def read_item(item_id: int, db: DbSession):
    return await db.get(Item, item_id)
""",
        ),
    )

    @classmethod
    def wants(cls, data: bytes, config: MigrateConfig) -> bool:
        # "get_db" alone also matches code already on the runtime (get_db_session).
        return super().wants(data, config) and _TRIGGER.search(data) is not None

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._local: set[str] = set()
        self._imports: dict[str, str] = {}
        self._touched: set[str] = set()
        self._needed: set[str] = set()
        self._keep: set[str] = set()  # still used by a rewritten parameter

    def visit_Module(self, node: cst.Module) -> bool:
        self._imports = imported_names(node)
        for name, source in self._imports.items():
            if source.rsplit(".", 1)[-1] in SESSION_DEPENDENCIES and not source.startswith(
                RUNTIME_DB
            ):
                self._local.add(name)
        defines = [
            statement
            for statement in node.body
            if (
                isinstance(statement, cst.FunctionDef)
                and statement.name.value in SESSION_DEPENDENCIES
            )
            or self._creates_engine(statement)
        ]
        if defines:
            self.follow_up(
                defines[0],
                "local engine/sessionmaker/get_db: the runtime's create_app builds"
                " DatabaseResources from DATABASE_URL and closes it in the lifespan; endpoints"
                " use DbSession. Delete these once nothing imports them",
            )
        return True

    def _creates_engine(self, statement: cst.BaseStatement) -> bool:
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for small in statement.body:
            value = getattr(small, "value", None)
            if isinstance(small, cst.Assign | cst.AnnAssign) and isinstance(value, cst.Call):
                name = dotted_name(value.func)
                if name is not None and resolve(name, self._imports) in ENGINE_FACTORIES:
                    return True
        return False

    def leave_Parameters(
        self, original_node: cst.Parameters, updated_node: cst.Parameters
    ) -> cst.Parameters:
        if not self._local:
            return updated_node
        params = list(updated_node.params)
        changed = False
        for index, param in enumerate(params):
            if not self._uses_local(param):
                continue
            if any(p.default is not None for p in params[:index]):
                # `db: DbSession` (no default) may not follow defaults: keep the default
                # and point it at the runtime's dependency instead.
                rewritten = self._runtime_default(param)
                if rewritten is None:
                    self.follow_up(
                        original_node,
                        f"parameter '{param.name.value}' follows parameters with defaults:"
                        " move it earlier, then re-run",
                    )
                    continue
                params[index] = rewritten
                changed = True
                continue
            params[index] = param.with_changes(
                annotation=cst.Annotation(cst.Name("DbSession")),
                default=None,
                equal=cst.MaybeSentinel.DEFAULT,
            )
            self._needed.add("DbSession")
            changed = True
        kwonly = list(updated_node.kwonly_params)
        for index, param in enumerate(kwonly):
            if self._uses_local(param):
                kwonly[index] = param.with_changes(
                    annotation=cst.Annotation(cst.Name("DbSession")),
                    default=None,
                    equal=cst.MaybeSentinel.DEFAULT,
                )
                self._needed.add("DbSession")
                changed = True
        if not changed:
            return updated_node
        self.changed(original_node, "session parameter now uses DbSession")
        return updated_node.with_changes(params=params, kwonly_params=kwonly)

    def _runtime_default(self, param: cst.Param) -> cst.Param | None:
        """``db: AsyncSession = Depends(get_db)`` -> ``... = Depends(get_db_session)``."""
        default = param.default
        if not (
            isinstance(default, cst.Call)
            and code(default.func) == "Depends"
            and len(default.args) == 1
            and isinstance(default.args[0].value, cst.Name)
            and default.args[0].value.value in self._local
        ):
            return None
        self._needed.add("get_db_session")
        self._keep.add("Depends")
        new_default = default.with_changes(
            args=[default.args[0].with_changes(value=cst.Name("get_db_session"))]
        )
        return param.with_changes(default=new_default)

    def _uses_local(self, param: cst.Param) -> bool:
        for expression in (
            param.default,
            param.annotation.annotation if param.annotation else None,
        ):
            if expression is None:
                continue
            text = code(expression)
            for name in self._local:
                if f"Depends({name})" in text.replace(" ", ""):
                    self._touched.add(name)
                    if param.annotation is not None:
                        self._touched.update(
                            n
                            for n in ("AsyncSession", "Session", "Annotated", "Depends")
                            if n in code(param.annotation.annotation)
                        )
                    self._touched.add("Depends")
                    return True
        return False

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.Subscript:
        if code(updated_node.value).endswith("dependency_overrides") and any(
            isinstance(element.slice, cst.Index)
            and isinstance(element.slice.value, cst.Name)
            and element.slice.value.value in self._local
            for element in updated_node.slice
        ):
            self.follow_up(
                original_node,
                "this overrides the local get_db, which migrated endpoints no longer use:"
                " override spaps_server_quickstart.db.get_db_session, or use the testing"
                " plugin's database fixtures",
            )
        return updated_node

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.changes:
            return updated_node
        module = updated_node
        for name in sorted(self._needed):
            module = add_import(module, RUNTIME_DB, name)
        return remove_unused_imports(module, self._touched - self._keep)
