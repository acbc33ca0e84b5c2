from typing import Any

from fastapi import FastAPI

EVENTS: list[str] = []


def build(**options: Any) -> FastAPI:
    api = FastAPI(title=options.get("title", "svc"))
    return api


app = build(title="ledger")
app.router.add_event_handler("shutdown", lambda: EVENTS.append("closed"))
