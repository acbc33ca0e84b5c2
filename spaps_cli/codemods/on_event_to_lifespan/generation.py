"""Writing a lifespan: the ``@asynccontextmanager`` function, the names it may use, the imports
it needs, and the constructor (or local factory) that takes it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import libcst as cst

from spaps_cli.codemods.import_edits import bound_name, module_of
from spaps_cli.codemods.on_event_to_lifespan.analysis import LifespanAnalysis
from spaps_cli.codemods.on_event_to_lifespan.arguments import appended_lifespan, with_lifespan
from spaps_cli.codemods.on_event_to_lifespan.block_edits import (
    BlockEdits,
    replace_constructor,
    small_index,
)
from spaps_cli.codemods.on_event_to_lifespan.registrations import (
    EMPTY_MODULE,
    EVENTS,
    FASTAPI_APP_CLASSES,
    STARLETTE_APP_CLASSES,
    Registration,
    Step,
    Target,
    keyword_arg,
)
from spaps_cli.codemods.on_event_to_lifespan.scope import module_bindings

#: What the generated lifespan uses: bound name -> (module, imported name, acceptable sources).
HELPERS: dict[str, tuple[str, str | None, frozenset[str]]] = {
    "asynccontextmanager": (
        "contextlib",
        "asynccontextmanager",
        frozenset({"contextlib.asynccontextmanager"}),
    ),
    "AsyncIterator": (
        "collections.abc",
        "AsyncIterator",
        frozenset({"collections.abc.AsyncIterator", "typing.AsyncIterator"}),
    ),
    "inspect": ("inspect", None, frozenset({"inspect"})),
    "functools": ("functools", None, frozenset({"functools"})),
    "asyncio": ("asyncio", None, frozenset({"asyncio"})),
    "sys": ("sys", None, frozenset({"sys"})),
    # A local factory's new ``lifespan`` parameter is typed with these.
    "Callable": (
        "collections.abc",
        "Callable",
        frozenset({"collections.abc.Callable", "typing.Callable"}),
    ),
    "AbstractAsyncContextManager": (
        "contextlib",
        "AbstractAsyncContextManager",
        frozenset({"contextlib.AbstractAsyncContextManager"}),
    ),
    "Optional": ("typing", "Optional", frozenset({"typing.Optional"})),
    # A router lifespan's annotation: the app that runs it.
    "FastAPI": ("fastapi", "FastAPI", FASTAPI_APP_CLASSES),
    "Starlette": ("starlette.applications", "Starlette", STARLETTE_APP_CLASSES),
}


class LifespanWriter(LifespanAnalysis):
    """Turns a block's handlers into one lifespan and plans the edits that install it."""

    def _plan_owner(
        self,
        target: Target,
        owned: list[Registration],
        function_defs: dict[str, list[tuple[int, bool | None]]],
        edits: BlockEdits,
        at_module: bool,
        statements: Sequence[cst.BaseStatement],
    ) -> None:
        steps: dict[str, list[Step]] = {"startup": [], "shutdown": []}
        pre_assignments: list[cst.BaseStatement] = []
        for registration in owned:
            assert registration.event is not None
            assert registration.handler is not None
            handler = registration.handler
            is_async = registration.is_async
            if isinstance(handler, cst.Name) and registration.how != "decorator":
                defs = [
                    d for d in function_defs.get(handler.value, []) if d[0] < registration.index
                ]
                if defs and len(function_defs[handler.value]) == len(defs):
                    is_async = defs[-1][1]
            if isinstance(handler, cst.Name | cst.Attribute):
                expression = EMPTY_MODULE.code_for_node(handler)
            else:
                # Handler factories and lambdas run where they were registered, as before.
                variable = self._fresh(f"{registration.event}_handler")
                assignment = cst.SimpleStatementLine(
                    body=[cst.Assign(targets=[cst.AssignTarget(cst.Name(variable))], value=handler)]
                )
                if registration.how == "constructor":
                    pre_assignments.append(assignment)
                else:
                    assert registration.small is not None
                    position = small_index(statements[registration.index], registration.small)
                    edits.replace_small[(registration.index, position)] = assignment.body[0]
                expression = variable
            if registration.how == "decorator":
                assert registration.decorator is not None
                edits.remove_decorators.setdefault(registration.index, set()).add(
                    id(registration.decorator)
                )
            elif registration.how == "call" and isinstance(handler, cst.Name | cst.Attribute):
                assert registration.small is not None
                position = small_index(statements[registration.index], registration.small)
                edits.replace_small[(registration.index, position)] = None
            steps[registration.event].append(Step(expression, is_async))
        lifespan_name = self._fresh(
            "lifespan"
            if target.kind != "router"
            else "router_lifespan"
            if target.name == "router"
            else f"{target.name}_lifespan"
        )
        annotation = (
            target.callee
            if target.kind in ("app", "factory")
            else self._app_class_name(target.framework)
        )
        if target.kind == "factory":
            factory = statements[target.factory_index]
            assert isinstance(factory, cst.FunctionDef)
            edits.replace_statement[target.factory_index] = self._factory_with_lifespan(
                factory, target.callee
            )
        parameter = "app" if (target.name == "app" or not self._is_taken("app")) else "_app"
        code = self._lifespan_code(lifespan_name, parameter, annotation, steps)
        function = cst.parse_statement(code, config=self._config)
        edits.insert_before.setdefault(target.index, []).extend([*pre_assignments, function])
        if target.kind == "runtime" and keyword_arg(target.call, "lifespan") is not None:
            edits.replace_call[target.index] = (
                target.call,
                appended_lifespan(target.call, lifespan_name),
            )
            self.follow_up(
                None,
                f"'{target.name}' already had a lifespan, so FastAPI never ran these handlers;"
                f" they now run from '{lifespan_name}', after the existing lifespan: check that"
                " this is wanted",
                hint="create_app(",
            )
        else:
            edits.replace_call[target.index] = (
                target.call,
                with_lifespan(target.call, lifespan_name, self._indent),
            )

    def _factory_with_lifespan(self, node: cst.FunctionDef, app_class: str) -> cst.FunctionDef:
        """``def create_app(*, lifespan: ... = None)`` passing ``lifespan=lifespan`` to its app."""
        manager = f"{self._helper('AbstractAsyncContextManager')}[None]"
        callable_type = f"{self._helper('Callable')}[[{app_class}], {manager}]"
        if self._future_annotations():
            annotation = f"{callable_type} | None"
        else:
            annotation = f"{self._helper('Optional')}[{callable_type}]"
        parameter = cst.Param(
            cst.Name("lifespan"),
            annotation=cst.Annotation(cst.parse_expression(annotation)),
            default=cst.Name("None"),
        )
        params = node.params
        star = params.star_arg
        params = params.with_changes(
            kwonly_params=[*params.kwonly_params, parameter],
            star_arg=cst.ParamStar() if isinstance(star, cst.MaybeSentinel) else star,
        )
        assert isinstance(node.body, cst.IndentedBlock)
        body = list(node.body.body)
        apps = {t.index: t for t in self._targets(body).values() if t.kind == "app"}
        for index, app in apps.items():
            body[index] = replace_constructor(
                body[index], app.call, with_lifespan(app.call, "lifespan", self._indent)
            )
        return node.with_changes(params=params, body=node.body.with_changes(body=body))

    def _future_annotations(self) -> bool:
        """Does the module defer annotations (so ``X | None`` works on any Python)?"""
        for statement in self._module.body if self._module is not None else ():
            if (
                isinstance(statement, cst.SimpleStatementLine)
                and isinstance(statement.body[0], cst.ImportFrom)
                and module_of(statement.body[0]) == "__future__"
                and not isinstance(statement.body[0].names, cst.ImportStar)
                and any(bound_name(a) == "annotations" for a in statement.body[0].names)
            ):
                return True
        return False

    def _app_class_name(self, framework: Literal["FastAPI", "Starlette"]) -> str:
        """How a router lifespan's annotation names the app class (``FastAPI``/``Starlette``).

        An import of that class or of its module bound once is reused; otherwise the class is
        imported like the other helpers, under an alias when the name is taken.
        """
        classes, module = (
            (FASTAPI_APP_CLASSES, "fastapi")
            if framework == "FastAPI"
            else (STARLETTE_APP_CLASSES, "starlette.applications")
        )
        for bound, source in self._callees.items():
            if source in classes and self._bound_once(bound):
                return bound
            if source == module and self._bound_once(bound):
                return f"{bound}.{framework}"
        return self._helper(framework)

    def _helper(self, bound: str) -> str:
        """The local name under which the lifespan can use one of the helpers it needs.

        The module may already bind that name to something else (``from sqlalchemy import
        inspect``, a local ``asynccontextmanager = ...``): a plain import would rebind it for
        the whole module, or be rebound itself before the lifespan runs. A helper the module
        already imports is reused; a free name is imported as is; a taken one is imported
        under a fresh ``_``-prefixed alias (``import inspect as _inspect``).
        """
        if bound in self._helpers:
            return self._helpers[bound]
        source, name, accepted = HELPERS[bound]
        if self._callees.get(bound) in accepted and self._bound_once(bound):
            local = bound
        elif not self._is_taken(bound):
            local = bound
            self._chosen.add(local)
            self._imports.add((source, name, None))
        else:
            local = self._fresh(f"_{bound}")
            self._imports.add((source, name, local))
        self._helpers[bound] = local
        return local

    def _bound_once(self, name: str) -> bool:
        """Is ``name`` bound by exactly one top-level statement (its import), unconditionally?

        A binding under a top-level ``if``/``try``/``with``/``for``/``while``/``match`` may or
        may not happen, so any binding there counts as a rebinding; such statements that do not
        bind ``name`` (``if __name__ == "__main__":``) change nothing.
        """
        count = 0
        for statement in self._module.body if self._module is not None else ():
            bound = module_bindings(statement).count(name)
            if bound and not isinstance(
                statement, cst.SimpleStatementLine | cst.FunctionDef | cst.ClassDef
            ):
                return False
            count += bound
        return count == 1

    def _fresh(self, base: str) -> str:
        name = base
        number = 2
        while self._is_taken(name):
            name = f"{base}_{number}"
            number += 1
        self._chosen.add(name)
        return name

    def _lifespan_code(
        self, name: str, parameter: str, annotation: str, steps: dict[str, list[Step]]
    ) -> str:
        indent = self._indent
        lines = [
            f"@{self._helper('asynccontextmanager')}",
            f"async def {name}({parameter}: {annotation})"
            f" -> {self._helper('AsyncIterator')}[None]:",
        ]
        test = None
        if any(step.is_async is None for event in EVENTS for step in steps[event]):
            test = self._async_test_name()
            lines.extend(f"{indent}{line}" if line else "" for line in self._async_test_code(test))
        for event in EVENTS:
            if event == "shutdown":
                lines.append(f"{indent}yield")
            for step in steps[event]:
                call = step.expression
                if step.is_async is True:
                    lines.append(f"{indent}await {call}()")
                elif step.is_async is False:
                    lines.append(f"{indent}{call}()")
                else:
                    lines.append(f"{indent}if {test}({call}):")
                    lines.append(f"{indent}{indent}await {call}()")
                    lines.append(f"{indent}else:")
                    lines.append(f"{indent}{indent}{call}()")
        newline = (
            self._config.default_newline if isinstance(self._config.default_newline, str) else "\n"
        )
        return newline.join(lines) + newline

    def _async_test_name(self) -> str:
        """The name of the lifespan's own ``is_async_callable``, one for the whole module.

        Each lifespan defines it locally, so every lifespan of a module can use the same name.
        """
        if "is_async_callable" not in self._helpers:
            self._helpers["is_async_callable"] = self._fresh("is_async_callable")
        return self._helpers["is_async_callable"]

    def _async_test_code(self, name: str) -> list[str]:
        """Lines of a local function deciding, as Starlette does, whether to await a handler.

        Starlette (and FastAPI after it) awaits a handler when ``is_async_callable`` says so:
        past any ``functools.partial`` layers, a coroutine function or a callable whose
        ``__call__`` is one, tested with ``asyncio.iscoroutinefunction`` before Python 3.13
        (it also accepts asyncio's marker, which ``create_autospec`` of an ``async def`` sets)
        and ``inspect``'s from 3.13 (asyncio's is deprecated in 3.14). Without the unwrapping,
        a partial of an object with ``async def __call__`` would be called and its coroutine
        dropped. Starlette's own helper is private, hence this copy.
        """
        i = self._indent
        inspect, asyncio, sys = (self._helper(h) for h in ("inspect", "asyncio", "sys"))
        return [
            f"def {name}(handler: object) -> bool:",
            f"{i}# Starlette's test for awaiting a handler, functools.partial layers included.",
            f"{i}while isinstance(handler, {self._partial_class()}):",
            f"{i}{i}handler = handler.func",
            f"{i}if {sys}.version_info < (3, 13):",
            f"{i}{i}iscoroutinefunction = {asyncio}.iscoroutinefunction",
            f"{i}else:",
            f"{i}{i}iscoroutinefunction = {inspect}.iscoroutinefunction",
            f"{i}return iscoroutinefunction(handler) or (",
            f"{i}{i}callable(handler) and iscoroutinefunction(handler.__call__)",
            f"{i})",
            "",
        ]

    def _partial_class(self) -> str:
        """How the lifespan names ``functools.partial``: an import of it bound once is reused
        (unless its name is one of the local function's own)."""
        for bound, source in self._callees.items():
            if (
                source == "functools.partial"
                and bound not in ("handler", "iscoroutinefunction")
                and self._bound_once(bound)
            ):
                return bound
        return f"{self._helper('functools')}.partial"

    def _is_taken(self, name: str) -> bool:
        """Is ``name`` used anywhere in the module? A word search over its code.

        Generating the code once is about three times cheaper than a visitor pass, and a
        mention in a comment or string only makes the chosen name longer.
        """
        if name in self._chosen:
            return True
        source = self._module_code()
        for match in re.finditer(rf"(?<![\w.]){re.escape(name)}\b", source):
            before = source[: match.start()].rstrip()
            is_keyword = before.endswith(("(", ",")) and re.match(
                r"\s*=(?!=)", source[match.end() :]
            )
            if not is_keyword:  # ``lifespan=`` as a keyword argument binds nothing
                return True
        return False
