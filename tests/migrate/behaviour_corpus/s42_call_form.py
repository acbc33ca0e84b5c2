from corpus_support import make_sync_handler
from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


async def connect() -> None:
    EVENTS.append("connect")


def warm() -> None:
    EVENTS.append("warm")


app.on_event("startup")(connect)
app.router.on_event("startup")(warm)
app.on_event(event_type="shutdown")(make_sync_handler(EVENTS, "goodbye"))
