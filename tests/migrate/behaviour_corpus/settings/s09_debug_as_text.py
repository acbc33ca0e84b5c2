"""DEBUG kept as text: the override keeps what the service read."""

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    debug: str = ""
    region: str = "eu-west-1"


ENVIRONMENTS = {
    "nothing set": {},
    "DEBUG=verbose": {"DEBUG": "verbose"},
    "DEBUG=sql,http": {"DEBUG": "sql,http", "REGION": "us-east-1"},
}
