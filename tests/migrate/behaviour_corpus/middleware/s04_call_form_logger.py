"""The decorator's call form: app.middleware("http")(fn), a request logger."""

import logging
import time

from fastapi import FastAPI, Request

log = logging.getLogger(__name__)
app = FastAPI()


async def log_requests(request: Request, call_next):
    started = time.monotonic()
    response = await call_next(request)
    log.info("request %s took %.3f", request.url.path, time.monotonic() - started)
    return response


app.middleware("http")(log_requests)


@app.get("/orders/{order_id}")
async def order(order_id: int):
    return {"order": order_id}


REQUESTS = [
    ("GET", "/orders/7", {}),
    ("GET", "/orders/8", {"X-Correlation-ID": "corr-8"}),
    ("GET", "/orders/9", {"X-Request-ID": "req-9"}),
    ("GET", "/missing", {}),
]
