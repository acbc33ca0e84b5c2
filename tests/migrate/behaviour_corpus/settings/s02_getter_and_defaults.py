"""Several fields of different types and a cached getter, the common layout."""

from functools import lru_cache

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    """Orders service."""

    service_name: str = "orders"
    page_size: int = 50
    feature_flags: list[str] = []
    timeout_seconds: float = 2.5


@lru_cache
def get_settings() -> Settings:
    return Settings()


ENVIRONMENTS = {
    "nothing set": {},
    "overrides": {"SERVICE_NAME": "orders-eu", "PAGE_SIZE": "10", "FEATURE_FLAGS": '["a"]'},
    "bad int": {"PAGE_SIZE": "ten"},
    "ENV=prod": {"ENV": "prod"},
    # Variables only the base reads, with values it accepts. One it refuses (LOG_LEVEL=trace:
    # the runtime checks log levels when settings load) stops the migrated class; that is in
    # the review note's list of variables the class now reads, not something the text proves.
    "DEBUG=1 LOG_LEVEL=debug": {"DEBUG": "1", "LOG_LEVEL": "debug"},
}
