"""A plain pydantic-settings class that is not the runtime's: celery waits for it."""

from celery import Celery
from pydantic_settings import BaseSettings


class WorkerConfig(BaseSettings):
    celery_broker_url: str = "redis://localhost:6379/0"


worker_config = WorkerConfig()
celery_app = Celery("orders", broker=worker_config.celery_broker_url)
REFUSED = "not shown to be the service's settings"
