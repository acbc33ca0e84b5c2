"""settings, middleware, auth, db-session, celery and imports: cases beyond their examples."""

from __future__ import annotations

import pytest

from migrate.harness import assert_migrates, transform
from spaps_cli.codemods.auth_to_runtime import AuthToRuntime
from spaps_cli.codemods.celery_to_runtime import CeleryToRuntime
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.db_session_to_runtime import DbSessionToRuntime
from spaps_cli.codemods.imports import ImportsToRuntime
from spaps_cli.codemods.middleware_to_runtime import MiddlewareToRuntime
from spaps_cli.codemods.settings_to_runtime import SettingsToRuntime

# -- settings-to-runtime ---------------------------------------------------------------------


def test_settings_class_name_comes_from_config() -> None:
    before = """\
from pydantic_settings import BaseSettings


class HTMASettings(BaseSettings):
    model_path: str = "/models"
    debug: bool = False
"""
    after = """\
from spaps_server_quickstart.settings import BaseServiceSettings


class HTMASettings(BaseServiceSettings):
    model_path: str = "/models"
"""
    assert_migrates(before, after, SettingsToRuntime, MigrateConfig(settings_class="HTMASettings"))
    output, fixed, follow = transform(before, SettingsToRuntime)
    assert output == before
    assert not fixed
    assert "set settings-class" in follow[0]


def test_settings_field_with_other_type_or_default_is_kept_and_reported() -> None:
    before = """\
from typing import Optional

from pydantic import BaseSettings


class Settings(BaseSettings):
    database_url: str = "postgresql+asyncpg://db/orders"
    debug: int = 0
    spaps_application_id: Optional[str] = None
"""
    output, _fixed, follow = transform(before, SettingsToRuntime)
    assert "class Settings(BaseServiceSettings):" in output
    assert "database_url" in output
    assert "debug: int = 0" in output
    assert "spaps_application_id" not in output  # Optional[str] = None is the base's field
    assert "from typing import Optional" not in output
    assert len(follow) == 3
    assert any("bump-pydantic" in message for message in follow)


def test_lru_cache_getter_with_arguments_is_a_follow_up() -> None:
    source = """\
import functools

from app.config import Settings


@functools.lru_cache(maxsize=1)
def get_settings():
    return Settings(_env_file=".env.prod")
"""
    output, fixed, follow = transform(source, SettingsToRuntime)
    assert output == source
    assert not fixed
    assert follow


def test_functools_attribute_lru_cache_getter() -> None:
    assert_migrates(
        '''\
import functools

from app.config import Settings


@functools.lru_cache()
def get_settings() -> Settings:
    """Cached settings."""
    return Settings()
''',
        """\
from app.config import Settings
from spaps_server_quickstart.settings import create_settings_loader


get_settings = create_settings_loader(Settings)
""",
        SettingsToRuntime,
    )


# -- middleware-to-runtime -------------------------------------------------------------------


def test_middleware_class_used_elsewhere_is_kept_with_follow_up() -> None:
    source = """\
from starlette.middleware.base import BaseHTTPMiddleware


class RequestIdMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        return await call_next(request)


app.add_middleware(RequestIdMiddleware)
EXPORTED = [RequestIdMiddleware]
"""
    output, _fixed, follow = transform(source, MiddlewareToRuntime)
    assert "app.add_middleware(RequestContextMiddleware)" in output
    assert "class RequestIdMiddleware" in output
    assert "from starlette.middleware.base import BaseHTTPMiddleware" in output
    assert any("still referenced" in message for message in follow)


def test_auth_middleware_is_not_treated_as_request_logging() -> None:
    source = """\
from starlette.middleware.base import BaseHTTPMiddleware


class AuthMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        if not request.headers.get("Authorization"):
            raise PermissionError
        return await call_next(request)
"""
    output, fixed, follow = transform(source, MiddlewareToRuntime)
    assert output == source
    assert not fixed
    assert not follow


def test_middleware_registered_with_arguments_is_a_follow_up() -> None:
    source = """\
from starlette.middleware.base import BaseHTTPMiddleware


class CorrelationIdMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        return await call_next(request)


app.add_middleware(CorrelationIdMiddleware, header_name="X-Correlation-ID")
"""
    output, _fixed, follow = transform(source, MiddlewareToRuntime)
    assert output == source
    assert any("registered with arguments" in message for message in follow)


