"""Only the broker: the runtime adds a result backend, which the report says."""

from celery import Celery
from spaps_server_quickstart.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    pass


settings = Settings()

celery_app = Celery("orders", broker=settings.celery_broker_url.get_secret_value())
ENVIRONMENTS = {
    "defaults": {},
    "redis": {
        "CELERY_BROKER_URL": "redis://cache:6379/1",
        "CELERY_RESULT_BACKEND": "redis://cache:6379/2",
    },
}
