"""The base's own field name with another default: kept as an override, same values."""

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    database_url: str = "postgresql+asyncpg://localhost/orders"
    redis_url: str = "redis://localhost:6379/0"


ENVIRONMENTS = {
    "nothing set": {},
    "set": {"DATABASE_URL": "postgresql+asyncpg://db/orders", "REDIS_URL": "redis://r:6379/1"},
    "ENV=prod": {"ENV": "prod"},
}
