"""auth-to-runtime: local SPAPS auth dependencies → ``current_user`` / ``require_roles``.

A dependency is rewritten only where it is *used*: ``Depends(get_current_user)`` with the name
imported from the service's own code becomes ``Depends(current_user)``, and an admin guard
becomes ``Depends(require_roles("admin"))``. The modules that *define* the local versions, and
local auth middleware (whose public paths and error answers the runtime configures from
settings), are follow-ups: deleting them is safe only once nothing imports them, which one file
cannot know.
"""

from __future__ import annotations

import re
from typing import ClassVar

import libcst as cst

from spaps_cli.codemods.base import Codemod, Example
from spaps_cli.codemods.import_edits import add_import, imported_names, remove_unused_imports
from spaps_cli.codemods.statements import class_bases, code

RUNTIME_AUTH = "spaps_server_quickstart.auth"
USER_DEPENDENCIES = frozenset({"get_current_user", "current_user_dependency"})
ADMIN_DEPENDENCIES = frozenset(
    {
        "require_admin",
        "get_current_admin",
        "get_admin_user",
        "get_current_admin_user",
        "admin_required",
    }
)
_AUTH_MIDDLEWARE_TEXT = re.compile(r"authorization|bearer|spaps", re.I)


class AuthToRuntime(Codemod):
    ID: ClassVar[str] = "auth-to-runtime"
    PREFLIGHT: ClassVar[str | None] = "runtime"
    SUMMARY: ClassVar[str] = (
        "Use the runtime's current_user / require_roles instead of local SPAPS auth."
    )
    NEEDLES: ClassVar[tuple[bytes, ...]] = (
        b"get_current_user",
        b"current_user_dependency",
        b"require_admin",
        b"get_current_admin",
        b"get_admin_user",
        b"admin_required",
        b"AuthMiddleware",
    )
    EXAMPLES: ClassVar[tuple[Example, ...]] = (
        Example(
            "local dependencies imported by a router",
            before="""\
from fastapi import APIRouter, Depends

from app.auth import get_current_user, require_admin

router = APIRouter()


@router.get("/me")
async def me(user=Depends(get_current_user)):
    return user


@router.delete("/items/{item_id}", dependencies=[Depends(require_admin)])
async def delete_item(item_id: int) -> None: ...
""",
            after="""\
from fastapi import APIRouter, Depends
from spaps_server_quickstart.auth import current_user, require_roles

router = APIRouter()


@router.get("/me")
async def me(user=Depends(current_user)):
    return user


@router.delete("/items/{item_id}", dependencies=[Depends(require_roles("admin"))])
async def delete_item(item_id: int) -> None: ...
""",
        ),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._local: dict[str, str] = {}  # local dependency name -> "user" | "admin"
        self._replaced: set[str] = set()
        self._needed: set[str] = set()
        self._first_user_call: cst.Call | None = None

    def visit_Module(self, node: cst.Module) -> bool:
        for name, source in imported_names(node).items():
            if source.startswith(RUNTIME_AUTH):
                continue
            original = source.rsplit(".", 1)[-1]
            if original in USER_DEPENDENCIES:
                self._local[name] = "user"
            elif original in ADMIN_DEPENDENCIES:
                self._local[name] = "admin"
        for statement in node.body:
            if isinstance(statement, cst.FunctionDef) and (
                statement.name.value in USER_DEPENDENCIES | ADMIN_DEPENDENCIES
            ):
                self.follow_up(
                    statement,
                    f"local auth dependency '{statement.name.value}': once no module imports it,"
                    " delete it (spaps migrate rewrites the imports to current_user /"
                    ' require_roles("admin"))',
                )
            elif (
                isinstance(statement, cst.ClassDef)
                and "Auth" in statement.name.value
                and (
                    any(base.endswith("BaseHTTPMiddleware") for base in class_bases(statement))
                    or "__call__" in code(statement.body)
                )
                and _AUTH_MIDDLEWARE_TEXT.search(code(statement.body))
            ):
                self.follow_up(
                    statement,
                    f"local auth middleware '{statement.name.value}': register"
                    " SpapsAuthMiddleware (create_app does it from settings: AUTH_MODE,"
                    " AUTH_PUBLIC_PATHS) and delete this class",
                )
        return True

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if not (
            isinstance(updated_node.func, cst.Name)
            and updated_node.func.value == "Depends"
            and len(updated_node.args) >= 1
            and isinstance(updated_node.args[0].value, cst.Name)
        ):
            return updated_node
        name = updated_node.args[0].value.value
        kind = self._local.get(name)
        if kind is None:
            return updated_node
        self._replaced.add(name)
        if kind == "user" and self._first_user_call is None:
            self._first_user_call = original_node
        if kind == "user":
            replacement: cst.BaseExpression = cst.Name("current_user")
            self._needed.add("current_user")
        else:
            replacement = cst.Call(
                func=cst.Name("require_roles"), args=[cst.Arg(cst.SimpleString('"admin"'))]
            )
            self._needed.add("require_roles")
        self.changed(original_node, f"Depends({name}) now uses the runtime's {code(replacement)}")
        args = list(updated_node.args)
        args[0] = args[0].with_changes(value=replacement)
        return updated_node.with_changes(args=args)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.changes:
            return updated_node
        if self._first_user_call is not None:
            self.follow_up(
                self._first_user_call,
                "current_user returns the runtime's AuthenticatedUser (user_id, email, roles):"
                " check the annotations and attribute uses of the parameters it now fills",
            )
        module = updated_node
        for name in sorted(self._needed):
            module = add_import(module, RUNTIME_AUTH, name)
        return remove_unused_imports(module, self._replaced)
