import functools

from fastapi import FastAPI

EVENTS: list[str] = []


@functools.cache
def get_app() -> FastAPI:
    application = FastAPI()
    return application


app = get_app()


@app.on_event("startup")
def warm() -> None:
    EVENTS.append("warm")
