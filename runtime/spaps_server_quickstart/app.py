"""``create_app``: the one way a SPAPS service builds its FastAPI application.

What it guarantees, so that services do not each re-learn it:

- **Lifespan only.** ``on_startup``/``on_shutdown`` are refused, and ``@app.on_event`` handlers
  added after ``create_app`` make the lifespan refuse to start (FastAPI would silently skip
  them). See :mod:`spaps_server_quickstart.lifespan`.
- **Pure ASGI middleware**: :class:`RequestContextMiddleware` outermost (every response,
  401/503 from auth included, carries the request id and is logged), then
  :class:`~spaps_server_quickstart.body_limit.RequestBodyLimitMiddleware`
  (``max_request_body_bytes``: 413 before the body is read), then
  :class:`SpapsAuthMiddleware` unless ``auth_mode="disabled"``.
- **Health routes** that stay public under any ``root_path`` and that no service route can
  shadow (:func:`~spaps_server_quickstart.health.include_health_routes`).
- Logging configured from the settings before anything logs.
- Request validation errors (422) that stay writable whatever the input held
  (:func:`~spaps_server_quickstart.inputs.install_validation_error_handler`).
- Opt-in CORS (``CORS_ALLOW_ORIGINS``, outside auth so preflights need no token), Sentry
  (``SENTRY_DSN``) and OpenTelemetry tracing (``OTEL_ENABLED``), each from the settings.
- An OpenAPI document that shows the bearer scheme on every protected operation, its 401/403/503
  answers, and operation ids ``<tag>_<function>`` (:mod:`spaps_server_quickstart.openapi`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI

from .body_limit import RequestBodyLimitMiddleware
from .db.resources import DatabaseResources
from .health import HEALTH_PATHS, include_health_routes
from .inputs import install_validation_error_handler
from .lifespan import (
    LifespanConflictError,
    ServiceLifespan,
    assert_no_event_handlers,
    compose_lifespan,
)
from .logging import configure_logging
from .openapi import install_openapi, operation_id
from .request_context import RequestContextMiddleware, RequestHook
from .sentry import init_sentry, tag_request
from .settings import BaseServiceSettings, SettingsLoader, parse_public_paths
from .tracing import telemetry_options, tracing_request_hook

if TYPE_CHECKING:
    from .auth.accounts import AccountHook

_REFUSED_KWARGS = ("on_startup", "on_shutdown")


def _resolve_settings(
    settings: BaseServiceSettings | SettingsLoader[BaseServiceSettings],
) -> BaseServiceSettings:
    if isinstance(settings, BaseServiceSettings):
        return settings
    if callable(settings):
        resolved = settings()
        if isinstance(resolved, BaseServiceSettings):
            return resolved
        raise TypeError(
            f"the settings loader returned {type(resolved).__name__}, not BaseServiceSettings"
        )
    raise TypeError("settings= must be a BaseServiceSettings or a create_settings_loader() result")


def _service_lifespans(
    lifespan: ServiceLifespan | Sequence[ServiceLifespan] | None,
) -> tuple[ServiceLifespan, ...]:
    if lifespan is None:
        return ()
    if callable(lifespan):
        return (lifespan,)
    return tuple(lifespan)


def create_app(
    *,
    settings: BaseServiceSettings | SettingsLoader[BaseServiceSettings],
    routers: Sequence[APIRouter] = (),
    register_routers: Callable[[FastAPI], None] | None = None,
    lifespan: ServiceLifespan | Sequence[ServiceLifespan] | None = None,
    database: DatabaseResources | None = None,
    celery_app: Any = None,
    alembic_ini: str | Path | None = None,
    title: str | None = None,
    version: str = "0.1.0",
    description: str = "",
    access_log: bool = True,
    account_hook: AccountHook | None = None,
    tracer_provider: Any = None,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """Build the service's app.

    ``lifespan`` is one async context manager factory (FastAPI's ``lifespan(app)`` shape, or
    ``lifespan(app, state)`` to use the runtime's resources) or a sequence of them, entered in
    order after the runtime's resources and exited in reverse; what they yield is merged into
    the request state. ``database`` defaults to resources built from ``settings`` at start-up
    (and is disposed on shutdown either way). ``alembic_ini`` is used when
    ``settings.run_migrations_on_startup`` is on (default ``./alembic.ini``).
    ``account_hook`` is the service's word on each authenticated caller (suspended, extra
    roles), asked on every authenticated request: see
    :mod:`spaps_server_quickstart.auth.accounts`.
    ``tracer_provider`` (an OpenTelemetry ``TracerProvider``) turns tracing on with that
    provider, whatever ``OTEL_ENABLED`` says (tests, a provider the service builds itself).
    """
    refused = [name for name in _REFUSED_KWARGS if name in fastapi_kwargs]
    if refused:
        raise LifespanConflictError(
            f"create_app() does not take {' / '.join(refused)}: FastAPI ignores them next to a"
            " lifespan. Pass an async context manager as create_app(lifespan=...) instead"
        )
    if "lifespan" in fastapi_kwargs:  # pragma: no cover - a named parameter catches it first
        raise LifespanConflictError("pass lifespan= to create_app, not through fastapi_kwargs")

    resolved = _resolve_settings(settings)
    configure_logging(resolved)
    auth_enabled = resolved.auth_mode != "disabled"
    fastapi_kwargs.setdefault("generate_unique_id_function", operation_id)
    telemetry = telemetry_options(resolved, tracer_provider, fastapi_kwargs.pop("telemetry", None))
    if telemetry is not None:
        fastapi_kwargs["telemetry"] = telemetry
    request_hooks: list[RequestHook] = []
    if tracer_provider is not None or resolved.tracing_enabled:
        request_hooks.append(tracing_request_hook())
    if resolved.sentry_dsn is not None:
        init_sentry(resolved, release=version)
        request_hooks.append(tag_request)

    app = FastAPI(
        title=title or resolved.service_name,
        version=version,
        description=description,
        debug=resolved.debug,
        lifespan=compose_lifespan(
            settings=resolved,
            service_lifespans=_service_lifespans(lifespan),
            database=database,
            celery_app=celery_app,
            alembic_ini=Path(alembic_ini) if alembic_ini is not None else None,
            auth=auth_enabled,
            account_hook=account_hook,
        ),
        **fastapi_kwargs,
    )

    # add_middleware puts the newest outermost: auth first, request context around it, so the
    # auth middleware's 401/503 answers still carry a request id and an access-log line.
    public_routes: frozenset[tuple[str, str]] | None = None
    if auth_enabled:
        from .auth.middleware import SpapsAuthMiddleware

        public_paths = tuple(dict.fromkeys([*resolved.auth_public_paths, *HEALTH_PATHS]))
        public_routes = parse_public_paths(public_paths)
        app.add_middleware(SpapsAuthMiddleware, public_paths=public_paths)
    if resolved.cors_allow_origins:
        from starlette.middleware.cors import CORSMiddleware

        # Outside auth, so a browser's preflight (no Authorization header, by the spec) is
        # answered here instead of getting 401; inside the request context, so it is logged.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=resolved.cors_allow_origins,
            allow_methods=resolved.cors_allow_methods,
            allow_headers=resolved.cors_allow_headers,
            allow_credentials=resolved.cors_allow_credentials,
            expose_headers=[resolved.request_id_header] if resolved.request_id_header else [],
            max_age=resolved.cors_max_age_seconds,
        )
    if resolved.max_request_body_bytes:
        app.add_middleware(
            RequestBodyLimitMiddleware, max_body_bytes=resolved.max_request_body_bytes
        )
    app.add_middleware(
        RequestContextMiddleware,
        access_log=access_log,
        request_id_header=resolved.request_id_header,
        timing_header=resolved.timing_header,
        request_hooks=request_hooks,
    )
    install_openapi(app, public_routes=public_routes)

    for router in routers:
        app.include_router(router)
    if register_routers is not None:
        register_routers(app)
    include_health_routes(app)
    install_validation_error_handler(app)

    assert_no_event_handlers(app)
    return app
