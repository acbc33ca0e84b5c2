"""on-event-to-lifespan on plain Starlette apps and routers: exact output, as a spec.

The behaviour itself (same side effects on Starlette 0.x and 1.x) is proven by
test_starlette_behaviour_corpus.py; these pin down how the rewrite reads.
"""

from __future__ import annotations

from migrate.harness import assert_migrates, transform
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.on_event_to_lifespan import OnEventToLifespan
from spaps_cli.codemods.preflight import Declared, ProjectVersions

#: A FastAPI requirement that does not guarantee merged ``APIRouter`` lifespans (>= 0.112.2).
OLD_FASTAPI = MigrateConfig(
    versions=ProjectVersions({"fastapi": (Declared("pyproject.toml", ">=0.93"),)})
)


def test_fully_qualified_app_and_router_each_get_a_lifespan() -> None:
    """The app's annotation reuses its own spelling; the router's names the app class."""
    assert_migrates(
        """\
import starlette.applications
import starlette.routing

app = starlette.applications.Starlette()
api = starlette.routing.Router()


@app.on_event("startup")
async def connect() -> None: ...


@api.on_event("shutdown")
def close() -> None: ...
""",
        """\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import starlette.applications
import starlette.routing
from starlette.applications import Starlette


@asynccontextmanager
async def lifespan(app: starlette.applications.Starlette) -> AsyncIterator[None]:
    await connect()
    yield


app = starlette.applications.Starlette(lifespan=lifespan)


@asynccontextmanager
async def api_lifespan(_app: Starlette) -> AsyncIterator[None]:
    yield
    close()


api = starlette.routing.Router(lifespan=api_lifespan)


async def connect() -> None: ...


def close() -> None: ...
""",
        OnEventToLifespan,
    )


def test_a_starlette_app_mounted_in_a_fastapi_app_keeps_its_own_lifespan() -> None:
    """Each app gets its own lifespan, annotated with its own class (a mounted app never got
    the lifespan scope, so its handlers did not run before and its lifespan does not now)."""
    assert_migrates(
        """\
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount

legacy = Starlette(on_startup=[warm_legacy])
app = FastAPI(routes=[Mount("/legacy", legacy)])


@app.on_event("startup")
async def connect() -> None: ...
""",
        """\
import asyncio
import functools
import inspect
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
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

    if is_async_callable(warm_legacy):
        await warm_legacy()
    else:
        warm_legacy()
    yield


legacy = Starlette(lifespan=lifespan)


@asynccontextmanager
async def lifespan_2(app: FastAPI) -> AsyncIterator[None]:
    await connect()
    yield


app = FastAPI(routes=[Mount("/legacy", legacy)], lifespan=lifespan_2)


async def connect() -> None: ...
""",
        OnEventToLifespan,
    )


def test_starlette_router_needs_no_fastapi_that_merges_router_lifespans() -> None:
    """``Router(lifespan=...)`` runs where its ``on_shutdown`` ran: no APIRouter version gate.
    The module's own ``Starlette`` is not rebound: the annotation imports it under an alias."""
    follow = assert_migrates(
        """\
from starlette.routing import Router

Starlette = "a name the module already uses"
router = Router(on_shutdown=[close])
""",
        """\
import asyncio
import functools
import inspect
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette as _Starlette
from starlette.routing import Router

Starlette = "a name the module already uses"


@asynccontextmanager
async def router_lifespan(app: _Starlette) -> AsyncIterator[None]:
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

    yield
    if is_async_callable(close):
        await close()
    else:
        close()


router = Router(lifespan=router_lifespan)
""",
        OnEventToLifespan,
        OLD_FASTAPI,
    )
    assert not follow


def test_lifespan_and_on_startup_together_are_left_alone_on_the_constructor() -> None:
    """Starlette 0.x rejects both at construction (an assertion); 1.x has no on_startup."""
    output, fixed, follow = transform(
        """\
from starlette.applications import Starlette

app = Starlette(lifespan=lifespan, on_startup=[connect])
""",
        OnEventToLifespan,
    )
    assert (
        output
        == """\
from starlette.applications import Starlette

app = Starlette(lifespan=lifespan, on_startup=[connect])
"""
    )
    assert not fixed
    assert follow == [
        "'app' already has lifespan=, so Starlette never runs these handlers: move their bodies"
        " into that lifespan (before/after its yield) or delete them"
    ]
