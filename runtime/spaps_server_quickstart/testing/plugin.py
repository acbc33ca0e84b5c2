"""The pytest plugin every SPAPS service gets (entry point ``pytest11``).

Nothing here is autouse and every heavy import (FastAPI, SQLAlchemy, Celery, uvicorn) happens
inside a fixture, so installing the runtime never slows down or breaks a test run that does not
use these fixtures.

How a service wires it up (pyproject.toml)::

    [tool.pytest.ini_options]
    spaps_app = "my_service.main:create_app"          # zero-argument factory -> FastAPI
    spaps_settings = "my_service.settings:get_settings" # the create_settings_loader() result
    spaps_celery_app = "my_service.worker:celery_app"   # only for the celery_worker fixture

Each ini option can be replaced by overriding the fixture of the same role in a
``conftest.py`` (``app_factory``, ``settings_loader``, ``spaps_celery_app``); a fixture always
wins over the ini option. Test-specific settings go in ``spaps_settings_overrides``::

    @pytest.fixture
    def spaps_settings_overrides(spaps_settings_overrides, postgres_database):
        return {**spaps_settings_overrides, "database_url": postgres_database.url}
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from spaps_server_quickstart.testing.services import amqp_url, postgres_database, redis_url

if TYPE_CHECKING:
    from celery import Celery
    from celery.worker import WorkController
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from sqlalchemy.ext.asyncio import AsyncSession

    from spaps_server_quickstart.settings import BaseServiceSettings, SettingsLoader
    from spaps_server_quickstart.testing.spaps_standin import SpapsStandin

__all__ = [
    "admin_headers",
    "admin_token",
    "amqp_url",
    "app_factory",
    "celery_worker",
    "client",
    "db_session",
    "other_user_headers",
    "other_user_token",
    "postgres_database",
    "redis_url",
    "settings_loader",
    "settings_override",
    "spaps_app",
    "spaps_celery_app",
    "spaps_settings",
    "spaps_settings_overrides",
    "spaps_standin",
    "spaps_standin_server",
    "user_headers",
    "user_token",
]

TEST_USER_ID = "test-user"
TEST_ADMIN_ID = "test-admin"
#: A second plain user, for tests that one user's records are not another's.
TEST_OTHER_USER_ID = "test-other-user"
#: Used by the default overrides; any non-placeholder value would do outside production.
TEST_LOCAL_SECRET = "spaps-pytest-local-secret"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("spaps_app", "import path of the service's app factory, 'pkg.main:create_app'")
    parser.addini(
        "spaps_settings",
        "import path of the service's settings loader, 'pkg.settings:get_settings'",
    )
    parser.addini(
        "spaps_settings_env_prefix", "env prefix the service's settings loader uses", default=""
    )
    parser.addini("spaps_celery_app", "import path of the Celery app, 'pkg.worker:celery_app'")


def import_object(path: str) -> Any:
    """``"package.module:attribute"`` -> the attribute."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise pytest.UsageError(f"expected 'package.module:attribute', got {path!r}")
    return getattr(importlib.import_module(module_name), attribute)


def _ini(request: pytest.FixtureRequest, name: str) -> str:
    value = request.config.getini(name)
    return str(value).strip() if value else ""


def _env_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict | tuple | set | frozenset):
        return json.dumps(sorted(value) if isinstance(value, set | frozenset) else value)
    return str(value)


# -- settings ----------------------------------------------------------------------------------


@pytest.fixture
def spaps_settings_overrides(tmp_path: Path) -> dict[str, Any]:
    """Settings every test starts from: embedded, hermetic, local auth. Override to extend."""
    return {
        "env": "test",
        "auth_mode": "local",
        "auth_local_secret": TEST_LOCAL_SECRET,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'test.db'}",
        "celery_broker_url": "memory://",
        "celery_result_backend": "cache+memory://",
        "celery_filesystem_folder": str(tmp_path / "celery"),
        "celery_task_always_eager": False,
    }


