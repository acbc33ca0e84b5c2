"""on-event-to-lifespan: the cases beyond its own examples, read as a spec."""

from __future__ import annotations

import pytest

from migrate.harness import assert_migrates, transform
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.on_event_to_lifespan import OnEventToLifespan
from spaps_cli.codemods.preflight import Declared, ProjectVersions
from spaps_cli.codemods.runner import migrate_source


def migrates(before: str, after: str) -> list[str]:
    return assert_migrates(before, after, OnEventToLifespan)


def left_alone(source: str) -> list[str]:
    output, fixed, follow = transform(source, OnEventToLifespan)
    assert output == source
    assert not fixed
    assert follow
    return follow


def test_module_alias_and_existing_contextlib_import_merged() -> None:
    migrates(
        """\
from contextlib import suppress

import fastapi

app = fastapi.FastAPI()


@app.on_event("shutdown")
def close() -> None:
    with suppress(Exception):
        pool.close()
""",
        """\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import fastapi


@asynccontextmanager
async def lifespan(app: fastapi.FastAPI) -> AsyncIterator[None]:
    yield
    close()


app = fastapi.FastAPI(lifespan=lifespan)


def close() -> None:
    with suppress(Exception):
        pool.close()
""",
    )


def test_multiline_constructor_keeps_its_layout() -> None:
    migrates(
        """\
from fastapi import FastAPI

app = FastAPI(
    title="orders",
    version="1.0",
)


@app.on_event("startup")
async def start() -> None: ...
""",
        """\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await start()
    yield


app = FastAPI(
    title="orders",
    version="1.0",
    lifespan=lifespan,
)


async def start() -> None: ...
""",
    )


def test_app_defined_twice_is_a_follow_up() -> None:
    follow = left_alone(
        """\
from fastapi import FastAPI

app = FastAPI()
app = FastAPI(debug=True)


@app.on_event("startup")
def start() -> None: ...
"""
    )
    assert "more than once" in follow[0]


def test_handler_referenced_before_definition_is_a_follow_up() -> None:
    follow = left_alone(
        """\
from fastapi import FastAPI

app = FastAPI()
app.router.add_event_handler("startup", start)


def start() -> None: ...
"""
    )
    assert "before it is defined" in follow[0]


def test_handler_called_at_import_time_is_a_follow_up() -> None:
    follow = left_alone(
        """\
import asyncio

from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
async def warm() -> None: ...


asyncio.run(warm())
"""
    )
    assert "called directly" in follow[0]


def test_imported_app_is_a_follow_up() -> None:
    follow = left_alone(
        """\
from .main import app


@app.on_event("startup")
async def extra() -> None: ...
"""
    )
    assert "not created" in follow[0]


def test_helper_registering_on_the_app_blocks_the_whole_app() -> None:
    follow = left_alone(
        """\
from fastapi import FastAPI

app = FastAPI()


def attach(app):
    app.add_event_handler("startup", lambda: None)


@app.on_event("startup")
async def start() -> None: ...
"""
    )
    assert any("conditionally or from a helper" in message for message in follow)


def test_non_literal_handler_list_is_a_follow_up() -> None:
    left_alone(
        """\
from fastapi import FastAPI

HANDLERS = [print]
app = FastAPI(on_startup=HANDLERS)
"""
    )


def test_kwargs_in_constructor_is_a_follow_up() -> None:
    left_alone(
        """\
from fastapi import FastAPI

app = FastAPI(**options)


@app.on_event("startup")
async def start() -> None: ...
"""
    )


def test_unknown_event_name_is_a_follow_up() -> None:
    left_alone(
        """\
from fastapi import FastAPI

app = FastAPI()
EVENT = "startup"


@app.on_event(EVENT)
async def start() -> None: ...
"""
    )


def test_router_with_existing_lifespan_is_a_follow_up() -> None:
    left_alone(
        """\
from fastapi import APIRouter

router = APIRouter(lifespan=router_lifespan)


@router.on_event("startup")
async def start() -> None: ...
"""
    )


def test_comments_between_decorators_survive() -> None:
    migrates(
        """\
from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
# cached for the process lifetime
@cache
def load() -> None: ...
""",
        """\
import asyncio
import functools
import inspect
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI


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

    if is_async_callable(load):
        await load()
    else:
        load()
    yield


app = FastAPI(lifespan=lifespan)


# cached for the process lifetime
@cache
def load() -> None: ...
""",
    )


