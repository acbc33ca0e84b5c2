"""on-event-to-lifespan: ``@app.on_event`` / ``add_event_handler`` / ``on_startup=`` → ``lifespan=``.

FastAPI silently skips event handlers once an app has a lifespan, and ``app.add_event_handler``
no longer exists under Starlette 1.x (shared/notes/runtime.md section 2), so this codemod moves
*every* handler of an app into one ``@asynccontextmanager`` lifespan or touches none of them.
Semantics kept (notes/codemods.md section 6.3): startup handlers run in registration order before
``yield`` and shutdown handlers after it in registration order; async handlers are awaited, sync
ones called; a failing startup still skips shutdown (a plain ``yield``, no ``try/finally``);
handler factories are still evaluated where they were registered. Routers get their own
``APIRouter(lifespan=...)``, which FastAPI merges into the app's and which also ends the double
run of router handlers on FastAPI >= 0.112.2. A handler whose kind is unknown (a factory, an
import, a def under other decorators such as ``@timed``) is awaited only if calling it returns an
awaitable. The lifespan's helpers (``asynccontextmanager``, ``AsyncIterator``, ``inspect``, and
``FastAPI`` for a router's) are imported under a ``_``-prefixed alias when the module already uses
the plain name. An app whose ``router.on_startup``/``on_shutdown``/``lifespan_context`` is used
directly is left alone: FastAPI would drop those handlers too. Anything that would need a guess is
a follow-up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import libcst as cst

from spaps_cli.codemods.base import Codemod, Example, Outcome
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.import_edits import add_import, bound_name, dotted_name, imported_names
from spaps_cli.codemods.preflight import Declared, ProjectVersions

APP_CLASSES = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI"})
#: The runtime's factory takes ``lifespan=`` as one context manager or a list of them.
RUNTIME_FACTORIES = frozenset(
    {"spaps_server_quickstart.app.create_app", "spaps_server_quickstart.create_app"}
)
ROUTER_CLASSES = frozenset({"fastapi.APIRouter", "fastapi.routing.APIRouter"})
#: The first FastAPI that merges ``APIRouter(lifespan=...)`` into the app's lifespan.
ROUTER_LIFESPAN_FASTAPI = "0.112.2"
EVENTS = ("startup", "shutdown")
_EMPTY = cst.Module(body=[])
_HANDLER_LISTS = frozenset({"on_startup", "on_shutdown", "lifespan_context"})
_RUNNERS = frozenset({"run", "run_sync", "run_until_complete", "create_task", "ensure_future"})
_BLANK = cst.EmptyLine(indent=False)
_NO_SPACE = cst.SimpleWhitespace("")
#: What the generated lifespan uses: bound name -> (module, imported name, acceptable sources).
_HELPERS: dict[str, tuple[str, str | None, frozenset[str]]] = {
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
    "FastAPI": ("fastapi", "FastAPI", APP_CLASSES),  # a router lifespan's annotation
}


@dataclass
class _Target:
    """An app or router created in the block being rewritten."""

    name: str
    index: int
    call: cst.Call
    kind: Literal["app", "router", "runtime", "factory"]
    callee: str
    defined: int = 1
    #: For ``app = create_app()`` with ``create_app`` defined in this module: the def's index,
    #: and why it cannot take a lifespan (None when it can).
    factory_index: int = -1
    factory_problem: str | None = None


@dataclass
class _Registration:
    owner: str
    event: str | None
    index: int
    how: Literal["decorator", "call", "constructor"]
    handler: cst.BaseExpression | None
    is_async: bool | None
    problem: str | None = None
    decorator: cst.Decorator | None = None
    small: cst.BaseSmallStatement | None = None


@dataclass
class _Step:
    expression: str
    is_async: bool | None


@dataclass
class _BlockEdits:
    remove_decorators: dict[int, set[int]] = field(default_factory=dict)
    replace_small: dict[tuple[int, int], cst.BaseSmallStatement | None] = field(
        default_factory=dict
    )
    #: statement index -> (the constructor call in that line, its replacement)
    replace_call: dict[int, tuple[cst.Call, cst.Call]] = field(default_factory=dict)
    insert_before: dict[int, list[cst.BaseStatement]] = field(default_factory=dict)
    #: statement index -> its replacement (a local factory that now takes a lifespan)
    replace_statement: dict[int, cst.BaseStatement] = field(default_factory=dict)


def _string_value(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _owner_of(node: cst.BaseExpression) -> str | None:
    """``app`` for ``app`` and for ``app.router``."""
    if isinstance(node, cst.Name):
        return node.value
    if (
        isinstance(node, cst.Attribute)
        and node.attr.value == "router"
        and isinstance(node.value, cst.Name)
    ):
        return node.value.value
    return None


#: The parameters of the registration methods, the same on FastAPI, APIRouter and Starlette.
ON_EVENT_PARAMETERS = ("event_type",)
ADD_EVENT_HANDLER_PARAMETERS = ("event_type", "func")
#: ``on_event(...)`` returns ``decorator(func)``: what its call form passes.
DECORATOR_PARAMETERS = ("func",)


def bind_arguments(
    call: cst.Call, parameters: Sequence[str]
) -> dict[str, cst.BaseExpression] | None:
    """The call's arguments by parameter name, as Python would bind them; None when unknowable.

    ``*args``/``**kwargs`` at the call site, an unknown keyword, a parameter given twice or a
    missing one make the binding unknowable (or a TypeError at run time): the caller reports it.
    """
    bound: dict[str, cst.BaseExpression] = {}
    position = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None:
            if position >= len(parameters):
                return None
            name = parameters[position]
            position += 1
        else:
            name = arg.keyword.value
            if name not in parameters:
                return None
        if name in bound:
            return None
        bound[name] = arg.value
    if len(bound) != len(parameters):
        return None
    return bound


def registration_event(call: cst.Call) -> str | None:
    """The literal event an ``on_event``/``add_event_handler`` call names, if it names one."""
    if not isinstance(call.func, cst.Attribute):
        return None
    method = call.func.attr.value
    parameters = ON_EVENT_PARAMETERS if method == "on_event" else ADD_EVENT_HANDLER_PARAMETERS
    bound = bind_arguments(call, parameters)
    if bound is None:
        return None
    return _string_value(bound["event_type"])


def _keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


@dataclass
class _Frame:
    """What the traversal saw inside one module or function body (one scope)."""

    assigned: set[str]  # names bound at the top of this body: a local app shadows an outer one
    lambda_depth: int
    called: set[str] = field(default_factory=set)  # names called when this body runs
    registrations: list[_Nested] = field(default_factory=list)
    list_uses: list[_ListUse] = field(default_factory=list)


@dataclass
class _Nested:
    """An ``on_event``/``add_event_handler`` call anywhere inside a scope (original node)."""

    call: cst.Call
    owner: str
    frames: tuple[_Frame, ...]  # the scopes it sits in, outermost first


@dataclass
class _ListUse:
    """``app.router.on_startup`` / ``on_shutdown`` / ``lifespan_context`` (original node).

    Handlers appended to those lists, or a lifespan assigned there, bypass ``on_event``; once
    the app has ``lifespan=`` FastAPI would silently drop them, so the app is not rewritten.
    """

    node: cst.Attribute
    owner: str
    frames: tuple[_Frame, ...]


class OnEventToLifespan(Codemod):
    ID: ClassVar[str] = "on-event-to-lifespan"
    SUMMARY: ClassVar[str] = (
        "Move @app.on_event / add_event_handler / on_startup= handlers into one lifespan."
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
    EXAMPLES: ClassVar[tuple[Example, ...]] = (
        Example(
            "decorated handlers, sync and async, both quote styles",
            before="""\
