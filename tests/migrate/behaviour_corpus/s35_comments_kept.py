# Copyright the Orders team.
from fastapi import FastAPI  # the web framework

EVENTS: list[str] = []

# The application object.
app = FastAPI(
    title="orders",  # shown in /docs
    on_startup=[lambda: EVENTS.append("ctor")],
)


# Connect on startup.
@app.on_event("startup")
async def connect() -> None:
    # keep this comment
    EVENTS.append("connect")  # trailing comment