@pytest.mark.parametrize(
    ("prefix", "newline"),
    [(b"", b"\r\n"), (b"\xef\xbb\xbf", b"\n"), (b"\xef\xbb\xbf", b"\r\n")],
    ids=["crlf", "bom", "bom+crlf"],
)
def test_bom_and_line_endings_are_kept(prefix: bytes, newline: bytes) -> None:
    source = prefix + newline.join(
        [
            b"from fastapi import FastAPI",
            b"",
            b"app = FastAPI()",
            b"",
            b"",
            b'@app.on_event("startup")',
            b"async def start() -> None: ...",
            b"",
        ]
    )
    result = migrate_source(source, (OnEventToLifespan,), MigrateConfig()).new_source
    assert result.startswith(prefix + b"from collections.abc import AsyncIterator" + newline)
    assert result.count(b"\xef\xbb\xbf") == len(prefix) // 3
    body = result[len(prefix) :]
    if newline == b"\r\n":
        assert b"\n" not in body.replace(b"\r\n", b"")
    else:
        assert b"\r" not in body
    assert b"lifespan=lifespan" in result


def test_tab_indented_module_gets_tab_indented_lifespan() -> None:
    source = 'from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.on_event("startup")\ndef start():\n\tprint("x")\n'
    output, _, _ = transform(source, OnEventToLifespan)
    assert "\n\tstart()\n\tyield\n" in output


def test_follow_ups_point_at_the_construct_that_blocks_the_rewrite() -> None:
    """An app imported from elsewhere: the import is what stops it, not the handler."""
    source = (
        b'from .main import app\n\n\n@app.on_event("startup")\nasync def extra() -> None: ...\n'
    )
    migration = migrate_source(source, (OnEventToLifespan,), MigrateConfig(), "svc/extra.py")
    assert [(f.path, f.line, f.auto_fixable) for f in migration.findings] == [
        ("svc/extra.py", 1, False)
    ]


def test_handler_name_bound_twice_is_a_follow_up() -> None:
    follow = left_alone(
        """\
from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
async def start() -> None: ...


def start() -> None: ...
"""
    )
    assert "defined more than once" in follow[0]


def test_runtime_create_app_without_lifespan_gets_one() -> None:
    output, fixed, follow = transform(
        """\
from spaps_server_quickstart.app import create_app

app = create_app(settings=get_settings)


@app.on_event("shutdown")
def bye() -> None: ...
""",
        OnEventToLifespan,
    )
    assert "app = create_app(settings=get_settings, lifespan=lifespan)" in output
    assert "async def lifespan(app: FastAPI)" in output
    assert "from fastapi import FastAPI" in output
    assert fixed
    assert not follow


def test_runtime_create_app_with_a_lifespan_list_gets_one_more() -> None:
    output, _, follow = transform(
        """\
from spaps_server_quickstart.app import create_app

app = create_app(settings=s, lifespan=[a, b])


@app.on_event("startup")
def go() -> None: ...
""",
        OnEventToLifespan,
    )
    assert "lifespan=[a, b, lifespan]" in output
    assert "never ran these handlers" in follow[0]


# -- the constructor's layout: comments stay with their argument ---------------------------------

_DECORATED_BEFORE = """\
from fastapi import FastAPI

app = {call}


@app.on_event("startup")
async def start() -> None: ...
"""
_DECORATED_AFTER = """\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await start()
    yield


app = {call}


async def start() -> None: ...
"""


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
FastAPI(
    title="orders",
    debug=False,  # keep off
)""",
            """\
FastAPI(
    title="orders",
    debug=False,  # keep off
    lifespan=lifespan,
)""",
            id="trailing-comma-comment-stays-on-its-line",
        ),
        pytest.param(
            """\
FastAPI(
    title="orders",
    debug=True  # verbose errors
)""",
            """\
FastAPI(
    title="orders",
    debug=True,  # verbose errors
    lifespan=lifespan
)""",
            id="no-trailing-comma-sibling-indent-and-paren-kept",
        ),
        pytest.param(
            """\
FastAPI(
    title="orders",  # the service name
    debug=True,
)""",
            """\
