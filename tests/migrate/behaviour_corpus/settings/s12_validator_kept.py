"""A field validator travels with the class."""

from pydantic import field_validator
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    allowed_hosts: str = "localhost"

    @field_validator("allowed_hosts")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


ENVIRONMENTS = {"nothing set": {}, "hosts": {"ALLOWED_HOSTS": "API.EXAMPLE.COM"}}
