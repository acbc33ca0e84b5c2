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
    "DEBUG=1 LOG_LEVEL=trace": {"DEBUG": "1", "LOG_LEVEL": "trace"},
}
