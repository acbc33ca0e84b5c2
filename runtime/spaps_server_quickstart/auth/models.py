"""The authenticated caller, as the rest of a service sees it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AuthenticatedUser:
    """Who made the request, after SPAPS (or the local dev signer) vouched for the token.

    Frozen because one instance is shared between concurrent requests through the validation
    cache; a handler that could mutate ``roles`` would grant them to every other request
    carrying the same token.
    """

    user_id: str
    application_id: str | None
    session_id: str | None
    roles: frozenset[str]
    tier: str | None
    expires_at: dt.datetime | None

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def has_roles(self, roles: frozenset[str] | set[str] | tuple[str, ...]) -> bool:
        return set(roles) <= self.roles
