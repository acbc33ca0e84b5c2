"""A base-HTTP middleware class named for auditing, only logging: recognised by what it does."""

import logging

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware

logger = logging.getLogger("orders")


class Audit(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        response = await call_next(request)
        logger.info("%s %s -> %s", request.method, request.url.path, response.status_code)
        return response


app = FastAPI()
app.add_middleware(Audit)


@app.get("/orders/{order_id}")
async def order(order_id: int):
    return {"order": order_id}


REQUESTS = [
    ("GET", "/orders/7", {}),
    ("GET", "/orders/8", {"X-Correlation-ID": "corr-8"}),
    ("GET", "/orders/9", {"X-Request-ID": "req-9"}),
    ("GET", "/missing", {}),
]
