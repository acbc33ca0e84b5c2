"""middleware-to-runtime: local request-id / access-log / timing middleware → RequestContextMiddleware.

The runtime does all three jobs in one pure ASGI middleware; a ``BaseHTTPMiddleware`` doing
them costs about half the throughput and breaks contextvar propagation and background tasks
(shared/notes/runtime.md section 1). A local class or ``@app.middleware("http")`` function is
recognised by its name or by the headers it touches; authentication middleware is left to
``auth-to-runtime``. The first registration becomes ``RequestContextMiddleware``, further ones
on the same app are dropped (the runtime already does their job), and a local class is deleted
only when nothing else in the module refers to it. Registrations with arguments, and classes
registered in other modules, are follow-ups.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar

import libcst as cst

from spaps_cli.codemods.base import Codemod, Example
from spaps_cli.codemods.import_edits import (
    add_import,
    imported_names,
    mentioned,
    names_in,
    remove_unused_imports,
)
from spaps_cli.codemods.statements import class_bases, code, resolve, without_statements

RUNTIME_MODULE = "spaps_server_quickstart.request_context"
RUNTIME_CLASS = "RequestContextMiddleware"
BASE_HTTP_MIDDLEWARE = frozenset(
    {"starlette.middleware.base.BaseHTTPMiddleware", "fastapi.middleware.base.BaseHTTPMiddleware"}
)
STARLETTE_MIDDLEWARE = frozenset(
    {"starlette.middleware.Middleware", "fastapi.middleware.Middleware"}
)
_JOB_NAME = re.compile(
    r"request_?id|correlation|access_?log|request_?log|logging|timing|process_?time", re.I
)
_JOB_TEXT = re.compile(
    r"x-request-id|x-correlation-id|x-process-time|process_time|request_id", re.I
)
_AUTH_TEXT = re.compile(r"authorization|bearer|\bauth|token", re.I)


def _does_the_job(name: str, body: str) -> bool:
    if _AUTH_TEXT.search(name) or _AUTH_TEXT.search(body):
        return False
    return bool(_JOB_NAME.search(name) or _JOB_TEXT.search(body))


class MiddlewareToRuntime(Codemod):
    ID: ClassVar[str] = "middleware-to-runtime"
    SUMMARY: ClassVar[str] = (
        "Replace local request-id/logging/timing middleware with RequestContextMiddleware."
    )
    NEEDLES: ClassVar[tuple[bytes, ...]] = (
        b"BaseHTTPMiddleware",
        b'.middleware("http")',
        b".middleware('http')",
    )
    EXAMPLES: ClassVar[tuple[Example, ...]] = (
        Example(
            "a BaseHTTPMiddleware request-id class and a timing function",
            before="""\
import time
import uuid

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware


class RequestIdMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        return response


app = FastAPI()
app.add_middleware(RequestIdMiddleware)


@app.middleware("http")
async def add_process_time(request: Request, call_next):
    start = time.perf_counter()
    response = await call_next(request)
    response.headers["X-Process-Time"] = str(time.perf_counter() - start)
    return response
""",
            after="""\
from fastapi import FastAPI
from spaps_server_quickstart.request_context import RequestContextMiddleware


