"""middleware-to-runtime: local request-id / access-log / timing middleware → RequestContextMiddleware.

The runtime does all three jobs in one pure ASGI middleware; a ``BaseHTTPMiddleware`` doing
them costs about half the throughput and breaks contextvar propagation and background tasks
(docs/RUNTIME.md, "Request context and middleware"). Such middleware is recognised by what it
does (it times the request, generates or echoes an id, or logs it around ``call_next``), not by
its name, in every registration form: a ``BaseHTTPMiddleware`` subclass of any name registered
with ``add_middleware`` or ``Middleware(...)``, ``@app.middleware("http")``,
``app.middleware("http")(fn)`` and ``add_middleware(BaseHTTPMiddleware, dispatch=fn)``.
Authentication middleware is left to ``auth-to-runtime``.

It is replaced only when it does nothing else (a body that also handles errors, returns other
responses, sets other headers or has other side effects is a follow-up) and when its header
contract can be kept: the id header it reads must be the one it answers, and the duration must
be in seconds. The names are carried over (``request_id_header="X-Correlation-ID"``,
``timing_header="X-Process-Time"``; ``""`` where the service sent no such header), so clients
see the same headers. The first registration becomes ``RequestContextMiddleware``, further ones
on the same app are dropped, and a local class or function is deleted only when nothing else in
the module refers to it and no other module imports it. Registrations with arguments, and
middleware defined in other modules, are follow-ups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import libcst as cst

from spaps_cli.codemods.base import Codemod, Example
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.import_edits import (
    add_import,
    imported_names,
    mentioned,
    names_in,
    remove_unused_imports,
)
from spaps_cli.codemods.middleware_analysis import (
    Contract,
    does_the_job,
    header_contract,
    only_dispatch,
    only_the_job,
)
from spaps_cli.codemods.project_scan import ProjectFacts
from spaps_cli.codemods.statements import class_bases, code, resolve, without_statements
from spaps_cli.codemods.traversal import Visitor

RUNTIME_MODULE = "spaps_server_quickstart.request_context"
RUNTIME_CLASS = "RequestContextMiddleware"
BASE_HTTP_MIDDLEWARE = frozenset(
    {"starlette.middleware.base.BaseHTTPMiddleware", "fastapi.middleware.base.BaseHTTPMiddleware"}
)
STARLETTE_MIDDLEWARE = frozenset(
    {"starlette.middleware.Middleware", "fastapi.middleware.Middleware"}
)


@dataclass
class _Candidate:
    """One local middleware doing request-context work, and whether it can be replaced."""

    name: str
    definition: cst.ClassDef | cst.FunctionDef
    contract: Contract
    reason: str | None  # None: proven to do only the runtime's job, contract kept


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
app.add_middleware(RequestContextMiddleware, timing_header="X-Process-Time")
""",
        ),
        Example(
            "a correlation id under another name, registered in the call form",
            before="""\
import uuid

from fastapi import FastAPI, Request

app = FastAPI()


async def correlate(request: Request, call_next):
    correlation_id = request.headers.get("X-Correlation-ID") or str(uuid.uuid4())
    response = await call_next(request)
    response.headers["X-Correlation-ID"] = correlation_id
    return response


app.middleware("http")(correlate)
""",
            after="""\
from fastapi import FastAPI
from spaps_server_quickstart.request_context import RequestContextMiddleware

app = FastAPI()


app.add_middleware(RequestContextMiddleware, request_id_header="X-Correlation-ID", timing_header="")
""",
        ),
    )

    def __init__(self, config: MigrateConfig, facts: ProjectFacts | None = None) -> None:
        super().__init__(config, facts)
        self._imports: dict[str, str] = {}
        self._candidates: dict[str, _Candidate] = {}  # by class or function name
        self._functions: dict[str, cst.FunctionDef] = {}
        self._registered: set[str] = set()  # apps that already got RequestContextMiddleware
        self._replaced: set[str] = set()  # candidates whose registrations were rewritten
        self._removed_nodes: list[cst.CSTNode] = []
        self._middleware_entries = 0
        self._module: cst.Module | None = None
        self._kwargs: list[cst.Arg] = []
        self._runtime_apps: set[str] = set()  # apps built by create_app in this module
        self._reported: set[str] = set()  # candidates already reported as kept

    # -- analysis ---------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> bool:
        self._imports = imported_names(node)
        self._module = node
        self._functions = {
            statement.name.value: statement
            for statement in node.body
            if isinstance(statement, cst.FunctionDef)
        }
        for statement in node.body:
            if isinstance(statement, cst.ClassDef) and self._is_job_class(statement):
                dispatch = _dispatch_of(statement)
                contract = header_contract(dispatch) if dispatch else Contract()
                reason = contract.reason
                if not only_dispatch(statement):
                    reason = (
                        "it also does other work (error handling, other responses or side effects)"
                    )
                self._add(_Candidate(statement.name.value, statement, contract, reason))
            elif isinstance(statement, cst.FunctionDef) and _http_decorated(statement):
                self._function_candidate(statement)
            elif isinstance(statement, cst.SimpleStatementLine):
                name = _registered_function(statement)
                if name is not None and name in self._functions:
                    self._function_candidate(self._functions[name])
        self._settle_contract()
        self._runtime_apps = _apps_built_by_create_app(node, self._imports)
        if imported_names(node).get(RUNTIME_CLASS) == f"{RUNTIME_MODULE}.{RUNTIME_CLASS}":
            # Already migrated apps: a second pass must not add the middleware twice.
            self._registered.update(_apps_with_runtime_middleware(node))
        return True

    def _function_candidate(self, function: cst.FunctionDef) -> None:
        if not does_the_job(function.name.value, code(function.body)):
            return
        contract = header_contract(function)
        reason = contract.reason
        if not only_the_job(function):
            reason = "it also does other work (error handling, other responses or side effects)"
        self._add(_Candidate(function.name.value, function, contract, reason))

    def _add(self, candidate: _Candidate) -> None:
        self._candidates[candidate.name] = candidate

    def _settle_contract(self) -> None:
        """One header contract for the module's middleware, carried into the registration."""
        proven = [c for c in self._candidates.values() if c.reason is None]
        ids = {c.contract.request_id for c in proven if c.contract.request_id}
        timings = {c.contract.timing for c in proven if c.contract.timing}
        if len({n.lower() for n in ids}) > 1 or len({n.lower() for n in timings}) > 1:
            for candidate in proven:
                candidate.reason = (
                    "the middleware in this module send different id or timing headers ("
                    + ", ".join(sorted(ids | timings))
                    + "); the runtime sends one of each"
                )
            return
        kwargs: list[tuple[str, str]] = []
        request_id = next(iter(ids), None)
        timing = next(iter(timings), None)
        if request_id is None:
            kwargs.append(("request_id_header", ""))
        elif request_id.lower() != "x-request-id":
            kwargs.append(("request_id_header", request_id))
        if timing is None:
            kwargs.append(("timing_header", ""))
        elif timing.lower() != "server-timing":
            kwargs.append(("timing_header", timing))
        self._kwargs = [
            cst.Arg(
                cst.SimpleString(f'"{value}"'),
                keyword=cst.Name(key),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                ),
            )
            for key, value in kwargs
        ]

    def _is_job_class(self, node: cst.ClassDef) -> bool:
        bases = {resolve(base, self._imports) for base in class_bases(node)}
        if not bases & BASE_HTTP_MIDDLEWARE:
            return False
        return does_the_job(node.name.value, code(node.body))

    def _registration(
        self,
        app: str,
        original: cst.SimpleStatementLine,
        updated: cst.SimpleStatementLine,
        name: str,
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        """``app.add_middleware(RequestContextMiddleware, ...)`` in place of one registration."""
        self._replaced.add(name)
        self.changed(original, f"{name} replaced by {RUNTIME_CLASS}")
        if app in self._registered:
            self._removed_nodes.append(updated)
            return cst.RemoveFromParent()
        self._registered.add(app)
        call = cst.Call(
            func=cst.Attribute(cst.parse_expression(app), cst.Name("add_middleware")),
            args=[cst.Arg(cst.Name(RUNTIME_CLASS)), *self._kwargs],
        )
        self._removed_nodes.append(updated)
        return updated.with_changes(body=[cst.Expr(_with_commas(call))])

    def _on_runtime_app(self, app: str, anchor: cst.CSTNode, name: str) -> bool:
        """An app built by create_app already has RequestContextMiddleware: say what to set."""
        if app not in self._runtime_apps:
            return False
        settings = ", ".join(
            f"{arg.keyword.value.upper()}={code(arg.value)}"
            for arg in self._kwargs
            if arg.keyword is not None
        )
        self.follow_up(
            anchor,
            f"{name} runs on an app built by create_app, which installs {RUNTIME_CLASS} from"
            f" the settings: set {settings or 'nothing (the defaults match)'} in the service's"
            " environment, then delete this middleware",
        )
        return True

    def _refuse(self, anchor: cst.CSTNode, candidate: _Candidate) -> None:
        self._reported.add(candidate.name)
        self.follow_up(
            anchor,
            f"{candidate.name} does request-context work (request id, timing or access log) but"
            f" is kept: {candidate.reason}. Register {RUNTIME_CLASS} (request_id_header=,"
            " timing_header= keep the header names) and keep only the other work, by hand",
        )

    # -- registrations ----------------------------------------------------------------------

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        if len(updated_node.body) != 1:
            return updated_node
        small = updated_node.body[0]
        if not isinstance(small, cst.Expr) or not isinstance(small.value, cst.Call):
            return updated_node
        call = small.value
        function_name = _registered_function(updated_node)
        if function_name is not None:
            candidate = self._candidates.get(function_name)
            app = _registering_app(call)
            if candidate is None:
                if function_name not in self._functions:
                    self.follow_up(
                        original_node,
                        f"an http middleware '{function_name}' defined in another module is"
                        f" registered here: if it only does request id/timing/access log,"
                        f" register {RUNTIME_CLASS} instead, by hand",
                    )
                return updated_node
            if candidate.reason is not None:
                self._refuse(original_node, candidate)
                return updated_node
            if self._on_runtime_app(app, original_node, function_name):
                return updated_node
            return self._registration(app, original_node, updated_node, function_name)
        if not (
            isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "add_middleware"
            and call.args
            and isinstance(call.args[0].value, cst.Name)
        ):
            return updated_node
        name = call.args[0].value.value
        candidate = self._candidates.get(name)
        if candidate is None:
            return updated_node
        if candidate.reason is not None:
            self._refuse(original_node, candidate)
            return updated_node
        if len(call.args) > 1:
            self.follow_up(
                original_node,
                f"{name} is registered with arguments: replace it with {RUNTIME_CLASS} by hand"
                " (its request_id_header= and timing_header= keep the header names)",
            )
            return updated_node
        if self._on_runtime_app(code(call.func.value), original_node, name):
            return updated_node
        return self._registration(code(call.func.value), original_node, updated_node, name)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef | cst.SimpleStatementLine | cst.RemovalSentinel:
        if not _http_decorated(updated_node):
            return updated_node
        candidate = self._candidates.get(updated_node.name.value)
        if candidate is None:
            return updated_node
        if candidate.reason is not None:
            self._refuse(original_node, candidate)
            return updated_node
        name = updated_node.name.value
        if self._references(name) > 1 or self.imported_elsewhere(name):
            self.follow_up(
                original_node,
                f"'{name}' does the runtime's job but is referenced elsewhere:"
                f" remove those uses, then replace it with {RUNTIME_CLASS}",
            )
            return updated_node
        decorator = updated_node.decorators[0].decorator
        assert isinstance(decorator, cst.Call)
        assert isinstance(decorator.func, cst.Attribute)
        app = code(decorator.func.value)
        if self._on_runtime_app(app, original_node, name):
            return updated_node
        self._removed_nodes.append(updated_node)
        self._replaced.add(name)
        self.changed(original_node, f"@{app}.middleware function '{name}' replaced")
        if app in self._registered:
            return cst.RemoveFromParent()
        self._registered.add(app)
        statement = cst.SimpleStatementLine(
            body=[
                cst.Expr(
                    _with_commas(
                        cst.Call(
                            func=cst.Attribute(
                                cst.parse_expression(app), cst.Name("add_middleware")
                            ),
                            args=[cst.Arg(cst.Name(RUNTIME_CLASS)), *self._kwargs],
                        )
                    )
                )
            ],
            leading_lines=updated_node.leading_lines,
        )
        return statement

    def _references(self, name: str) -> int:
        """How often ``name`` is used as a name in the module (its definition included)."""
        if self._module is None:
            return 0
        counter = _NameCounter(name)
        self._module.visit(counter)
        return counter.count

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return node.name.value not in self._candidates

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        """``Middleware(RequestIdMiddleware)`` in ``FastAPI(middleware=[...])`` lists."""
        name = code(updated_node.func)
        if resolve(name, self._imports) not in STARLETTE_MIDDLEWARE or not updated_node.args:
            return updated_node
        first = updated_node.args[0].value
        if not isinstance(first, cst.Name) or first.value not in self._candidates:
            return updated_node
        candidate = self._candidates[first.value]
        if candidate.reason is not None:
            self._refuse(original_node, candidate)
            return updated_node
        if len(updated_node.args) > 1:
            self.follow_up(
                original_node,
                f"{first.value} is registered with arguments: replace it with"
                f" {RUNTIME_CLASS} by hand (request_id_header=, timing_header= keep the names)",
            )
            return updated_node
        self._replaced.add(first.value)
        self._middleware_entries += 1
        self.changed(original_node, f"{first.value} replaced by {RUNTIME_CLASS}")
        if self._middleware_entries > 1:
            self.follow_up(
                original_node,
                f"{RUNTIME_CLASS} is now listed more than once: keep one entry",
            )
        return _with_commas(
            updated_node.with_changes(
                args=[
                    updated_node.args[0].with_changes(value=cst.Name(RUNTIME_CLASS)),
                    *self._kwargs,
                ]
            )
        )

    # -- clean-up ---------------------------------------------------------------------------

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        module = updated_node
        for name, candidate in sorted(self._candidates.items()):
            definition = next(
                (
                    s
                    for s in module.body
                    if isinstance(s, cst.ClassDef | cst.FunctionDef) and s.name.value == name
                ),
                None,
            )
            if definition is None or (
                isinstance(definition, cst.FunctionDef) and _http_decorated(definition)
            ):
                continue  # a decorated function: leave_FunctionDef replaced or reported it
            if name not in self._replaced:
                if candidate.reason is not None and name not in self._reported:
                    self._refuse(definition, candidate)
                elif candidate.reason is None:
                    self.follow_up(
                        definition,
                        f"{name} does the runtime's job (request id/access log/timing) but no"
                        " registration of it was rewritten here: replace its registrations"
                        f" with {RUNTIME_CLASS}, then delete it",
                    )
                continue
            rest = module.with_changes(body=[s for s in module.body if s is not definition])
            if mentioned(rest.code, name) or self.imported_elsewhere(name):
                self.follow_up(
                    definition,
                    f"{name} is still referenced (in this module or imported by another):"
                    " remove those uses, then delete it",
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
        return remove_unused_imports(module, self.removable(candidates))


class _NameCounter(Visitor):
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name:
            self.count += 1


def _apps_built_by_create_app(module: cst.Module, imports: dict[str, str]) -> set[str]:
    """Names assigned ``create_app(...)`` of the runtime at module level."""
    apps: set[str] = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
                called = resolve(code(small.value.func), imports)
                if called.startswith("spaps_server_quickstart") and called.endswith("create_app"):
                    apps.update(code(target.target) for target in small.targets)
    return apps


def _with_commas(call: cst.Call) -> cst.Call:
    args = list(call.args)
    return call.with_changes(
        args=[
            arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            for arg in args[:-1]
        ]
        + [args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    )


def _dispatch_of(node: cst.ClassDef) -> cst.FunctionDef | None:
    for statement in node.body.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == "dispatch":
            return statement
    return None


def _http_decorated(node: cst.FunctionDef) -> bool:
    """``@app.middleware("http")`` (alone: stacked decorators are not this shape)."""
    if len(node.decorators) != 1:
        return False
    decorator = node.decorators[0].decorator
    return (
        isinstance(decorator, cst.Call)
        and isinstance(decorator.func, cst.Attribute)
        and decorator.func.attr.value == "middleware"
        and len(decorator.args) == 1
        and isinstance(decorator.args[0].value, cst.SimpleString)
        and decorator.args[0].value.evaluated_value == "http"
    )


def _registered_function(statement: cst.SimpleStatementLine) -> str | None:
    """``fn`` in ``app.middleware("http")(fn)`` or ``app.add_middleware(BaseHTTPMiddleware,
    dispatch=fn)``."""
    if len(statement.body) != 1 or not isinstance(statement.body[0], cst.Expr):
        return None
    call = statement.body[0].value
    if not isinstance(call, cst.Call):
        return None
    inner = call.func
    if (
        isinstance(inner, cst.Call)
        and isinstance(inner.func, cst.Attribute)
        and inner.func.attr.value == "middleware"
        and len(inner.args) == 1
        and isinstance(inner.args[0].value, cst.SimpleString)
        and inner.args[0].value.evaluated_value == "http"
        and len(call.args) == 1
        and isinstance(call.args[0].value, cst.Name)
    ):
        return call.args[0].value.value
    if (
        isinstance(inner, cst.Attribute)
        and inner.attr.value == "add_middleware"
        and call.args
        and code(call.args[0].value).split(".")[-1] == "BaseHTTPMiddleware"
    ):
        for arg in call.args[1:]:
            if (
                arg.keyword is not None
                and arg.keyword.value == "dispatch"
                and isinstance(arg.value, cst.Name)
            ):
                return arg.value.value
    return None


def _registering_app(call: cst.Call) -> str:
    inner = call.func
    if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute):
        return code(inner.func.value)
    assert isinstance(inner, cst.Attribute)
    return code(inner.value)


def _apps_with_runtime_middleware(module: cst.Module) -> set[str]:
    apps: set[str] = set()
    marker = f".add_middleware({RUNTIME_CLASS}"
    for line in module.code.splitlines():
        if marker in line:
            apps.add(line.strip().split(".add_middleware")[0])
    return apps


def _is(node: cst.BaseStatement) -> Callable[[cst.BaseStatement], bool]:
    return lambda statement: statement is node
