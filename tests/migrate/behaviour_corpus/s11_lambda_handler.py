from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()
app.router.add_event_handler("startup", lambda: EVENTS.append("lambda start"))
app.router.add_event_handler("shutdown", lambda: EVENTS.append("lambda stop"))
