"""What counts as an event-handler registration, and what the codemod knows about each one.

The registration API is the same on FastAPI, ``APIRouter`` and Starlette (``on_event(event_type)``,
``add_event_handler(event_type, func)``, the constructors' ``on_startup=``/``on_shutdown=``), so
arguments are bound by parameter name exactly as Python would bind them, positional or keyword.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import libcst as cst

FASTAPI_APP_CLASSES = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI"})


#: A plain Starlette app: ``lifespan=`` takes an ``@asynccontextmanager`` function from
#: Starlette 0.16.0 on (the preflight's ``starlette`` floor); 1.0 removed the event API.
STARLETTE_APP_CLASSES = frozenset({"starlette.applications.Starlette"})


APP_CLASSES = FASTAPI_APP_CLASSES | STARLETTE_APP_CLASSES


#: The runtime's factory takes ``lifespan=`` as one context manager or a list of them.
RUNTIME_FACTORIES = frozenset(
    {"spaps_server_quickstart.app.create_app", "spaps_server_quickstart.create_app"}
)


ROUTER_CLASSES = frozenset({"fastapi.APIRouter", "fastapi.routing.APIRouter"})


#: Starlette's ``Router`` runs its own ``lifespan=`` exactly where it ran its own
#: ``on_startup``/``on_shutdown`` lists (when it gets the ASGI lifespan scope itself), so unlike
#: ``APIRouter`` it needs no FastAPI that merges router lifespans.
STARLETTE_ROUTER_CLASSES = frozenset({"starlette.routing.Router"})


#: The first FastAPI that merges ``APIRouter(lifespan=...)`` into the app's lifespan.
ROUTER_LIFESPAN_FASTAPI = "0.112.2"


EVENTS = ("startup", "shutdown")


EMPTY_MODULE = cst.Module(body=[])


@dataclass
class Target:
    """An app or router created in the block being rewritten."""

    name: str
    index: int
    call: cst.Call
    kind: Literal["app", "router", "runtime", "factory"]
    callee: str
    defined: int = 1
    #: Whose registration API it is: the messages and the lifespan's annotation follow it.
    framework: Literal["FastAPI", "Starlette"] = "FastAPI"
    #: For ``app = create_app()`` with ``create_app`` defined in this module: the def's index,
    #: and why it cannot take a lifespan (None when it can).
    factory_index: int = -1
    factory_problem: str | None = None


@dataclass
class Registration:
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
class Step:
    expression: str
    is_async: bool | None


def string_value(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def owner_of(node: cst.BaseExpression) -> str | None:
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
    return string_value(bound["event_type"])


def keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def def_kind(node: cst.FunctionDef) -> bool | None:
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


def is_on_event(node: cst.BaseExpression, targets: dict[str, Target] | None) -> bool:
    """Is ``node`` an ``x.on_event(...)`` call (on an app or router created here, if given)?"""
    if not (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "on_event"
    ):
        return False
    if targets is None:
        return True
    owner = owner_of(node.func.value)
    return owner is not None and owner in targets


def registration_hint(registration: Registration) -> str:
    if registration.how == "decorator":
        return "on_event("
    if registration.how == "call":
        return "add_event_handler("
    return f"on_{registration.event or 'startup'}="
