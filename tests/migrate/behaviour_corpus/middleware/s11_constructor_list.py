"""Middleware(...) in the FastAPI(middleware=[...]) list, id echoed under X-Request-ID."""

import uuid

from fastapi import FastAPI, Request
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware


class RequestIdMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        return response


app = FastAPI(middleware=[Middleware(RequestIdMiddleware)])


@app.get("/orders/{order_id}")
async def order(order_id: int):
    return {"order": order_id}


REQUESTS = [
    ("GET", "/orders/7", {}),
    ("GET", "/orders/8", {"X-Correlation-ID": "corr-8"}),
    ("GET", "/orders/9", {"X-Request-ID": "req-9"}),
    ("GET", "/missing", {}),
]