@pytest.fixture
def settings_loader(request: pytest.FixtureRequest) -> SettingsLoader[BaseServiceSettings] | None:
    """The service's cached ``get_settings`` (ini ``spaps_settings``), or ``None``."""
    path = _ini(request, "spaps_settings")
    return import_object(path) if path else None


@pytest.fixture
def settings_override(
    request: pytest.FixtureRequest,
    spaps_settings_overrides: dict[str, Any],
    settings_loader: SettingsLoader[BaseServiceSettings] | None,
) -> Iterator[Callable[..., None]]:
    """Set settings through the environment, as production does, and clear the loader cache.

    Applies ``spaps_settings_overrides`` at once and returns ``override(**fields)`` for more.
    Field names are upper-cased and prefixed with the ini ``spaps_settings_env_prefix``; lists
    and dicts are passed as JSON; ``None`` removes the variable. Everything is restored (and the
    cache cleared again) after the test.
    """
    prefix = _ini(request, "spaps_settings_env_prefix")
    saved: dict[str, str | None] = {}

    def clear_cache() -> None:
        if settings_loader is not None:
            settings_loader.cache_clear()

    def override(**fields: Any) -> None:
        for field, value in fields.items():
            name = f"{prefix}{field}".upper()
            saved.setdefault(name, os.environ.get(name))
            rendered = _env_value(value)
            if rendered is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = rendered
        clear_cache()

    override(**spaps_settings_overrides)
    try:
        yield override
    finally:
        for name, previous in saved.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous
        clear_cache()


@pytest.fixture
def spaps_settings(
    settings_override: Callable[..., None],
    settings_loader: SettingsLoader[BaseServiceSettings] | None,
) -> BaseServiceSettings:
    """The settings the app under test sees (the service's loader, else the base class)."""
    if settings_loader is not None:
        return settings_loader()
    from spaps_server_quickstart.settings import BaseServiceSettings

    return BaseServiceSettings()


# -- the app -----------------------------------------------------------------------------------


@pytest.fixture
def app_factory(request: pytest.FixtureRequest) -> Callable[[], FastAPI]:
    """Zero-argument factory of the service's app: ini ``spaps_app``, or override this fixture."""
    path = _ini(request, "spaps_app")
    if not path:
        raise pytest.UsageError(
            'the spaps_app/client fixtures need the app: set `spaps_app = "pkg.main:create_app"`'
            " under [tool.pytest.ini_options], or define an `app_factory` fixture"
        )
    factory: Callable[[], FastAPI] = import_object(path)
    return factory


@pytest.fixture
def spaps_app(
    settings_override: Callable[..., None], app_factory: Callable[[], FastAPI]
) -> FastAPI:
    """The app, built *after* the test settings are in the environment."""
    return app_factory()


@pytest.fixture
def client(spaps_app: FastAPI) -> Iterator[TestClient]:
    """A ``TestClient`` entered as a context manager, so the lifespan (DB, auth, ...) runs."""
    from fastapi.testclient import TestClient

    with TestClient(spaps_app) as test_client:
        yield test_client


# -- auth --------------------------------------------------------------------------------------


def _local_secret(settings: BaseServiceSettings) -> str:
    if settings.auth_mode != "local":
        raise pytest.UsageError(
            f"user_token/admin_token mint local dev tokens but auth_mode={settings.auth_mode!r};"
            " keep auth_mode='local' in spaps_settings_overrides or use the spaps_standin fixture"
        )
    return settings.auth_local_secret.get_secret_value()


@pytest.fixture
def user_token(spaps_settings: BaseServiceSettings) -> str:
    from spaps_server_quickstart.auth.local import mint_dev_token

    return mint_dev_token(_local_secret(spaps_settings), TEST_USER_ID)


