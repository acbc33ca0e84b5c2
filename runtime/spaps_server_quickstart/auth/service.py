"""Validating SPAPS bearer tokens: the ``AuthService`` protocol and its SPAPS implementation.

The lifespan builds one service per process through :func:`create_auth_service` and puts it
in lifespan state under ``"auth"``; :class:`~spaps_server_quickstart.auth.middleware.SpapsAuthMiddleware`
reads it from there. One shared ``httpx.AsyncClient`` (connection pool, explicit connect/read
time-outs) serves every validation, because a client per request would pay a TCP+TLS handshake
on every uncached token and let an outage stack up unbounded waits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from contextvars import ContextVar
from typing import Any, Protocol

import httpx
import pydantic
import structlog
from spaps_client.sessions import SessionError, SessionValidationResult
from spaps_client.sessions_async import AsyncSessionsClient

from spaps_server_quickstart.auth.errors import AuthUnavailableError, InvalidTokenError
from spaps_server_quickstart.auth.local import LocalAuthService
from spaps_server_quickstart.auth.models import AuthenticatedUser
from spaps_server_quickstart.auth.roles import derive_roles
from spaps_server_quickstart.auth.validation_cache import ValidationCache
from spaps_server_quickstart.settings import (
    BaseServiceSettings,
    checked_spaps_api_url,
)

logger = structlog.get_logger(__name__)

#: Seconds a client is told to wait (``Retry-After``) when SPAPS cannot be reached.
DEFAULT_RETRY_AFTER_SECONDS = 5


class AuthService(Protocol):
    """What the middleware needs: turn a bearer token into a user, and clean up at shutdown."""

    async def authenticate(self, token: str) -> AuthenticatedUser: ...

    async def aclose(self) -> None: ...


#: Where the validate answer's raw JSON goes while *this* task validates a token (None outside).
#: A context variable, so concurrent validations on the shared client never see each other's.
_validate_payload: ContextVar[list[dict[str, Any]] | None] = ContextVar(
    "spaps_validate_payload", default=None
)
_VALIDATE_PATH = "/api/sessions/validate"


async def _keep_validate_payload(response: httpx.Response) -> None:
    """httpx response hook: keep the raw ``data`` of a validate answer for :func:`derive_roles`.

    ``SessionValidationResult`` ignores unknown fields, so a ``roles`` list SPAPS adds to the
    payload would be dropped before we could see it. The official client is used through its
    public ``validate_session()`` only (its parsing and errors are the contract); the raw body
    is read here, through httpx's public event hooks on the client we hand it, so no private
    method of ``spaps_client`` is overridden and a client release that reshapes its internals
    cannot take auth down. A body that is not a JSON object is left to the client to reject.
    """
    sink = _validate_payload.get()
    if sink is None or not response.request.url.path.endswith(_VALIDATE_PATH):
        return
    await response.aread()
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return
    data = body.get("data", body) if isinstance(body, dict) else None
    if isinstance(data, dict):
        sink.append(data)


def _explicit_roles(payload: dict[str, Any] | None) -> list[str]:
    if not payload:
        return []
    candidates: list[Any] = [payload.get("roles")]
    for nested in ("session", "user"):
        section = payload.get(nested)
        if isinstance(section, dict):
            candidates.append(section.get("roles"))
    roles: list[str] = []
    for candidate in candidates:
        if isinstance(candidate, list):
            roles.extend(role for role in candidate if isinstance(role, str))
    return roles


def _aware(moment: dt.datetime) -> dt.datetime:
    """SPAPS sends UTC; a timestamp without an offset is read as UTC rather than local time."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _is_api_key_problem(error: SessionError) -> bool:
    """A rejected API key is *our* misconfiguration, not the caller's bad token."""
    code = (error.error_code or "").upper()
    return "API_KEY" in code or "APIKEY" in code


