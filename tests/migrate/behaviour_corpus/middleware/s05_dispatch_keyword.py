"""add_middleware(<the base HTTP middleware>, dispatch=fn) with an id it generates or echoes."""

import uuid

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware


async def request_id(request: Request, call_next):
    rid = request.headers.get("X-Request-ID") or uuid.uuid4().hex
    response = await call_next(request)
    response.headers["X-Request-ID"] = rid
    return response


app = FastAPI()
app.add_middleware(BaseHTTPMiddleware, dispatch=request_id)


@app.get("/orders/{order_id}")
async def order(order_id: int):
    return {"order": order_id}


REQUESTS = [
    ("GET", "/orders/7", {}),
    ("GET", "/orders/8", {"X-Correlation-ID": "corr-8"}),
    ("GET", "/orders/9", {"X-Request-ID": "req-9"}),
    ("GET", "/missing", {}),
]
