"""A field whose alias is one of the base's variables."""

from pydantic import Field
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    db: str = Field(default="sqlite:///local.db", alias="database_url")


REFUSED = "database_url"
ENVIRONMENTS = {"nothing set": {}}