app = FastAPI()
app.add_middleware(RequestContextMiddleware)
""",
        ),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._imports: dict[str, str] = {}
        self._job_classes: set[str] = set()
        self._registered: set[str] = set()  # apps that already got RequestContextMiddleware
        self._replaced_classes: set[str] = set()
        self._removed_nodes: list[cst.CSTNode] = []
        self._middleware_entries = 0
        self._module: cst.Module | None = None
        self._source: str | None = None

    def visit_Module(self, node: cst.Module) -> bool:
        self._imports = imported_names(node)
        self._module = node
        for statement in node.body:
            if isinstance(statement, cst.ClassDef) and self._is_job_class(statement):
                self._job_classes.add(statement.name.value)
        if imported_names(node).get(RUNTIME_CLASS) == f"{RUNTIME_MODULE}.{RUNTIME_CLASS}":
            # Already migrated apps: a second pass must not add the middleware twice.
            self._registered.update(_apps_with_runtime_middleware(node))
        return True

    def _references(self, name: str) -> int:
        if self._source is None:
            self._source = self._module.code if self._module is not None else ""
        return len(re.findall(rf"\b{re.escape(name)}\b", self._source))

    def _is_job_class(self, node: cst.ClassDef) -> bool:
        bases = {resolve(base, self._imports) for base in class_bases(node)}
        if not bases & BASE_HTTP_MIDDLEWARE:
            return False
        return _does_the_job(node.name.value, code(node.body))

    # -- registrations ----------------------------------------------------------------------

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        if len(updated_node.body) != 1:
            return updated_node
        small = updated_node.body[0]
        if not (
            isinstance(small, cst.Expr)
            and isinstance(small.value, cst.Call)
            and isinstance(small.value.func, cst.Attribute)
            and small.value.func.attr.value == "add_middleware"
            and small.value.args
            and isinstance(small.value.args[0].value, cst.Name)
            and small.value.args[0].value.value in self._job_classes
        ):
            return updated_node
        call = small.value
        app = code(small.value.func.value)
        first_arg = call.args[0].value
        assert isinstance(first_arg, cst.Name)
        if len(call.args) > 1:
            self.follow_up(
                original_node,
                f"{first_arg.value} is registered with arguments: replace it with"
                f" {RUNTIME_CLASS} by hand (the runtime reads its options from settings)",
            )
            return updated_node
        self._replaced_classes.add(first_arg.value)
        self.changed(original_node, f"{first_arg.value} replaced by {RUNTIME_CLASS}")
        if app in self._registered:
            self._removed_nodes.append(updated_node)
            return cst.RemoveFromParent()
        self._registered.add(app)
        new_call = call.with_changes(
            args=[call.args[0].with_changes(value=cst.Name(RUNTIME_CLASS))]
        )
        return updated_node.with_changes(body=[small.with_changes(value=new_call)])

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef | cst.SimpleStatementLine | cst.RemovalSentinel:
        if len(updated_node.decorators) != 1:
            return updated_node
        decorator = updated_node.decorators[0].decorator
        if not (
            isinstance(decorator, cst.Call)
            and isinstance(decorator.func, cst.Attribute)
            and decorator.func.attr.value == "middleware"
            and len(decorator.args) == 1
            and isinstance(decorator.args[0].value, cst.SimpleString)
            and decorator.args[0].value.evaluated_value == "http"
        ):
            return updated_node
        if not _does_the_job(updated_node.name.value, code(updated_node.body)):
            return updated_node
        if self._references(updated_node.name.value) > 1:
            self.follow_up(
                original_node,
                f"'{updated_node.name.value}' does the runtime's job but is referenced elsewhere:"
                f" remove those uses, then replace it with {RUNTIME_CLASS}",
            )
            return updated_node
        app = code(decorator.func.value)
        self.changed(
            original_node, f"@{app}.middleware function '{updated_node.name.value}' replaced"
        )
        self._removed_nodes.append(updated_node)
        if app in self._registered:
            return cst.RemoveFromParent()
        self._registered.add(app)
        statement = cst.parse_statement(f"{app}.add_middleware({RUNTIME_CLASS})\n")
        return statement.with_changes(leading_lines=updated_node.leading_lines)  # type: ignore[return-value]

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return node.name.value not in self._job_classes

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        """``Middleware(RequestIdMiddleware)`` in ``FastAPI(middleware=[...])`` lists."""
        name = code(updated_node.func)
        if resolve(name, self._imports) not in STARLETTE_MIDDLEWARE or not updated_node.args:
            return updated_node
        first = updated_node.args[0].value
        if not isinstance(first, cst.Name) or first.value not in self._job_classes:
            return updated_node
        if len(updated_node.args) > 1:
            self.follow_up(
                original_node,
                f"{first.value} is registered with arguments: replace it with"
                f" {RUNTIME_CLASS} by hand (the runtime reads its options from settings)",
            )
            return updated_node
        self._replaced_classes.add(first.value)
        self._middleware_entries += 1
        self.changed(original_node, f"{first.value} replaced by {RUNTIME_CLASS}")
        if self._middleware_entries > 1:
            self.follow_up(
                original_node,
                f"{RUNTIME_CLASS} is now listed more than once: keep one entry",
            )
        return updated_node.with_changes(
            args=[updated_node.args[0].with_changes(value=cst.Name(RUNTIME_CLASS))]
        )

    # -- clean-up ---------------------------------------------------------------------------

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        module = updated_node
        for name in sorted(self._job_classes):
            definition = next(
                s for s in module.body if isinstance(s, cst.ClassDef) and s.name.value == name
            )
            if name not in self._replaced_classes:
                self.follow_up(
                    definition,
                    f"{name} does the runtime's job (request id/access log/timing) but no"
                    " add_middleware/Middleware registration of it was rewritten here: replace"
                    f" its registrations with {RUNTIME_CLASS}, then delete it",
                )
                continue
            rest = module.with_changes(body=[s for s in module.body if s is not definition])
            if mentioned(rest.code, name):
                self.follow_up(
                    definition,
                    f"{name} is still referenced in this module: remove those uses, then"
                    " delete the class",
                )
                continue
            self._removed_nodes.append(definition)
            module = module.with_changes(body=without_statements(module.body, _is(definition)))
        if not self.changes:
            return module
        candidates: set[str] = {"BaseHTTPMiddleware"}
        imported = set(imported_names(module))
        for node in self._removed_nodes:
            candidates |= names_in(node, imported)
        module = add_import(module, RUNTIME_MODULE, RUNTIME_CLASS)
        return remove_unused_imports(module, candidates)


def _apps_with_runtime_middleware(module: cst.Module) -> set[str]:
    apps: set[str] = set()
    marker = f".add_middleware({RUNTIME_CLASS}"
    for line in module.code.splitlines():
        if marker in line:
            apps.add(line.strip().split(".add_middleware")[0])
    return apps


def _is(node: cst.BaseStatement) -> Callable[[cst.BaseStatement], bool]:
    return lambda statement: statement is node
