"""``ENV`` takes any environment name; which names are production is a setting.

Services name their environments differently (``production``, ``staging``, ``qa``, ``Prod``):
a settings class that refuses a name it does not know stops a service from starting for no
reason, and a production guard that only knows ``prod`` lets ``production`` through unguarded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from spaps_server_quickstart.settings import BaseServiceSettings, SettingsError

READY_FOR_PRODUCTION = {
    "SPAPS_API_KEY": "a-real-key-0123456789",
    "DATABASE_URL": "postgresql+asyncpg://db/orders",
    "AUTH_MODE": "spaps",
    "CELERY_BROKER_URL": "redis://cache:6379/0",
    "CELERY_RESULT_BACKEND": "redis://cache:6379/1",
    "SPAPS_APPLICATION_ID": "orders-app",
    "AUTH_LOCAL_SECRET": "x" * 40,
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("ENV", "DEBUG", "PRODUCTION_ENVIRONMENTS", *READY_FOR_PRODUCTION):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("name", ["staging", "qa", "development", "production-eu"])
def test_any_environment_name_loads(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("ENV", name)
    settings = BaseServiceSettings()
    assert settings.env == name
    assert not settings.is_production


@pytest.mark.parametrize("name", ["prod", "production", "Production", "PROD"])
def test_production_names_run_the_guard(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("ENV", name)
    with pytest.raises(SettingsError, match="refusing to run"):
        BaseServiceSettings()
    for key, value in READY_FOR_PRODUCTION.items():
        monkeypatch.setenv(key, value)
    settings = BaseServiceSettings()
    assert settings.is_production


def test_which_names_are_production_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV", "live")
    monkeypatch.setenv("PRODUCTION_ENVIRONMENTS", '["live"]')
    with pytest.raises(SettingsError, match="refusing to run with env=live"):
        BaseServiceSettings()
    monkeypatch.setenv("ENV", "prod")
    assert not BaseServiceSettings().is_production
    monkeypatch.setenv("PRODUCTION_ENVIRONMENTS", "[]")
    assert not BaseServiceSettings().is_production


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        ("verbose", True),
        ("*", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("off", False),
        ("", False),
    ],
)
def test_debug_accepts_what_services_put_in_it(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    """A value pydantic's bool takes means the same; any other word means "on", as
    ``if os.environ.get("DEBUG")`` read it, instead of stopping start-up."""
    monkeypatch.setenv("DEBUG", value)
    assert BaseServiceSettings().debug is expected
