from starlette import applications as web

EVENTS: list[str] = []


async def first() -> None:
    EVENTS.append("first")


def second() -> None:
    EVENTS.append("second")


def last() -> None:
    EVENTS.append("last")


service = web.Starlette(on_shutdown=(last,), on_startup=(first, second))
