"""set_as_current=False: the app stays out of Celery's default."""

from celery import Celery
from spaps_server_quickstart.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    pass


settings = Settings()

celery_app = Celery(
    "billing",
    broker=settings.celery_broker_url.get_secret_value(),
    backend=settings.celery_result_backend.get_secret_value(),
    set_as_current=False,
)
ENVIRONMENTS = {
    "defaults": {},
    "redis": {
        "CELERY_BROKER_URL": "redis://cache:6379/1",
        "CELERY_RESULT_BACKEND": "redis://cache:6379/2",
    },
}