@pytest.fixture
def other_user_token(spaps_settings: BaseServiceSettings) -> str:
    from spaps_server_quickstart.auth.local import mint_dev_token

    return mint_dev_token(_local_secret(spaps_settings), TEST_OTHER_USER_ID)


@pytest.fixture
def admin_token(spaps_settings: BaseServiceSettings) -> str:
    from spaps_server_quickstart.auth.local import mint_dev_token
    from spaps_server_quickstart.auth.roles import ADMIN

    return mint_dev_token(_local_secret(spaps_settings), TEST_ADMIN_ID, roles=[ADMIN])


@pytest.fixture
def user_headers(user_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {user_token}"}


@pytest.fixture
def other_user_headers(other_user_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {other_user_token}"}


@pytest.fixture
def admin_headers(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture(scope="session")
def spaps_standin_server() -> Iterator[SpapsStandin]:
    """One SPAPS stand-in on loopback for the whole run (starting uvicorn costs ~0.1 s)."""
    from spaps_server_quickstart.testing.spaps_standin import serve_spaps_standin

    with serve_spaps_standin() as standin:
        yield standin


@pytest.fixture
def spaps_standin(spaps_standin_server: SpapsStandin) -> Iterator[SpapsStandin]:
    """The stand-in with no tokens, zero call counts and ``mode="up"``, for one test."""
    spaps_standin_server.reset()
    try:
        yield spaps_standin_server
    finally:
        spaps_standin_server.reset()


# -- database ----------------------------------------------------------------------------------


@pytest.fixture
async def db_session(
    anyio_backend: str, spaps_settings: BaseServiceSettings
) -> AsyncIterator[AsyncSession]:
    """An ``AsyncSession`` whose every change is rolled back after the test, commits included.

    The session is bound to one connection inside an outer transaction and joins it with
    ``join_transaction_mode="create_savepoint"``: the code under test may ``commit()`` (it
    releases a SAVEPOINT) and the outer ``ROLLBACK`` still discards everything. Create the
    schema in your own fixture (migrations or ``Base.metadata.create_all``) before using it.
    """
    from sqlalchemy.ext.asyncio import AsyncSession

    from spaps_server_quickstart.db.resources import DatabaseResources

    # The runtime's own engine setup, so SQLite enforces foreign keys here exactly as in the app.
    database = DatabaseResources.from_settings(spaps_settings, null_pool=True)
    try:
        async with database.engine.connect() as connection:
            transaction = await connection.begin()
            session = AsyncSession(
                bind=connection,
                expire_on_commit=False,
                join_transaction_mode="create_savepoint",
            )
            try:
                yield session
            finally:
                await session.close()
                await transaction.rollback()
    finally:
        await database.dispose()


# -- celery ------------------------------------------------------------------------------------


@pytest.fixture
def spaps_celery_app(
    request: pytest.FixtureRequest, settings_override: Callable[..., None]
) -> Celery:
    """The service's Celery app: ini ``spaps_celery_app``, or override this fixture."""
    path = _ini(request, "spaps_celery_app")
    if not path:
        raise pytest.UsageError(
            'celery_worker needs the Celery app: set `spaps_celery_app = "pkg.worker:celery_app"`'
            " under [tool.pytest.ini_options], or define a `spaps_celery_app` fixture"
        )
    app: Celery = import_object(path)
    return app


@pytest.fixture
def celery_worker(spaps_celery_app: Celery) -> Iterator[WorkController]:
    """A real worker (solo pool) consuming from the app's broker in a thread of this process.

    Runs against whatever broker the app is configured with: ``memory://`` by default (fast,
    hermetic), Redis or RabbitMQ when the overrides say so. Shutting down waits for the
    worker's poll loop, up to a few seconds on ``memory://``/AMQP.
    """
    from spaps_server_quickstart.testing.celery_worker import run_worker_in_thread

    with run_worker_in_thread(spaps_celery_app) as worker:
        yield worker
