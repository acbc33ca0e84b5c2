"""The two ways authentication fails, kept apart because clients must react differently.

An invalid token means "sign in again" (401). An unavailable SPAPS means "try again later"
(503): answering 401 during an outage would log every user out.
"""

from __future__ import annotations


class AuthError(Exception):
    """Base class for authentication failures."""


class InvalidTokenError(AuthError):
    """SPAPS (or the local signer) gave a definitive "no": invalid, expired or another app's."""


class AuthUnavailableError(AuthError):
    """The token could not be checked: time-out, connection error, 5xx or a malformed answer."""

    def __init__(self, message: str, *, retry_after_seconds: int = 5) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class AccountSuspendedError(AuthError):
    """The token is valid but the service's account hook says this user is suspended (403).

    Not a 401: signing in again would give the same user, so clients must not loop on it.
    """
