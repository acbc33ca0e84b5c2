from starlette.applications import Starlette

EVENTS: list[str] = []
app = Starlette(debug=False)


@app.on_event("startup")
async def connect() -> None:
    EVENTS.append("connect")


@app.on_event("startup")
def load() -> None:
    EVENTS.append("load")


@app.on_event("shutdown")
@app.on_event("startup")
async def heartbeat() -> None:
    EVENTS.append("heartbeat")


@app.on_event(event_type="shutdown")
def close() -> None:
    EVENTS.append("close")
