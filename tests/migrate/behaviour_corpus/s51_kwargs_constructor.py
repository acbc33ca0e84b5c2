from typing import Any

from fastapi import FastAPI

EVENTS: list[str] = []
OPTIONS: dict[str, Any] = {"title": "search"}
app = FastAPI(**OPTIONS)


@app.on_event("startup")
def index() -> None:
    EVENTS.append("index")
