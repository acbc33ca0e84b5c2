import asyncio

from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


@app.on_event("startup")
async def first() -> None:
    await asyncio.sleep(0)
    EVENTS.append("first")


@app.on_event("startup")
def second() -> None:
    EVENTS.append("second")


@app.on_event("startup")
async def third() -> None:
    EVENTS.append("third")


@app.on_event("shutdown")
def bye() -> None:
    EVENTS.append("bye")
