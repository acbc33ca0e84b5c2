"""settings, middleware, auth, db-session, celery and imports: cases beyond their examples."""

from __future__ import annotations

from pathlib import Path

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
    database_echo: bool = False
"""
    after = """\
from pydantic_settings import SettingsConfigDict
from spaps_server_quickstart.settings import BaseServiceSettings


class HTMASettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_file=None, extra="forbid", env_ignore_empty=False)
    production_environments: list[str] = []

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

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    service_name: str = "orders"
    debug: int = 0
    spaps_application_id: Optional[str] = None
"""
    output, _fixed, follow = transform(before, SettingsToRuntime)
    assert "class Settings(BaseServiceSettings):" in output
    assert 'service_name: str = "orders"' in output
    assert "debug: int = 0" in output
    assert "spaps_application_id" not in output  # Optional[str] = None is the base's field
    assert "from typing import Optional" not in output
    assert sum("overrides the base's" in message for message in follow) == 2
    assert any("production guard off" in message for message in follow)


def test_pydantic_v1_settings_are_refused_not_rewritten() -> None:
    before = """\
from pydantic import BaseSettings


class Settings(BaseSettings):
    token: str = ""
"""
    output, fixed, follow = transform(before, SettingsToRuntime)
    assert output == before
    assert not fixed
    assert "bump-pydantic" in follow[0]


def test_base_fields_table_matches_the_runtime_class() -> None:
    """The codemod's copy of the base's fields is the runtime's list, name for name."""
    from spaps_server_quickstart.settings import BaseServiceSettings

    from spaps_cli.codemods.settings_to_runtime import BASE_FIELDS, BASE_MEMBERS

    assert set(BASE_FIELDS) == set(BaseServiceSettings.model_fields)
    members = {
        name
        for name, value in vars(BaseServiceSettings).items()
        if not name.startswith("__")
        and name not in {"model_config"}
        and (callable(value) or isinstance(value, property | classmethod | staticmethod))
    }
    assert members - {"model_post_init"} <= BASE_MEMBERS | {"model_fields", "model_computed_fields"}


def test_a_base_field_is_dropped_only_when_it_loads_the_same() -> None:
    """``database_pool_size: int = 5`` accepted 0; the base's field does not (ge=1): kept."""
    before = """\
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    database_pool_size: int = 5
    database_echo: bool = False
"""
    output, _fixed, follow = transform(before, SettingsToRuntime)
    assert "database_pool_size: int = 5" in output
    assert "database_echo" not in output
    assert any("database_pool_size" in message for message in follow)


def test_a_name_other_modules_import_from_the_settings_module_stays() -> None:
    """``from app.config import BaseSettings`` in a test keeps that import in app/config.py."""
    from spaps_cli.codemods.project_scan import scan_sources
    from spaps_cli.codemods.runner import migrate_source

    source = b"""\
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    token: str = ""
"""
    facts = scan_sources(
        {"app/config.py": source, "tests/test_config.py": b"from app.config import BaseSettings\n"}
    )
    kept = migrate_source(source, [SettingsToRuntime], MigrateConfig(), "app/config.py", facts)
    assert b"from pydantic_settings import BaseSettings, SettingsConfigDict" in kept.new_source
    alone = migrate_source(source, [SettingsToRuntime], MigrateConfig(), "app/config.py")
    assert b"import BaseSettings" not in alone.new_source


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
    assert "app.add_middleware(RequestContextMiddleware, " in output
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
    assert not follow  # auth-to-runtime reports it


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

app.add_middleware(RequestContextMiddleware, request_id_header="", timing_header="")
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


def test_celery_with_other_setting_names_is_kept_and_says_which_field() -> None:
    source = """\
from celery import Celery

from app.config import get_settings

celery = Celery("worker", broker=get_settings().redis_url)
celery.conf.update(task_acks_late=True)
"""
    output, fixed, follow = transform(source, CeleryToRuntime)
    assert output == source
    assert not fixed
    assert any("CELERY_BROKER_URL" in message for message in follow)


def test_celery_with_the_projects_own_config_object_is_kept() -> None:
    """The issue's case: CELERY_BROKER_URL on a config object with no service_name."""
    from spaps_cli.codemods.project_scan import scan_sources
    from spaps_cli.codemods.runner import migrate_source

    config = b"""\
import os


class Config:
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")
    celery_broker_url = CELERY_BROKER_URL


config = Config()
"""
    worker = b"""\
from celery import Celery

from app.config import config

celery_app = Celery("worker", broker=config.celery_broker_url)
"""
    files = {"app/config.py": config, "app/worker.py": worker}
    migration = migrate_source(
        worker, [CeleryToRuntime], MigrateConfig(), "app/worker.py", scan_sources(files)
    )
    assert migration.new_source == worker
    follow = [f.message for f in migration.findings if not f.auto_fixable]
    assert any("not a BaseServiceSettings" in m or "not shown to be" in m for m in follow)


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

