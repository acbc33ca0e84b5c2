"""Reading a block: its handler registrations, and why a set of handlers cannot be moved (with
the statement that blocks it)."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from spaps_cli.codemods.on_event_to_lifespan.registrations import (
    ADD_EVENT_HANDLER_PARAMETERS,
    DECORATOR_PARAMETERS,
    EMPTY_MODULE,
    EVENTS,
    ON_EVENT_PARAMETERS,
    ROUTER_LIFESPAN_FASTAPI,
    Registration,
    Target,
    bind_arguments,
    is_on_event,
    keyword_arg,
    owner_of,
    registration_event,
    string_value,
)
from spaps_cli.codemods.on_event_to_lifespan.scope import Frame
from spaps_cli.codemods.on_event_to_lifespan.targets import TargetReader


class LifespanAnalysis(TargetReader):
    """The questions asked of each block: its registrations, and why they cannot be moved."""

    def _registrations(
        self, statements: Sequence[cst.BaseStatement], targets: dict[str, Target]
    ) -> list[Registration]:
        found: list[Registration] = []
        for index, statement in enumerate(statements):
            if isinstance(statement, cst.FunctionDef):
                found.extend(self._decorated(index, statement, targets))
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    registration = self._call_registration(index, small)
                    if registration is not None:
                        found.append(registration)
        constructor: list[Registration] = []
        for target in targets.values():
            for event in EVENTS:
                arg = keyword_arg(target.call, f"on_{event}")
                if arg is None:
                    continue
                if not isinstance(arg.value, cst.List | cst.Tuple):
                    constructor.append(
                        Registration(
                            target.name,
                            event,
                            target.index,
                            "constructor",
                            None,
                            None,
                            problem=f"on_{event}= is not a literal list",
                        )
                    )
                    continue
                for element in arg.value.elements:
                    problem = (
                        "a starred element in the handler list"
                        if isinstance(element, cst.StarredElement)
                        else None
                    )
                    constructor.append(
                        Registration(
                            target.name,
                            event,
                            target.index,
                            "constructor",
                            element.value,
                            None,
                            problem=problem,
                        )
                    )
        # Constructor handlers are registered first; startup handlers keep their own order.
        return constructor + found

    def _decorated(
        self, index: int, node: cst.FunctionDef, targets: dict[str, Target]
    ) -> list[Registration]:
        """The ``@x.on_event(...)`` registrations of one def, in the order Python runs them.

        Decorators apply bottom-up, so the lowest registers first. An ``on_event`` decorator of
        an app or router created here returns the function unchanged, so stacking several of
        them is harmless; any other decorator above one means the def's name is bound to that
        decorator's result, not to the function that was registered.
        """
        decorators = node.decorators
        transparent = [is_on_event(d.decorator, targets) for d in decorators]
        found: list[Registration] = []
        for position in reversed(range(len(decorators))):
            decorator = decorators[position]
            call = decorator.decorator
            if not is_on_event(call, None):
                continue
            assert isinstance(call, cst.Call)
            assert isinstance(call.func, cst.Attribute)
            owner = owner_of(call.func.value)
            if owner is None:
                continue
            event = registration_event(call)
            problem = None
            if bind_arguments(call, ON_EVENT_PARAMETERS) is None:
                problem = "on_event(...) is not called with one event_type argument"
            elif event not in EVENTS:
                problem = 'the event_type is not a literal "startup" or "shutdown"'
            elif not all(transparent[:position]):
                above = next(d for d, t in zip(decorators, transparent, strict=False) if not t)
                problem = (
                    f"@{EMPTY_MODULE.code_for_node(above.decorator)} is applied on top of @on_event,"
                    f" so '{node.name.value}' names its result, not the registered function"
                )
            is_async = (node.asynchronous is not None) if all(transparent[position + 1 :]) else None
            found.append(
                Registration(
                    owner,
                    event,
                    index,
                    "decorator",
                    cst.Name(node.name.value),
                    is_async,
                    problem=problem,
                    decorator=decorator,
                )
            )
        return found

    def _call_registration(self, index: int, small: cst.BaseSmallStatement) -> Registration | None:
        """``x.add_event_handler(event_type, func)`` or ``x.on_event(event_type)(func)``."""
        if not isinstance(small, cst.Expr) or not isinstance(small.value, cst.Call):
            return None
        call = small.value
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "add_event_handler":
            owner = owner_of(func.value)
            bound = bind_arguments(call, ADD_EVENT_HANDLER_PARAMETERS)
            shape = "add_event_handler(...) does not bind to (event_type, func)"
        elif is_on_event(func, None):
            assert isinstance(func, cst.Call)
            assert isinstance(func.func, cst.Attribute)
            owner = owner_of(func.func.value)
            inner = bind_arguments(func, ON_EVENT_PARAMETERS)
            outer = bind_arguments(call, DECORATOR_PARAMETERS)
            bound = None if inner is None or outer is None else {**inner, **outer}
            shape = "on_event(...)(...) does not bind to (event_type)(func)"
        else:
            return None
        if owner is None:
            return None
        if bound is None:
            return Registration(owner, None, index, "call", None, None, problem=shape, small=small)
        event = string_value(bound["event_type"])
        problem = (
            None if event in EVENTS else 'the event_type is not a literal "startup" or "shutdown"'
        )
        return Registration(
            owner, event, index, "call", bound["func"], None, problem=problem, small=small
        )

    def _owner_problem(
        self,
        owner: str,
        owned: list[Registration],
        targets: dict[str, Target],
        frame: Frame,
        bound_at: dict[str, list[int]],
        at_module: bool,
    ) -> tuple[int, str] | None:
        """Why ``owner``'s handlers cannot be moved, and the statement that stops it.

        The statement is the construct a person has to change (the constructor, the import,
        the second definition), not the handler: that is where the follow-up points.
        """
        first = owned[0].index
        target = targets.get(owner)
        if target is None:
            where = "module" if at_module else "function"
            bound = bound_at.get(owner, [])
            return (
                bound[0] if len(bound) == 1 else first,
                f"'{owner}' is not created by FastAPI(...)/APIRouter(...)/Starlette(...)/Router(...)"
                f" or a factory in this"
                f" {where} (imported, a parameter, or built elsewhere): move these handlers into"
                " the lifespan where it is created",
            )
        if target.defined > 1 or len(bound_at.get(owner, [])) > 1:
            later = [i for i in bound_at.get(owner, []) if i != target.index]
            return (
                later[0] if later else target.index,
                f"'{owner}' is assigned more than once: decide which app owns the handlers,"
                " then give that app a lifespan by hand",
            )
        if target.factory_problem is not None:
            return (
                target.factory_index,
                f"'{owner}' is built by a factory that cannot take the lifespan:"
                f" {target.factory_problem}; migrate by hand",
            )
        if keyword_arg(target.call, "lifespan") is not None and target.kind != "runtime":
            return (
                target.index,
                f"'{owner}' already has lifespan=, so {target.framework} never runs these handlers:"
                " move their bodies into that lifespan (before/after its yield) or delete them",
            )
        if any(arg.star for arg in target.call.args):
            return (
                target.index,
                f"'{owner}' is created with *args/**kwargs that may carry a lifespan= (which"
                f" would make {target.framework} skip every event handler): migrate by hand",
            )
        if (
            target.kind == "router"
            and target.framework == "FastAPI"
            and not self._router_lifespans_merged()
        ):
            return (
                target.index,
                f"'{owner}' is a router: FastAPI merges a router's lifespan= into the app's only"
                f" from {ROUTER_LIFESPAN_FASTAPI} on, and {self._fastapi_requirement()} allows"
                f" older versions, where the handlers would silently never run: require"
                f" fastapi>={ROUTER_LIFESPAN_FASTAPI} and re-run, or move them into the app's"
                " lifespan by hand",
            )
        for registration in owned:
            if registration.problem is not None:
                return (
                    registration.index,
                    registration.problem + f": migrate the handlers of '{owner}' by hand",
                )
            if registration.index < target.index and registration.how != "constructor":
                return (
                    registration.index,
                    f"a handler is registered on '{owner}' before '{owner}' is created:"
                    " fix the order, then re-run",
                )
            handler = registration.handler
            if isinstance(handler, cst.Name):
                bound = bound_at.get(handler.value, [])
                if len(bound) > 1:
                    return (
                        bound[1],
                        f"'{handler.value}' is defined more than once, so the lifespan would call"
                        " a different function than the one registered: rename one, then re-run",
                    )
                if handler.value in frame.called:
                    return (
                        registration.index,
                        f"'{handler.value}' is also called directly at import time: decide"
                        " whether it should run at import or at startup, then migrate by hand",
                    )
                if registration.how != "decorator" and bound and min(bound) > registration.index:
                    return (
                        registration.index,
                        f"'{handler.value}' is registered before it is defined: fix the"
                        " order, then re-run",
                    )
        return None

    def _router_lifespans_merged(self) -> bool:
        """Does every FastAPI the project allows merge a router's lifespan into the app's?"""
        versions = self.config.versions
        return versions is not None and versions.guarantees("fastapi", ROUTER_LIFESPAN_FASTAPI)

    def _fastapi_requirement(self) -> str:
        versions = self.config.versions
        if versions is None:
            return "the project (no FastAPI requirement found)"
        return versions.describe("fastapi")
