"""Echoes X-Correlation-ID and adds X-Process-Time: the contract its clients rely on."""

import time
import uuid

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware


class CorrelationMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        correlation_id = request.headers.get("X-Correlation-ID") or str(uuid.uuid4())
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Correlation-ID"] = correlation_id
        response.headers["X-Process-Time"] = str(time.perf_counter() - started)
        return response


app = FastAPI()
app.add_middleware(CorrelationMiddleware)


@app.get("/orders/{order_id}")
async def order(order_id: int):
    return {"order": order_id}


REQUESTS = [
    ("GET", "/orders/7", {}),
    ("GET", "/orders/8", {"X-Correlation-ID": "corr-8"}),
    ("GET", "/orders/9", {"X-Request-ID": "req-9"}),
    ("GET", "/missing", {}),
]