def test_two_job_middlewares_become_one() -> None:
    source = """\
from starlette.middleware.base import BaseHTTPMiddleware


class RequestIdMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        return await call_next(request)


class TimingMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        return await call_next(request)


app.add_middleware(TimingMiddleware)
app.add_middleware(RequestIdMiddleware)
"""
    assert_migrates(
        source,
        """\
from spaps_server_quickstart.request_context import RequestContextMiddleware


app.add_middleware(RequestContextMiddleware)
""",
        MiddlewareToRuntime,
    )


# -- auth-to-runtime -------------------------------------------------------------------------


def test_auth_definitions_are_follow_ups_not_deleted() -> None:
    source = """\
from fastapi import Header


async def get_current_user(authorization: str = Header()):
    return await spaps.validate(authorization)
"""
    output, fixed, follow = transform(source, AuthToRuntime)
    assert output == source
    assert not fixed
    assert "local auth dependency" in follow[0]


def test_runtime_dependencies_are_left_alone() -> None:
    source = """\
from fastapi import Depends
from spaps_server_quickstart.auth import current_user


def me(user=Depends(current_user)):
    return user
"""
    output, fixed, follow = transform(source, AuthToRuntime)
    assert (output, fixed, follow) == (source, [], [])


# -- db-session-to-runtime -------------------------------------------------------------------


def test_annotated_dependency_and_kwonly_parameter() -> None:
    assert_migrates(
        """\
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import get_session


async def a(db: Annotated[AsyncSession, Depends(get_session)]): ...


async def b(x: int = 1, *, session: AsyncSession = Depends(get_session)): ...
""",
        """\
from spaps_server_quickstart.db import DbSession


async def a(db: DbSession): ...


async def b(x: int = 1, *, session: DbSession): ...
""",
        DbSessionToRuntime,
    )


def test_parameter_after_defaults_keeps_a_default() -> None:
    assert_migrates(
        """\
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import get_db


async def list_items(limit: int = 10, db: AsyncSession = Depends(get_db)): ...
""",
        """\
from fastapi import Depends
from spaps_server_quickstart.db import get_db_session
from sqlalchemy.ext.asyncio import AsyncSession


async def list_items(limit: int = 10, db: AsyncSession = Depends(get_db_session)): ...
""",
        DbSessionToRuntime,
    )


def test_dependency_override_on_local_get_db_is_reported() -> None:
    source = """\
from app.db import get_db
from app.main import app

app.dependency_overrides[get_db] = lambda: None
"""
    _, _, follow = transform(source, DbSessionToRuntime)
    assert "get_db_session" in follow[0]


def test_engine_module_is_a_follow_up() -> None:
    source = """\
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine(settings.database_url)
SessionLocal = async_sessionmaker(engine)
"""
    output, _fixed, follow = transform(source, DbSessionToRuntime)
    assert output == source
    assert "DatabaseResources" in follow[0]


# -- celery-to-runtime -----------------------------------------------------------------------


def test_celery_with_other_setting_names_reports_the_rename() -> None:
    source = """\
from celery import Celery

from app.config import get_settings

celery = Celery("worker", broker=get_settings().redis_url)
celery.conf.update(task_acks_late=True)
"""
    output, _fixed, follow = transform(source, CeleryToRuntime)
    assert 'celery = create_celery_app(get_settings(), name="worker", as_default=True)' in output
    assert "celery.conf.update(task_acks_late=True)" in output
    assert any("CELERY_BROKER_URL" in message for message in follow)
    assert any("conf.update" in message for message in follow)


def test_celery_with_literal_broker_is_a_follow_up() -> None:
    source = 'from celery import Celery\n\napp = Celery("w", broker="redis://localhost")\n'
    output, _fixed, follow = transform(source, CeleryToRuntime)
    assert output == source
    assert follow


# -- imports ---------------------------------------------------------------------------------


def test_plain_import_and_its_attribute_uses_are_rewritten() -> None:
    config = MigrateConfig(modules={"htma.core.logging": "spaps_server_quickstart.logging"})
    assert_migrates(
        """\
import htma.core.logging
from htma.core.logging.setup import configure

htma.core.logging.configure_logging(settings)
""",
        """\
import spaps_server_quickstart.logging
from spaps_server_quickstart.logging.setup import configure

spaps_server_quickstart.logging.configure_logging(settings)
""",
        ImportsToRuntime,
        config,
    )


def test_imports_codemod_needs_a_map() -> None:
    assert ImportsToRuntime.needles(MigrateConfig()) == ()


