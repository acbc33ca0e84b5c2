# fmt: off
# (the single quotes are the point of this shape)
from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


@app.on_event('startup')
async def connect() -> None:
    EVENTS.append('connect')


@app.on_event('shutdown')
def disconnect() -> None:
    EVENTS.append('disconnect')
