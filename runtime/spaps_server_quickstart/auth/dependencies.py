"""FastAPI dependencies over the user the middleware put on ``request.state``.

The middleware authenticates; these only read. So a route can never trigger a second SPAPS call,
and a route mounted without the middleware answers 401 instead of silently running anonymous.

:func:`current_user` also depends on :data:`bearer_scheme`, an ``HTTPBearer`` that never raises:
it checks nothing (the middleware did), but it puts the scheme into the OpenAPI document, so
Swagger's "Authorize" button sends the token and generated clients know to.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from spaps_server_quickstart.auth.models import AuthenticatedUser
from spaps_server_quickstart.auth.roles import normalize_role


def _unauthenticated() -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Not authenticated",
        headers={"WWW-Authenticate": 'Bearer realm="spaps"'},
    )


#: The name of the bearer scheme under ``components.securitySchemes``.
BEARER_SCHEME_NAME = "SpapsBearer"

bearer_scheme = HTTPBearer(
    scheme_name=BEARER_SCHEME_NAME,
    description="A SPAPS access token (with AUTH_MODE=local, a token from mint_dev_token)",
    auto_error=False,
)


async def current_user(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> AuthenticatedUser:
    user = getattr(request.state, "user", None)
    if not isinstance(user, AuthenticatedUser):
        raise _unauthenticated()
    return user


CurrentUser = Annotated[AuthenticatedUser, Depends(current_user)]


def require_roles(
    *roles: str,
) -> Callable[[AuthenticatedUser], Coroutine[Any, Any, AuthenticatedUser]]:
    """A dependency that lets the request through only if the user has *all* ``roles``.

    Use as ``dependencies=[Depends(require_roles("admin"))]`` or
    ``admin: Annotated[AuthenticatedUser, Depends(require_roles("admin"))]``.
    Missing roles answer 403 with ``WWW-Authenticate: Bearer error="insufficient_scope"``
    (RFC 6750 section 3.1): the caller is known, re-authenticating would not help.
    Roles are compared as :func:`~spaps_server_quickstart.auth.roles.normalize_role` spells
    them, the way the caller's roles were derived, so ``require_roles("Support")`` matches.
    """
    if not roles:
        raise ValueError("require_roles() needs at least one role")
    required = frozenset(normalize_role(role) for role in roles)
    if "" in required:
        # A blank role can never be held, so the route would silently refuse everyone.
        raise ValueError(f"require_roles() got a blank role name: {roles!r}")

    # The roles as the bearer scheme's "scopes": OpenAPI 3.1 lets a non-OAuth scheme list the
    # role names an operation needs, so the document says "admin" next to the lock, and
    # openapi.py declares the 403 from it. A default, not Annotated: the annotation is a
    # string resolved in the module's globals, where ``required`` does not exist.
    role_scheme = Security(bearer_scheme, scopes=sorted(required))

    async def dependency(
        user: CurrentUser, _roles: HTTPAuthorizationCredentials | None = role_scheme
    ) -> AuthenticatedUser:
        if not required <= user.roles:
            raise HTTPException(
                status_code=status.HTTP_403_FORBIDDEN,
                detail="Insufficient role",
                headers={
                    "WWW-Authenticate": (
                        'Bearer realm="spaps", error="insufficient_scope", '
                        f'scope="{" ".join(sorted(required))}"'
                    )
                },
            )
        return user

    return dependency
