"""Broker straight from os.environ: no settings object to hand over."""

import os

from celery import Celery

celery_app = Celery("orders", broker=os.environ.get("BROKER", "memory://"))
REFUSED = "do not come from a settings object"
