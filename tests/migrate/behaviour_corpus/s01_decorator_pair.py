from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI(title="orders")


@app.on_event("startup")
async def connect() -> None:
    EVENTS.append("connect")


@app.on_event("shutdown")
async def disconnect() -> None:
    EVENTS.append("disconnect")
