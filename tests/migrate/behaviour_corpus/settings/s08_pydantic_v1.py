"""A pydantic 1 settings class: the runtime needs pydantic 2."""

from pydantic import BaseSettings


class Settings(BaseSettings):
    api_token: str = ""

    class Config:
        env_prefix = "APP_"


REFUSED = "pydantic 1"
ENVIRONMENTS: dict[str, dict[str, str]] = {}
