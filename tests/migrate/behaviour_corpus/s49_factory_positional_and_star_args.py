from corpus_support import make_async_handler
from fastapi import FastAPI

EVENTS: list[str] = []


def assemble(name: str, *tags: str) -> FastAPI:
    service = FastAPI(title=name, openapi_tags=[{"name": tag} for tag in tags])
    return service


app = assemble("orders", "a", "b")
app.router.add_event_handler("startup", make_async_handler(EVENTS, "warm orders"))


@app.on_event(event_type="shutdown")
async def drain() -> None:
    EVENTS.append("drain")
