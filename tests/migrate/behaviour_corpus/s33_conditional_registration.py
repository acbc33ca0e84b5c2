import os

from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()

if os.environ.get("NEVER_SET_IN_TESTS_12345"):

    @app.on_event("startup")
    async def only_sometimes() -> None:
        EVENTS.append("sometimes")


@app.on_event("startup")
async def always() -> None:
    EVENTS.append("always")
