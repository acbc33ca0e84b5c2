"""Settings every SPAPS service shares.

A service subclasses :class:`BaseServiceSettings`, adds its own fields and loads it through
:func:`create_settings_loader`. The defaults are *embedded*: they run with no external services
(SQLite through aiosqlite, a filesystem Celery broker, a SQLite result backend, local auth), so a
freshly generated service starts on a laptop. Production is reached by setting environment
variables, and :meth:`BaseServiceSettings._refuse_unsafe_production` makes sure nothing embedded
leaks into ``env=prod``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Annotated, Any, Generic, Literal, Protocol, Self, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from .secret_url import SecretUrl, reveal, url_schemes
from .settings_errors import SettingsError, settings_error_from

__all__ = [
    "BaseServiceSettings",
    "CachedSettingsLoader",
    "SecretUrl",
    "SettingsError",
    "SettingsLoader",
    "checked_spaps_api_url",
    "create_settings_loader",
    "parse_public_path",
    "parse_public_paths",
    "reveal",
    "url_schemes",
]

#: Any name a service gives its environments (``dev``, ``staging``, ``production``, ``eu-prod``).
#: Which of them are production is the ``production_environments`` setting, not this type.
Environment = str
AuthMode = Literal["spaps", "local", "disabled"]

#: Secret values that only ever appear in examples. Refused in production.
PLACEHOLDER_SECRETS = frozenset(
    {"", "change-me", "changeme", "changethis", "secret", "dev", "local-dev-secret", "example"}
)


#: The words pydantic's ``bool`` reads as false; see :func:`debug_flag`.
_FALSE_WORDS = frozenset({"", "0", "off", "f", "false", "n", "no"})


def debug_flag(value: object) -> object:
    """``DEBUG`` as services have always read it: a false word is off, any other word is on.

    pydantic's ``bool`` refuses ``DEBUG=verbose`` or ``DEBUG=*``, values that older services
    (``if os.environ.get("DEBUG"):``) and other tools sharing the environment use; refusing
    them would stop a migrated service at start-up. Every value pydantic accepts keeps its
    meaning.
    """
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE_WORDS
    return value


#: A flag that reads any word; see :func:`debug_flag`.
DebugFlag = Annotated[bool, BeforeValidator(debug_flag)]


#: The shortest ``AUTH_LOCAL_SECRET`` production accepts: 32 characters, 256 bits of a
#: ``secrets.token_urlsafe(32)`` value, beyond guessing offline from one minted token.
MIN_LOCAL_SECRET_LENGTH = 32

#: Broker schemes that keep the queue inside one machine (or one process). Compared in lower
#: case: kombu reads ``FILESYSTEM://`` as ``filesystem://``, so a guard must too.
EMBEDDED_BROKER_SCHEMES = frozenset({"filesystem", "memory", "sqla+sqlite", "sqlalchemy+sqlite"})
#: Result backends of the same kind: a file or memory of one machine.
EMBEDDED_RESULT_BACKEND_SCHEMES = frozenset({"cache+memory", "file", "memory"})

#: Level names ``LOG_LEVEL`` accepts (any letter case).
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


def _spaps_api_url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as the SPAPS base URL, or ``None`` when it can be used."""
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as error:  # ValueError: idna's IDNAError
        return type(error).__name__
    if parsed.scheme not in ("http", "https"):
        return "it must start with https:// (or http://)"
    if not parsed.host:
        return "it has no host"
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return "its port is out of range"
    if parsed.query or parsed.fragment:
        return "it must not carry a query string or fragment"
    if parsed.userinfo:
        return "it must not carry credentials; the API key goes in SPAPS_API_KEY"
    return None


def checked_spaps_api_url(url: str) -> str:
    """``url`` without a trailing slash, or :class:`SettingsError` naming ``SPAPS_API_URL``.

    httpx only parses the URL when the first token is validated: a typo would otherwise pass
    start-up and turn every authenticated request into a 500 (``InvalidURL``) or a 503 that
    looks like an outage (no scheme). The message names the setting and the reason, not the
    value (settings errors never echo values).
    """
    problem = _spaps_api_url_problem(url.strip())
    if problem is not None:
        raise SettingsError(
            f"SPAPS_API_URL is not a usable URL ({problem});"
            " set it to the SPAPS base URL, e.g. https://api.sweetpotato.dev"
        )
    return url.strip().rstrip("/")


