import functools

from starlette.applications import Starlette

EVENTS: list[str] = []


class AsyncProbe:
    async def __call__(self) -> None:
        EVENTS.append("async probe")


class SyncProbe:
    def __call__(self) -> None:
        EVENTS.append("sync probe")


async def record(word: str) -> None:
    EVENTS.append(word)


probe = AsyncProbe()
app = Starlette(on_startup=[probe, SyncProbe(), functools.partial(record, "partial")])
app.add_event_handler("shutdown", functools.partial(record, "partial shutdown"))
# Starlette looks through the partial to the object's async __call__, and awaits it.
app.add_event_handler("shutdown", functools.partial(probe))