def test_middleware_in_constructor_list() -> None:
    assert_migrates(
        """\
from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware


class AccessLogMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        return await call_next(request)


app = FastAPI(middleware=[Middleware(AccessLogMiddleware)])
""",
        """\
from fastapi import FastAPI
from spaps_server_quickstart.request_context import RequestContextMiddleware
from starlette.middleware import Middleware


app = FastAPI(middleware=[Middleware(RequestContextMiddleware)])
""",
        MiddlewareToRuntime,
    )


_DOES_MORE = {
    "error handler that logs the request id": """\
    try:
        return await call_next(request)
    except Exception:
        request_id = request.headers.get("x-request-id", "-")
        logger.exception("unhandled error (request %s)", request_id)
        return JSONResponse({"detail": "internal error", "request_id": request_id}, 500)
""",
    "maintenance mode": """\
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    if settings.maintenance:
        return JSONResponse({"detail": "maintenance"}, status_code=503)
    response = await call_next(request)
    response.headers["x-request-id"] = request_id
    return response
""",
    "another side effect": """\
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    await audit.record(request.url.path)
    response = await call_next(request)
    response.headers["x-request-id"] = request_id
    return response
""",
    "returns something else": """\
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    response = await call_next(request)
    return Response(response.body, headers={"x-request-id": request_id})
""",
}


@pytest.mark.parametrize("body", _DOES_MORE.values(), ids=_DOES_MORE.keys())
def test_middleware_function_doing_more_than_the_job_is_kept(body: str) -> None:
    source = f"""\
from fastapi import FastAPI, Request

app = FastAPI()


@app.middleware("http")
async def request_id_middleware(request: Request, call_next):
{body}"""
    output, fixed, follow = transform(source, MiddlewareToRuntime)
    assert output == source
    assert not fixed
    assert any("also does other work" in message for message in follow)


def test_middleware_class_doing_more_than_the_job_is_kept() -> None:
    source = """\
from starlette.middleware.base import BaseHTTPMiddleware


class RequestIdMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        try:
            return await call_next(request)
        except ValueError:
            return JSONResponse({"request_id": request.headers.get("x-request-id")}, 400)


app.add_middleware(RequestIdMiddleware)
"""
    output, fixed, follow = transform(source, MiddlewareToRuntime)
    assert output == source
    assert not fixed
    assert any("also does other work" in message for message in follow)


def test_middleware_function_with_contextvar_and_access_log_is_replaced() -> None:
    assert_migrates(
        """\
import time
import uuid

from fastapi import FastAPI, Request

app = FastAPI()


@app.middleware("http")
async def request_context(request: Request, call_next):
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    previous = request_id_var.set(request_id)
    request.state.request_id = request_id
    start = time.perf_counter()
    try:
        response = await call_next(request)
    finally:
        request_id_var.reset(previous)
    response.headers["x-request-id"] = request_id
    logger.info("%s %s", request.url.path, round(time.perf_counter() - start, 3))
    return response
""",
        """\
from fastapi import FastAPI
from spaps_server_quickstart.request_context import RequestContextMiddleware

app = FastAPI()


app.add_middleware(RequestContextMiddleware)
""",
        MiddlewareToRuntime,
    )


def test_celery_keeps_the_app_name_and_stays_the_default_app_for_shared_tasks() -> None:
    """The positional name survives; ``as_default=True`` keeps @shared_task on this app."""
    source = """\
from celery import Celery, shared_task

from app.config import settings

celery_app = Celery("orders", broker=settings.celery_broker_url)


@shared_task
def ping() -> str:
    return "pong"
"""
    output, _fixed, follow = transform(source, CeleryToRuntime)
    assert 'celery_app = create_celery_app(settings, name="orders", as_default=True)' in output
    assert not any("set_default" in message for message in follow)
    assert not follow
    assert_migrates(source, output, CeleryToRuntime)


@pytest.mark.parametrize(
    ("set_as_current", "expected"),
    [
        ("False", 'create_celery_app(settings, name="orders")'),
        ("True", 'create_celery_app(settings, name="orders", as_default=True)'),
        ("settings.debug", 'create_celery_app(settings, name="orders", as_default=settings.debug)'),
    ],
)
def test_celery_set_as_current_decides_as_default(set_as_current: str, expected: str) -> None:
    source = f"""\
from celery import Celery

from app.config import settings

celery_app = Celery("orders", broker=settings.celery_broker_url, set_as_current={set_as_current})
"""
    output, _fixed, follow = transform(source, CeleryToRuntime)
    assert f"celery_app = {expected}\n" in output
    assert not follow
    assert_migrates(source, output, CeleryToRuntime)
