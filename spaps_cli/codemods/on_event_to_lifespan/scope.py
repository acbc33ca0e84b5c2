"""Which names a block binds and calls, and which registrations sit where (scopes).

FastAPI drops every ``on_event`` handler once an app has a lifespan, so moving the handlers of
one block is only safe when nothing else registers on the same app: these records are what the
traversal collects to prove that.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import libcst as cst

from spaps_cli.codemods.import_edits import bound_name
from spaps_cli.codemods.traversal import Visitor

HANDLER_LISTS = frozenset({"on_startup", "on_shutdown", "lifespan_context"})


RUNNERS = frozenset({"run", "run_sync", "run_until_complete", "create_task", "ensure_future"})


@dataclass
class Frame:
    """What the traversal saw inside one module or function body (one scope)."""

    assigned: set[str]  # names bound at the top of this body: a local app shadows an outer one
    lambda_depth: int
    called: set[str] = field(default_factory=set)  # names called when this body runs
    registrations: list[Nested] = field(default_factory=list)
    list_uses: list[ListUse] = field(default_factory=list)


@dataclass
class Nested:
    """An ``on_event``/``add_event_handler`` call anywhere inside a scope (original node)."""

    call: cst.Call
    owner: str
    frames: tuple[Frame, ...]  # the scopes it sits in, outermost first


@dataclass
class ListUse:
    """``app.router.on_startup`` / ``on_shutdown`` / ``lifespan_context`` (original node).

    Handlers appended to those lists, or a lifespan assigned there, bypass ``on_event``; once
    the app has ``lifespan=`` FastAPI would silently drop them, so the app is not rewritten.
    """

    node: cst.Attribute
    owner: str
    frames: tuple[Frame, ...]


class _ReturnCounter(Visitor):
    """``return`` statements of one function, not of the functions and classes inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self._depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._depth += 1
        return self._depth == 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Return(self, node: cst.Return) -> None:
        self.count += 1


def count_returns(node: cst.FunctionDef) -> int:
    counter = _ReturnCounter()
    node.visit(counter)
    return counter.count


def factories_with_outside_handlers(module: cst.Module, source: Callable[[], str]) -> set[str]:
    """Local defs whose result gets event handlers at module level (``app = make(); app.on_event``).

    A cheap look at the module's top-level assignments of a local def's result, then (only
    when there is one) a word search of ``source()``, the module's code, for registrations on
    the names they bind.
    """
    defs = {s.name.value for s in module.body if isinstance(s, cst.FunctionDef)}
    calls: dict[str, str] = {}
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if (
                isinstance(small, cst.Assign | cst.AnnAssign)
                and isinstance(small.value, cst.Call)
                and isinstance(small.value.func, cst.Name)
                and small.value.func.value in defs
            ):
                for name in assigned_names(small):
                    calls[name] = small.value.func.value
    if not calls:
        return set()
    code = source()
    return {
        factory
        for name, factory in calls.items()
        if re.search(rf"\b{re.escape(name)}(\.router)?\.(on_event|add_event_handler)\b", code)
    }


def body_names(statements: Sequence[cst.BaseStatement]) -> set[str]:
    names: set[str] = set()
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                names.update(assigned_names(small))
    return names


class _BindingCollector(Visitor):
    """The names a statement binds in the scope it runs in (not in nested defs or lambdas)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def _store(self, target: cst.BaseExpression | cst.BaseAssignTargetExpression) -> None:
        if isinstance(target, cst.Name):
            self.names.append(target.value)
        elif isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self._store(element.value)
        elif isinstance(target, cst.StarredElement):
            self._store(target.value)

    def _defines(self, name: cst.Name) -> bool:
        self.names.append(name.value)
        return False  # its body is another scope

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return self._defines(node.name)

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return self._defines(node.name)

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._store(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._store(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._store(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._store(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._store(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        # ``with x as name``, ``except E as name``; import aliases are counted below.
        self._store(node.name)

    def visit_Del(self, node: cst.Del) -> None:
        self._store(node.target)

    def visit_Import(self, node: cst.Import) -> bool:
        self.names.extend(assigned_names(node))
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        self.names.extend(assigned_names(node))
        return False

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        if node.name is not None:
            self.names.append(node.name.value)

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        if node.name is not None:
            self.names.append(node.name.value)

    def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
        if node.rest is not None:
            self.names.append(node.rest.value)


def module_bindings(statement: cst.BaseStatement) -> list[str]:
    """Every name ``statement`` binds at module level, once per binding."""
    collector = _BindingCollector()
    statement.visit(collector)
    return collector.names


def assigned_names(small: cst.BaseSmallStatement) -> list[str]:
    names: list[str] = []
    if isinstance(small, cst.Assign):
        for target in small.targets:
            if isinstance(target.target, cst.Name):
                names.append(target.target.value)
    elif isinstance(small, cst.AnnAssign | cst.AugAssign) and isinstance(small.target, cst.Name):
        names.append(small.target.value)
    elif isinstance(small, cst.Import | cst.ImportFrom) and not isinstance(
        small.names, cst.ImportStar
    ):
        names.extend(bound_name(alias) for alias in small.names)
    return names
