"""Sets a request id and a constant X-Service header: two ids, so refused."""

import uuid

from fastapi import FastAPI, Request

app = FastAPI()


@app.middleware("http")
async def stamp(request: Request, call_next):
    request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
    response = await call_next(request)
    response.headers["X-Request-ID"] = request_id
    response.headers["X-Service"] = "orders"
    return response


@app.get("/orders/{order_id}")
async def order(order_id: int):
    return {"order": order_id}


REFUSED = "several id or timing headers"