FastAPI(
    title="orders",  # the service name
    debug=True,
    lifespan=lifespan,
)""",
            id="a-sibling-comment-is-not-copied",
        ),
        pytest.param(
            """\
FastAPI(
    title="orders",
    debug=True,
    # version="2.0",
)""",
            """\
FastAPI(
    title="orders",
    debug=True,
    lifespan=lifespan,
    # version="2.0",
)""",
            id="comment-lines-before-the-paren-stay-there",
        ),
        pytest.param(
            """\
FastAPI(title="orders",
        debug=True)""",
            """\
FastAPI(title="orders",
        debug=True,
        lifespan=lifespan)""",
            id="aligned-arguments-hugging-paren",
        ),
        pytest.param(
            """\
FastAPI(title="orders", debug=True  # verbose errors
)""",
            """\
FastAPI(title="orders", debug=True,  # verbose errors
    lifespan=lifespan
)""",
            id="one-line-arguments-then-a-comment",
        ),
        pytest.param(
            'FastAPI(title="orders", debug=True,)',
            'FastAPI(title="orders", debug=True, lifespan=lifespan,)',
            id="one-line-trailing-comma",
        ),
    ],
)
def test_lifespan_argument_keeps_the_call_layout(before: str, after: str) -> None:
    migrates(_DECORATED_BEFORE.format(call=before), _DECORATED_AFTER.format(call=after))


_CONSTRUCTOR_BEFORE = """\
from fastapi import FastAPI


async def start() -> None: ...


async def stop() -> None: ...


app = {call}
"""
_CONSTRUCTOR_AFTER = """\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI


async def start() -> None: ...


async def stop() -> None: ...


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await start()
    yield
    await stop()


app = {call}
"""


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
FastAPI(
    title="orders",
    on_startup=[start],  # warm up
    on_shutdown=[stop],  # tidy
    debug=True
)""",
            """\
FastAPI(
    title="orders",
    # warm up
    # tidy
    lifespan=lifespan,
    debug=True
)""",
            id="replaced-and-removed-keywords-comments-move-above-lifespan",
        ),
        pytest.param(
            """\
FastAPI(
    on_startup=[
        start,  # must run first
    ],
    title="orders",  # the service name
    # closing handlers
    on_shutdown=[stop]  # close pools
)""",
            """\
FastAPI(
    # must run first
    # closing handlers
    # close pools
    lifespan=lifespan,
    title="orders"  # the service name
)""",
            id="last-keyword-removed-neighbour-keeps-its-comment",
        ),
        pytest.param(
            """\
FastAPI(title="orders", on_startup=[start],  # warm up
        on_shutdown=[stop], debug=True)""",
            """\
FastAPI(title="orders",
        # warm up
        lifespan=lifespan,
        debug=True)""",
            id="comment-on-a-shared-line-gets-a-line-of-its-own",
        ),
        pytest.param(
            'FastAPI(title="orders", on_startup=[start], on_shutdown=[stop])',
            'FastAPI(title="orders", lifespan=lifespan)',
            id="one-line",
        ),
    ],
)
def test_event_keyword_comments_are_kept_above_lifespan(before: str, after: str) -> None:
    migrates(_CONSTRUCTOR_BEFORE.format(call=before), _CONSTRUCTOR_AFTER.format(call=after))


def test_factory_constructor_gets_the_nested_layout() -> None:
    migrates(
        """\
from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI(
        title="orders",
        debug=True  # verbose errors
    )
    app.add_event_handler("startup", start)
    return app
""",
        """\
import asyncio
import functools
import inspect
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI


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

        if is_async_callable(start):
            await start()
        else:
            start()
        yield

    app = FastAPI(
        title="orders",
        debug=True,  # verbose errors
        lifespan=lifespan
    )
    return app
""",
    )


# -- helper imports: reuse only what is bound once, alias what is taken --------------------------


def test_existing_asynccontextmanager_reused_next_to_a_main_block() -> None:
    migrates(
        """\
from contextlib import asynccontextmanager

from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
async def start() -> None: ...


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app)
""",
        """\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await start()
    yield


app = FastAPI(lifespan=lifespan)


async def start() -> None: ...


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app)
""",
    )


