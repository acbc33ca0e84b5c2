from __future__ import annotations

from fastapi import FastAPI

EVENTS: list[str] = []


def create_app(*, debug: bool = False) -> FastAPI:
    # The harness calls create_app() again: that app must stay without handlers.
    app = FastAPI(debug=debug)
    return app


app = create_app(debug=True)


async def open_cache() -> None:
    EVENTS.append("open cache")


def close_cache() -> None:
    EVENTS.append("close cache")


app.router.add_event_handler("startup", open_cache)
app.on_event("shutdown")(close_cache)
