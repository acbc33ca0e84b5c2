"""The smallest service settings: one field, nothing else."""

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    stripe_key: str = ""


ENVIRONMENTS = {
    "nothing set": {},
    "ENV=prod": {"ENV": "prod", "STRIPE_KEY": "sk_live"},
    "ENV=production": {"ENV": "production"},
    "ENV=staging": {"ENV": "staging"},
    "DEBUG=verbose": {"DEBUG": "verbose"},
    "empty value": {"STRIPE_KEY": ""},
}
DOTENV = "STRIPE_KEY=from-the-dotenv-file\n"
