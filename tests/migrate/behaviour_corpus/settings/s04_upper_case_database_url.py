"""A local DATABASE_URL field: the base's database_url reads the same variable."""

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    DATABASE_URL: str = "postgresql://localhost/orders"


REFUSED = "DATABASE_URL"
ENVIRONMENTS = {"nothing set": {}, "set": {"DATABASE_URL": "postgresql://db/orders"}}
