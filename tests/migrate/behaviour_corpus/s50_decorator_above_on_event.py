import functools
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


def counted(func: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    @functools.wraps(func)
    async def wrapper() -> Any:
        EVENTS.append("counted call")
        return await func()

    return wrapper


@counted
@app.on_event("startup")
async def connect() -> None:
    EVENTS.append("connect")
