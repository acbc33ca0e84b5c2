"""An alias inside Annotated[...]: the variable it reads is not followed, so refused."""

from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    db: Annotated[str, Field(alias="DEBUG")] = "off"


REFUSED = "alias inside its annotation"
ENVIRONMENTS = {"nothing set": {}}
