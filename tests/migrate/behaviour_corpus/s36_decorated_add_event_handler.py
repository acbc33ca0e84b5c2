import functools
from collections.abc import Awaitable, Callable

from fastapi import FastAPI

EVENTS: list[str] = []


def timed(func: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    """Turns a plain def into a coroutine function: the def's own kind says nothing."""

    @functools.wraps(func)
    async def wrapper() -> None:
        EVENTS.append(f"start {func.__name__}")
        func()

    return wrapper


@timed
def warm_cache() -> None:
    EVENTS.append("warm")


app = FastAPI()
app.router.add_event_handler("startup", warm_cache)