app = FastAPI(middleware=[Middleware(RequestContextMiddleware, request_id_header="", timing_header="")])
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


app.add_middleware(RequestContextMiddleware, timing_header="")
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
    assert all("result backend" in message for message in follow)
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
    assert all("result backend" in message for message in follow)
    assert_migrates(source, output, CeleryToRuntime)


# -- db-session-to-runtime: what the project shows ---------------------------------------------

_ROUTER = b"""\
from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app.db import get_db

router = APIRouter()


@router.get("/items")
def list_items(db: Session = Depends(get_db)):
    return db.query(Item).all()
"""
_ASYNC_ROUTER = b"""\
from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import get_db

router = APIRouter()


@router.get("/items")
async def list_items(db: AsyncSession = Depends(get_db)):
    return await db.get(Item, 1)
"""
_SYNC_DB = b"""\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("sqlite://"))


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""
_ASYNC_DB = b"""\
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.config import settings

SessionLocal = async_sessionmaker(create_async_engine(settings.database_url))


async def get_db():
    async with SessionLocal() as session:
        yield session
        await session.commit()
"""
_MAIN_ON_RUNTIME = b"""\
from spaps_server_quickstart import create_app

from app.config import settings
from app.routers import router

app = create_app(settings=settings, routers=[router])
"""


def _migrate_in_project(
    files: dict[str, bytes], path: str, codemod: type
) -> tuple[bytes, list[str]]:
    from spaps_cli.codemods.project_scan import scan_sources
    from spaps_cli.codemods.runner import migrate_source

    migration = migrate_source(files[path], [codemod], MigrateConfig(), path, scan_sources(files))
    return migration.new_source, [f.message for f in migration.findings if not f.auto_fixable]


def test_sync_session_endpoints_are_a_follow_up_not_db_session() -> None:
    files = {"app/db.py": _SYNC_DB, "app/routers.py": _ROUTER, "app/main.py": _MAIN_ON_RUNTIME}
    output, follow = _migrate_in_project(files, "app/routers.py", DbSessionToRuntime)
    assert output == _ROUTER
    assert any("sync SQLAlchemy Session" in message for message in follow)


def test_async_sessions_wait_for_the_app_on_create_app() -> None:
    files = {"app/db.py": _ASYNC_DB, "app/routers.py": _ASYNC_ROUTER}
    output, follow = _migrate_in_project(files, "app/routers.py", DbSessionToRuntime)
    assert output == _ASYNC_ROUTER
    assert any("not built by spaps_server_quickstart.create_app" in m for m in follow)
    files["app/main.py"] = _MAIN_ON_RUNTIME
    output, follow = _migrate_in_project(files, "app/routers.py", DbSessionToRuntime)
    assert b"db: DbSession" in output


# -- auth-to-runtime: only SPAPS session validation moves ----------------------------------------

_JWT_AUTH = b"""\
import jwt
from fastapi import Header


def get_current_user(authorization: str = Header()):
    return jwt.decode(authorization.removeprefix("Bearer "), "k", algorithms=["HS256"])


def require_admin(authorization: str = Header()):
    if authorization != "Bearer admin":
        raise PermissionError
"""
_AUTH_ROUTER = b"""\
from fastapi import APIRouter, Depends

from app.auth import get_current_user, require_admin

router = APIRouter()


@router.get("/me")
async def me(user=Depends(get_current_user)):
    return {"id": user.user_id}


@router.delete("/x", dependencies=[Depends(require_admin)])
async def wipe() -> None: ...
"""
_SPAPS_AUTH = b"""\
from fastapi import Depends, Header
from spaps_client.sessions_async import AsyncSessionsClient


async def get_current_user(authorization: str = Header()):
    client = AsyncSessionsClient(base_url="u", api_key="k", access_token=authorization)
    return (await client.validate_session()).session


async def require_admin(user=Depends(get_current_user)):
    if user.tier != "admin":
        raise PermissionError
