"""db-session-to-runtime: ``Depends(get_db)`` parameters → the runtime's ``DbSession``.

The runtime owns the engine and session factory (``DatabaseResources``, built by ``create_app``
from ``DATABASE_URL`` and closed by the lifespan) and gives endpoints ``DbSession``, an
``Annotated[AsyncSession, Depends(...)]`` that commits when the endpoint returns. A parameter is
rewritten only when the project scan proves the swap changes nothing the endpoint sees:

- the local dependency is an ``async def`` whose engine is built from ``settings.database_url``
  (the same database the runtime opens); a plain ``def`` hands out a sync ``Session``
  (``db.query(...)``), which an ``AsyncSession`` is not, so sync code is a follow-up;
- the endpoint is ``async def`` and does not annotate the parameter as a sync ``Session``;
- the local dependency commits on return like the runtime's, or the endpoint changes nothing
  without committing it itself;
- and the app is built by ``create_app`` (the prerequisite ``app-on-create-app``: without it
  ``DbSession`` answers 500 ``DatabaseNotConfiguredError``), which the runner checks.

Everything else is reported with the reason. The module that defines the local engine,
sessionmaker and ``get_db``, and tests that override ``get_db``, are follow-ups (their
replacement depends on how the app is built, which one file does not show).
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
    remove_unused_imports,
)
from spaps_cli.codemods.project_scan import ProjectFacts
from spaps_cli.codemods.statements import code, dotted_name, resolve
from spaps_cli.codemods.traversal import Visitor

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
    REQUIRES: ClassVar[tuple[str, ...]] = ("app-on-create-app",)
    EXAMPLE_FACTS: ClassVar[ProjectFacts] = ProjectFacts(
        app_on_create_app=True,
        async_sessions=frozenset({"app.db.get_db", "app.db.get_session"}),
        session_commits=frozenset({"app.db.get_db", "app.db.get_session"}),
    )
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
        self._qualified: dict[str, str] = {}  # local name -> where it is defined
        self._blocked: set[str] = set()  # parameters of the function being left, not proven
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
                self._qualified[name] = source
        for statement in node.body:
            if (
                isinstance(statement, cst.FunctionDef)
                and statement.name.value in SESSION_DEPENDENCIES
                and statement.name.value != "get_db_session"
            ):
                self._local.add(statement.name.value)
                self._qualified[statement.name.value] = (
                    f"{self.module_name or '<this module>'}.{statement.name.value}"
                )
        for statement in node.body:
            alias = _dependency_alias(statement, self._local)
            if alias is not None:
                target, used = alias
                qualified = self._qualified.get(used, used)
                reason = (
                    self.facts.session_reason(qualified)
                    if not self.facts.find(qualified, self.facts.async_sessions)
                    else None
                )
                self.follow_up(
                    statement,
                    f"'{target}' names Depends({used}) for the endpoints that use it, and is"
                    " not rewritten: "
                    + (
                        reason
                        or "each endpoint using it must be async and commit as the runtime's"
                        " session does; then replace it with DbSession by hand"
                    ),
                )
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

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        if not self._local:
            return updated_node
        self._blocked = set()
        for param in [*updated_node.params.params, *updated_node.params.kwonly_params]:
            used = self._dependency_of(param)
            if used is None:
                continue
            reason = self._why_not(used, param, updated_node)
            if reason is not None:
                self._blocked.add(param.name.value)
                self.follow_up(
                    original_node,
                    f"'{param.name.value}' of '{updated_node.name.value}' not moved to DbSession:"
                    f" {reason}",
                )
        params = self._rewrite_parameters(original_node.params, updated_node.params)
        return updated_node.with_changes(params=params)

    def _dependency_of(self, param: cst.Param) -> str | None:
        for expression in (
            param.default,
            param.annotation.annotation if param.annotation else None,
        ):
            if expression is None:
                continue
            text = code(expression).replace(" ", "")
            for name in self._local:
                if f"Depends({name})" in text:
                    return name
        return None

    def _why_not(self, used: str, param: cst.Param, function: cst.FunctionDef) -> str | None:
        qualified = self._qualified.get(used, used)
        facts = self.facts
        if not facts.find(qualified, facts.async_sessions):
            return facts.session_reason(qualified) or (
                f"{qualified} is not in the scanned project, so what it yields is unknown"
            )
        annotation = code(param.annotation.annotation) if param.annotation else ""
        if re.search(r"\bSession\b", annotation) and "AsyncSession" not in annotation:
            return "it is annotated as a sync Session"
        if function.asynchronous is None:
            return "the endpoint is a plain def (the runtime's session is async)"
        if not facts.find(qualified, facts.session_commits) and _writes_without_commit(
            function, param.name.value
        ):
            return (
                f"{used} does not commit and this endpoint changes data without committing;"
                " the runtime's session commits when the endpoint returns"
            )
        return None

    def _rewrite_parameters(
        self, original_node: cst.Parameters, updated_node: cst.Parameters
    ) -> cst.Parameters:
        params = list(updated_node.params)
        changed = False
        for index, param in enumerate(params):
            if param.name.value in self._blocked or not self._uses_local(param):
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
            if param.name.value not in self._blocked and self._uses_local(param):
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
        return remove_unused_imports(module, self.removable(self._touched - self._keep))


def _dependency_alias(statement: cst.BaseStatement, local: set[str]) -> tuple[str, str] | None:
    """``SessionDep = Annotated[Session, Depends(get_db)]``: (``SessionDep``, ``get_db``)."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not isinstance(small, cst.Assign | cst.AnnAssign) or small.value is None:
        return None
    text = code(small.value).replace(" ", "")
    for name in local:
        if f"Depends({name})" in text:
            target = small.targets[0].target if isinstance(small, cst.Assign) else small.target
            return code(target), name
    return None


_MUTATIONS = frozenset({"add", "add_all", "delete", "merge", "flush"})


def _writes_without_commit(function: cst.FunctionDef, session: str) -> bool:
    """Does the endpoint change data through ``session`` and never commit it itself?"""
    calls: set[str] = set()

    class _Calls(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value == session
            ):
                name = func.attr.value
                if name == "execute" and node.args:
                    statement = code(node.args[0].value)
                    name = (
                        "read"
                        if re.match(r"\s*(select|text\(\s*[\"']select)", statement, re.I)
                        else "write"
                    )
                calls.add(name)

    function.body.visit(_Calls())
    return "commit" not in calls and bool(calls & (_MUTATIONS | {"write"}))
