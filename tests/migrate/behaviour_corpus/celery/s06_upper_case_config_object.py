"""The project's own config object with CELERY_BROKER_URL and no service_name: kept."""

import os

from celery import Celery


class Config:
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")


config = Config()
celery_app = Celery("orders", broker=config.CELERY_BROKER_URL)
REFUSED = "CELERY_BROKER_URL"
