import functools
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


def traced(func: Callable[[], Any]) -> Callable[[], Any]:
    """Turns an async handler into a sync one that records the call and returns the coroutine."""

    @functools.wraps(func)
    def wrapper() -> Any:
        EVENTS.append(f"trace {func.__name__}")
        return func()

    return wrapper


@app.on_event("startup")
@traced
async def migrate_schema() -> None:
    EVENTS.append("schema migrated")


@app.on_event("shutdown")
@app.on_event("startup")
@traced
def heartbeat() -> None:
    EVENTS.append("heartbeat")
