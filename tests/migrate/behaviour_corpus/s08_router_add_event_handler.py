from fastapi import FastAPI

EVENTS: list[str] = []


async def open_pool() -> None:
    EVENTS.append("open pool")


def close_pool() -> None:
    EVENTS.append("close pool")


app = FastAPI()
app.router.add_event_handler("startup", open_pool)
app.router.add_event_handler("shutdown", close_pool)