from fastapi import FastAPI

app = FastAPI(title="orders")


@app.on_event("startup")
async def connect() -> None:
    await db.connect()


@app.on_event('startup')
def load_model() -> None:
    model.load()


@app.on_event("shutdown")
async def disconnect() -> None:
    await db.disconnect()
""",
            after="""\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await connect()
    load_model()
    yield
    await disconnect()


app = FastAPI(title="orders", lifespan=lifespan)


async def connect() -> None:
    await db.connect()


def load_model() -> None:
    model.load()


async def disconnect() -> None:
    await db.disconnect()
""",
        ),
        Example(
            "a factory with add_event_handler and a handler factory",
            before="""\
from fastapi import FastAPI

from .events import make_startup, stop_clients


def create_app() -> FastAPI:
    app = FastAPI(on_shutdown=[stop_clients])
    app.add_event_handler("startup", make_startup(app))
    return app
""",
            after="""\
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .events import make_startup, stop_clients


def create_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if inspect.iscoroutinefunction(startup_handler) or inspect.iscoroutinefunction(startup_handler.__call__):
            await startup_handler()
        else:
            startup_handler()
        yield
        if inspect.iscoroutinefunction(stop_clients) or inspect.iscoroutinefunction(stop_clients.__call__):
            await stop_clients()
        else:
            stop_clients()

    app = FastAPI(lifespan=lifespan)
    startup_handler = make_startup(app)
    return app
""",
        ),
        Example(
            "a router gets its own lifespan",
            before="""\
from fastapi import APIRouter

router = APIRouter(prefix="/items")


@router.on_event("startup")
async def warm_cache() -> None:
    await cache.warm()
""",
            after="""\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI


@asynccontextmanager
async def router_lifespan(app: FastAPI) -> AsyncIterator[None]:
    await warm_cache()
    yield


router = APIRouter(prefix="/items", lifespan=router_lifespan)


async def warm_cache() -> None:
    await cache.warm()
""",
        ),
        Example(
            "an app built by the runtime's create_app: its lifespan list grows",
            before="""\
from spaps_server_quickstart.app import create_app

from .config import get_settings
from .lifespans import load_models

app = create_app(settings=get_settings, lifespan=load_models)


@app.on_event("startup")
async def warm_cache() -> None:
    await cache.warm()
""",
            after="""\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from spaps_server_quickstart.app import create_app

from .config import get_settings
from .lifespans import load_models


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await warm_cache()
    yield


app = create_app(settings=get_settings, lifespan=[load_models, lifespan])


async def warm_cache() -> None:
    await cache.warm()
""",
        ),
        Example(
            "an app that already has a lifespan is left alone with a follow-up",
            before="""\
from fastapi import FastAPI

app = FastAPI(lifespan=lifespan)


@app.on_event("startup")
def never_runs() -> None: ...
""",
            after="""\
from fastapi import FastAPI

app = FastAPI(lifespan=lifespan)