@pytest.mark.parametrize(
    "rebinding",
    [
        "if DEBUG:\n    asynccontextmanager = traced_asynccontextmanager\n",
        "try:\n    pass\nexcept ImportError as asynccontextmanager:\n    pass\n",
        "for asynccontextmanager in ():\n    pass\n",
    ],
    ids=["if", "except-as", "for-target"],
)
def test_asynccontextmanager_rebound_in_a_compound_statement_is_aliased(rebinding: str) -> None:
    source = (
        "from contextlib import asynccontextmanager\n\nfrom fastapi import FastAPI\n\n"
        + rebinding
        + '\napp = FastAPI()\n\n\n@app.on_event("startup")\nasync def start() -> None: ...\n'
    )
    output, _, _ = transform(source, OnEventToLifespan)
    assert "asynccontextmanager as _asynccontextmanager" in output
    assert "@_asynccontextmanager\n" in output


def test_awaiting_test_reuses_an_imported_partial_and_takes_a_free_name() -> None:
    """Handlers of unknown kind go through a local copy of Starlette's ``is_async_callable``;
    the module's own ``is_async_callable`` (Starlette's private one here) is not shadowed."""
    migrates(
        """\
from functools import partial

from fastapi import FastAPI
from starlette._utils import is_async_callable

from .events import close

app = FastAPI()
app.router.add_event_handler("startup", partial(close, force=True))
""",
        """\
import asyncio
import inspect
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from starlette._utils import is_async_callable

from .events import close


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    def is_async_callable_2(handler: object) -> bool:
        # Starlette's test for awaiting a handler, functools.partial layers included.
        while isinstance(handler, partial):
            handler = handler.func
        if sys.version_info < (3, 13):
            iscoroutinefunction = asyncio.iscoroutinefunction
        else:
            iscoroutinefunction = inspect.iscoroutinefunction
        return iscoroutinefunction(handler) or (
            callable(handler) and iscoroutinefunction(handler.__call__)
        )

    if is_async_callable_2(startup_handler):
        await startup_handler()
    else:
        startup_handler()
    yield


app = FastAPI(lifespan=lifespan)
startup_handler = partial(close, force=True)
""",
    )


@pytest.mark.parametrize(
    "binding",
    [
        'functools = "taken"\ninspect = None',
        "from functools import partial as handler\nimport inspect as functools",
    ],
    ids=["module-names-taken", "partial-imported-as-the-parameter-name"],
)
def test_awaiting_test_aliases_what_the_module_binds(binding: str) -> None:
    source = (
        f"from fastapi import FastAPI\n\nfrom .events import close\n\n{binding}\n"
        'app = FastAPI()\napp.router.add_event_handler("shutdown", close)\n'
    )
    output, fixed, follow = transform(source, OnEventToLifespan)
    assert fixed
    assert not follow
    assert "import functools as _functools\n" in output
    assert "while isinstance(handler, _functools.partial):" in output
    assert "iscoroutinefunction = _inspect.iscoroutinefunction\n" in output


def test_every_lifespan_of_a_module_defines_the_same_awaiting_test() -> None:
    """The test is local to each lifespan, so one free name serves them all."""
    source = """\
from fastapi import FastAPI

from .events import close, open_pool

app = FastAPI(on_startup=[open_pool])
admin = FastAPI(on_shutdown=[close])
"""
    output, fixed, _ = transform(source, OnEventToLifespan)
    assert fixed
    assert output.count("    def is_async_callable(handler: object) -> bool:\n") == 2
    assert "if is_async_callable(open_pool):" in output
    assert "if is_async_callable(close):" in output


@pytest.mark.parametrize(
    "binding",
    [
        "from .compat import FastAPI",
        "from fastapi import FastAPI\n\nFastAPI = make_app_class(FastAPI)",
    ],
    ids=["imported-from-elsewhere", "rebound"],
)
def test_router_lifespan_aliases_a_taken_fastapi(binding: str) -> None:
    migrates(
        f"""\
from fastapi import APIRouter

{binding}

router = APIRouter()


@router.on_event("startup")
async def warm() -> None: ...
""",
        f"""\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI as _FastAPI

{binding}


@asynccontextmanager
async def router_lifespan(app: _FastAPI) -> AsyncIterator[None]:
    await warm()
    yield


router = APIRouter(lifespan=router_lifespan)


async def warm() -> None: ...
""",
    )


