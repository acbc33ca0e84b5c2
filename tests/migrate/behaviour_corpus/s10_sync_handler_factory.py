from corpus_support import make_sync_handler
from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()
# the factory runs at import time, the handler at startup
app.router.add_event_handler("startup", make_sync_handler(EVENTS, "sync start"))
