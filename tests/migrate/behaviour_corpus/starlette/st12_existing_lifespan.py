from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

EVENTS: list[str] = []


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    EVENTS.append("lifespan start")
    yield
    EVENTS.append("lifespan stop")


app = Starlette(lifespan=lifespan)


async def never_runs() -> None:
    EVENTS.append("never runs")


app.add_event_handler("startup", never_runs)
