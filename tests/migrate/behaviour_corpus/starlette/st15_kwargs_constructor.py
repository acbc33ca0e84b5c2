from typing import Any

from starlette.applications import Starlette

EVENTS: list[str] = []
OPTIONS: dict[str, Any] = {"debug": False}
app = Starlette(**OPTIONS)


@app.on_event("startup")
def connect() -> None:
    EVENTS.append("connect")