#: A browser's ``Origin``: scheme, host and optional port, nothing after.
_ORIGIN = re.compile(r"^https?://[^/\s?#@]+$")


#: Methods an ``AUTH_PUBLIC_PATHS`` entry may name.
PUBLIC_PATH_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def parse_public_path(entry: str) -> frozenset[tuple[str, str]]:
    """``"/path"`` or ``"METHOD /path"`` -> the ``(method, path)`` pairs it makes public.

    A plain path is public for ``GET`` and ``HEAD`` only: that is all probes, ``/docs`` and
    ``/openapi.json`` need, and exempting every method would let a service route such as
    ``@router.post("/{slug}")`` answer ``POST /health`` without a token. Anything else (a
    webhook) is named with its method; ``GET`` brings ``HEAD`` along, as the router does.
    """
    parts = entry.split()
    if len(parts) == 1:
        parts = ["GET", *parts]
    if len(parts) != 2 or parts[0] not in PUBLIC_PATH_METHODS or not parts[1].startswith("/"):
        raise ValueError(
            f"AUTH_PUBLIC_PATHS entry {entry!r} must be '/path' or 'METHOD /path'"
            f" with METHOD one of {', '.join(PUBLIC_PATH_METHODS)}"
        )
    method, path = parts
    if "?" in path or "#" in path:
        # The middleware compares the request's path alone, so such an entry would never match
        # and the route would stay behind auth while the setting says it is public.
        raise ValueError(
            f"AUTH_PUBLIC_PATHS entry {entry!r} has a query or fragment, which never matches:"
            " list the path alone"
        )
    if method == "GET":
        return frozenset({("GET", path), ("HEAD", path)})
    return frozenset({(method, path)})


def parse_public_paths(entries: Iterable[str]) -> frozenset[tuple[str, str]]:
    """Every ``(method, path)`` pair the entries make public (see :func:`parse_public_path`)."""
    return frozenset(pair for entry in entries for pair in parse_public_path(entry))


