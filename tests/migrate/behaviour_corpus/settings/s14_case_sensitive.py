"""case_sensitive=True: variable names are compared exactly, which the proof does not cover."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=True)

    Token: str = ""


REFUSED = "case_sensitive"
ENVIRONMENTS = {"nothing set": {}}
