"""create_app: lifespan-only guards, middleware stack, routers, auth wiring, state."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient
from spaps_server_quickstart import __version__
from spaps_server_quickstart.app import create_app
from spaps_server_quickstart.auth.local import mint_dev_token
from spaps_server_quickstart.auth.middleware import SpapsAuthMiddleware
from spaps_server_quickstart.body_limit import RequestBodyLimitMiddleware
from spaps_server_quickstart.db import DatabaseResources
from spaps_server_quickstart.lifespan import LifespanConflictError
from spaps_server_quickstart.request_context import RequestContextMiddleware
from spaps_server_quickstart.settings import BaseServiceSettings, create_settings_loader
from starlette.middleware.base import BaseHTTPMiddleware


@pytest.fixture
def settings(tmp_path: Path) -> BaseServiceSettings:
    return BaseServiceSettings(
        service_name="orders", database_url=f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    )


def whoami_router() -> APIRouter:
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        return {
            "user_id": request.state.user_id,
            "has_db": isinstance(request.state.db, DatabaseResources),
            "service": request.state.settings.service_name,
        }

    return router


def test_on_startup_and_on_shutdown_are_refused(settings: BaseServiceSettings) -> None:
    async def hook() -> None:
        return None

    for keyword in ("on_startup", "on_shutdown"):
        with pytest.raises(LifespanConflictError, match=keyword):
            create_app(settings=settings, **{keyword: [hook]})


def test_on_event_after_create_app_stops_the_lifespan_and_names_the_handler(
    settings: BaseServiceSettings,
) -> None:
    app = create_app(settings=settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)

        @app.on_event("startup")
        async def warm_cache() -> None:
            return None

    with (
        pytest.raises(LifespanConflictError, match=r"startup: .*warm_cache"),
        TestClient(app),
    ):
        pass


def test_router_on_event_is_refused_when_the_app_is_built(settings: BaseServiceSettings) -> None:
    router = APIRouter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)

        @router.on_event("shutdown")
        async def close_things() -> None:
            return None

    with pytest.raises(LifespanConflictError, match=r"shutdown: .*close_things"):
        create_app(settings=settings, routers=[router])
    with pytest.raises(LifespanConflictError, match="close_things"):
        create_app(settings=settings, register_routers=lambda app: app.include_router(router))


def test_middleware_order_and_no_base_http_middleware(settings: BaseServiceSettings) -> None:
    app = create_app(settings=settings, routers=[whoami_router()])
    assert [m.cls for m in app.user_middleware] == [
        RequestContextMiddleware,
        RequestBodyLimitMiddleware,
        SpapsAuthMiddleware,
    ]
    with TestClient(app):
        layer: Any = app.middleware_stack
        seen = []
        while layer is not None and not isinstance(layer, FastAPI):
            seen.append(type(layer).__name__)
            assert not isinstance(layer, BaseHTTPMiddleware), seen
            layer = getattr(layer, "app", None)
    names = {"RequestContextMiddleware", "RequestBodyLimitMiddleware", "SpapsAuthMiddleware"}
    ours = [name for name in seen if name in names]
    assert ours == ["RequestContextMiddleware", "RequestBodyLimitMiddleware", "SpapsAuthMiddleware"]
    assert seen[0] == "ServerErrorMiddleware"


def test_auth_rejections_still_carry_a_request_id(settings: BaseServiceSettings) -> None:
    app = create_app(settings=settings, routers=[whoami_router()])
    with TestClient(app) as client:
        response = client.get("/whoami", headers={"X-Request-ID": "rid-401"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "rid-401"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_local_token_reaches_the_route_with_lifespan_state(settings: BaseServiceSettings) -> None:
    app = create_app(settings=settings, routers=[whoami_router()])
    token = mint_dev_token(settings.auth_local_secret.get_secret_value(), "user-1")
    with TestClient(app) as client:
        response = client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == "user-1"
    assert body["has_db"] is True
    assert body["service"] == "orders"


def test_celery_app_is_in_lifespan_state(settings: BaseServiceSettings) -> None:
    marker = "celery-app"
    disabled = settings.model_copy(update={"auth_mode": "disabled"})
    router = APIRouter()

    @router.get("/celery")
    async def celery(request: Request) -> dict[str, Any]:
        return {"celery": request.state.celery, "auth": request.state.auth}

    app = create_app(settings=disabled, routers=[router], celery_app=marker)
    with TestClient(app) as client:
        # The health check would ping it as a broker; here only the state is of interest.
        assert client.get("/celery").json() == {"celery": "celery-app", "auth": None}


def test_auth_disabled_means_no_auth_middleware_and_open_routes(
    settings: BaseServiceSettings,
) -> None:
    disabled = settings.model_copy(update={"auth_mode": "disabled"})
    router = APIRouter()

    @router.get("/open")
    async def open_route(request: Request) -> dict[str, Any]:
        return {"auth": request.state.auth}

    app = create_app(settings=disabled, routers=[router])
    assert [m.cls for m in app.user_middleware] == [
        RequestContextMiddleware,
        RequestBodyLimitMiddleware,
    ]
    with TestClient(app) as client:
        assert client.get("/open").json() == {"auth": None}


def test_routers_then_register_routers_and_a_settings_loader(tmp_path: Path) -> None:
    loader = create_settings_loader(
        BaseServiceSettings,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'loader.db'}",
        auth_mode="disabled",
        service_name="from-loader",
    )
    first, second = APIRouter(), APIRouter()

    @first.get("/first")
    async def first_route() -> str:
        return "first"

    @second.get("/second")
    async def second_route() -> str:
        return "second"

    calls: list[FastAPI] = []

    def register(app: FastAPI) -> None:
        calls.append(app)
        app.include_router(second)

    app = create_app(settings=loader, routers=[first], register_routers=register)
    assert calls == [app]
    assert app.title == "from-loader"
    assert {"/first", "/second", "/health/live", "/health/ready"} <= set(app.openapi()["paths"])
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/first").json() == "first"
        assert client.get("/second").json() == "second"


def test_title_version_description_and_fastapi_kwargs_pass_through(
    settings: BaseServiceSettings,
) -> None:
    app = create_app(
        settings=settings,
        title="Orders API",
        version="2.3.4",
        description="Takes orders.",
        docs_url=None,
    )
    assert (app.title, app.version, app.description, app.docs_url) == (
        "Orders API",
        "2.3.4",
        "Takes orders.",
        None,
    )


def test_settings_must_be_settings(settings: BaseServiceSettings) -> None:
    with pytest.raises(TypeError, match="BaseServiceSettings"):
        create_app(settings=lambda: {"not": "settings"})  # type: ignore[arg-type,return-value]


def test_package_exports_resolve_lazily() -> None:
    import spaps_server_quickstart as runtime

    assert __version__ == "1.0.0"
    assert runtime.create_app is create_app
    assert runtime.DbSession is not None
    assert runtime.require_roles is not None
    assert callable(runtime.create_celery_app)
    with pytest.raises(AttributeError):
        _ = runtime.does_not_exist  # type: ignore[attr-defined]
    assert set(runtime.__all__) <= set(dir(runtime))


def test_importing_the_package_does_not_import_celery_or_fastapi() -> None:
    import subprocess
    import sys

    code = (
        "import sys, spaps_server_quickstart;"
        "print(sorted(m for m in ('celery', 'fastapi', 'sqlalchemy') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    assert output == "[]"
