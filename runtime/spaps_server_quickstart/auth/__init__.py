"""SPAPS bearer-token authentication: service, middleware, roles and FastAPI dependencies."""

from __future__ import annotations

from spaps_server_quickstart.auth.accounts import (
    ACTIVE,
    AccountHook,
    AccountStanding,
    forget_account,
)
from spaps_server_quickstart.auth.dependencies import CurrentUser, current_user, require_roles
from spaps_server_quickstart.auth.errors import (
    AccountSuspendedError,
    AuthError,
    AuthUnavailableError,
    InvalidTokenError,
)
from spaps_server_quickstart.auth.local import LocalAuthService, mint_dev_token, verify_dev_token
from spaps_server_quickstart.auth.middleware import SpapsAuthMiddleware
from spaps_server_quickstart.auth.models import AuthenticatedUser
from spaps_server_quickstart.auth.roles import ADMIN, USER, derive_roles, grant_roles
from spaps_server_quickstart.auth.service import AuthService, SpapsAuthService, create_auth_service

__all__ = [
    "ACTIVE",
    "ADMIN",
    "USER",
    "AccountHook",
    "AccountStanding",
    "AccountSuspendedError",
    "AuthError",
    "AuthService",
    "AuthUnavailableError",
    "AuthenticatedUser",
    "CurrentUser",
    "InvalidTokenError",
    "LocalAuthService",
    "SpapsAuthMiddleware",
    "SpapsAuthService",
    "create_auth_service",
    "current_user",
    "derive_roles",
    "forget_account",
    "grant_roles",
    "mint_dev_token",
    "require_roles",
    "verify_dev_token",
]
