"""Options of its own (task_serializer): the runtime sets those itself, so a follow-up."""

from celery import Celery
from spaps_server_quickstart.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    pass


settings = Settings()

celery_app = Celery(
    "orders", broker=settings.celery_broker_url.get_secret_value(), task_serializer="pickle"
)
REFUSED = "options the runtime sets itself"