class BaseServiceSettings(BaseSettings):
    """Base class for a service's settings.

    ``extra="ignore"`` because a shared ``.env`` (compose, CI) always carries keys that belong to
    other programs; pydantic-settings' default ``forbid`` turns those into start-up failures.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
        validate_default=True,
    )

    def __init__(self, **values: Any) -> None:
        """Load the settings; any problem is a :class:`SettingsError` (never pydantic's own).

        Raised outside the ``except`` block on purpose: an exception raised inside it keeps
        the ``ValidationError`` (and its ``input_value=``) as ``__context__``, which a
        traceback prints as "During handling of the above exception...".
        """
        try:
            super().__init__(**values)
            return
        except (ValidationError, PydanticSettingsError) as error:
            prefix = values.get("_env_prefix")
            if not isinstance(prefix, str):
                prefix = str(self.model_config.get("env_prefix") or "")
            problem = settings_error_from(error, type(self), prefix)
        raise problem

    @classmethod
    def model_validate(cls, obj: Any, **options: Any) -> Self:
        """pydantic's ``model_validate``, failing as :class:`SettingsError` like loading does."""
        try:
            return super().model_validate(obj, **options)
        except ValidationError as error:
            problem = settings_error_from(error, cls, str(cls.model_config.get("env_prefix") or ""))
        raise problem

    service_name: str = Field(default="spaps-service", min_length=1)
    env: Environment = "dev"
    #: Environment names (compared case-insensitively) that run the production guard.
    production_environments: list[str] = Field(default_factory=lambda: ["prod", "production"])
    debug: DebugFlag = False

    # Logging
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "console"

    # Request context: the header carrying the request id (read and echoed) and the header the
    # request's duration goes in (``Server-Timing`` as ``app;dur=<ms>``; any other name gets
    # the seconds, as ``X-Process-Time`` conventionally does). Services keep their clients'
    # contract: ``REQUEST_ID_HEADER=X-Correlation-ID``, ``TIMING_HEADER=X-Process-Time``.
    request_id_header: str = "X-Request-ID"
    timing_header: str = "Server-Timing"

    # Database (async SQLAlchemy URL)
    database_url: SecretUrl = SecretUrl("sqlite+aiosqlite:///./service.db")
    database_echo: bool = False
    database_null_pool: bool = False
    database_pool_size: int = Field(default=5, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    database_pool_recycle_seconds: int = Field(default=1800, ge=-1)
    database_pool_timeout_seconds: float = Field(default=30.0, gt=0)
    run_migrations_on_startup: bool = False
    # The service stores embeddings: readiness also checks the ``vector`` extension.
    pgvector_enabled: bool = False

    # Celery. The embedded broker is kombu's filesystem transport: it works across processes
    # (API and worker) without any server. Point these at redis:// or amqp:// in production.
    celery_broker_url: SecretUrl = SecretUrl("filesystem://")
    celery_result_backend: SecretUrl = SecretUrl("db+sqlite:///./celery-results.sqlite")
    celery_filesystem_folder: str = "./.celery-broker"
    celery_task_always_eager: bool = False
    celery_task_soft_time_limit_seconds: int = Field(default=240, ge=1)
    celery_task_time_limit_seconds: int = Field(default=300, ge=1)
    celery_visibility_timeout_seconds: int = Field(default=3600, ge=1)
    celery_max_redeliveries: int = Field(default=3, ge=0)

    # Redis (optional cache/readiness target); None means "not configured".
    redis_url: SecretUrl | None = None

    # Readiness
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)

    # SPAPS auth
    auth_mode: AuthMode = "local"
    spaps_api_url: str = "https://api.sweetpotato.dev"
    spaps_api_key: SecretStr = SecretStr("change-me")
    spaps_application_id: str | None = None
    auth_local_secret: SecretStr = SecretStr("local-dev-secret")
    auth_public_paths: list[str] = Field(
        default_factory=lambda: ["/health/live", "/health/ready", "/docs", "/openapi.json"]
    )
    auth_admin_user_ids: list[str] = Field(default_factory=list)
    auth_cache_ttl_seconds: float = Field(default=30.0, ge=0)
    auth_cache_max_entries: int = Field(default=10_000, ge=0)
    # How long the account hook's answer (suspended, extra roles) is reused per user: the delay
    # before a suspension reaches other processes (auth/accounts.py). 0 asks on every request.
    auth_account_cache_ttl_seconds: float = Field(default=30.0, ge=0)
    auth_connect_timeout_seconds: float = Field(default=1.0, gt=0)
    auth_read_timeout_seconds: float = Field(default=3.0, gt=0)
    # The whole validation call, however the upstream dribbles its answer: per-read time-outs
    # alone let one byte every 2 s hold a request for minutes.
    auth_validation_deadline_seconds: float = Field(default=5.0, gt=0)

    # Limits
    # Bodies above this are refused with 413 before they are read (0 turns the limit off).
    max_request_body_bytes: int = Field(default=1_048_576, ge=0)

    @field_validator("log_level", mode="before")
    @classmethod
    def _check_log_level(cls, value: object) -> object:
        if isinstance(value, str):
            name = value.strip().upper()
            if name not in LOG_LEVELS:
                raise ValueError(f"unknown log level; use one of {', '.join(LOG_LEVELS)}")
            return name
        return value

    @field_validator("database_url", "celery_broker_url", "celery_result_backend", "redis_url")
    @classmethod
    def _check_url(cls, value: SecretUrl | None) -> SecretUrl | None:
        if value is not None and not all(url_schemes(value.get_secret_value()) or [""]):
            raise ValueError("not a URL (scheme://...)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretUrl | None) -> SecretUrl | None:
        if value is not None and value.scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    # CORS: off until origins are listed. An origin is exactly what a browser sends in
    # ``Origin`` (scheme://host[:port], no path, no trailing slash), or "*".
    cors_allow_origins: list[str] = Field(default_factory=list)
    cors_allow_methods: list[str] = Field(
        default_factory=lambda: ["GET", "POST", "PUT", "PATCH", "DELETE"]
    )
    cors_allow_headers: list[str] = Field(
        default_factory=lambda: ["Authorization", "Content-Type", "X-Request-ID"]
    )
    cors_allow_credentials: bool = False
    cors_max_age_seconds: int = Field(default=600, ge=0)

    # Error tracking and tracing: off until configured (docs/RUNTIME.md, "Observability").
    sentry_dsn: SecretStr | None = None
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0, le=1)
    otel_enabled: bool = False
    otel_exporter_otlp_traces_endpoint: str | None = None

    @field_validator("cors_allow_origins")
    @classmethod
    def _check_cors_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                # Browsers send no path and no trailing slash: such an entry never matches,
                # and the refusal only shows up as a CORS error in someone's browser console.
                raise ValueError(
                    f"CORS_ALLOW_ORIGINS entry {origin!r} is not an origin: write"
                    " scheme://host[:port] with no path or trailing slash, or '*'"
                )
        return origins

    @field_validator("cors_allow_methods")
    @classmethod
    def _check_cors_methods(cls, methods: list[str]) -> list[str]:
        unknown = [m for m in methods if m != "*" and m not in PUBLIC_PATH_METHODS]
        if unknown:
            raise ValueError(
                f"CORS_ALLOW_METHODS has {unknown!r}: use {', '.join(PUBLIC_PATH_METHODS)} or '*'"
                " (upper case)"
            )
        return methods

    @field_validator("sentry_dsn")
    @classmethod
    def _check_sentry_dsn(cls, dsn: SecretStr | None) -> SecretStr | None:
        if dsn is not None:
            parts = urlsplit(dsn.get_secret_value())
            if parts.scheme not in ("http", "https") or not parts.username or not parts.hostname:
                # Not echoed: the DSN carries the project's key.
                raise ValueError(
                    "SENTRY_DSN is not a Sentry DSN: expected https://<key>@<host>/<project id>"
                )
        return dsn

    @field_validator("otel_exporter_otlp_traces_endpoint")
    @classmethod
    def _check_otlp_endpoint(cls, endpoint: str | None) -> str | None:
        if endpoint is not None:
            parts = urlsplit(endpoint)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    f"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT {endpoint!r} must be an http(s) URL,"
                    " e.g. http://collector:4318/v1/traces"
                )
        return endpoint

    @model_validator(mode="after")
    def _check_cors_credentials(self) -> BaseServiceSettings:
        if self.cors_allow_credentials and "*" in self.cors_allow_origins:
            # Starlette would answer such a preflight by echoing any Origin with credentials
            # allowed: every web site could call the API with the user's cookies.
            raise SettingsError(
                "CORS_ALLOW_CREDENTIALS=true with CORS_ALLOW_ORIGINS='*' lets any site send"
                " credentialed requests: list the origins instead"
            )
        return self

    @property
    def tracing_enabled(self) -> bool:
        """``OTEL_ENABLED``, or an export endpoint (which is pointless without tracing)."""
        return self.otel_enabled or self.otel_exporter_otlp_traces_endpoint is not None

    @field_validator("auth_public_paths")
    @classmethod
    def _check_public_paths(cls, entries: list[str]) -> list[str]:
        parse_public_paths(entries)  # a typo must stop start-up, not open or close a route
        return entries

    @property
    def is_production(self) -> bool:
        names = {name.strip().lower() for name in self.production_environments}
        return self.env.strip().lower() in names

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.scheme.split("+", 1)[0] == "sqlite"

    @property
    def uses_embedded_broker(self) -> bool:
        """Any broker of the failover list keeps its queue on this machine or in this process."""
        return any(
            scheme in EMBEDDED_BROKER_SCHEMES or scheme.endswith("+sqlite")
            for scheme in url_schemes(self.celery_broker_url.get_secret_value())
        )

    @property
    def uses_embedded_result_backend(self) -> bool:
        scheme = self.celery_result_backend.scheme
        return scheme in EMBEDDED_RESULT_BACKEND_SCHEMES or scheme.endswith("sqlite")

    def production_problems(self) -> list[str]:
        """Everything that would make this configuration unsafe in production.

        Exposed (not only enforced) so ``spaps doctor`` can report the problems for a
        configuration before anyone deploys it.
        """
        problems: list[str] = []
        if self.spaps_api_key.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
            problems.append("SPAPS_API_KEY is a placeholder; set the real API key")
        if self.uses_sqlite:
            problems.append("DATABASE_URL points at SQLite; use PostgreSQL (postgresql+asyncpg://)")
        if self.auth_mode == "disabled":
            problems.append("AUTH_MODE=disabled turns authentication off; use AUTH_MODE=spaps")
        if self.auth_mode == "local":
            problems.append(
                "AUTH_MODE=local accepts locally minted dev tokens; use AUTH_MODE=spaps"
            )
        if not self.spaps_application_id or not self.spaps_application_id.strip():
            problems.append(
                "SPAPS_APPLICATION_ID is not set, so tokens SPAPS issued for any other"
                " application would be accepted; set this service's application id"
            )
        local_secret = self.auth_local_secret.get_secret_value().strip()
        if (
            local_secret.lower() in PLACEHOLDER_SECRETS
            or len(local_secret) < MIN_LOCAL_SECRET_LENGTH
        ):
            problems.append(
                "AUTH_LOCAL_SECRET is a published default or shorter than"
                f" {MIN_LOCAL_SECRET_LENGTH} characters; set a random one"
                " (python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        if self.uses_embedded_broker:
            problems.append(
                "CELERY_BROKER_URL is an embedded broker; use redis:// or amqp:// in production"
            )
        if self.uses_embedded_result_backend:
            problems.append(
                "CELERY_RESULT_BACKEND is embedded (SQLite or memory); use Redis or a database"
                " server in production"
            )
        if self.debug:
            problems.append("DEBUG is on")
        if self.celery_task_soft_time_limit_seconds >= self.celery_task_time_limit_seconds:
            problems.append("CELERY_TASK_SOFT_TIME_LIMIT_SECONDS must be below the hard limit")
        return problems

    @model_validator(mode="after")
    def _check_spaps_api_url(self) -> BaseServiceSettings:
        if self.auth_mode == "spaps":
            # Only where it is used: local and disabled auth never call SPAPS.
            self.spaps_api_url = checked_spaps_api_url(self.spaps_api_url)
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> BaseServiceSettings:
        if self.celery_task_soft_time_limit_seconds >= self.celery_task_time_limit_seconds:
            raise SettingsError(
                "celery_task_soft_time_limit_seconds must be below celery_task_time_limit_seconds"
            )
        if self.celery_task_time_limit_seconds >= self.celery_visibility_timeout_seconds:
            raise SettingsError(
                "celery_task_time_limit_seconds must be below celery_visibility_timeout_seconds,"
                " or the broker redelivers tasks that are still running"
            )
        if self.is_production:
            problems = self.production_problems()
            if problems:
                raise SettingsError(f"refusing to run with env={self.env}: " + "; ".join(problems))
        return self


SettingsT = TypeVar("SettingsT", bound=BaseServiceSettings)
SettingsT_co = TypeVar("SettingsT_co", bound=BaseServiceSettings, covariant=True)


class SettingsLoader(Protocol[SettingsT_co]):
    """A cached zero-argument settings factory with ``cache_clear`` for tests."""

    def __call__(self) -> SettingsT_co: ...

    def cache_clear(self) -> None: ...


class CachedSettingsLoader(Generic[SettingsT]):
    """The service's ``get_settings``: reads the environment once, then serves the cache.

    It also says which class and env prefix it loads (``settings_class``, ``env_prefix``) so
    tools such as ``spaps doctor`` can list the environment variables a service needs without
    guessing.
    """

    def __init__(
        self, cls: type[SettingsT], *, env_prefix: str | None, overrides: dict[str, Any]
    ) -> None:
        self.settings_class = cls
        self.env_prefix = env_prefix
        self._overrides = overrides
        self._cached: SettingsT | None = None
        self._lock = threading.Lock()

    def __call__(self) -> SettingsT:
        cached = self._cached
        if cached is not None:
            return cached
        with self._lock:
            if self._cached is None:
                kwargs: dict[str, Any] = dict(self._overrides)
                if self.env_prefix is not None:
                    kwargs["_env_prefix"] = self.env_prefix
                self._cached = self.settings_class(**kwargs)
            return self._cached

    def cache_clear(self) -> None:
        with self._lock:
            self._cached = None


def create_settings_loader(
    cls: type[SettingsT], *, env_prefix: str | None = None, **overrides: Any
) -> CachedSettingsLoader[SettingsT]:
    """Build the service's ``get_settings``.

    ``env_prefix`` lets two services share one environment (``HTMA_DATABASE_URL`` next to
    ``INGREDIENT_DATABASE_URL``). Tests call ``get_settings.cache_clear()`` after changing the
    environment, or use the pytest plugin's ``settings_override`` fixture.
    """
    return CachedSettingsLoader(cls, env_prefix=env_prefix, overrides=dict(overrides))
