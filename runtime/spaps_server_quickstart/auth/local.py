"""Local development auth: tokens signed with a shared secret, no SPAPS needed.

``AUTH_MODE=local`` lets a freshly generated service run (and its tests mint users and admins)
on a laptop with no network. The tokens are ``spapsdev.<payload>.<signature>``: a base64url
JSON payload (``sub``, ``roles``, ``iat``, ``exp``) signed with HMAC-SHA256 and checked with
:func:`hmac.compare_digest`. Settings refuse ``auth_mode=local`` when ``env=prod``, and
:meth:`LocalAuthService.from_settings` refuses again, so a dev token can never open production.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from spaps_server_quickstart.auth.errors import InvalidTokenError
from spaps_server_quickstart.auth.models import AuthenticatedUser
from spaps_server_quickstart.auth.roles import derive_roles
from spaps_server_quickstart.settings import BaseServiceSettings, SettingsError

TOKEN_PREFIX = "spapsdev"
LOCAL_APPLICATION_ID = "local-dev"


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _sign(secret: str | bytes, signing_input: str) -> str:
    digest = hmac.new(_secret_bytes(secret), signing_input.encode("ascii"), hashlib.sha256)
    return _b64encode(digest.digest())


def mint_dev_token(
    secret: str | bytes,
    user_id: str,
    roles: Iterable[str] = (),
    ttl_seconds: int = 3600,
    *,
    now: float | None = None,
) -> str:
    """A signed local token for ``user_id``; pass ``roles=["admin"]`` for an admin."""
    issued_at = int(time.time() if now is None else now)
    payload = {
        "sub": user_id,
        "roles": sorted(set(roles)),
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
    }
    body = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{TOKEN_PREFIX}.{body}"
    return f"{signing_input}.{_sign(secret, signing_input)}"


@dataclass(frozen=True, slots=True)
class DevTokenClaims:
    user_id: str
    roles: tuple[str, ...]
    issued_at: int
    expires_at: int


def verify_dev_token(
    secret: str | bytes, token: str, *, now: float | None = None
) -> DevTokenClaims:
    """Check signature then expiry; raise :class:`InvalidTokenError` for anything else."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise InvalidTokenError("not a local dev token")
    signing_input = f"{parts[0]}.{parts[1]}"
    try:
        expected = _sign(secret, signing_input)
    except UnicodeEncodeError as error:
        raise InvalidTokenError("not a local dev token") from error
    if not hmac.compare_digest(expected.encode("ascii"), parts[2].encode("utf-8")):
        raise InvalidTokenError("bad signature")
    try:
        payload: Any = json.loads(_b64decode(parts[1]))
    except (binascii.Error, ValueError) as error:
        raise InvalidTokenError("unreadable payload") from error
    if not isinstance(payload, dict):
        raise InvalidTokenError("unreadable payload")
    user_id, roles, issued_at, expires_at = (
        payload.get("sub"),
        payload.get("roles", []),
        payload.get("iat"),
        payload.get("exp"),
    )
    if (
        not isinstance(user_id, str)
        or not user_id
        or not isinstance(roles, list)
        or not all(isinstance(role, str) for role in roles)
        or not isinstance(issued_at, int)
        or not isinstance(expires_at, int)
    ):
        raise InvalidTokenError("unreadable payload")
    current = time.time() if now is None else now
    if expires_at <= current:
        raise InvalidTokenError("token has expired")
    return DevTokenClaims(
        user_id=user_id, roles=tuple(roles), issued_at=issued_at, expires_at=expires_at
    )


class LocalAuthService:
    """The ``AuthService`` for ``AUTH_MODE=local``: verifies dev tokens in-process."""

    def __init__(
        self, *, secret: str | bytes, admin_user_ids: frozenset[str] = frozenset()
    ) -> None:
        if not _secret_bytes(secret):
            raise SettingsError("the local auth secret must not be empty")
        self._secret = secret
        self._admin_user_ids = admin_user_ids

    @classmethod
    def from_settings(cls, settings: BaseServiceSettings) -> LocalAuthService:
        if settings.is_production:
            raise SettingsError("AUTH_MODE=local is refused with env=prod")
        return cls(
            secret=settings.auth_local_secret.get_secret_value(),
            admin_user_ids=frozenset(settings.auth_admin_user_ids),
        )

    def mint(self, user_id: str, roles: Iterable[str] = (), ttl_seconds: int = 3600) -> str:
        return mint_dev_token(self._secret, user_id, roles, ttl_seconds)

    async def authenticate(self, token: str) -> AuthenticatedUser:
        claims = verify_dev_token(self._secret, token)
        return AuthenticatedUser(
            user_id=claims.user_id,
            application_id=LOCAL_APPLICATION_ID,
            session_id=None,
            roles=derive_roles(
                user_id=claims.user_id,
                tier=None,
                explicit_roles=claims.roles,
                admin_user_ids=self._admin_user_ids,
            ),
            tier=None,
            expires_at=dt.datetime.fromtimestamp(claims.expires_at, dt.UTC),
        )

    async def aclose(self) -> None:
        """Nothing to release; present to satisfy the ``AuthService`` protocol."""
