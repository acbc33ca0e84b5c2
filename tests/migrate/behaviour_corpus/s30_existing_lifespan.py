from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

EVENTS: list[str] = []


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    EVENTS.append("lifespan start")
    yield
    EVENTS.append("lifespan stop")


app = FastAPI(lifespan=lifespan)


@app.on_event("startup")
async def never_runs() -> None:
    EVENTS.append("never")
