from starlette.applications import Starlette

EVENTS: list[str] = []
app = Starlette()


@app.on_event("startup")
async def connect() -> None:
    EVENTS.append("connect")


@app.on_event("startup")
def migrate() -> None:
    EVENTS.append("migrate")
    raise RuntimeError("migration failed")


@app.on_event("shutdown")
async def disconnect() -> None:
    EVENTS.append("disconnect, never reached")
