"""A model_config with a prefix and its own .env file."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_", env_file=".env")

    currency: str = "EUR"
    retries: int = 3


ENVIRONMENTS = {
    "nothing set": {},
    "prefixed": {"BILLING_CURRENCY": "USD", "RETRIES": "9"},
    "ENV=prod": {"BILLING_ENV": "prod", "ENV": "prod"},
}
DOTENV = "BILLING_RETRIES=5\n"
