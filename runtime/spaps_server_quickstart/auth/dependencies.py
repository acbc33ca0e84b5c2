"""FastAPI dependencies over the user the middleware put on ``request.state``.

The middleware authenticates; these only read. So a route can never trigger a second SPAPS call,
and a route mounted without the middleware answers 401 instead of silently running anonymous.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from spaps_server_quickstart.auth.models import AuthenticatedUser
from spaps_server_quickstart.auth.roles import normalize_role


def _unauthenticated() -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Not authenticated",
        headers={"WWW-Authenticate": 'Bearer realm="spaps"'},
    )


async def current_user(request: Request) -> AuthenticatedUser:
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

    async def dependency(user: CurrentUser) -> AuthenticatedUser:
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
