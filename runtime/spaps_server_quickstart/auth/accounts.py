"""The service's word on an authenticated caller: suspended or not, and roles SPAPS does not state.

SPAPS says who a token belongs to; only the service knows whether its administrators suspended
that user, or that the user belongs to its ``labs`` programme. A service says so once, in an
*account hook* passed to ``create_app(account_hook=...)``::

    async def account_standing(user: AuthenticatedUser, db: DatabaseResources) -> AccountStanding:
        ...  # read the service's own tables through ``db.sessionmaker()``

and the runtime's auth asks it on every authenticated request, after the token is validated and
before any route runs (:class:`AccountCheckedAuthService`). A suspended caller gets 403 with a
message saying so, on every route at once; health routes and other public paths never reach
auth, so they are unaffected. Granted roles are added by
:func:`~spaps_server_quickstart.auth.roles.grant_roles`, the one extension point of
:func:`~spaps_server_quickstart.auth.roles.derive_roles`, so no domain grows role logic.

Answers are cached per user for ``AUTH_ACCOUNT_CACHE_TTL_SECONDS`` (the hook is a database
query; a request should not pay one every time). That TTL is how long a suspension takes to
reach other processes; :func:`forget_account` makes it immediate in the process that changed it.
A hook that fails (database down) fails closed: 503, never cached, never "not suspended".
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog

from spaps_server_quickstart.auth.errors import AccountSuspendedError, AuthUnavailableError
from spaps_server_quickstart.auth.models import AuthenticatedUser
from spaps_server_quickstart.auth.roles import grant_roles
from spaps_server_quickstart.auth.service import DEFAULT_RETRY_AFTER_SECONDS, AuthService
from spaps_server_quickstart.db.resources import DatabaseResources

logger = structlog.get_logger(__name__)

#: What a suspended caller is told (403). Deliberately without the administrators' note, which
#: is written for other administrators.
SUSPENDED_DETAIL = "This account is suspended; contact the service's administrators"


@dataclass(frozen=True, slots=True)
class AccountStanding:
    """What the service's account hook says about one caller."""

    suspended: bool = False
    roles: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def combine(cls, standings: Iterable[AccountStanding]) -> AccountStanding:
        """Several domains' answers as one: suspended by any, every granted role."""
        suspended = False
        roles: set[str] = set()
        for standing in standings:
            suspended = suspended or standing.suspended
            roles.update(standing.roles)
        return cls(suspended=suspended, roles=frozenset(roles))


#: In good standing, no extra roles: what a service without an opinion answers.
ACTIVE = AccountStanding()

AccountHook = Callable[[AuthenticatedUser, DatabaseResources], Awaitable[AccountStanding]]


class AccountCheckedAuthService:
    """An :class:`AuthService` that asks the account hook about every user ``inner`` accepts.

    Built by the lifespan when ``create_app`` got an ``account_hook``; the middleware sees only
    the ``AuthService`` protocol, plus :class:`AccountSuspendedError` for the 403.
    """

    def __init__(
        self,
        inner: AuthService,
        hook: AccountHook,
        database: DatabaseResources,
        *,
        ttl_seconds: float,
        max_entries: int,
        retry_after_seconds: int = DEFAULT_RETRY_AFTER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._hook = hook
        self._database = database
        self._ttl_seconds = ttl_seconds
        self._max_entries = max_entries
        self._retry_after_seconds = retry_after_seconds
        self._clock = clock
        # Keyed by user id *and* derived roles: a hook may decide from the roles (admins are
        # labs members too), and SPAPS may change a user's tier between two tokens.
        self._entries: OrderedDict[tuple[str, frozenset[str]], tuple[float, AccountStanding]]
        self._entries = OrderedDict()

    async def authenticate(self, token: str) -> AuthenticatedUser:
        user = await self._inner.authenticate(token)
        standing = await self.standing(user)
        if standing.suspended:
            raise AccountSuspendedError(SUSPENDED_DETAIL)
        roles = grant_roles(user.roles, standing.roles)
        return user if roles == user.roles else dataclasses.replace(user, roles=roles)

    async def standing(self, user: AuthenticatedUser) -> AccountStanding:
        """The hook's answer for ``user``, from the cache while it is fresh."""
        key = (user.user_id, user.roles)
        entry = self._entries.get(key)
        if entry is not None:
            if self._clock() < entry[0]:
                self._entries.move_to_end(key)
                return entry[1]
            del self._entries[key]
        try:
            standing = await self._hook(user, self._database)
        except Exception as error:
            logger.warning("account_hook_failed", error_type=type(error).__name__)
            raise AuthUnavailableError(
                "the service's account hook failed", retry_after_seconds=self._retry_after_seconds
            ) from error
        if not isinstance(standing, AccountStanding):
            logger.warning("account_hook_failed", error_type=type(standing).__name__)
            raise AuthUnavailableError(
                f"the account hook returned {type(standing).__name__}, not AccountStanding",
                retry_after_seconds=self._retry_after_seconds,
            )
        if self._ttl_seconds > 0 and self._max_entries > 0:
            self._entries[key] = (self._clock() + self._ttl_seconds, standing)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return standing

    def forget(self, user_id: str) -> None:
        """Drop the cached answers for ``user_id``: the next request asks the hook again."""
        for key in [key for key in self._entries if key[0] == user_id]:
            del self._entries[key]

    async def aclose(self) -> None:
        await self._inner.aclose()


def forget_account(state: Any, user_id: str) -> None:
    """Make a change to ``user_id``'s standing take effect now in this process.

    ``state`` is ``request.state`` (or the lifespan state mapping). Call it *after* the change
    is committed, or a request in between could cache the old answer again. Other processes
    see the change within ``AUTH_ACCOUNT_CACHE_TTL_SECONDS``. A no-op without an account hook.
    """
    service = state.get("auth") if isinstance(state, dict) else getattr(state, "auth", None)
    if isinstance(service, AccountCheckedAuthService):
        service.forget(user_id)
