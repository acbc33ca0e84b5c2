from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI(on_startup=[lambda: EVENTS.append("ctor lambda")], version="1.0")
