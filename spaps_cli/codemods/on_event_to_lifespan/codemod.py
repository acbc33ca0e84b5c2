"""on-event-to-lifespan: ``@app.on_event`` / ``add_event_handler`` / ``on_startup=`` → ``lifespan=``.

FastAPI and Starlette silently skip every ``on_event``/``add_event_handler``/``on_startup=``
handler once an app has ``lifespan=``, and Starlette 1.x removed that whole API (and with it
``Starlette(on_startup=...)``), so this codemod moves *every* handler of a FastAPI or Starlette
app into one ``@asynccontextmanager`` lifespan or touches none of them and reports why, on the
line of the construct that stops it. It accepts every spelling the registration API allows
(positional or keyword ``event_type``/``func``, decorator or call form, stacked ``on_event``
decorators, ``app.router.…``, the constructors' ``on_startup``/``on_shutdown`` lists, apps built
in a function or by a factory of the same module). Startup handlers run in registration order
before ``yield``, shutdown handlers after it in registration order, what Starlette awaits is
awaited (a coroutine function or an async ``__call__``, through ``functools.partial``) and
anything else called (Starlette's ``is_async_callable``, copied into the lifespan for handlers
whose kind is only known at run time); a failing startup still skips shutdown. Starlette's
``Router`` gets ``lifespan=`` like an app; FastAPI's ``APIRouter`` only where the project's
FastAPI requirement guarantees >= 0.112.2.

The traversal records every registration and scope on the way down and rewrites each module or
function body on the way up; docs/MIGRATION_GUIDE.md lists what is proven, refused and reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import libcst as cst

from spaps_cli.codemods.base import Example, Outcome
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.import_edits import add_import, imported_names
from spaps_cli.codemods.on_event_to_lifespan.block_edits import (
    BlockEdits,
    apply_edits,
    original_statement,
    small_index,
)
from spaps_cli.codemods.on_event_to_lifespan.examples import EXAMPLES
from spaps_cli.codemods.on_event_to_lifespan.generation import LifespanWriter
from spaps_cli.codemods.on_event_to_lifespan.registrations import (
    APP_CLASSES,
    EMPTY_MODULE,
    EVENTS,
    ROUTER_CLASSES,
    STARLETTE_ROUTER_CLASSES,
    Registration,
    Target,
    def_kind,
    keyword_arg,
    owner_of,
    registration_event,
    registration_hint,
)
from spaps_cli.codemods.on_event_to_lifespan.scope import (
    HANDLER_LISTS,
    RUNNERS,
    Frame,
    ListUse,
    Nested,
    assigned_names,
    body_names,
    factories_with_outside_handlers,
)
from spaps_cli.codemods.preflight import Declared, ProjectVersions


class OnEventToLifespan(LifespanWriter):
    ID: ClassVar[str] = "on-event-to-lifespan"

    SUMMARY: ClassVar[str] = (
        "Move FastAPI/Starlette @app.on_event / add_event_handler / on_startup= handlers into one"
        " lifespan."
    )

    PREFLIGHT: ClassVar[str | None] = "lifespan"

    #: The examples assume a project that requires a FastAPI merging router lifespans.
    EXAMPLE_CONFIG: ClassVar[MigrateConfig] = MigrateConfig(
        versions=ProjectVersions({"fastapi": (Declared("pyproject.toml", ">=0.115"),)})
    )

    NEEDLES: ClassVar[tuple[bytes, ...]] = (
        b"on_event",
        b"add_event_handler",
        b"on_startup",
        b"on_shutdown",
    )

    EXAMPLES: ClassVar[tuple[Example, ...]] = EXAMPLES

    def visit_Module(self, node: cst.Module) -> bool:
        self._callees = imported_names(node)
        self._module = node
        self._frames = [Frame(body_names(node.body), 0)]
        self._config = node.config_for_parsing
        self._indent = node.default_indent
        self._shared_factories = factories_with_outside_handlers(node, self._module_code)
        return True

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._lambda_depth += 1

    def leave_Lambda(self, original_node: cst.Lambda, updated_node: cst.Lambda) -> cst.Lambda:
        self._lambda_depth -= 1
        return updated_node

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        frame = self._frames[-1]
        if frame.lambda_depth == self._lambda_depth:
            if isinstance(func, cst.Name):
                frame.called.add(func.value)
            runner = (
                func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
            )
            if runner in RUNNERS:  # anyio.run(startup) passes the handler uncalled
                frame.called.update(
                    a.value.value for a in node.args if isinstance(a.value, cst.Name)
                )
        if isinstance(func, cst.Attribute) and func.attr.value in {"on_event", "add_event_handler"}:
            owner = owner_of(func.value)
            if owner is not None:
                frame.registrations.append(Nested(node, owner, tuple(self._frames)))
            if owner is not None or registration_event(node) in EVENTS:
                self._candidates.append((node, f"{func.attr.value}("))
            return
        if not any(
            arg.keyword is not None and arg.keyword.value in {"on_startup", "on_shutdown"}
            for arg in node.args
        ):
            return
        if self._resolve(func) in APP_CLASSES | ROUTER_CLASSES | STARLETTE_ROUTER_CLASSES:
            self._candidates.append(
                (node, "on_startup=" if keyword_arg(node, "on_startup") else "on_shutdown=")
            )

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in HANDLER_LISTS:
            owner = owner_of(node.value)
            if owner is not None:
                self._frames[-1].list_uses.append(ListUse(node, owner, tuple(self._frames)))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        names = body_names(node.body.body) if isinstance(node.body, cst.IndentedBlock) else set()
        self._frames.append(Frame(names, self._lambda_depth))

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        frame = self._frames.pop()
        self._frames[-1].registrations.extend(frame.registrations)
        self._frames[-1].list_uses.extend(frame.list_uses)
        self._block_frame = frame
        if (
            len(self._frames) == 1
            and original_node.name.value in self._shared_factories
            and frame.registrations
        ):
            # Its app also gets handlers at module level; one lifespan here would drop those.
            self._seen.update(id(nested.call) for nested in frame.registrations)
            self.follow_up(
                original_node,
                f"the app '{original_node.name.value}' returns also gets handlers at module"
                " level, and an app runs one lifespan: move both sets into one lifespan by hand",
                deprecated=True,
            )
            return updated_node
        body = updated_node.body
        if not isinstance(body, cst.IndentedBlock):
            return updated_node
        originals: Sequence[cst.BaseStatement] | None = None
        if isinstance(original_node.body, cst.IndentedBlock) and len(
            original_node.body.body
        ) == len(body.body):
            originals = original_node.body.body
        new_statements = self._rewrite_block(body.body, originals, at_module=False)
        if new_statements is None:
            return updated_node
        return updated_node.with_changes(body=body.with_changes(body=new_statements))

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        originals = (
            original_node.body if len(original_node.body) == len(updated_node.body) else None
        )
        self._block_frame = self._frames[0]
        new_statements = self._rewrite_block(updated_node.body, originals, at_module=True)
        module = updated_node
        if new_statements is not None:
            module = updated_node.with_changes(body=new_statements)
        for source, name, alias in sorted(
            self._imports, key=lambda item: (item[0], item[1] or "", item[2] or "")
        ):
            module = add_import(module, source, name, alias=alias)
        return module

    def apply(self, module: cst.Module) -> Outcome:
        outcome = super().apply(module)
        for call, hint in self._candidates:
            if id(call) in self._seen:
                continue
            self.follow_up(
                call,
                "event handler registration not moved (nested, on an app/router imported from"
                " elsewhere, or not at the top level of the module/function that creates it):"
                " move the handler into that app's lifespan by hand",
                hint=hint,
                deprecated=True,
            )
        return Outcome(outcome.module, self.changes, self.pending)

    def _rewrite_block(
        self,
        statements: Sequence[cst.BaseStatement],
        originals: Sequence[cst.BaseStatement] | None,
        *,
        at_module: bool,
    ) -> list[cst.BaseStatement] | None:
        targets = self._targets(statements, at_module=at_module)
        registrations = self._registrations(statements, targets)
        if not registrations:
            return None
        edits = BlockEdits()
        owners: dict[str, list[Registration]] = {}
        for registration in registrations:
            owners.setdefault(registration.owner, []).append(registration)
        frame = self._block_frame
        function_defs: dict[str, list[tuple[int, bool | None]]] = {}
        bound_at: dict[str, list[int]] = {}
        for index, statement in enumerate(statements):
            if isinstance(statement, cst.FunctionDef):
                function_defs.setdefault(statement.name.value, []).append(
                    (index, def_kind(statement))
                )
                bound_at.setdefault(statement.name.value, []).append(index)
            elif isinstance(statement, cst.ClassDef):
                bound_at.setdefault(statement.name.value, []).append(index)
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    for name in assigned_names(small):
                        bound_at.setdefault(name, []).append(index)
        changed = False
        for owner, owned in owners.items():
            top_level = {
                self._mark_seen(registration, targets.get(owner), statements, originals)
                for registration in owned
            }
            problem = self._owner_problem(owner, owned, targets, frame, bound_at, at_module)
            framework = targets[owner].framework if owner in targets else "FastAPI"
            if problem is None and self._registers_elsewhere(owner, frame, top_level):
                problem = (
                    owned[0].index,
                    (
                        f"'{owner}' also registers handlers conditionally or from a helper (not at the"
                        f" top level here); {framework} would drop those once a lifespan is set:"
                        " move them all into a lifespan by hand"
                    ),
                )
            list_use = self._list_use(owner, frame) if problem is None else None
            if list_use is not None:
                attribute = list_use.node.attr.value
                self.follow_up(
                    list_use.node,
                    f"'{owner}' also gets handlers through '{EMPTY_MODULE.code_for_node(list_use.node)}',"
                    f" which {framework} would ignore once the app has a lifespan: move those and the"
                    f" on_event handlers of '{owner}' into one lifespan by hand",
                    hint=attribute,
                    deprecated=True,
                )
                continue
            if problem is not None:
                index, message = problem
                self.follow_up(
                    original_statement(originals, index),
                    message,
                    hint=registration_hint(owned[0]),
                    deprecated=True,
                )
                continue
            self._plan_owner(targets[owner], owned, function_defs, edits, at_module, statements)
            self.changed(
                original_statement(originals, targets[owner].index),
                f"moved {len(owned)} event handler(s) of '{owner}' into a lifespan",
            )
            changed = True
        if not changed:
            return None
        return apply_edits(statements, edits, at_module)

    def _mark_seen(
        self,
        registration: Registration,
        target: Target | None,
        statements: Sequence[cst.BaseStatement],
        originals: Sequence[cst.BaseStatement] | None,
    ) -> int | None:
        """Remember the original call node so the leftover scan does not report it again."""
        if originals is None:
            return None
        index = target.index if registration.how == "constructor" and target else registration.index
        current, original = statements[index], originals[index]
        found: int | None = None
        if registration.decorator is not None:
            assert isinstance(current, cst.FunctionDef)
            assert isinstance(original, cst.FunctionDef)
            for position, decorator in enumerate(current.decorators):
                if decorator is registration.decorator:
                    found = id(original.decorators[position].decorator)
        elif registration.small is not None:
            assert isinstance(original, cst.SimpleStatementLine)
            small = original.body[small_index(current, registration.small)]
            if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                # ``x.on_event(...)(f)``: the registration the traversal saw is the inner call.
                registered = small.value.func
                found = id(registered if isinstance(registered, cst.Call) else small.value)
        elif (
            target is not None
            and isinstance(current, cst.SimpleStatementLine)
            and isinstance(original, cst.SimpleStatementLine)
        ):
            for position, small in enumerate(current.body):
                if isinstance(small, cst.Assign | cst.AnnAssign) and small.value is target.call:
                    original_small = original.body[position]
                    if isinstance(original_small, cst.Assign | cst.AnnAssign):
                        self._seen.add(id(original_small.value))
        if found is not None:
            self._seen.add(found)
        return found

    @staticmethod
    def _list_use(owner: str, frame: Frame) -> ListUse | None:
        """The first direct use of ``owner``'s handler lists in this scope, if any.

        A nested function that creates its own app of the same name is a separate scope.
        """
        for use in frame.list_uses:
            if use.owner != owner:
                continue
            depth = next(i for i, scope in enumerate(use.frames) if scope is frame)
            if not any(owner in scope.assigned for scope in use.frames[depth + 1 :]):
                return use
        return None

    @staticmethod
    def _registers_elsewhere(owner: str, frame: Frame, top_level: set[int | None]) -> bool:
        """Does ``owner`` get handlers from somewhere other than the top of this block?

        Those run conditionally or later, so moving only the top-level ones into a lifespan
        would make FastAPI silently drop the others. A nested function that creates its own
        app of the same name is a separate scope; one that takes the app as a parameter
        (``def attach(app): app.add_event_handler(...)``) is not.
        """
        for nested in frame.registrations:
            if nested.owner != owner or id(nested.call) in top_level:
                continue
            inner = nested.frames[nested.frames.index(frame) + 1 :]
            if not any(owner in scope.assigned for scope in inner):
                return True
        return False
