"""A request-id middleware registered with its own options."""

import uuid

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware


class CorrelationIdMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, header_name: str = "X-Request-ID"):
        super().__init__(app)
        self.header_name = header_name

    async def dispatch(self, request: Request, call_next):
        value = request.headers.get(self.header_name) or uuid.uuid4().hex
        response = await call_next(request)
        response.headers[self.header_name] = value
        return response


app = FastAPI()
app.add_middleware(CorrelationIdMiddleware, header_name="X-Correlation-ID")


@app.get("/orders/{order_id}")
async def order(order_id: int):
    return {"order": order_id}


REFUSED = "CorrelationIdMiddleware"
