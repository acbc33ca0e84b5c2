import os

from starlette.applications import Starlette

EVENTS: list[str] = []
app = Starlette()


@app.on_event("startup")
def connect() -> None:
    EVENTS.append("connect")


def debug_toolbar() -> None:
    EVENTS.append("debug toolbar")


if os.environ.get("SPAPS_CORPUS_DEBUG", "1") == "1":
    app.add_event_handler("startup", debug_toolbar)
