"""What a local request-context middleware does, read from its code.

``middleware-to-runtime`` replaces a middleware only when its body does nothing but the
runtime's job (request id, timing, access log) and its header contract can be kept. This module
holds those two judgements: :func:`does_the_job` / :func:`only_the_job` / :func:`only_dispatch`
(what it does) and :func:`header_contract` (which headers its clients see).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from spaps_cli.codemods.statements import code
from spaps_cli.codemods.traversal import Visitor

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


#: What request-context work looks like in a body: timing, generated ids, logging.
_JOB_WORK = re.compile(
    r"\b(?:perf_counter|monotonic|uuid[14]|time\.time)\b"
    r"|\b(?:log|logger|logging|_logger|LOGGER|access_log)\.(?:info|debug|warning|log)\("
)


def does_the_job(name: str, body: str) -> bool:
    """Is it request-id/access-log/timing middleware, judged by what it does (or is named)?"""
    if _AUTH_TEXT.search(name) or _AUTH_TEXT.search(body):
        return False
    return bool(_JOB_NAME.search(name) or _JOB_TEXT.search(body) or _JOB_WORK.search(body))


_ID_LIKE = re.compile(r"id|correlation|trace", re.I)
_TIMING_LIKE = re.compile(
    r"perf_counter|monotonic|time\(|elapsed|duration|process_time|start", re.I
)


@dataclass
class Contract:
    """The headers a middleware shows clients: the id header it echoes, its timing header."""

    request_id: str | None = None
    timing: str | None = None
    reason: str | None = None  # why the runtime cannot keep it


def header_contract(function: cst.FunctionDef) -> Contract:
    """Read the header names a request-context function reads and sets, or why not."""
    collector = _HeaderCollector()
    function.body.visit(collector)
    contract = Contract()
    if collector.dynamic:
        contract.reason = "it sets a response header whose name is not a literal"
        return contract
    ids = [name for name, value in collector.sets if not _TIMING_LIKE.search(value + name)]
    timings = [(name, value) for name, value in collector.sets if _TIMING_LIKE.search(value + name)]
    if len({name.lower() for name in ids}) > 1 or len({n.lower() for n, _ in timings}) > 1:
        contract.reason = "it sets several id or timing headers; the runtime sends one of each"
        return contract
    contract.request_id = ids[0] if ids else None
    if timings:
        contract.timing = timings[0][0]
        if "1000" in code(function.body) and timings[0][0].lower() != "server-timing":
            contract.reason = (
                f"it writes {timings[0][0]} in milliseconds; the runtime writes seconds there"
            )
            return contract
    set_names = {name.lower() for name, _ in collector.sets}
    read_ids = {
        name
        for name in collector.reads
        if _ID_LIKE.search(name) and name.lower() not in set_names - {n.lower() for n in ids}
    }
    answered = {contract.request_id.lower()} if contract.request_id else set()
    strays = sorted(name for name in read_ids if name.lower() not in answered)
    if strays and answered:
        contract.reason = (
            f"it reads {', '.join(strays)} but answers {contract.request_id}; the runtime reads"
            " and answers one header"
        )
    elif strays:
        contract.reason = f"it reads {', '.join(strays)} without answering it"
    return contract


class _HeaderCollector(Visitor):
    def __init__(self) -> None:
        self.reads: list[str] = []
        self.sets: list[tuple[str, str]] = []
        self.dynamic = False

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "get"
            and isinstance(func.value, cst.Attribute)
            and func.value.attr.value == "headers"
            and node.args
            and isinstance(node.args[0].value, cst.SimpleString)
        ):
            self.reads.append(str(node.args[0].value.evaluated_value))

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            subscript = target.target
            if (
                isinstance(subscript, cst.Subscript)
                and isinstance(subscript.value, cst.Attribute)
                and subscript.value.attr.value == "headers"
            ):
                key = subscript.slice[0].slice
                value = key.value if isinstance(key, cst.Index) else None
                if isinstance(value, cst.SimpleString):
                    self.sets.append((str(value.evaluated_value), code(node.value)))
                else:
                    self.dynamic = True

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if isinstance(node.value, cst.Attribute) and node.value.attr.value == "headers":
            key = node.slice[0].slice
            value = key.value if isinstance(key, cst.Index) else None
            if isinstance(value, cst.SimpleString):
                self.reads.append(str(value.evaluated_value))


def only_dispatch(node: cst.ClassDef) -> bool:
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
    return len(dispatch) == 1 and only_the_job(dispatch[0])


def only_the_job(function: cst.FunctionDef) -> bool:
    """Does ``function`` do *nothing but* what RequestContextMiddleware does?

    Looking like the job (:func:`does_the_job`) is not enough to delete it: an error handler
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
    """The statement-by-statement test behind :func:`only_the_job`."""

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


class _CallChecker(Visitor):
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
