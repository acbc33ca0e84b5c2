"""spaps-server-quickstart: the shared runtime for SPAPS services.

The public names are resolved lazily (PEP 562): ``import spaps_server_quickstart`` stays cheap,
and a Celery worker that only needs ``create_celery_app`` does not import FastAPI's routing, nor
an API process Celery, until the name is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "1.0.0"

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "create_app": ".app",
    "LifespanConflictError": ".lifespan",
    "BaseServiceSettings": ".settings",
    "SettingsError": ".settings",
    "SecretUrl": ".settings",
    "create_settings_loader": ".settings",
    "configure_logging": ".logging",
    "get_logger": ".logging",
    "RequestContextMiddleware": ".request_context",
    "get_request_id": ".request_context",
    "DatabaseResources": ".db",
    "DbSession": ".db",
    "Base": ".db",
    "create_metadata": ".db",
    "NAMING_CONVENTION": ".db",
    # auth/
    "AuthenticatedUser": ".auth",
    "CurrentUser": ".auth",
    "SpapsAuthMiddleware": ".auth",
    "SpapsAuthService": ".auth",
    "create_auth_service": ".auth",
    "current_user": ".auth",
    "mint_dev_token": ".auth",
    "require_roles": ".auth",
    # tasks/
    "create_celery_app": ".tasks",
}

__all__ = [
    "NAMING_CONVENTION",
    "AuthenticatedUser",
    "Base",
    "BaseServiceSettings",
    "CurrentUser",
    "DatabaseResources",
    "DbSession",
    "LifespanConflictError",
    "RequestContextMiddleware",
    "SecretUrl",
    "SettingsError",
    "SpapsAuthMiddleware",
    "SpapsAuthService",
    "__version__",
    "configure_logging",
    "create_app",
    "create_auth_service",
    "create_celery_app",
    "create_metadata",
    "create_settings_loader",
    "current_user",
    "get_logger",
    "get_request_id",
    "mint_dev_token",
    "require_roles",
]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module_name, __name__), name)
    globals()[name] = value  # resolve once; later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # give type checkers and IDEs the real names
    from .app import create_app
    from .auth import (
        AuthenticatedUser,
        CurrentUser,
        SpapsAuthMiddleware,
        SpapsAuthService,
        create_auth_service,
        current_user,
        mint_dev_token,
        require_roles,
    )
    from .db import (
        NAMING_CONVENTION,
        Base,
        DatabaseResources,
        DbSession,
        create_metadata,
    )
    from .lifespan import LifespanConflictError
    from .logging import configure_logging, get_logger
    from .request_context import (
        RequestContextMiddleware,
        get_request_id,
    )
    from .settings import (
        BaseServiceSettings,
        SecretUrl,
        SettingsError,
        create_settings_loader,
    )
    from .tasks import create_celery_app
