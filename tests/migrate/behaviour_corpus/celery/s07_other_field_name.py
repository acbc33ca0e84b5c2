"""Broker read from redis_url: create_celery_app reads celery_broker_url, so kept."""

from celery import Celery
from spaps_server_quickstart.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    pass


settings = Settings()

celery_app = Celery("orders", broker=settings.redis_url)
REFUSED = "celery_broker_url"
