"""Fields the runtime's base already has, with the same type and default."""

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    debug: bool = False
    database_echo: bool = False
    report_bucket: str = "reports"


ENVIRONMENTS = {
    "nothing set": {},
    "debug on": {"DEBUG": "true", "DATABASE_ECHO": "true"},
    "debug word": {"DEBUG": "yes"},
    "ENV=production": {"ENV": "production", "DEBUG": "on"},
}
