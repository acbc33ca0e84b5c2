"""Logging that also turns exceptions into a JSON 500: other work, so a follow-up."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware.base import BaseHTTPMiddleware

logger = logging.getLogger("orders")


class RequestLogging(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        try:
            response = await call_next(request)
        except Exception:
            logger.exception("failed %s", request.url.path)
            return JSONResponse({"detail": "internal"}, status_code=500)
        logger.info("%s %s", request.method, request.url.path)
        return response


app = FastAPI()
app.add_middleware(RequestLogging)


@app.get("/orders/{order_id}")
async def order(order_id: int):
    return {"order": order_id}


REFUSED = "also does other work"
