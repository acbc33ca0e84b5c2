"""Settings never show a secret, refuse unsafe production, and fail as ``SettingsError``.

Issue 14 items 1, 3, 7 and 10, issue 16 item 7. A known secret is planted in every secret and
URL setting; every way the settings can be shown (``repr``, ``str``, JSON, an error and its
traceback) is searched for it.
"""

from __future__ import annotations

import traceback
from typing import Any

import anyio
import pytest
from pydantic import ValidationError
from spaps_production_settings import PRODUCTION_READY
from spaps_server_quickstart.auth import InvalidTokenError, SpapsAuthService
from spaps_server_quickstart.auth.validation_cache import ValidationCache
from spaps_server_quickstart.settings import (
    BaseServiceSettings,
    SecretUrl,
    SettingsError,
    create_settings_loader,
)
from spaps_server_quickstart.testing.spaps_standin import SpapsStandin

PLANTED = "Planted-Secret-4f1e"

#: Every setting that holds a secret, each carrying the planted value.
PLANTED_SETTINGS: dict[str, str] = {
    "spaps_api_key": f"sk-{PLANTED}-api",
    "auth_local_secret": f"{PLANTED}-local-signing-secret-0123456789",
    "database_url": f"postgresql+asyncpg://orders:{PLANTED}-db@db.internal:5432/orders",
    "celery_broker_url": f"redis://:{PLANTED}-broker@redis.internal:6379/0",
    "celery_result_backend": f"redis://:{PLANTED}-results@redis.internal:6379/1",
    "redis_url": f"rediss://cache:{PLANTED}-redis@redis.internal:6380/2?ssl_cert_reqs=none",
}


def everything_shown(settings: BaseServiceSettings) -> str:
    return "\n".join(
        [
            repr(settings),
            str(settings),
            settings.model_dump_json(),
            repr(settings.model_dump()),
            *(repr(getattr(settings, name)) for name in PLANTED_SETTINGS),
            *(str(getattr(settings, name)) for name in PLANTED_SETTINGS),
            *(f"{getattr(settings, name)}" for name in PLANTED_SETTINGS),
        ]
    )


def test_no_secret_in_repr_str_or_json_of_the_settings() -> None:
    """Item 7: URLs were plain ``str``; their passwords showed in repr, str and JSON."""
    settings = BaseServiceSettings(env="test", **PLANTED_SETTINGS)
    shown = everything_shown(settings)
    assert PLANTED not in shown
    # What whoever debugs needs stays readable.
    assert "postgresql+asyncpg://orders:***@db.internal:5432/orders" in repr(settings)
    assert "redis.internal:6379/0" in repr(settings.celery_broker_url)


def test_the_real_values_are_one_call_away() -> None:
    settings = BaseServiceSettings(env="test", **PLANTED_SETTINGS)
    for name, value in PLANTED_SETTINGS.items():
        assert getattr(settings, name).get_secret_value() == value
    assert isinstance(settings.database_url, SecretUrl)
    assert settings.database_url.scheme == "postgresql+asyncpg"


def test_a_password_in_the_query_string_is_masked_too() -> None:
    settings = BaseServiceSettings(redis_url=f"redis://redis.internal/0?password={PLANTED}")
    assert PLANTED not in repr(settings)
    assert "password=***" in repr(settings.redis_url)


REFUSED_IN_PRODUCTION: dict[str, dict[str, Any]] = {
    # Item 1: the four refused combinations the audit tried, and the other guards.
    "placeholder api key": {"spaps_api_key": "change-me"},
    "sqlite database": {"database_url": "sqlite+aiosqlite:///./service.db"},
    "local auth": {"auth_mode": "local"},
    "disabled auth": {"auth_mode": "disabled"},
    "debug": {"debug": True},
    # Item 3: no application id accepted another application's admin token.
    "no application id": {"spaps_application_id": None},
    "blank application id": {"spaps_application_id": "  "},
    # A default or short local signing secret.
    "default local secret": {"auth_local_secret": "local-dev-secret"},
    "short local secret": {"auth_local_secret": "s3cr3t-but-only-24-chars"},
    # Item 10: the embedded-broker check was case-sensitive.
    "FILESYSTEM": {"celery_broker_url": "FILESYSTEM://"},
    "Filesystem": {"celery_broker_url": "Filesystem://"},
    "MEMORY": {"celery_broker_url": "MEMORY://"},
    "memory": {"celery_broker_url": "memory://localhost/"},
    "sqla+sqlite": {"celery_broker_url": "sqla+sqlite:///celery.sqlite"},
    "SQLA+SQLITE": {"celery_broker_url": "SQLA+SQLITE:///celery.sqlite"},
    "sqlalchemy+sqlite": {"celery_broker_url": "sqlalchemy+sqlite:///celery.sqlite"},
    "failover to memory": {"celery_broker_url": "redis://redis.internal:6379/0;memory://"},
    "SQLITE database": {"database_url": "SQLITE+aiosqlite:///./service.db"},
    "sqlite results": {"celery_result_backend": "db+sqlite:///./celery-results.sqlite"},
    "memory results": {"celery_result_backend": "cache+memory://"},
}