@app.on_event("startup")
def never_runs() -> None: ...
""",
        ),
    )

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
        self._frames: list[_Frame] = []
        self._lambda_depth = 0
        self._block_frame = _Frame(set(), 0)
        self._config = cst.PartialParserConfig()
        self._shared_factories: set[str] = set()
        self._indent = "    "

    # -- traversal ---------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> bool:
        self._callees = imported_names(node)
        self._module = node
        self._frames = [_Frame(_body_names(node.body), 0)]
        self._config = node.config_for_parsing
        self._indent = node.default_indent
        self._shared_factories = _factories_with_outside_handlers(node)
        return True

    def _is_taken(self, name: str) -> bool:
        """Is ``name`` used anywhere in the module? A word search over its code.

        Generating the code once is about three times cheaper than a visitor pass, and a
        mention in a comment or string only makes the chosen name longer.
        """
        if name in self._chosen:
            return True
        if self._source is None:
            self._source = self._module.code if self._module is not None else ""
        source = self._source
        for match in re.finditer(rf"(?<![\w.]){re.escape(name)}\b", source):
            before = source[: match.start()].rstrip()
            is_keyword = before.endswith(("(", ",")) and re.match(
                r"\s*=(?!=)", source[match.end() :]
            )
            if not is_keyword:  # ``lifespan=`` as a keyword argument binds nothing
                return True
        return False

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
            if runner in _RUNNERS:  # anyio.run(startup) passes the handler uncalled
                frame.called.update(
                    a.value.value for a in node.args if isinstance(a.value, cst.Name)
                )
        if isinstance(func, cst.Attribute) and func.attr.value in {"on_event", "add_event_handler"}:
            owner = _owner_of(func.value)
            if owner is not None:
                frame.registrations.append(_Nested(node, owner, tuple(self._frames)))
            if owner is not None or registration_event(node) in EVENTS:
                self._candidates.append((node, f"{func.attr.value}("))
            return
        if not any(
            arg.keyword is not None and arg.keyword.value in {"on_startup", "on_shutdown"}
            for arg in node.args
        ):
            return
        if self._resolve(func) in APP_CLASSES | ROUTER_CLASSES:
            self._candidates.append(
                (node, "on_startup=" if _keyword(node, "on_startup") else "on_shutdown=")
            )

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in _HANDLER_LISTS:
            owner = _owner_of(node.value)
            if owner is not None:
                self._frames[-1].list_uses.append(_ListUse(node, owner, tuple(self._frames)))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        names = _body_names(node.body.body) if isinstance(node.body, cst.IndentedBlock) else set()
        self._frames.append(_Frame(names, self._lambda_depth))

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

    # -- analysis ----------------------------------------------------------------------------

    def _resolve(self, func: cst.BaseExpression) -> str | None:
        name = dotted_name(func)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        return self._callees.get(head, head) + (f".{rest}" if rest else "")

    def _targets(
        self, statements: Sequence[cst.BaseStatement], *, at_module: bool = False
    ) -> dict[str, _Target]:
        targets: dict[str, _Target] = {}
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
                    if resolved in ROUTER_CLASSES
                    else "runtime"
                    if resolved in RUNTIME_FACTORIES
                    else None
                )
                factory: tuple[int, str, str | None] | None = None
                if kind is None and at_module and isinstance(value.func, cst.Name):
                    factory = self._local_factory(value.func.value, value, statements)
                    kind = "factory" if factory is not None else None
                if kind is None:
                    continue
                if name in targets:
                    targets[name].defined += 1
                    continue
                callee = _EMPTY.code_for_node(value.func)
                targets[name] = _Target(name, index, value, kind, callee)
                if factory is not None:
                    target = targets[name]
                    target.factory_index, target.callee, target.factory_problem = factory
        return targets

    def _local_factory(
        self, name: str, call: cst.Call, statements: Sequence[cst.BaseStatement]
    ) -> tuple[int, str, str | None] | None:
        """Is ``name`` a def of this module that builds and returns one FastAPI app?

        Returns the def's index, how its app's class is spelled, and why it cannot be given a
        ``lifespan`` keyword (None when it can); None when ``name`` is no such def. The
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
        code = _EMPTY.code_for_node(node)
        if node.decorators:
            problem = f"the factory '{name}' is decorated, so a new keyword may not reach it"
        elif node.params.star_kwarg is not None and not isinstance(
            node.params.star_kwarg, cst.MaybeSentinel
        ):
            problem = f"the factory '{name}' takes **kwargs, which a lifespan keyword would change"
        elif app.defined > 1 or _count_returns(node) != 1:
            problem = f"the factory '{name}' does not build and return exactly one FastAPI app"
        elif any(arg.star for arg in app.call.args) or any(arg.star for arg in call.args):
            problem = f"the factory '{name}' or its call passes *args/**kwargs"
        elif re.search(r"\blifespan\b|on_event|add_event_handler|on_startup|on_shutdown", code):
            problem = (
                f"the factory '{name}' already registers handlers or sets a lifespan of its own,"
                " and an app runs one lifespan: compose them into one by hand"
            )
        elif any(_keyword(call, k) for k in ("lifespan", "on_startup", "on_shutdown")):
            problem = f"the call of '{name}' passes lifespan/on_startup/on_shutdown"
        return defs[0], app.callee, problem

    def _registrations(
        self, statements: Sequence[cst.BaseStatement], targets: dict[str, _Target]
    ) -> list[_Registration]:
        found: list[_Registration] = []
        for index, statement in enumerate(statements):
            if isinstance(statement, cst.FunctionDef):
                found.extend(self._decorated(index, statement, targets))
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    registration = self._call_registration(index, small)
                    if registration is not None:
                        found.append(registration)
        constructor: list[_Registration] = []
        for target in targets.values():
            for event in EVENTS:
                arg = _keyword(target.call, f"on_{event}")
                if arg is None:
                    continue
                if not isinstance(arg.value, cst.List | cst.Tuple):
                    constructor.append(
                        _Registration(
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
                        _Registration(
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
        self, index: int, node: cst.FunctionDef, targets: dict[str, _Target]
    ) -> list[_Registration]:
        """The ``@x.on_event(...)`` registrations of one def, in the order Python runs them.

        Decorators apply bottom-up, so the lowest registers first. An ``on_event`` decorator of
        an app or router created here returns the function unchanged, so stacking several of
        them is harmless; any other decorator above one means the def's name is bound to that
        decorator's result, not to the function that was registered.
        """
        decorators = node.decorators
        transparent = [_is_on_event(d.decorator, targets) for d in decorators]
        found: list[_Registration] = []
        for position in reversed(range(len(decorators))):
            decorator = decorators[position]
            call = decorator.decorator
            if not _is_on_event(call, None):
                continue
            assert isinstance(call, cst.Call)
            assert isinstance(call.func, cst.Attribute)
            owner = _owner_of(call.func.value)
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
                    f"@{_EMPTY.code_for_node(above.decorator)} is applied on top of @on_event,"
                    f" so '{node.name.value}' names its result, not the registered function"
                )
            is_async = (node.asynchronous is not None) if all(transparent[position + 1 :]) else None
            found.append(
                _Registration(
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

    def _call_registration(self, index: int, small: cst.BaseSmallStatement) -> _Registration | None:
        """``x.add_event_handler(event_type, func)`` or ``x.on_event(event_type)(func)``."""
        if not isinstance(small, cst.Expr) or not isinstance(small.value, cst.Call):
            return None
        call = small.value
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "add_event_handler":
            owner = _owner_of(func.value)
            bound = bind_arguments(call, ADD_EVENT_HANDLER_PARAMETERS)
            shape = "add_event_handler(...) does not bind to (event_type, func)"
        elif _is_on_event(func, None):
            assert isinstance(func, cst.Call)
            assert isinstance(func.func, cst.Attribute)
            owner = _owner_of(func.func.value)
            inner = bind_arguments(func, ON_EVENT_PARAMETERS)
            outer = bind_arguments(call, DECORATOR_PARAMETERS)
            bound = None if inner is None or outer is None else {**inner, **outer}
            shape = "on_event(...)(...) does not bind to (event_type)(func)"
        else:
            return None
        if owner is None:
            return None
        if bound is None:
            return _Registration(owner, None, index, "call", None, None, problem=shape, small=small)
        event = _string_value(bound["event_type"])
        problem = (
            None if event in EVENTS else 'the event_type is not a literal "startup" or "shutdown"'
        )
        return _Registration(
            owner, event, index, "call", bound["func"], None, problem=problem, small=small
        )

    # -- rewriting ---------------------------------------------------------------------------

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
        edits = _BlockEdits()
        owners: dict[str, list[_Registration]] = {}
        for registration in registrations:
            owners.setdefault(registration.owner, []).append(registration)
        frame = self._block_frame
        function_defs: dict[str, list[tuple[int, bool | None]]] = {}
        bound_at: dict[str, list[int]] = {}
        for index, statement in enumerate(statements):
            if isinstance(statement, cst.FunctionDef):
                function_defs.setdefault(statement.name.value, []).append(
                    (index, _def_kind(statement))
                )
                bound_at.setdefault(statement.name.value, []).append(index)
            elif isinstance(statement, cst.ClassDef):
                bound_at.setdefault(statement.name.value, []).append(index)
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    for name in _assigned_names(small):
                        bound_at.setdefault(name, []).append(index)
        changed = False
        for owner, owned in owners.items():
            top_level = {
                self._mark_seen(registration, targets.get(owner), statements, originals)
                for registration in owned
            }
            problem = self._owner_problem(owner, owned, targets, frame, bound_at, at_module)
            if problem is None and self._registers_elsewhere(owner, frame, top_level):
                problem = (
                    owned[0].index,
                    (
                        f"'{owner}' also registers handlers conditionally or from a helper (not at the"
                        " top level here); FastAPI would drop those once a lifespan is set: move them"
                        " all into a lifespan by hand"
                    ),
                )
            list_use = self._list_use(owner, frame) if problem is None else None
            if list_use is not None:
                attribute = list_use.node.attr.value
                self.follow_up(
                    list_use.node,
                    f"'{owner}' also gets handlers through '{_EMPTY.code_for_node(list_use.node)}',"
                    " which FastAPI would ignore once the app has a lifespan: move those and the"
                    f" on_event handlers of '{owner}' into one lifespan by hand",
                    hint=attribute,
                    deprecated=True,
                )
                continue
            if problem is not None:
                index, message = problem
                self.follow_up(
                    _anchor(originals, index),
                    message,
                    hint=registration_hint(owned[0]),
                    deprecated=True,
                )
                continue
            self._plan_owner(targets[owner], owned, function_defs, edits, at_module, statements)
            self.changed(
                _anchor(originals, targets[owner].index),
                f"moved {len(owned)} event handler(s) of '{owner}' into a lifespan",
            )
            changed = True
        if not changed:
            return None
        return _apply_edits(statements, edits, at_module)

    def _mark_seen(
        self,
        registration: _Registration,
        target: _Target | None,
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
            small = original.body[_small_index(current, registration.small)]
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
    def _list_use(owner: str, frame: _Frame) -> _ListUse | None:
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
    def _registers_elsewhere(owner: str, frame: _Frame, top_level: set[int | None]) -> bool:
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

    def _owner_problem(
        self,
        owner: str,
        owned: list[_Registration],
        targets: dict[str, _Target],
        frame: _Frame,
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
                f"'{owner}' is not created by FastAPI(...)/APIRouter(...) or a factory in this"
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
        if _keyword(target.call, "lifespan") is not None and target.kind != "runtime":
            return (
                target.index,
                f"'{owner}' already has lifespan=, so FastAPI never runs these handlers:"
                " move their bodies into that lifespan (before/after its yield) or delete them",
            )
        if any(arg.star for arg in target.call.args):
            return (
                target.index,
                f"'{owner}' is created with *args/**kwargs that may carry a lifespan= (which"
                " would make FastAPI skip every event handler): migrate by hand",
            )
        if target.kind == "router" and not self._router_lifespans_merged():
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

    def _plan_owner(
        self,
        target: _Target,
        owned: list[_Registration],
        function_defs: dict[str, list[tuple[int, bool | None]]],
        edits: _BlockEdits,
        at_module: bool,
        statements: Sequence[cst.BaseStatement],
    ) -> None:
        steps: dict[str, list[_Step]] = {"startup": [], "shutdown": []}
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
                expression = _EMPTY.code_for_node(handler)
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
                    position = _small_index(statements[registration.index], registration.small)
                    edits.replace_small[(registration.index, position)] = assignment.body[0]
                expression = variable
            if registration.how == "decorator":
                assert registration.decorator is not None
                edits.remove_decorators.setdefault(registration.index, set()).add(
                    id(registration.decorator)
                )
            elif registration.how == "call" and isinstance(handler, cst.Name | cst.Attribute):
                assert registration.small is not None
                position = _small_index(statements[registration.index], registration.small)
                edits.replace_small[(registration.index, position)] = None
            steps[registration.event].append(_Step(expression, is_async))
        lifespan_name = self._fresh(
            "lifespan"
            if target.kind != "router"
            else "router_lifespan"
            if target.name == "router"
            else f"{target.name}_lifespan"
        )
        annotation = target.callee if target.kind in ("app", "factory") else self._fastapi_name()
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
        if target.kind == "runtime" and _keyword(target.call, "lifespan") is not None:
            edits.replace_call[target.index] = (
                target.call,
                _appended_lifespan(target.call, lifespan_name),
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
                _with_lifespan(target.call, lifespan_name, self._indent),
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
            body[index] = _replace_constructor(
                body[index], app.call, _with_lifespan(app.call, "lifespan", self._indent)
            )
        return node.with_changes(params=params, body=node.body.with_changes(body=body))

    def _future_annotations(self) -> bool:
        """Does the module defer annotations (so ``X | None`` works on any Python)?"""
        for statement in self._module.body if self._module is not None else ():
            if (
                isinstance(statement, cst.SimpleStatementLine)
                and isinstance(statement.body[0], cst.ImportFrom)
                and dotted_name(statement.body[0].module or cst.Name("_")) == "__future__"
                and not isinstance(statement.body[0].names, cst.ImportStar)
                and any(bound_name(a) == "annotations" for a in statement.body[0].names)
            ):
                return True
        return False

    def _fastapi_name(self) -> str:
        """How a router lifespan's annotation names ``FastAPI``.

        An import of ``FastAPI`` or of ``fastapi`` bound once is reused; otherwise ``FastAPI``
        is imported like the other helpers, under an alias when the name is taken.
        """
        for bound, source in self._callees.items():
            if source in APP_CLASSES and self._bound_once(bound):
                return bound
            if source == "fastapi" and self._bound_once(bound):
                return f"{bound}.FastAPI"
        return self._helper("FastAPI")

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
        source, name, accepted = _HELPERS[bound]
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
            bound = _module_bindings(statement).count(name)
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
        self, name: str, parameter: str, annotation: str, steps: dict[str, list[_Step]]
    ) -> str:
        indent = self._indent
        lines = [
            f"@{self._helper('asynccontextmanager')}",
            f"async def {name}({parameter}: {annotation})"
            f" -> {self._helper('AsyncIterator')}[None]:",
        ]
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
                    # Starlette's own rule: await what is a coroutine function (or has an async
                    # __call__), call anything else and drop its result.
                    inspect = self._helper("inspect")
                    lines.append(
                        f"{indent}if {inspect}.iscoroutinefunction({call})"
                        f" or {inspect}.iscoroutinefunction({call}.__call__):"
                    )
                    lines.append(f"{indent}{indent}await {call}()")
                    lines.append(f"{indent}else:")
                    lines.append(f"{indent}{indent}{call}()")
        newline = (
            self._config.default_newline if isinstance(self._config.default_newline, str) else "\n"
        )
        return newline.join(lines) + newline


def _def_kind(node: cst.FunctionDef) -> bool | None:
    """Is calling the name ``node`` binds a coroutine? None when a decorator may change that.

    ``@timed`` can wrap a plain def into a coroutine function (or the reverse), so only an
    undecorated def, or one whose decorators are all ``on_event`` registrations (which return
    the function unchanged), has a known kind; the lifespan awaits the others only if needed.
    """
    for decorator in node.decorators:
        call = decorator.decorator
        if not (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "on_event"
        ):
            return None
    return node.asynchronous is not None


def _is_on_event(node: cst.BaseExpression, targets: dict[str, _Target] | None) -> bool:
    """Is ``node`` an ``x.on_event(...)`` call (on an app or router created here, if given)?"""
    if not (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "on_event"
    ):
        return False
    if targets is None:
        return True
    owner = _owner_of(node.func.value)
    return owner is not None and owner in targets


class _ReturnCounter(cst.CSTVisitor):
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


def _count_returns(node: cst.FunctionDef) -> int:
    counter = _ReturnCounter()
    node.visit(counter)
    return counter.count


def _factories_with_outside_handlers(module: cst.Module) -> set[str]:
    """Local defs whose result gets event handlers at module level (``app = make(); app.on_event``).

    A cheap look at the module's top-level assignments and a word search for registrations
    on the names they bind.
    """
    calls: dict[str, str] = {}
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if (
                isinstance(small, cst.Assign | cst.AnnAssign)
                and isinstance(small.value, cst.Call)
                and isinstance(small.value.func, cst.Name)
            ):
                for name in _assigned_names(small):
                    calls[name] = small.value.func.value
    if not calls:
        return set()
    code = module.code
    return {
        factory
        for name, factory in calls.items()
        if re.search(rf"\b{re.escape(name)}(\.router)?\.(on_event|add_event_handler)\b", code)
    }


def _body_names(statements: Sequence[cst.BaseStatement]) -> set[str]:
    names: set[str] = set()
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                names.update(_assigned_names(small))
    return names


class _BindingCollector(cst.CSTVisitor):
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
        self.names.extend(_assigned_names(node))
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        self.names.extend(_assigned_names(node))
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


def _module_bindings(statement: cst.BaseStatement) -> list[str]:
    """Every name ``statement`` binds at module level, once per binding."""
    collector = _BindingCollector()
    statement.visit(collector)
    return collector.names


def registration_hint(registration: _Registration) -> str:
    if registration.how == "decorator":
        return "on_event("
    if registration.how == "call":
        return "add_event_handler("
    return f"on_{registration.event or 'startup'}="


def _assigned_names(small: cst.BaseSmallStatement) -> list[str]:
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


def _anchor(originals: Sequence[cst.BaseStatement] | None, index: int) -> cst.CSTNode | None:
    if originals is not None and index < len(originals):
        return originals[index]
    return None


def _small_index(statement: cst.BaseStatement, small: cst.BaseSmallStatement) -> int:
    assert isinstance(statement, cst.SimpleStatementLine)
    for position, candidate in enumerate(statement.body):
        if candidate is small:
            return position
    raise LookupError("registration not found in its statement")


def _appended_lifespan(call: cst.Call, lifespan_name: str) -> cst.Call:
    """``create_app(lifespan=x)`` -> ``lifespan=[x, new]``; a literal list gets one more item."""
    args = list(call.args)
    for index, arg in enumerate(args):
        if arg.keyword is None or arg.keyword.value != "lifespan":
            continue
        value = arg.value
        if isinstance(value, cst.List | cst.Tuple) and value.elements:
            elements = list(value.elements)
            last = elements[-1]
            comma = last.comma if isinstance(last.comma, cst.Comma) else cst.MaybeSentinel.DEFAULT
            elements[-1] = last.with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                if not isinstance(last.comma, cst.Comma)
                else last.comma
            )
            elements.append(cst.Element(cst.Name(lifespan_name), comma=comma))
            new_value: cst.BaseExpression = value.with_changes(elements=elements)
        else:
            new_value = cst.List(
                [
                    cst.Element(value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                    cst.Element(cst.Name(lifespan_name)),
                ]
            )
        args[index] = arg.with_changes(value=new_value)
    return call.with_changes(args=args)


def _with_lifespan(call: cst.Call, lifespan_name: str, indent: str) -> cst.Call:
    """Replace on_startup=/on_shutdown= with lifespan=, or append it, keeping the layout.

    A comment stays with the argument whose line it ends: an appended ``lifespan=`` goes on
    its own line, with its siblings' indentation, when the last argument's line carries a
    comment, and the call keeps its trailing comma (or lack of one) and its closing paren. The
    comments of removed ``on_startup=``/``on_shutdown=`` arguments become comment lines above
    ``lifespan=``, which now holds those handlers. ``indent`` is the module's indentation unit.
    """
    new_arg = cst.Arg(
        value=cst.Name(lifespan_name),
        keyword=cst.Name("lifespan"),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    args = list(call.args)
    # gaps[i] is the whitespace before args[i]; gaps[-1] the one before the closing paren.
    gaps = [call.whitespace_before_args, *(_after(arg) for arg in args)]
    event_positions = [
        i
        for i, arg in enumerate(args)
        if arg.keyword is not None and arg.keyword.value in {"on_startup", "on_shutdown"}
    ]
    if not event_positions:
        if not args:
            return call.with_changes(args=[new_arg])
        _append(args, gaps, new_arg, indent)
    else:
        _replace_events(args, gaps, new_arg, event_positions, indent)
    return call.with_changes(
        whitespace_before_args=gaps[0],
        args=[_with_after(arg, gap) for arg, gap in zip(args, gaps[1:], strict=True)],
    )


def _after(arg: cst.Arg) -> cst.BaseParenthesizableWhitespace:
    """The whitespace after ``arg`` and its comma: where the comment ending its line sits."""
    if isinstance(arg.comma, cst.Comma):
        return arg.comma.whitespace_after
    return arg.whitespace_after_arg


def _with_after(arg: cst.Arg, gap: cst.BaseParenthesizableWhitespace) -> cst.Arg:
    if isinstance(arg.comma, cst.Comma):
        return arg.with_changes(comma=arg.comma.with_changes(whitespace_after=gap))
    return arg.with_changes(whitespace_after_arg=gap)


def _append(
    args: list[cst.Arg],
    gaps: list[cst.BaseParenthesizableWhitespace],
    new_arg: cst.Arg,
    indent: str,
) -> None:
    """Add ``new_arg`` after the last argument, laid out like the gap before that argument."""
    last = args[-1]
    tail = gaps[-1]
    sibling = gaps[-2]
    between: cst.BaseParenthesizableWhitespace
    if isinstance(tail, cst.ParenthesizedWhitespace):
        # The last line's comment stays on it; the closing paren keeps its own line.
        between = _line_break(sibling, tail, indent, first_line=tail.first_line)
        closing: cst.BaseParenthesizableWhitespace = tail.with_changes(
            first_line=cst.TrailingWhitespace()
        )
    else:
        between = (
            sibling.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
            if isinstance(sibling, cst.ParenthesizedWhitespace)
            else cst.SimpleWhitespace(" ")
        )
        closing = tail
    if isinstance(last.comma, cst.Comma):
        new_arg = new_arg.with_changes(comma=cst.Comma())
    else:
        args[-1] = last.with_changes(comma=cst.Comma(), whitespace_after_arg=_NO_SPACE)
    args.append(new_arg)
    gaps[-1:] = [between, closing]


def _replace_events(
    args: list[cst.Arg],
    gaps: list[cst.BaseParenthesizableWhitespace],
    new_arg: cst.Arg,
    positions: list[int],
    indent: str,
) -> None:
    """``lifespan=`` takes the first event argument's place; the other ones go.

    The comments written on or inside the removed arguments (and the comment lines just above
    the ones that go) move to comment lines above ``lifespan=`` instead of being lost or
    ending up next to another argument.
    """
    first = positions[0]
    orphans: dict[int, list[cst.Comment]] = {}
    for position in reversed(positions[1:]):
        removed = args[position]
        before, after = gaps[position], gaps[position + 1]
        orphans[position] = [
            *_comments_on(
                before.empty_lines if isinstance(before, cst.ParenthesizedWhitespace) else ()
            ),
            *_comments_in_arg(removed),
            *_line_comment(after),
        ]
        del args[position]
        del gaps[position + 1]
        gaps[position] = _joined(before, after)
        if position == len(args):  # the last argument went: its neighbour takes its comma (or none)
            args[-1] = args[-1].with_changes(comma=removed.comma)
    orphans[first] = [*_comments_in_arg(args[first]), *_line_comment(gaps[first + 1])]
    args[first] = new_arg.with_changes(comma=args[first].comma)
    after = gaps[first + 1]
    if isinstance(after, cst.ParenthesizedWhitespace):
        gaps[first + 1] = after.with_changes(first_line=cst.TrailingWhitespace())
    moved = [comment for position in sorted(orphans) for comment in orphans[position]]
    if moved:
        before = gaps[first]
        if not isinstance(before, cst.ParenthesizedWhitespace):
            sibling = next(
                (gap for gap in gaps[:-1] if isinstance(gap, cst.ParenthesizedWhitespace)), before
            )
            before = _line_break(sibling, gaps[-1], indent, first_line=cst.TrailingWhitespace())
        assert isinstance(before, cst.ParenthesizedWhitespace)
        lines = [
            cst.EmptyLine(indent=before.indent, whitespace=before.last_line, comment=comment)
            for comment in moved
        ]
        gaps[first] = before.with_changes(empty_lines=[*before.empty_lines, *lines])


def _line_break(
    sibling: cst.BaseParenthesizableWhitespace,
    fallback: cst.BaseParenthesizableWhitespace,
    indent: str,
    *,
    first_line: cst.TrailingWhitespace,
) -> cst.ParenthesizedWhitespace:
    """A gap that ends the line with ``first_line`` and starts the next argument's line.

    The next line is indented like ``sibling`` (a gap before another argument) when that one is
    a line break, else one ``indent`` deeper than ``fallback`` (the closing paren's line).
    """
    if isinstance(sibling, cst.ParenthesizedWhitespace):
        return sibling.with_changes(first_line=first_line, empty_lines=[])
    if isinstance(fallback, cst.ParenthesizedWhitespace):
        return fallback.with_changes(
            first_line=first_line,
            empty_lines=[],
            last_line=cst.SimpleWhitespace(fallback.last_line.value + indent),
        )
    return cst.ParenthesizedWhitespace(
        first_line=first_line, last_line=cst.SimpleWhitespace(indent)
    )


def _joined(
    before: cst.BaseParenthesizableWhitespace, after: cst.BaseParenthesizableWhitespace
) -> cst.BaseParenthesizableWhitespace:
    """The gap left when the argument between ``before`` and ``after`` is removed.

    The line end of ``before`` (the previous argument's comment) and the rest of ``after``
    (comment lines above the next argument, its indentation) stay.
    """
    if not isinstance(before, cst.ParenthesizedWhitespace):
        return (
            after.with_changes(first_line=cst.TrailingWhitespace())
            if isinstance(after, cst.ParenthesizedWhitespace)
            else after
        )
    if isinstance(after, cst.ParenthesizedWhitespace):
        return after.with_changes(first_line=before.first_line)
    if before.first_line.comment is not None:  # the closing paren moves below that comment
        return before.with_changes(empty_lines=[])
    return after


def _line_comment(gap: cst.BaseParenthesizableWhitespace) -> list[cst.Comment]:
    if isinstance(gap, cst.ParenthesizedWhitespace) and gap.first_line.comment is not None:
        return [gap.first_line.comment]
    return []


def _comments_on(lines: Sequence[cst.EmptyLine]) -> list[cst.Comment]:
    return [line.comment for line in lines if line.comment is not None]


class _CommentCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.comments: list[cst.Comment] = []

    def visit_Comment(self, node: cst.Comment) -> None:
        self.comments.append(node)


def _comments_in_arg(arg: cst.Arg) -> list[cst.Comment]:
    """Comments inside ``arg`` itself (its value, ``=``, before its comma), not after it."""
    collector = _CommentCollector()
    if isinstance(arg.comma, cst.Comma):
        arg.with_changes(comma=cst.MaybeSentinel.DEFAULT).visit(collector)
        arg.comma.whitespace_before.visit(collector)
    else:  # its whitespace_after_arg is the gap after it
        arg.with_changes(whitespace_after_arg=_NO_SPACE).visit(collector)
    return collector.comments


def _apply_edits(
    statements: Sequence[cst.BaseStatement], edits: _BlockEdits, at_module: bool
) -> list[cst.BaseStatement]:
    # PEP 8 spacing: two blank lines around module-level defs, one around a nested def.
    blank_before = 2 if at_module else 1
    blank_after = 2 if at_module else 1
    result: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] = []
    for index, statement in enumerate(statements):
        if index in edits.insert_before:
            inserted = edits.insert_before[index]
            lines = list(getattr(statement, "leading_lines", ()))
            split = next(
                (i for i, line in enumerate(lines) if line.comment is not None), len(lines)
            )
            blanks = lines[:split]
            wanted = blank_before if at_module else min(index, 1)
            if len(blanks) < wanted:
                blanks = [_BLANK] * wanted
            first = inserted[0]
            result.append(first.with_changes(leading_lines=[*_comments(carried), *blanks]))
            carried = []
            for extra in inserted[1:]:
                spacing = [_BLANK] * blank_before if isinstance(extra, cst.FunctionDef) else []
                result.append(extra.with_changes(leading_lines=spacing or [_BLANK] * 0))
            statement = statement.with_changes(leading_lines=[_BLANK] * blank_after + lines[split:])
        if index in edits.replace_statement:
            statement = edits.replace_statement[index].with_changes(
                leading_lines=getattr(statement, "leading_lines", ())
            )
        if index in edits.replace_call:
            statement = _replace_constructor(statement, *edits.replace_call[index])
        if index in edits.remove_decorators:
            assert isinstance(statement, cst.FunctionDef)
            statement = _remove_decorators(statement, edits.remove_decorators[index])
        smalls = {key[1]: value for key, value in edits.replace_small.items() if key[0] == index}
        if smalls:
            assert isinstance(statement, cst.SimpleStatementLine)
            body: list[cst.BaseSmallStatement] = []
            for position, small in enumerate(statement.body):
                if position not in smalls:
                    body.append(small)
                    continue
                replacement = smalls[position]
                if replacement is not None:
                    body.append(replacement.with_changes(semicolon=small.semicolon))
            if not body:
                carried.extend(statement.leading_lines)
                continue
            body[-1] = body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
            statement = statement.with_changes(body=body)
        if carried:
            own = list(getattr(statement, "leading_lines", ()))
            # A removed statement's blank lines stay only where nothing else separates.
            lines = [*carried, *own] if not own else [*_comments(carried), *own]
            statement = statement.with_changes(leading_lines=lines)
            carried = []
        result.append(statement)
    if not result:
        result.append(cst.SimpleStatementLine(body=[cst.Pass()]))
    return result


def _comments(lines: Sequence[cst.EmptyLine]) -> list[cst.EmptyLine]:
    return [line for line in lines if line.comment is not None]


def _replace_constructor(
    statement: cst.BaseStatement, old: cst.Call, new: cst.Call
) -> cst.BaseStatement:
    """Swap in ``new`` for the target's own call only.

    ``app = FastAPI(); router = APIRouter()`` is one statement line: every other assignment
    in it must keep its value.
    """
    assert isinstance(statement, cst.SimpleStatementLine)
    body: list[cst.BaseSmallStatement] = []
    for small in statement.body:
        if isinstance(small, cst.Assign | cst.AnnAssign) and small.value is old:
            small = small.with_changes(value=new)
        body.append(small)
    return statement.with_changes(body=body)


def _remove_decorators(node: cst.FunctionDef, removed: set[int]) -> cst.FunctionDef:
    decorators: list[cst.Decorator] = []
    carried: list[cst.EmptyLine] = []
    for decorator in node.decorators:
        if id(decorator) in removed:
            carried.extend(line for line in decorator.leading_lines if line.comment is not None)
            continue
        if carried:
            decorator = decorator.with_changes(leading_lines=[*carried, *decorator.leading_lines])
            carried = []
        decorators.append(decorator)
    return node.with_changes(
        decorators=decorators,
        lines_after_decorators=[*carried, *node.lines_after_decorators],
    )