"""


def test_local_jwt_and_header_auth_stay_and_say_why() -> None:
    files = {
        "app/auth.py": _JWT_AUTH,
        "app/routers.py": _AUTH_ROUTER,
        "app/main.py": _MAIN_ON_RUNTIME,
    }
    output, follow = _migrate_in_project(files, "app/routers.py", AuthToRuntime)
    assert output == _AUTH_ROUTER
    assert any("decodes a token locally" in message for message in follow)
    assert any("require_admin" in message for message in follow)


def test_spaps_session_dependencies_move() -> None:
    files = {
        "app/auth.py": _SPAPS_AUTH,
        "app/routers.py": _AUTH_ROUTER,
        "app/main.py": _MAIN_ON_RUNTIME,
    }
    output, _follow = _migrate_in_project(files, "app/routers.py", AuthToRuntime)
    assert b"Depends(current_user)" in output
    assert b'Depends(require_roles("admin"))' in output


def test_every_attribute_the_reports_name_exists_on_authenticated_user() -> None:
    """Messages that list what AuthenticatedUser offers list only what the class has."""
    import dataclasses
    import re

    from spaps_server_quickstart.auth.models import AuthenticatedUser

    fields = {field.name for field in dataclasses.fields(AuthenticatedUser)}
    files = {"app/auth.py": _SPAPS_AUTH, "app/main.py": _MAIN_ON_RUNTIME}
    listed_any = False
    for use in ("user.email", "user.user_id"):
        files["app/routers.py"] = _AUTH_ROUTER.replace(b"user.user_id", use.encode())
        _output, follow = _migrate_in_project(files, "app/routers.py", AuthToRuntime)
        for message in follow:
            for listed in re.findall(r"AuthenticatedUser[^(]*\(([^)]*)\)", message):
                listed_any = True
                for name in re.findall(r"[a-z_]+", listed.replace("it has", "")):
                    assert hasattr(AuthenticatedUser, name) or name in fields, (name, message)
    assert listed_any


def test_the_attribute_list_is_the_runtime_class() -> None:
    import dataclasses

    from spaps_server_quickstart.auth.models import AuthenticatedUser

    from spaps_cli.codemods.auth_to_runtime import AUTHENTICATED_USER_ATTRIBUTES

    fields = {field.name for field in dataclasses.fields(AuthenticatedUser)}
    assert fields <= set(AUTHENTICATED_USER_ATTRIBUTES)
    assert all(hasattr(AuthenticatedUser, n) or n in fields for n in AUTHENTICATED_USER_ATTRIBUTES)


def test_auth_middleware_of_any_name_is_reported_by_auth_to_runtime() -> None:
    source = """\
from starlette.middleware.base import BaseHTTPMiddleware


