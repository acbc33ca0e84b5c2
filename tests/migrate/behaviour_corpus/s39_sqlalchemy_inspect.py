from corpus_support import make_sync_handler
from fastapi import FastAPI
from sqlalchemy import create_engine, inspect

EVENTS: list[str] = []
engine = create_engine("sqlite://")
app = FastAPI()
app.router.add_event_handler("startup", make_sync_handler(EVENTS, "scheduler"))


@app.on_event("startup")
def tables() -> None:
    EVENTS.append(f"tables {inspect(engine).get_table_names()}")
