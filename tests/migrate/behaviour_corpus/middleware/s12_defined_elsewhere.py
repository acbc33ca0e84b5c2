"""An http middleware function imported from another package and registered here."""

from fastapi import FastAPI
from platform_observability.middleware import log_requests

app = FastAPI()
app.middleware("http")(log_requests)


@app.get("/orders/{order_id}")
async def order(order_id: int):
    return {"order": order_id}


REFUSED = "defined in another module"
