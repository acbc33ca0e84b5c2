"""A property with the name of one of the base's members."""

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    stage: str = "dev"

    @property
    def is_production(self) -> bool:
        return self.stage == "live"


REFUSED = "is_production"
ENVIRONMENTS = {"nothing set": {}}
