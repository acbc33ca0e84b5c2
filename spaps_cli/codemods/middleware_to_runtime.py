"""middleware-to-runtime: local request-id / access-log / timing middleware → RequestContextMiddleware.

The runtime does all three jobs in one pure ASGI middleware; a ``BaseHTTPMiddleware`` doing
them costs about half the throughput and breaks contextvar propagation and background tasks
(docs/RUNTIME.md, request context). A local class or ``@app.middleware("http")`` function is
recognised by its name or by the headers it touches; authentication middleware is left to
``auth-to-runtime``. It is replaced only when it does nothing else: a body that also handles
errors, returns other responses or has other side effects is a follow-up. The first
registration becomes ``RequestContextMiddleware``, further ones on the same app are dropped
(the runtime already does their job), and a local class is deleted only when nothing else in
the module refers to it. Registrations with arguments, and classes registered in other
modules, are follow-ups.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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


#: Calls a request-id/timing/access-log middleware makes; anything else is other work.
_JOB_CALLS = frozenset(
    {
        "call_next",
        "uuid4",
        "uuid1",
        "get",
        "set",
        "reset",
        "perf_counter",
        "perf_counter_ns",
        "monotonic",
        "monotonic_ns",
        "time",
        "time_ns",
        "str",
        "int",
        "float",
        "round",
        "format",
        "debug",
        "info",
    }
)


def _does_the_job(name: str, body: str) -> bool:
    """Does it look like request-id/access-log/timing middleware (by name or headers)?"""
    if _AUTH_TEXT.search(name) or _AUTH_TEXT.search(body):
        return False
    return bool(_JOB_NAME.search(name) or _JOB_TEXT.search(body))


def _only_dispatch(node: cst.ClassDef) -> bool:
    """A BaseHTTPMiddleware whose whole body is a ``dispatch`` that only does the job."""
    dispatch: list[cst.FunctionDef] = []
    for statement in node.body.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == "dispatch":
            dispatch.append(statement)
        elif not (
            isinstance(statement, cst.SimpleStatementLine)
            and all(
                isinstance(small, cst.Pass)
                or (isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString))
                for small in statement.body
            )
        ):
            return False
    return len(dispatch) == 1 and _only_the_job(dispatch[0])


def _only_the_job(function: cst.FunctionDef) -> bool:
    """Does ``function`` do *nothing but* what RequestContextMiddleware does?

    Looking like the job (:func:`_does_the_job`) is not enough to delete it: an error handler
    that also logs the request id, or a maintenance switch, would silently disappear. So the
    body may only read/generate an id, time the request, set contextvars, response headers
    or ``request.state``, log a line, and return what ``call_next`` returned; ``try`` is
    allowed only as ``try/finally`` (resetting a contextvar). Anything else is a follow-up.
    """
    if not isinstance(function.body, cst.IndentedBlock):
        return False
    params = [param.name.value for param in function.params.params]
    if params[:1] == ["self"]:
        params = params[1:]
    checker = _JobChecker(params[0] if params else "")
    return checker.block(function.body.body) and checker.returned


class _JobChecker:
    """The statement-by-statement test behind :func:`_only_the_job`."""

    def __init__(self, request: str) -> None:
        self.request = request
        self.responses: set[str] = set()  # names bound to ``await call_next(request)``
        self.returned = False

    def block(self, statements: Sequence[cst.BaseStatement]) -> bool:
        for statement in statements:
            if self.returned:
                return False  # code after the return
            if isinstance(statement, cst.Try):
                final = statement.finalbody
                if statement.handlers or statement.orelse or final is None:
                    return False
                if not isinstance(statement.body, cst.IndentedBlock) or not isinstance(
                    final.body, cst.IndentedBlock
                ):
                    return False
                if not self.block(statement.body.body):
                    return False
                returned, self.returned = self.returned, False
                if not self.block(final.body.body) or self.returned:
                    return False
                self.returned = returned
            elif isinstance(statement, cst.SimpleStatementLine):
                if not all(self.small(small) for small in statement.body):
                    return False
            else:
                return False
        return True

    def small(self, small: cst.BaseSmallStatement) -> bool:
        if isinstance(small, cst.Return):
            value = small.value
            if isinstance(value, cst.Name) and value.value in self.responses:
                self.returned = True
                return True
            if self._is_call_next(value):
                self.returned = True
                return True
            return False
        if isinstance(small, cst.Expr):
            return isinstance(small.value, cst.Call) and self.expression(small.value)
        if isinstance(small, cst.Assign):
            if not all(self.target(t.target) for t in small.targets):
                return False
            if self._is_call_next(small.value):
                self.responses.update(
                    t.target.value for t in small.targets if isinstance(t.target, cst.Name)
                )
                return True
            return self.expression(small.value)
        if isinstance(small, cst.AnnAssign):
            return self.target(small.target) and (
                small.value is None or self.expression(small.value)
            )
        return isinstance(small, cst.Pass)

    def target(self, node: cst.BaseExpression) -> bool:
        """A local, a response header, or ``request.state.x``."""
        if isinstance(node, cst.Name):
            return node.value not in self.responses and node.value != self.request
        if isinstance(node, cst.Subscript):
            headers = node.value
            return (
                isinstance(headers, cst.Attribute)
                and headers.attr.value == "headers"
                and isinstance(headers.value, cst.Name)
                and headers.value.value in self.responses
            )
        if isinstance(node, cst.Attribute):
            state = node.value
            return (
                isinstance(state, cst.Attribute)
                and state.attr.value == "state"
                and isinstance(state.value, cst.Name)
                and state.value.value == self.request
            )
        return False

    def expression(self, node: cst.BaseExpression) -> bool:
        """No awaits but ``call_next`` and only calls from :data:`_JOB_CALLS`."""
        checker = _CallChecker()
        node.visit(checker)
        return checker.ok

    def _is_call_next(self, node: cst.BaseExpression | None) -> bool:
        return (
            isinstance(node, cst.Await)
            and isinstance(node.expression, cst.Call)
            and isinstance(node.expression.func, cst.Name)
            and node.expression.func.value == "call_next"
        )


class _CallChecker(cst.CSTVisitor):
    def __init__(self) -> None:
        self.ok = True

    def visit_Await(self, node: cst.Await) -> bool:
        self.ok = False
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.ok = False
        return False

    def visit_Call(self, node: cst.Call) -> bool:
        func = node.func
        name = (
            func.value
            if isinstance(func, cst.Name)
            else func.attr.value
            if isinstance(func, cst.Attribute)
            else None
        )
        if name not in _JOB_CALLS:
            self.ok = False
        return self.ok


class MiddlewareToRuntime(Codemod):
    ID: ClassVar[str] = "middleware-to-runtime"
    PREFLIGHT: ClassVar[str | None] = "runtime"
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
            if not isinstance(statement, cst.ClassDef) or not self._is_job_class(statement):
                continue
            if _only_dispatch(statement):
                self._job_classes.add(statement.name.value)
            else:
                self.follow_up(
                    statement,
                    f"{statement.name.value} handles the request id/timing but also does other"
                    f" work (error handling, other responses or side effects): register"
                    f" {RUNTIME_CLASS} and keep only that other work in it, by hand",
                )
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
        if not _only_the_job(updated_node):
            self.follow_up(
                original_node,
                f"'{updated_node.name.value}' handles the request id/timing but also does other"
                f" work (error handling, other responses or side effects): add {RUNTIME_CLASS}"
                " and keep only that other work here, by hand",
            )
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
