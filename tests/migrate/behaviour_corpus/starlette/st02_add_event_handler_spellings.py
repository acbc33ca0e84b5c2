from starlette.applications import Starlette

EVENTS: list[str] = []
app = Starlette()


async def open_pool() -> None:
    EVENTS.append("open pool")


def warm_cache() -> None:
    EVENTS.append("warm cache")


async def close_pool() -> None:
    EVENTS.append("close pool")


def flush() -> None:
    EVENTS.append("flush")


app.add_event_handler("startup", open_pool)
app.add_event_handler(event_type="startup", func=warm_cache)
app.add_event_handler(func=close_pool, event_type="shutdown")
app.add_event_handler("shutdown", func=flush)
