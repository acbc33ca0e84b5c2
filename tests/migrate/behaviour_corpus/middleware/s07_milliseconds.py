"""The duration in milliseconds under X-Response-Time: the runtime writes seconds."""

import time

from fastapi import FastAPI, Request

app = FastAPI()


@app.middleware("http")
async def response_time(request: Request, call_next):
    start = time.perf_counter()
    response = await call_next(request)
    response.headers["X-Response-Time"] = f"{(time.perf_counter() - start) * 1000:.1f}"
    return response


@app.get("/orders/{order_id}")
async def order(order_id: int):
    return {"order": order_id}


REFUSED = "milliseconds"
