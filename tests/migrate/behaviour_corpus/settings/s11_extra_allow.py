"""extra="allow": unknown init arguments are kept, as before."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="allow")

    queue: str = "default"


ENVIRONMENTS = {"nothing set": {}, "queue": {"QUEUE": "priority"}, "prod": {"ENV": "prod"}}
DOTENV = "QUEUE=from-dotenv\n"
