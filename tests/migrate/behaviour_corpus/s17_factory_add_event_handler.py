from corpus_support import make_app_handler
from fastapi import FastAPI

EVENTS: list[str] = []


def create_app() -> FastAPI:
    app = FastAPI()
    app.router.add_event_handler("startup", make_app_handler(app, EVENTS))
    return app
