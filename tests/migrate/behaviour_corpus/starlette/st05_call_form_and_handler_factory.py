from collections.abc import Awaitable, Callable

from starlette.applications import Starlette

EVENTS: list[str] = []


def make_handler(name: str) -> Callable[[], Awaitable[None]]:
    EVENTS.append(f"made {name}")

    async def handler() -> None:
        EVENTS.append(name)

    return handler


def warm() -> None:
    EVENTS.append("warm")


app = Starlette()
app.on_event("startup")(warm)
app.add_event_handler("startup", make_handler("metrics"))
app.add_event_handler("shutdown", lambda: EVENTS.append("bye"))