class SpapsAuthService:
    """Validates tokens with ``POST /api/sessions/validate`` and caches the successes."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        application_id: str | None,
        admin_user_ids: frozenset[str] = frozenset(),
        cache: ValidationCache,
        connect_timeout_seconds: float = 1.0,
        read_timeout_seconds: float = 3.0,
        deadline_seconds: float = 5.0,
        retry_after_seconds: int = DEFAULT_RETRY_AFTER_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = checked_spaps_api_url(base_url)
        self._api_key = api_key
        self._application_id = application_id
        self._admin_user_ids = admin_user_ids
        self._cache = cache
        self._retry_after_seconds = retry_after_seconds
        self._deadline_seconds = deadline_seconds
        timeout = httpx.Timeout(
            connect=connect_timeout_seconds,
            read=read_timeout_seconds,
            write=read_timeout_seconds,
            pool=connect_timeout_seconds,
        )
        self._client = httpx.AsyncClient(
            base_url=self._base_url,
            timeout=timeout,
            transport=transport,
            event_hooks={"response": [_keep_validate_payload]},
        )

    @classmethod
    def from_settings(
        cls, settings: BaseServiceSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> SpapsAuthService:
        return cls(
            base_url=settings.spaps_api_url,
            api_key=settings.spaps_api_key.get_secret_value(),
            application_id=settings.spaps_application_id,
            admin_user_ids=frozenset(settings.auth_admin_user_ids),
            cache=ValidationCache(
                ttl_seconds=settings.auth_cache_ttl_seconds,
                max_entries=settings.auth_cache_max_entries,
            ),
            connect_timeout_seconds=settings.auth_connect_timeout_seconds,
            read_timeout_seconds=settings.auth_read_timeout_seconds,
            deadline_seconds=settings.auth_validation_deadline_seconds,
            transport=transport,
        )

    @property
    def cache(self) -> ValidationCache:
        return self._cache

    async def authenticate(self, token: str) -> AuthenticatedUser:
        if not token:
            raise InvalidTokenError("empty bearer token")
        return await self._cache.get_or_load(token, lambda: self._validate(token))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _validate(self, token: str) -> AuthenticatedUser:
        """One validation call, under an overall deadline, failing closed on anything odd.

        httpx's time-outs are per operation: an upstream that sends one byte every two
        seconds never trips a three-second read time-out and held requests for over a
        minute. The deadline bounds the whole call (connect, send, every read, parsing).
        """
        sessions = AsyncSessionsClient(
            base_url=self._base_url,
            api_key=self._api_key,
            access_token=token,
            client=self._client,
        )
        payloads: list[dict[str, Any]] = []
        keeping = _validate_payload.set(payloads)
        try:
            async with asyncio.timeout(self._deadline_seconds):
                result: SessionValidationResult = await sessions.validate_session()
        except TimeoutError as error:
            raise self._unavailable("deadline_exceeded", error) from error
        except httpx.TimeoutException as error:
            raise self._unavailable("timeout", error) from error
        except httpx.TransportError as error:
            raise self._unavailable("connection_error", error) from error
        except httpx.RequestError as error:
            # The rest of httpx's request errors: a body that does not decode as its
            # Content-Encoding says (a gateway's HTML page labelled gzip), a redirect loop.
            # SPAPS did not answer usably, so fail closed with 503, as for any outage.
            raise self._unavailable("malformed_response", error) from error
        except SessionError as error:
            raise self._classify(error) from error
        except (pydantic.ValidationError, ValueError, RecursionError) as error:
            # RecursionError: JSON nested deeper than the parser's recursion limit.
            raise self._unavailable("malformed_response", error) from error
        except Exception as error:
            # Any other shape of garbage (a list where the client expects an object, an
            # error body the client's parser trips over) is still "SPAPS did not answer
            # usably": 503, never a 500 that looks like our bug, never the handler.
            raise self._unavailable("malformed_response", error) from error
        finally:
            _validate_payload.reset(keeping)
        try:
            return self._user_from(result, payloads[-1] if payloads else None)
        except (InvalidTokenError, AuthUnavailableError):
            raise
        except Exception as error:  # roles or timestamps of an unexpected type
            raise self._unavailable("malformed_response", error) from error

    def _classify(self, error: SessionError) -> Exception:
        status = error.status_code
        if status < 400:  # a 2xx whose body was not the documented envelope
            return self._unavailable("malformed_response", error)
        if status >= 500 or status in (408, 429):
            return self._unavailable(f"upstream_status_{status}", error)
        if _is_api_key_problem(error):
            return self._unavailable("api_key_rejected", error)
        return InvalidTokenError(f"SPAPS rejected the token ({status})")

    def _unavailable(self, reason: str, error: BaseException) -> AuthUnavailableError:
        logger.warning("auth_upstream_unavailable", reason=reason, error_type=type(error).__name__)
        return AuthUnavailableError(
            f"SPAPS session validation unavailable: {reason}",
            retry_after_seconds=self._retry_after_seconds,
        )

    def _user_from(
        self, result: SessionValidationResult, payload: dict[str, Any] | None
    ) -> AuthenticatedUser:
        if not result.valid:
            raise InvalidTokenError(
                f"SPAPS says the token is invalid ({result.reason or 'no reason'})"
            )
        session = result.session
        if session is None:
            raise self._unavailable("malformed_response", ValueError("valid without session"))
        if self._application_id is not None:
            issued_for = {session.application_id}
            if result.authority is not None:
                issued_for.add(result.authority.application_id)
            if issued_for != {self._application_id}:
                raise InvalidTokenError("token was issued for another application")
        expires_at = _aware(session.expires_at)
        if result.authority is not None:
            expires_at = min(expires_at, _aware(result.authority.access_expires_at))
        if expires_at <= dt.datetime.now(dt.UTC):
            raise InvalidTokenError("token has expired")
        return AuthenticatedUser(
            user_id=session.user_id,
            application_id=session.application_id,
            session_id=session.session_id,
            roles=derive_roles(
                user_id=session.user_id,
                tier=session.tier,
                explicit_roles=_explicit_roles(payload),
                admin_user_ids=self._admin_user_ids,
            ),
            tier=session.tier,
            expires_at=expires_at,
        )


def create_auth_service(settings: BaseServiceSettings) -> AuthService | None:
    """The auth service for ``settings.auth_mode``; ``None`` when auth is disabled.

    The caller (the lifespan) owns the result and must ``await service.aclose()``.
    """
    if settings.auth_mode == "disabled":
        return None
    if settings.auth_mode == "local":
        return LocalAuthService.from_settings(settings)
    return SpapsAuthService.from_settings(settings)
