"""The settings through a cached getter, called in the construction."""

from functools import lru_cache

from celery import Celery
from spaps_server_quickstart.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    pass


@lru_cache
def get_settings() -> Settings:
    return Settings()


celery_app = Celery(
    "mailer",
    broker=get_settings().celery_broker_url.get_secret_value(),
    backend=get_settings().celery_result_backend.get_secret_value(),
)
ENVIRONMENTS = {
    "defaults": {},
    "rabbit": {"CELERY_BROKER_URL": "amqp://guest:guest@mq:5672//"},
}
