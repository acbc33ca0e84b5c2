from corpus_support import make_async_handler
from fastapi import FastAPI

EVENTS: list[str] = []
# Module names that happen to be the helpers' names: the lifespan must not rebind them.
asynccontextmanager = "not contextlib's"
AsyncIterator = "not collections.abc's"
app = FastAPI()
app.router.add_event_handler("startup", make_async_handler(EVENTS, "connect"))


@app.on_event("shutdown")
def close() -> None:
    EVENTS.append(f"close {asynccontextmanager} {AsyncIterator}")
