import asyncio
import functools
from unittest.mock import create_autospec

from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


class Notifier:
    """A handler object: FastAPI looks through functools.partial to its async __call__."""

    async def __call__(self, channel: str, note: str = "") -> None:
        EVENTS.append(f"notified {channel} {note}".strip())


async def announce(word: str) -> None:
    EVENTS.append(f"announced {word}")


def tally(word: str) -> None:
    EVENTS.append(f"tallied {word}")


async def background(word: str) -> None:
    EVENTS.append(f"background {word}")


def after_spawn() -> None:
    EVENTS.append("after spawn")


async def settle() -> None:
    # The spawned task runs here, while this handler gives the loop a turn.
    await asyncio.sleep(0)
    EVENTS.append("settled")


notifier = Notifier()
# Before Python 3.13 only asyncio's iscoroutinefunction (Starlette's there) sees this as async.
probe = create_autospec(announce, side_effect=lambda word: EVENTS.append(f"probed {word}"))
app.router.add_event_handler("startup", functools.partial(notifier, "ops"))
audit = functools.partial(notifier, "audit")
app.router.add_event_handler("startup", functools.partial(audit, "twice"))
app.router.add_event_handler("startup", functools.partial(announce, "ready"))
# A sync callable that returns an awaitable: called, never awaited.
app.router.add_event_handler("startup", lambda: asyncio.create_task(background("job")))
app.router.add_event_handler("startup", after_spawn)
app.router.add_event_handler("startup", functools.partial(probe, "mock"))
app.router.add_event_handler("startup", settle)
app.router.add_event_handler("shutdown", functools.partial(tally, "stop"))
app.router.add_event_handler("shutdown", functools.partial(notifier, "ops", note="bye"))
