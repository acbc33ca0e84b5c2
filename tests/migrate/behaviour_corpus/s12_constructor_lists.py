from fastapi import FastAPI

EVENTS: list[str] = []


async def connect() -> None:
    EVENTS.append("connect")


def load() -> None:
    EVENTS.append("load")


async def disconnect() -> None:
    EVENTS.append("disconnect")


app = FastAPI(
    title="catalog",
    on_startup=[connect, load],
    on_shutdown=[disconnect],
)
