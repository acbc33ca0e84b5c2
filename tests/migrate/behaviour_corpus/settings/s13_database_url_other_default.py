"""The base's own URL field as a plain str with another default: refused.

The base reads ``database_url`` as a ``SecretUrl`` (its validators, ``uses_sqlite``, the
runtime's engine), so a ``str`` override would break the runtime, not only this class.
"""

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    database_url: str = "postgresql+asyncpg://localhost/orders"
    redis_url: str = "redis://localhost:6379/0"


ENVIRONMENTS = {
    "nothing set": {},
    "set": {"DATABASE_URL": "postgresql+asyncpg://db/orders", "REDIS_URL": "redis://r:6379/1"},
    "ENV=prod": {"ENV": "prod"},
}
REFUSED = "would run through the base's validators"
