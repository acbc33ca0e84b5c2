"""Which apps and routers a block creates: directly (``FastAPI(...)``, ``Starlette(...)``,
``APIRouter(...)``, ``Router(...)``), through the runtime's ``create_app``, or through a factory
of the same module; handlers can only be moved into the lifespan of an app made here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import libcst as cst

from spaps_cli.codemods.base import Codemod
from spaps_cli.codemods.on_event_to_lifespan.registrations import (
    APP_CLASSES,
    EMPTY_MODULE,
    ROUTER_CLASSES,
    RUNTIME_FACTORIES,
    STARLETTE_APP_CLASSES,
    STARLETTE_ROUTER_CLASSES,
    Target,
    keyword_arg,
)
from spaps_cli.codemods.on_event_to_lifespan.scope import Frame, count_returns
from spaps_cli.codemods.statements import dotted_name


class TargetReader(Codemod):
    """The state of one traversal, and the apps and routers each block creates."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._imports: set[tuple[str, str | None, str | None]] = set()  # source, name, alias
        self._helpers: dict[str, str] = {}  # helper -> the local name the lifespan uses
        self._seen: set[int] = set()  # original registration calls handled by a block rewrite
        self._candidates: list[tuple[cst.Call, str]] = []  # every registration call, original
        self._callees: dict[str, str] = {}
        self._module: cst.Module | None = None
        self._source: str | None = None
        self._chosen: set[str] = set()
        self._frames: list[Frame] = []
        self._lambda_depth = 0
        self._block_frame = Frame(set(), 0)
        self._config = cst.PartialParserConfig()
        self._shared_factories: set[str] = set()
        self._indent = "    "

    def _module_code(self) -> str:
        """The module's code, generated once and only when a question needs it."""
        if self._source is None:
            if self.source_text is not None:
                self._source = self.source_text
            else:
                self._source = self._module.code if self._module is not None else ""
        return self._source

    def _resolve(self, func: cst.BaseExpression) -> str | None:
        name = dotted_name(func)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        return self._callees.get(head, head) + (f".{rest}" if rest else "")

    def _targets(
        self, statements: Sequence[cst.BaseStatement], *, at_module: bool = False
    ) -> dict[str, Target]:
        targets: dict[str, Target] = {}
        for index, statement in enumerate(statements):
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                name: str | None = None
                value: cst.BaseExpression | None = None
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                ):
                    name, value = small.targets[0].target.value, small.value
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    name, value = small.target.value, small.value
                if name is None or not isinstance(value, cst.Call):
                    continue
                resolved = self._resolve(value.func)
                kind: Literal["app", "router", "runtime", "factory"] | None = (
                    "app"
                    if resolved in APP_CLASSES
                    else "router"
                    if resolved in ROUTER_CLASSES | STARLETTE_ROUTER_CLASSES
                    else "runtime"
                    if resolved in RUNTIME_FACTORIES
                    else None
                )
                factory: tuple[int, str, str | None, Literal["FastAPI", "Starlette"]] | None = None
                if kind is None and at_module and isinstance(value.func, cst.Name):
                    factory = self._local_factory(value.func.value, value, statements)
                    kind = "factory" if factory is not None else None
                if kind is None:
                    continue
                if name in targets:
                    targets[name].defined += 1
                    continue
                callee = EMPTY_MODULE.code_for_node(value.func)
                starlette = resolved in STARLETTE_APP_CLASSES | STARLETTE_ROUTER_CLASSES
                targets[name] = Target(
                    name,
                    index,
                    value,
                    kind,
                    callee,
                    framework="Starlette" if starlette else "FastAPI",
                )
                if factory is not None:
                    target = targets[name]
                    target.factory_index, target.callee, target.factory_problem = factory[:3]
                    target.framework = factory[3]
        return targets

    def _local_factory(
        self, name: str, call: cst.Call, statements: Sequence[cst.BaseStatement]
    ) -> tuple[int, str, str | None, Literal["FastAPI", "Starlette"]] | None:
        """Is ``name`` a def of this module that builds and returns one FastAPI or Starlette app?

        Returns the def's index, how its app's class is spelled, why it cannot be given a
        ``lifespan`` keyword (None when it can) and the app's framework; None when ``name`` is
        no such def. The
        keyword-only parameter defaults to None, so every other caller of the factory gets
        the same app as before.
        """
        defs = [
            i
            for i, statement in enumerate(statements)
            if isinstance(statement, cst.FunctionDef) and statement.name.value == name
        ]
        if len(defs) != 1:
            return None
        node = statements[defs[0]]
        assert isinstance(node, cst.FunctionDef)
        if not isinstance(node.body, cst.IndentedBlock) or node.asynchronous is not None:
            return None
        body = node.body.body
        apps = {k: t for k, t in self._targets(body).items() if t.kind == "app"}
        last = body[-1] if body else None
        returned = (
            last.body[0].value.value
            if isinstance(last, cst.SimpleStatementLine)
            and isinstance(last.body[0], cst.Return)
            and isinstance(last.body[0].value, cst.Name)
            else None
        )
        if returned not in apps:
            return None
        app = apps[returned]
        problem: str | None = None
        code = EMPTY_MODULE.code_for_node(node)
        if node.decorators:
            problem = f"the factory '{name}' is decorated, so a new keyword may not reach it"
        elif node.params.star_kwarg is not None and not isinstance(
            node.params.star_kwarg, cst.MaybeSentinel
        ):
            problem = f"the factory '{name}' takes **kwargs, which a lifespan keyword would change"
        elif app.defined > 1 or count_returns(node) != 1:
            problem = (
                f"the factory '{name}' does not build and return exactly one {app.framework} app"
            )
        elif any(arg.star for arg in app.call.args) or any(arg.star for arg in call.args):
            problem = f"the factory '{name}' or its call passes *args/**kwargs"
        elif re.search(r"\blifespan\b|on_event|add_event_handler|on_startup|on_shutdown", code):
            problem = (
                f"the factory '{name}' already registers handlers or sets a lifespan of its own,"
                " and an app runs one lifespan: compose them into one by hand"
            )
        elif any(keyword_arg(call, k) for k in ("lifespan", "on_startup", "on_shutdown")):
            problem = f"the call of '{name}' passes lifespan/on_startup/on_shutdown"
        return defs[0], app.callee, problem, app.framework
