"""auth-to-runtime: local SPAPS auth dependencies → ``current_user`` / ``require_roles``.

The runtime's ``current_user`` validates a SPAPS session (``POST /api/sessions/validate``,
cached) and returns an :class:`AuthenticatedUser`. A local dependency is replaced only where
that is the same job, proven from the project scan and the endpoint:

- the local dependency demonstrably validates SPAPS sessions: it calls ``spaps_client`` or the
  sessions API (an admin guard: it checks ``"admin"`` on such a user). Local JWT decoding, API
  key or header checks are something else, and stay, reported with the reason;
- every use of the value it returns is an attribute :class:`AuthenticatedUser` has
  (:data:`AUTHENTICATED_USER_ATTRIBUTES`); indexing it, passing it on, returning it, or reading
  an attribute it lacks (``user.email``) is a follow-up naming the use;
- the app is built by ``create_app`` (prerequisite ``app-on-create-app``: it wires the auth
  service), which the runner checks.

The modules that *define* the local versions, and local auth middleware (whose public paths
and error answers the runtime configures from settings), are follow-ups: deleting them is safe
only once nothing imports them.
"""

from __future__ import annotations

import re
from typing import ClassVar

import libcst as cst

from spaps_cli.codemods.base import Codemod, Example
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.import_edits import add_import, imported_names, remove_unused_imports
from spaps_cli.codemods.project_scan import ADMIN_DEPENDENCIES, USER_DEPENDENCIES, ProjectFacts
from spaps_cli.codemods.statements import class_bases, code
from spaps_cli.codemods.traversal import Visitor

RUNTIME_AUTH = "spaps_server_quickstart.auth"
#: What an endpoint may read on the value ``current_user`` gives it (a test compares this with
#: the runtime's ``AuthenticatedUser``).
AUTHENTICATED_USER_ATTRIBUTES = (
    "user_id",
    "application_id",
    "session_id",
    "roles",
    "tier",
    "expires_at",
    "has_role",
    "has_roles",
)
#: Auth work in a middleware body (the text middleware-to-runtime leaves to this codemod).
_AUTH_MIDDLEWARE_TEXT = re.compile(r"authorization|bearer|\bauth|token|spaps", re.I)


