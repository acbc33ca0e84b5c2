import functools
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


def logged(func: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(func)
    async def wrapper() -> Any:
        EVENTS.append(f"calling {func.__name__}")
        return await func()

    return wrapper


@app.on_event("startup")
@logged
async def connect() -> None:
    EVENTS.append("connected")