class Gatekeeper(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        if not request.headers.get("Authorization"):
            raise PermissionError
        return await call_next(request)
"""
    output, _fixed, follow = transform(source, AuthToRuntime)
    assert output == source
    assert any("Gatekeeper" in message for message in follow)


def test_dependency_order_puts_providers_first() -> None:
    from spaps_cli.codemods.registry import CODEMODS, dependency_order

    ordered = dependency_order(tuple(reversed(CODEMODS)))
    ids = [codemod.ID for codemod in ordered]
    for codemod in ordered:
        for other in ordered:
            if set(other.PROVIDES) & set(codemod.REQUIRES):
                assert ids.index(other.ID) < ids.index(codemod.ID)
    assert ids.index("settings-to-runtime") < ids.index("celery-to-runtime")


def test_celery_waits_for_the_settings_move_in_the_same_run() -> None:
    """A plain BaseSettings class settings-to-runtime can move: celery moves with it, in one
    run; without settings-to-runtime selected, celery is a follow-up naming the prerequisite."""
    from spaps_cli.codemods.project_scan import scan_sources
    from spaps_cli.codemods.runner import migrate_source

    config = b"""\
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    report_bucket: str = "reports"


settings = Settings()
"""
    worker = b"""\
from celery import Celery

from app.config import settings

celery_app = Celery("worker", broker=settings.celery_broker_url.get_secret_value())
"""
    facts = scan_sources({"app/config.py": config, "app/worker.py": worker})
    both = migrate_source(
        worker, [SettingsToRuntime, CeleryToRuntime], MigrateConfig(), "app/worker.py", facts
    )
    assert b"create_celery_app(settings" in both.new_source
    alone = migrate_source(worker, [CeleryToRuntime], MigrateConfig(), "app/worker.py", facts)
    assert alone.new_source == worker
    assert any("settings are not a BaseServiceSettings" in f.message for f in alone.findings)


def test_a_middleware_class_the_tests_import_is_kept() -> None:
    """Deleting it would break ``from app.main import RequestIdMiddleware`` in the tests."""
    from spaps_cli.codemods.project_scan import scan_sources
    from spaps_cli.codemods.runner import migrate_source

    main = b"""\
import uuid

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware


class RequestIdMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        return response


app = FastAPI()
app.add_middleware(RequestIdMiddleware)
"""
    tests = b"from app.main import RequestIdMiddleware\n"
    for files, kept in (
        ({"app/main.py": main}, False),
        ({"app/main.py": main, "tests/test_mw.py": tests}, True),
    ):
        migration = migrate_source(
            main, [MiddlewareToRuntime], MigrateConfig(), "app/main.py", scan_sources(files)
        )
        assert b'add_middleware(RequestContextMiddleware, timing_header="")' in migration.new_source
        assert (b"class RequestIdMiddleware" in migration.new_source) is kept


def test_migrating_one_directory_still_sees_the_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``spaps migrate app`` scans the whole project (tests included) before rewriting."""
    import json

    from spaps_cli.app import run

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "svc"\nversion = "1"\n')
    (tmp_path / "app").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "app" / "config.py").write_text(
        "from pydantic_settings import BaseSettings\n\n\nclass Settings(BaseSettings):\n"
        '    token: str = ""\n'
    )
    (tmp_path / "tests" / "test_config.py").write_text("from app.config import BaseSettings\n")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert run(["migrate", "app", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["changed_files"] == ["app/config.py"]
    written = (tmp_path / "app" / "config.py").read_text()
    assert "BaseServiceSettings" in written
    assert "from pydantic_settings import BaseSettings, SettingsConfigDict" in written


def test_request_logging_middleware_registered_elsewhere_is_still_reported() -> None:
    source = """\
import logging

from starlette.middleware.base import BaseHTTPMiddleware

log = logging.getLogger(__name__)


class Journal(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        try:
            return await call_next(request)
        finally:
            log.info("done %s", request.url.path)
            await notify(request)
"""
    output, fixed, follow = transform(source, MiddlewareToRuntime)
    assert output == source
    assert not fixed
    assert any("Journal" in message and "other work" in message for message in follow)


def test_a_session_alias_is_reported_not_silent() -> None:
    """``SessionDep = Annotated[Session, Depends(get_db)]``: its users are not rewritten."""
    deps = _SYNC_DB + b"\nSessionDep = Annotated[Session, Depends(get_db)]\n"
    files = {"app/db.py": deps, "app/main.py": _MAIN_ON_RUNTIME}
    output, follow = _migrate_in_project(files, "app/db.py", DbSessionToRuntime)
    assert output == deps
    assert any("'SessionDep' names Depends(get_db)" in message for message in follow)


def test_a_module_this_python_cannot_parse_is_named_in_the_reason() -> None:
    from spaps_cli.codemods.project_scan import scan_sources

    newer = b"def get_current_user():\n    try:\n        pass\n    except A, B:\n        pass\n"
    facts = scan_sources({"app/auth.py": newer})
    reason = facts.auth_reason("app.auth.get_current_user")
    assert reason is not None
    assert "app/auth.py does not parse with Python" in reason


_TOOL_SETTINGS = b"""\
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    workers: int = 2
    database_echo: bool = False
"""


def test_a_settings_class_nothing_imports_is_not_the_services() -> None:
    """A process manager's config file (loaded by path, never imported) keeps its BaseSettings.

    Found on a public FastAPI template: its gunicorn configuration declares ``Settings`` too, and
    was rewritten to import the runtime (and to read the runtime's thirty-odd variables).
    """
    main = b"from fastapi import FastAPI\n\napp = FastAPI()\n"
    files = {"deploy/gunicorn_conf.py": _TOOL_SETTINGS, "app/main.py": main}
    output, follow = _migrate_in_project(files, "deploy/gunicorn_conf.py", SettingsToRuntime)
    assert output == _TOOL_SETTINGS
    assert any("nothing in the project imports" in message for message in follow)


def test_a_settings_class_the_service_imports_or_builds_its_app_beside_moves() -> None:
    imported = {
        "app/config.py": _TOOL_SETTINGS,
        "app/main.py": b"from app.config import Settings\n",
    }
    output, _ = _migrate_in_project(imported, "app/config.py", SettingsToRuntime)
    assert b"class Settings(BaseServiceSettings)" in output
    beside = _TOOL_SETTINGS + b"\nfrom fastapi import FastAPI\n\napp = FastAPI()\n"
    output, _ = _migrate_in_project({"main.py": beside}, "main.py", SettingsToRuntime)
    assert b"class Settings(BaseServiceSettings)" in output


def test_the_review_note_names_only_what_was_written_back() -> None:
    source = """\
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)
    token: str = ""
"""
    _, _, follow = transform(source, SettingsToRuntime)
    note = next(message for message in follow if message.startswith("review what"))
    assert "model_config:" not in note
    assert "(production_environments = [] turns the production guard off)" in note