class AuthToRuntime(Codemod):
    ID: ClassVar[str] = "auth-to-runtime"
    PREFLIGHT: ClassVar[str | None] = "runtime"
    SUMMARY: ClassVar[str] = (
        "Use the runtime's current_user / require_roles instead of local SPAPS auth."
    )
    REQUIRES: ClassVar[tuple[str, ...]] = ("app-on-create-app",)
    EXAMPLE_FACTS: ClassVar[ProjectFacts] = ProjectFacts(
        app_on_create_app=True,
        spaps_auth=frozenset({"app.auth.get_current_user", "app.auth.require_admin"}),
    )
    NEEDLES: ClassVar[tuple[bytes, ...]] = (
        b"get_current_user",
        b"current_user_dependency",
        b"require_admin",
        b"get_current_admin",
        b"get_admin_user",
        b"admin_required",
        b"AuthMiddleware",
        b"BaseHTTPMiddleware",
        b'.middleware("http")',
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
    return {"id": user.user_id, "admin": user.has_role("admin")}


@router.delete("/items/{item_id}", dependencies=[Depends(require_admin)])
async def delete_item(item_id: int) -> None: ...
""",
            after="""\
from fastapi import APIRouter, Depends
from spaps_server_quickstart.auth import current_user, require_roles

router = APIRouter()


@router.get("/me")
async def me(user=Depends(current_user)):
    return {"id": user.user_id, "admin": user.has_role("admin")}


@router.delete("/items/{item_id}", dependencies=[Depends(require_roles("admin"))])
async def delete_item(item_id: int) -> None: ...
""",
        ),
        Example(
            "a dependency that decodes its own JWT is not SPAPS auth: kept, reported",
            before="""\
from fastapi import APIRouter, Depends

from app.security import get_current_user

router = APIRouter()


@router.get("/orders")
async def orders(user=Depends(get_current_user)):
    return {"owner": user["sub"]}
""",
            after="""\
from fastapi import APIRouter, Depends

from app.security import get_current_user

router = APIRouter()


@router.get("/orders")
async def orders(user=Depends(get_current_user)):
    return {"owner": user["sub"]}
""",
        ),
    )

    def __init__(self, config: MigrateConfig, facts: ProjectFacts | None = None) -> None:
        super().__init__(config, facts)
        self._local: dict[str, str] = {}  # local dependency name -> "user" | "admin"
        self._qualified: dict[str, str] = {}  # local dependency name -> where it is defined
        self._replaced: set[str] = set()
        self._needed: set[str] = set()
        self._blocked_calls: set[cst.Call] = set()  # Depends(...) already reported
        self._admin_call: cst.Call | None = None

    def _proven(self, name: str) -> str | None:
        """None when ``name`` validates SPAPS sessions, else why not."""
        qualified = self._qualified[name]
        if self.facts.find(qualified, self.facts.spaps_auth):
            return None
        reason = self.facts.auth_reason(qualified)
        return reason or f"{qualified} is not in the scanned project, so what it checks is unknown"

    def visit_Module(self, node: cst.Module) -> bool:
        for name, source in imported_names(node).items():
            if source.startswith(RUNTIME_AUTH):
                continue
            original = source.rsplit(".", 1)[-1]
            if original in USER_DEPENDENCIES:
                self._local[name] = "user"
            elif original in ADMIN_DEPENDENCIES:
                self._local[name] = "admin"
            self._qualified[name] = source
        for statement in node.body:
            if isinstance(statement, cst.FunctionDef) and (
                statement.name.value in USER_DEPENDENCIES | ADMIN_DEPENDENCIES
            ):
                name = statement.name.value
                self._local[name] = "user" if name in USER_DEPENDENCIES else "admin"
                self._qualified[name] = f"{self.module_name or '<this module>'}.{name}"
                reason = self._proven(name)
                if reason is None:
                    self.follow_up(
                        statement,
                        f"local auth dependency '{name}': once no module imports it, delete it"
                        " (spaps migrate rewrites its uses to current_user /"
                        ' require_roles("admin"))',
                    )
                else:
                    self.follow_up(
                        statement,
                        f"local auth dependency '{name}' is kept: {reason}. The runtime's"
                        " current_user validates SPAPS sessions only; move this to SPAPS"
                        " sessions by hand if that is the plan",
                    )
            elif (
                isinstance(statement, cst.ClassDef)
                and (
                    any(base.endswith("BaseHTTPMiddleware") for base in class_bases(statement))
                    or ("Auth" in statement.name.value and "__call__" in code(statement.body))
                )
                and _AUTH_MIDDLEWARE_TEXT.search(statement.name.value + code(statement.body))
            ) or (
                isinstance(statement, cst.FunctionDef)
                and any(
                    code(decorator.decorator).replace("'", '"').endswith('.middleware("http")')
                    for decorator in statement.decorators
                )
                and _AUTH_MIDDLEWARE_TEXT.search(statement.name.value + code(statement.body))
            ):
                self.follow_up(
                    statement,
                    f"local auth middleware '{statement.name.value}': register"
                    " SpapsAuthMiddleware (create_app does it from settings: AUTH_MODE,"
                    " AUTH_PUBLIC_PATHS) and delete this class",
                )
        return True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        """Block the parameters whose value the endpoint uses in ways AuthenticatedUser breaks."""
        for param in [*node.params.params, *node.params.kwonly_params]:
            calls = [call for call in _depends_calls(param) if _depends_name(call) in self._local]
            if not calls:
                continue
            name = _depends_name(calls[0])
            reason = self._proven(name) or _uses_beyond_the_user(param, node)
            if reason is not None:
                self._blocked_calls.update(calls)
                self.follow_up(
                    node,
                    f"'{param.name.value}' of '{node.name.value}' keeps Depends({name}): {reason}",
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
        if kind is None or original_node in self._blocked_calls:
            return updated_node
        reason = self._proven(name)
        if reason is not None:
            self.follow_up(original_node, f"Depends({name}) is kept: {reason}")
            return updated_node
        self._replaced.add(name)
        if kind == "user":
            replacement: cst.BaseExpression = cst.Name("current_user")
            self._needed.add("current_user")
        else:
            replacement = cst.Call(
                func=cst.Name("require_roles"), args=[cst.Arg(cst.SimpleString('"admin"'))]
            )
            self._needed.add("require_roles")
            self._admin_call = self._admin_call or original_node
        self.changed(original_node, f"Depends({name}) now uses the runtime's {code(replacement)}")
        args = list(updated_node.args)
        args[0] = args[0].with_changes(value=replacement)
        return updated_node.with_changes(args=args)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.changes:
            return updated_node
        if self._admin_call is not None:
            self.follow_up(
                self._admin_call,
                'require_roles("admin") reads the runtime\'s roles (an "admin" session tier,'
                " AUTH_ADMIN_USER_IDS, roles SPAPS states): check the same people are admins",
            )
        module = updated_node
        for name in sorted(self._needed):
            module = add_import(module, RUNTIME_AUTH, name)
        return remove_unused_imports(module, self.removable(self._replaced))


def _depends_name(call: cst.Call) -> str:
    argument = call.args[0].value
    return argument.value if isinstance(argument, cst.Name) else ""


def _depends_calls(param: cst.Param) -> list[cst.Call]:
    """``Depends(name)`` calls in a parameter's default or annotation."""
    found: list[cst.Call] = []

    class _Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            if (
                isinstance(node.func, cst.Name)
                and node.func.value == "Depends"
                and node.args
                and isinstance(node.args[0].value, cst.Name)
            ):
                found.append(node)

    for part in (param.default, param.annotation):
        if part is not None:
            part.visit(_Finder())
    return found


def _uses_beyond_the_user(param: cst.Param, function: cst.FunctionDef) -> str | None:
    """Why the endpoint's uses of ``param`` would break with an AuthenticatedUser, or None."""
    annotation = param.annotation.annotation if param.annotation else None
    if isinstance(annotation, cst.Subscript) and code(annotation.value).endswith("Annotated"):
        first = annotation.slice[0].slice
        annotation = first.value if isinstance(first, cst.Index) else None
    if annotation is not None and code(annotation).split(".")[-1] != "AuthenticatedUser":
        return f"it is annotated as {code(annotation)}, and current_user gives an AuthenticatedUser"
    name = param.name.value
    problems: list[str] = []

    class _Uses(Visitor):
        def visit_Attribute(self, node: cst.Attribute) -> bool:
            if isinstance(node.value, cst.Name) and node.value.value == name:
                if node.attr.value not in AUTHENTICATED_USER_ATTRIBUTES:
                    problems.append(f"it reads {name}.{node.attr.value}")
                return False
            return True

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                problems.append(f"it uses {name} itself (indexed, returned or passed on)")

    function.body.visit(_Uses())
    if not problems:
        return None
    return (
        "; ".join(sorted(set(problems)))
        + ", which AuthenticatedUser does not offer (it has "
        + ", ".join(AUTHENTICATED_USER_ATTRIBUTES)
        + ")"
    )
