"""Reads X-Request-ID but answers X-Trace-ID: the runtime reads and answers one header."""

import uuid

from fastapi import FastAPI, Request

app = FastAPI()


@app.middleware("http")
async def trace(request: Request, call_next):
    trace_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
    response = await call_next(request)
    response.headers["X-Trace-ID"] = trace_id
    return response


@app.get("/orders/{order_id}")
async def order(order_id: int):
    return {"order": order_id}


REFUSED = "reads X-Request-ID but answers X-Trace-ID"
