"""ENV and DEBUG spelled in capitals, as many older services do."""

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    ENV: str = "development"
    DEBUG: bool = False
    SENTRY_DSN: str = ""


REFUSED = "ENV"
ENVIRONMENTS = {"nothing set": {}, "prod": {"ENV": "prod"}}
