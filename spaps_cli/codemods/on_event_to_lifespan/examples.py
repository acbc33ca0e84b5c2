"""The before/after examples of on-event-to-lifespan: its documentation and its first tests."""

from __future__ import annotations

from spaps_cli.codemods.base import Example

EXAMPLES: tuple[Example, ...] = (
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
import asyncio
import functools
import inspect
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .events import make_startup, stop_clients


def create_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        def is_async_callable(handler: object) -> bool:
            # Starlette's test for awaiting a handler, functools.partial layers included.
            while isinstance(handler, functools.partial):
                handler = handler.func
            if sys.version_info < (3, 13):
                iscoroutinefunction = asyncio.iscoroutinefunction
            else:
                iscoroutinefunction = inspect.iscoroutinefunction
            return iscoroutinefunction(handler) or (
                callable(handler) and iscoroutinefunction(handler.__call__)
            )

        if is_async_callable(startup_handler):
            await startup_handler()
        else:
            startup_handler()
        yield
        if is_async_callable(stop_clients):
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
        "a plain Starlette app: constructor list, add_event_handler and on_event",
        before="""\
from starlette.applications import Starlette
from starlette.routing import Route

from .views import health


async def connect() -> None:
    await db.connect()


async def disconnect() -> None:
    await db.disconnect()


app = Starlette(routes=[Route("/health", health)], on_startup=[connect])
app.add_event_handler("shutdown", disconnect)


@app.on_event("startup")
def load_model() -> None:
    model.load()
""",
        after="""\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Route

from .views import health


async def connect() -> None:
    await db.connect()


async def disconnect() -> None:
    await db.disconnect()


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await connect()
    load_model()
    yield
    await disconnect()


app = Starlette(routes=[Route("/health", health)], lifespan=lifespan)


def load_model() -> None:
    model.load()
""",
    ),
    Example(
        "a Starlette Router served on its own gets its own lifespan",
        before="""\
from starlette.routing import Route, Router

from .views import items


def open_cache() -> None:
    cache.open()


router = Router(routes=[Route("/items", items)], on_startup=[open_cache])
router.add_event_handler("shutdown", cache.close)
""",
        after="""\
import asyncio
import functools
import inspect
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Route, Router

from .views import items


def open_cache() -> None:
    cache.open()


@asynccontextmanager
async def router_lifespan(app: Starlette) -> AsyncIterator[None]:
    def is_async_callable(handler: object) -> bool:
        # Starlette's test for awaiting a handler, functools.partial layers included.
        while isinstance(handler, functools.partial):
            handler = handler.func
        if sys.version_info < (3, 13):
            iscoroutinefunction = asyncio.iscoroutinefunction
        else:
            iscoroutinefunction = inspect.iscoroutinefunction
        return iscoroutinefunction(handler) or (
            callable(handler) and iscoroutinefunction(handler.__call__)
        )

    open_cache()
    yield
    if is_async_callable(cache.close):
        await cache.close()
    else:
        cache.close()


router = Router(routes=[Route("/items", items)], lifespan=router_lifespan)
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
