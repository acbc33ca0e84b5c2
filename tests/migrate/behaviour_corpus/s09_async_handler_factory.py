from corpus_support import make_async_handler
from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()
app.router.add_event_handler("startup", make_async_handler(EVENTS, "factory start"))
app.router.add_event_handler("shutdown", make_async_handler(EVENTS, "factory stop"))
EVENTS.append("module loaded")