def planted_production(**changes: Any) -> dict[str, Any]:
    values = {**PRODUCTION_READY, **PLANTED_SETTINGS, **changes}
    return {name: value for name, value in values.items() if value is not None}


def test_the_baseline_is_accepted_in_production() -> None:
    assert BaseServiceSettings(**planted_production()).production_problems() == []


@pytest.mark.parametrize("changes", REFUSED_IN_PRODUCTION.values(), ids=REFUSED_IN_PRODUCTION)
def test_production_refuses_with_a_settings_error_that_shows_no_secret(
    changes: dict[str, Any],
) -> None:
    values = planted_production(**changes)
    if changes.get("spaps_application_id", "") is None:
        values.pop("spaps_application_id", None)
    with pytest.raises(SettingsError) as refused:
        BaseServiceSettings(**values)
    error = refused.value
    assert not isinstance(error, ValidationError)
    text = "".join(traceback.format_exception(error))
    assert text.startswith("Traceback")
    assert "refusing to run with env=prod" in str(error)
    assert PLANTED not in text
    assert "input_value" not in text
    assert error.__cause__ is None
    assert error.__context__ is None
    assert PLANTED not in repr(error.errors())


def test_without_an_application_id_another_applications_admin_token_was_accepted(
    spaps_standin: SpapsStandin,
) -> None:
    """Item 3, the observed failure: without the id, any application's admin token passes.

    The service can only tell applications apart when it knows its own id, so production
    refuses to start without it (the test above); this shows what the refusal prevents.
    """
    token = spaps_standin.register_admin("intruder", application_id="another-application")

    async def authenticate(application_id: str | None) -> Any:
        service = SpapsAuthService(
            base_url=spaps_standin.url,
            api_key=spaps_standin.api_key,
            application_id=application_id,
            cache=ValidationCache(ttl_seconds=0, max_entries=0),
        )
        try:
            return await service.authenticate(token)
        finally:
            await service.aclose()

    assert "admin" in anyio.run(authenticate, None).roles
    with pytest.raises(InvalidTokenError):
        anyio.run(authenticate, spaps_standin.application_id)


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"log_level": "LOUD"}, "LOG_LEVEL"),
        ({"log_level": "10"}, "LOG_LEVEL"),
        ({"database_pool_size": 0}, "DATABASE_POOL_SIZE"),
        ({"database_url": "not a url"}, "DATABASE_URL"),
        ({"redis_url": "http://redis.internal"}, "REDIS_URL"),
        ({"max_request_body_bytes": -1}, "MAX_REQUEST_BODY_BYTES"),
        ({"auth_mode": "spaps", "spaps_api_url": "ftp://api.example"}, "SPAPS_API_URL"),
        ({"auth_mode": "spaps", "spaps_api_url": "api.sweetpotato.dev"}, "SPAPS_API_URL"),
        (
            {"auth_mode": "spaps", "spaps_api_url": f"https://u:{PLANTED}@api.example"},
            "SPAPS_API_URL",
        ),
    ],
)
def test_every_setting_is_checked_when_the_settings_load(
    changes: dict[str, Any], setting: str
) -> None:
    """16.7: ``log_level`` and ``spaps_api_url`` were only checked when first used."""
    with pytest.raises(SettingsError) as refused:
        BaseServiceSettings(**{**PLANTED_SETTINGS, **changes})
    message = str(refused.value)
    assert setting in message
    assert "\n" not in message
    assert PLANTED not in "".join(traceback.format_exception(refused.value))


def test_log_level_is_normalised() -> None:
    assert BaseServiceSettings(log_level=" debug ").log_level == "DEBUG"


def test_the_loader_and_the_environment_raise_settings_error_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDERS_ENV", "prod")
    monkeypatch.setenv("ORDERS_SPAPS_API_KEY", PLANTED_SETTINGS["spaps_api_key"])
    monkeypatch.setenv("ORDERS_AUTH_LOCAL_SECRET", PLANTED_SETTINGS["auth_local_secret"])
    monkeypatch.setenv("ORDERS_AUTH_PUBLIC_PATHS", "not json")
    loader = create_settings_loader(BaseServiceSettings, env_prefix="ORDERS_")
    with pytest.raises(SettingsError) as refused:
        loader()
    assert str(refused.value).startswith("ORDERS_AUTH_PUBLIC_PATHS: could not be parsed")
    assert PLANTED not in "".join(traceback.format_exception(refused.value))
    monkeypatch.delenv("ORDERS_AUTH_PUBLIC_PATHS")
    loader.cache_clear()
    with pytest.raises(SettingsError) as refused:
        loader()
    assert "SPAPS_APPLICATION_ID" in str(refused.value)
    assert PLANTED not in "".join(traceback.format_exception(refused.value))


def test_model_validate_raises_settings_error_too() -> None:
    with pytest.raises(SettingsError) as refused:
        BaseServiceSettings.model_validate({**PLANTED_SETTINGS, "env": "prod"})
    assert not isinstance(refused.value, ValidationError)
    assert PLANTED not in "".join(traceback.format_exception(refused.value))