ROUTER_APP = """\
from fastapi import APIRouter

router = APIRouter(prefix="/items")


@router.on_event("startup")
async def warm_cache() -> None: ...
"""


@pytest.mark.parametrize(
    "requirement",
    [">=0.100", "==0.110.0", ">=0.93,<1", "~=0.111.0"],
)
def test_router_lifespan_is_a_follow_up_where_the_requirement_allows_old_fastapi(
    requirement: str,
) -> None:
    """FastAPI < 0.112.2 never runs a router's lifespan: the handlers would silently stop."""
    versions = ProjectVersions({"fastapi": (Declared("pyproject.toml", requirement),)})
    output, fixed, follow = transform(
        ROUTER_APP, OnEventToLifespan, MigrateConfig(versions=versions)
    )
    assert output == ROUTER_APP
    assert not fixed
    assert "0.112.2" in follow[0]
    assert requirement in follow[0]


def test_router_lifespan_is_a_follow_up_without_a_fastapi_requirement() -> None:
    output, _fixed, follow = transform(ROUTER_APP, OnEventToLifespan, MigrateConfig())
    assert output == ROUTER_APP
    assert "no FastAPI requirement found" in follow[0]


@pytest.mark.parametrize("requirement", [">=0.112.2", "==0.115.*", ">0.112.2,<1"])
def test_router_lifespan_is_written_where_the_requirement_guarantees_it(requirement: str) -> None:
    versions = ProjectVersions({"fastapi": (Declared("pyproject.toml", requirement),)})
    output, fixed, follow = transform(
        ROUTER_APP, OnEventToLifespan, MigrateConfig(versions=versions)
    )
    assert 'APIRouter(prefix="/items", lifespan=router_lifespan)' in output
    assert fixed
    assert not follow


APP_ADD_EVENT_HANDLER = """\
from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


async def connect() -> None:
    EVENTS.append("connect")


app.add_event_handler("startup", connect)
app.add_event_handler(func=lambda: EVENTS.append("bye"), event_type="shutdown")
"""


def test_app_add_event_handler_removed_by_starlette_1_is_rewritten_into_a_working_app() -> None:
    """Starlette 1.x dropped ``add_event_handler``: the module crashed at import; now it runs."""
    from fastapi.testclient import TestClient

    before: dict[str, object] = {}
    with pytest.raises(AttributeError, match="add_event_handler"):
        exec(compile(APP_ADD_EVENT_HANDLER, "before.py", "exec"), before)
    output, fixed, follow = transform(APP_ADD_EVENT_HANDLER, OnEventToLifespan)
    assert fixed
    assert not follow
    after: dict[str, object] = {}
    exec(compile(output, "after.py", "exec"), after)
    with TestClient(after["app"]):  # type: ignore[arg-type]
        assert after["EVENTS"] == ["connect"]
    assert after["EVENTS"] == ["connect", "bye"]


@pytest.mark.parametrize(
    ("registration", "reason"),
    [
        ('app.add_event_handler("startup")', "does not bind to (event_type, func)"),
        ("app.add_event_handler(*HANDLER)", "does not bind to (event_type, func)"),
        ('app.add_event_handler("startup", start, when="now")', "does not bind"),
        ('app.on_event("startup", "again")(start)', "does not bind to (event_type)(func)"),
        ("app.on_event(EVENT)(start)", 'is not a literal "startup" or "shutdown"'),
        ('app.router.add_event_handler("boot", start)', 'is not a literal "startup"'),
    ],
)
def test_registrations_that_do_not_bind_are_refused_with_the_reason(
    registration: str, reason: str
) -> None:
    follow = left_alone(
        f"""\
from fastapi import FastAPI

app = FastAPI()


async def start() -> None: ...


{registration}
"""
    )
    assert any(reason in message for message in follow), follow


def test_stacked_on_event_decorators_register_bottom_up() -> None:
    """``@a @b def f`` applies ``b`` first: the lower decorator's registration comes first."""
    migrates(
        """\
from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
def first() -> None: ...


@app.router.on_event("shutdown")
@app.on_event("startup")
async def second() -> None: ...
""",
        """\
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    first()
    await second()
    yield
    await second()


app = FastAPI(lifespan=lifespan)


def first() -> None: ...


async def second() -> None: ...
""",
    )
