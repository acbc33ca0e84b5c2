from corpus_support import SHARED_EVENTS, shared_close, shared_connect
from fastapi import FastAPI

EVENTS = SHARED_EVENTS
app = FastAPI()
app.router.add_event_handler("startup", shared_connect)
app.router.add_event_handler("shutdown", shared_close)
